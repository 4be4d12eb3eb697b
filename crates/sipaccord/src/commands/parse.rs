//! `sipaccord parse`: parse raw SIP message files and print what the parser sees.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use sipaccord_sip::{Contact, Host, Message, ParseError, StartLine};

use crate::Outcome;

/// Arguments of `sipaccord parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Files holding one raw SIP message each (datagram rules: bytes past Content-Length are ignored).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Output formats of `sipaccord parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Readable report per file.
    Text,
    /// One JSON object per file, one per line.
    Json,
}

/// Parses every file and prints the result; unreadable files are reported on stderr and make the exit
/// status 2 once all files are done.
pub fn run(args: &ParseArgs) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Clean;
    let mut out = String::new();
    for path in &args.files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("sipaccord: cannot read {}: {e}", path.display());
                outcome = outcome.max(Outcome::Unusable);
                continue;
            }
        };
        let report = FileReport::new(&path.display().to_string(), &bytes);
        if report.status == Status::Malformed {
            outcome = outcome.max(Outcome::Findings);
        }
        match args.format {
            Format::Json => {
                out.push_str(&serde_json::to_string(&report)?);
                out.push('\n');
            }
            Format::Text => report.write_text(&bytes, &mut out),
        }
    }
    print!("{out}");
    Ok(outcome)
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Malformed,
}

/// What `parse` prints for one file; also the JSON schema of `--format json`.
#[derive(Debug, Serialize)]
struct FileReport {
    file: String,
    status: Status,
    start_line: Option<StartLineReport>,
    headers: Vec<HeaderReport>,
    typed: Option<Typed>,
    body_length: Option<usize>,
    warnings: Vec<WarningReport>,
    /// The first error (the one that decides the status), or null.
    error: Option<ErrorReport>,
    /// Every error found, in message order.
    errors: Vec<ErrorReport>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum StartLineReport {
    Request { method: String, uri: String, version: String },
    Response { version: String, status: u16, reason: String },
}

#[derive(Debug, Serialize)]
struct HeaderReport {
    name: String,
    canonical: String,
    value: String,
    line: u32,
    offset: u32,
}

#[derive(Debug, Serialize, Default)]
struct Typed {
    via: Vec<ViaReport>,
    from: Option<AddressReport>,
    to: Option<AddressReport>,
    call_id: Option<String>,
    cseq: Option<CseqReport>,
    max_forwards: Option<u8>,
    content_type: Option<String>,
    content_length: Option<usize>,
    contact: Vec<AddressReport>,
    request_uri: Option<UriReport>,
}

#[derive(Debug, Serialize)]
struct ViaReport {
    transport: String,
    host: String,
    port: Option<u16>,
    branch: Option<String>,
    received: Option<String>,
    rport: Option<Option<u16>>,
}

#[derive(Debug, Serialize)]
struct AddressReport {
    display_name: Option<String>,
    uri: UriReport,
    tag: Option<String>,
}

#[derive(Debug, Serialize)]
struct UriReport {
    raw: String,
    scheme: String,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
}

#[derive(Debug, Serialize)]
struct CseqReport {
    number: u32,
    method: String,
}

#[derive(Debug, Serialize)]
struct WarningReport {
    line: u32,
    message: String,
}

#[derive(Debug, Serialize)]
struct ErrorReport {
    line: u32,
    column: u32,
    reason: String,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl From<&ParseError> for ErrorReport {
    fn from(e: &ParseError) -> Self {
        ErrorReport { line: e.position.line, column: e.position.column, reason: e.kind.to_string() }
    }
}

fn uri_report(u: &sipaccord_sip::Uri<'_>) -> UriReport {
    let scheme = match u.scheme {
        sipaccord_sip::Scheme::Sip => "sip",
        sipaccord_sip::Scheme::Sips => "sips",
        sipaccord_sip::Scheme::Tel => "tel",
        sipaccord_sip::Scheme::Other(s) => s,
    };
    UriReport {
        raw: u.raw.to_owned(),
        scheme: scheme.to_owned(),
        user: u.user.map(str::to_owned),
        host: u.host.as_ref().map(Host::to_string),
        port: u.port,
    }
}

fn address_report(a: &sipaccord_sip::NameAddr<'_>) -> AddressReport {
    AddressReport {
        display_name: a.display_name_unquoted().map(lossy),
        uri: uri_report(&a.uri),
        tag: a.tag().map(str::to_owned),
    }
}

impl FileReport {
    fn new(file: &str, bytes: &[u8]) -> FileReport {
        let mut report = FileReport {
            file: file.to_owned(),
            status: Status::Malformed,
            start_line: None,
            headers: Vec::new(),
            typed: None,
            body_length: None,
            warnings: Vec::new(),
            error: None,
            errors: Vec::new(),
        };
        let message = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                report.error = Some(ErrorReport::from(&e));
                report.errors.push(ErrorReport::from(&e));
                return report;
            }
        };
        report.start_line = Some(match message.start_line() {
            StartLine::Request(r) => StartLineReport::Request {
                method: r.method.to_owned(),
                uri: lossy(r.uri),
                version: r.version.to_owned(),
            },
            StartLine::Response(s) => {
                StartLineReport::Response { version: s.version.to_owned(), status: s.code, reason: lossy(s.reason) }
            }
        });
        report.headers = message
            .headers()
            .iter()
            .map(|h| HeaderReport {
                name: lossy(h.name),
                canonical: h.canonical_name().to_owned(),
                value: lossy(&h.value_unfolded()),
                line: h.line,
                offset: h.offset,
            })
            .collect();
        report.body_length = Some(message.body().len());
        let validation = message.validate();
        report.warnings =
            validation.warnings.iter().map(|w| WarningReport { line: w.line, message: w.kind.to_string() }).collect();
        report.errors = validation.errors.iter().map(ErrorReport::from).collect();
        if let Some(e) = validation.errors.first() {
            report.error = Some(ErrorReport::from(e));
            return report;
        }
        report.status = Status::Ok;
        report.typed = Some(typed(&message));
        report
    }

    fn write_text(&self, bytes: &[u8], out: &mut String) {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Malformed => "malformed",
        };
        let _ = writeln!(out, "{}: {status}", self.file);
        for e in &self.errors {
            let _ = writeln!(out, "  error: line {}, column {}: {}", e.line, e.column, e.reason);
            if let Some(line) = bytes.split(|&b| b == b'\n').nth(e.line.saturating_sub(1) as usize) {
                let line = lossy(line.strip_suffix(b"\r").unwrap_or(line));
                let _ = writeln!(out, "   {:>4} | {line}", e.line);
                let _ = writeln!(out, "        | {}^", " ".repeat(e.column.saturating_sub(1) as usize));
            }
        }
        match &self.start_line {
            Some(StartLineReport::Request { method, uri, version }) => {
                let _ = writeln!(out, "  request: {method} {uri} {version}");
            }
            Some(StartLineReport::Response { version, status, reason }) => {
                let _ = writeln!(out, "  response: {version} {status} {reason}");
            }
            None => {}
        }
        if !self.headers.is_empty() {
            let _ = writeln!(out, "  headers ({}):", self.headers.len());
            for h in &self.headers {
                let alias = if h.name == h.canonical { String::new() } else { format!(" [{}]", h.canonical) };
                let _ = writeln!(out, "   {:>4} | {}{alias}: {}", h.line, h.name, h.value);
            }
        }
        if let Some(t) = &self.typed {
            let _ = writeln!(out, "  typed:");
            if let Some(u) = &t.request_uri {
                let _ = writeln!(out, "    Request-URI: {}", describe_uri(u));
            }
            for v in &t.via {
                let port = v.port.map(|p| format!(":{p}")).unwrap_or_default();
                let branch = v.branch.as_deref().map(|b| format!(" branch={b}")).unwrap_or_default();
                let received = v.received.as_deref().map(|r| format!(" received={r}")).unwrap_or_default();
                let rport = match v.rport {
                    Some(Some(p)) => format!(" rport={p}"),
                    Some(None) => " rport".to_owned(),
                    None => String::new(),
                };
                let _ = writeln!(out, "    Via: {} {}{port}{branch}{received}{rport}", v.transport, v.host);
            }
            for (name, a) in [("From", &t.from), ("To", &t.to)] {
                if let Some(a) = a {
                    let _ = writeln!(out, "    {name}: {}", describe_address(a));
                }
            }
            if let Some(c) = &t.call_id {
                let _ = writeln!(out, "    Call-ID: {c}");
            }
            if let Some(c) = &t.cseq {
                let _ = writeln!(out, "    CSeq: {} {}", c.number, c.method);
            }
            if let Some(m) = t.max_forwards {
                let _ = writeln!(out, "    Max-Forwards: {m}");
            }
            for c in &t.contact {
                let _ = writeln!(out, "    Contact: {}", describe_address(c));
            }
            if let Some(c) = &t.content_type {
                let _ = writeln!(out, "    Content-Type: {c}");
            }
            if let Some(c) = t.content_length {
                let _ = writeln!(out, "    Content-Length: {c}");
            }
        }
        if let Some(len) = self.body_length {
            let _ = writeln!(out, "  body: {len} bytes");
        }
        for w in &self.warnings {
            let at = if w.line == 0 { String::new() } else { format!("line {}: ", w.line) };
            let _ = writeln!(out, "  warning: {at}{}", w.message);
        }
    }
}

fn describe_uri(u: &UriReport) -> String {
    let mut s = format!("{} (scheme {}", u.raw, u.scheme);
    if let Some(user) = &u.user {
        let _ = write!(s, ", user {user}");
    }
    if let Some(host) = &u.host {
        let _ = write!(s, ", host {host}");
    }
    if let Some(port) = u.port {
        let _ = write!(s, ", port {port}");
    }
    s.push(')');
    s
}

fn describe_address(a: &AddressReport) -> String {
    let mut s = String::new();
    if let Some(d) = &a.display_name {
        let _ = write!(s, "\"{d}\" ");
    }
    s.push_str(&describe_uri(&a.uri));
    if let Some(t) = &a.tag {
        let _ = write!(s, " tag={t}");
    }
    s
}

/// The typed views of a well-formed message (validation has already checked each one parses).
fn typed(m: &Message<'_>) -> Typed {
    Typed {
        via: m
            .vias()
            .filter_map(Result::ok)
            .map(|v| ViaReport {
                transport: v.transport.to_owned(),
                host: v.host.to_string(),
                port: v.port,
                branch: v.branch().map(str::to_owned),
                received: v.received().map(str::to_owned),
                rport: v.rport(),
            })
            .collect(),
        from: m.from().ok().flatten().as_ref().map(address_report),
        to: m.to().ok().flatten().as_ref().map(address_report),
        call_id: m.call_id().ok().flatten().map(str::to_owned),
        cseq: m.cseq().ok().flatten().map(|c| CseqReport { number: c.number, method: c.method.to_owned() }),
        max_forwards: m.max_forwards().ok().flatten(),
        content_type: m.content_type().ok().flatten().map(|c| format!("{}/{}", c.media_type, c.subtype)),
        content_length: m.content_length().ok().flatten(),
        contact: m
            .contacts()
            .filter_map(Result::ok)
            .filter_map(|c| match c {
                Contact::Address(a) => Some(address_report(&a)),
                Contact::Star => None,
            })
            .collect(),
        request_uri: m.request_uri().and_then(Result::ok).as_ref().map(uri_report),
    }
}
