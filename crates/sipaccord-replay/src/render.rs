//! Reports for people (text, like a compiler pointing into the SIP message; a standalone HTML page) and
//! for CI (JSON, JUnit).
//! Every format is deterministic: findings in evidence order, no wall-clock time, paths as given.

use std::fmt::Write as _;
use std::time::Duration;

use crate::finding::{Finding, Level, Report};

/// A capture timestamp as RFC 3339 UTC with microseconds (no time-zone database needed).
pub fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_micros()
    )
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

fn kind_word(f: &Finding) -> String {
    serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The text report: each finding like a compiler diagnostic pointing into the message, then the
/// summary.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        write_finding(&mut out, f);
        out.push('\n');
    }
    write_summary(&mut out, report);
    out
}

/// One finding as the text report writes it (for live sessions, which print findings as they happen).
pub fn finding_text(f: &Finding) -> String {
    let mut out = String::new();
    write_finding(&mut out, f);
    out
}

/// The summary part of the text report alone.
pub fn summary_text(report: &Report) -> String {
    let mut out = String::new();
    write_summary(&mut out, report);
    out
}

/// One finding as a single line of JSON (the `findings[]` item of the JSON report).
pub fn finding_json_line(f: &Finding) -> String {
    serde_json::to_string(f).unwrap_or_default()
}

fn write_finding(out: &mut String, f: &Finding) {
    let frames = frames_text(&f.frames);
    let _ = writeln!(out, "{}[{}]: {}", level_word(f.level), kind_word(f), headline(f));
    let _ = writeln!(out, "  --> {} frame {}, {}, {} {} -> {}", f.capture, frames, f.time, f.transport, f.src, f.dst);
    let _ = writeln!(out, "   |");
    let _ = writeln!(out, "   | {}", f.first_line);
    let ids = match (&f.call_id, &f.cseq) {
        (Some(c), Some(q)) => format!("Call-ID: {c}  CSeq: {q}"),
        (Some(c), None) => format!("Call-ID: {c}"),
        (None, Some(q)) => format!("CSeq: {q}"),
        (None, None) => String::new(),
    };
    if !ids.is_empty() {
        let _ = writeln!(out, "   | {ids}");
    }
    match &f.header {
        Some(h) if h.line > 0 => {
            let _ = writeln!(out, "{:>3} | {}", h.line, h.text);
            let _ = writeln!(out, "   | {} {}", "^".repeat(h.text.chars().count().clamp(1, 60)), f.seen);
        }
        Some(h) => {
            let _ = writeln!(out, "   | {}", h.text);
        }
        None => {}
    }
    let _ = writeln!(out, "   |");
    match &f.rule {
        Some(r) => {
            let first = r.text.lines().next().unwrap_or("");
            let _ = writeln!(out, "   = rule: {}:{}:{}: {first}", r.file, r.line, r.column);
            if !f.check.is_empty() && !f.check.starts_with(&format!("{}:{} ", r.line, r.column)) {
                let _ = writeln!(out, "   = in: {}", f.check);
            }
        }
        None => {
            let _ = writeln!(out, "   = check: {}", f.check);
        }
    }
    let _ = writeln!(out, "   = expected: {}", f.expected);
    let _ = writeln!(out, "   = seen: {}", f.seen);
}

/// `7`, or `7 (partner leg: frame 1)` when a correlation's other leg is involved.
fn frames_text(frames: &[u64]) -> String {
    match frames.split_first() {
        Some((first, [])) => first.to_string(),
        Some((first, partners)) => {
            let partners: Vec<String> = partners.iter().map(u64::to_string).collect();
            format!("{first} (partner leg: frame {})", partners.join(", "))
        }
        None => "?".to_owned(),
    }
}

fn headline(f: &Finding) -> String {
    use crate::finding::Kind::*;
    let rule = f.rule.as_ref().map(|r| r.text.lines().next().unwrap_or("").trim().to_owned()).unwrap_or_default();
    match f.kind {
        MissingHeader | WrongValue | ForbiddenHeader | MissingEcho | Unsatisfied => rule,
        BadValue => format!("value does not match the declaration of {}", f.expected.split(':').next().unwrap_or("")),
        TooManyValues => format!("more values than allowed ({})", f.expected),
        NoPartnerLeg => format!("no partner leg for `{rule}`"),
        UnknownSource => "SIP from an address of no peer".into(),
        TransportNotAllowed => "transport not agreed for this peer".into(),
        MediaOutside => "SDP media address outside the agreed ranges".into(),
        UndeclaredHeader => "header not declared in the agreement".into(),
        Malformed => "malformed SIP message".into(),
    }
}

fn write_summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    let (errors, warnings) = (report.count(Level::Error), report.count(Level::Warning));
    let _ = writeln!(
        out,
        "{} version {} ({}): {} error{}, {} warning{}",
        report.agreement.name,
        report.agreement.version,
        report.agreement.file,
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "captures: {}", report.captures.join(", "));
    let directions: Vec<String> = s.directions.iter().map(|(d, n)| format!("{d}: {n}")).collect();
    let _ = writeln!(
        out,
        "messages: {} ({})",
        s.messages,
        if directions.is_empty() { "none".into() } else { directions.join(", ") }
    );
    let _ = writeln!(out, "dialogs: {}", s.dialogs);
    let _ = writeln!(out, "rules: {} evaluated, {} passed", s.rules_evaluated, s.rules_passed);
    let _ =
        writeln!(out, "traffic from no peer: {} message{}", s.from_no_peer, if s.from_no_peer == 1 { "" } else { "s" });
    let _ = writeln!(out, "malformed messages: {}", s.malformed);
    if s.skipped_streams.is_empty() {
        let _ = writeln!(out, "skipped streams: none");
    } else {
        let _ = writeln!(out, "skipped streams: {}", s.skipped_streams.join("; "));
    }
    if s.unusable_packets.is_empty() {
        let _ = writeln!(out, "unusable packets: none");
    } else {
        let parts: Vec<String> = s.unusable_packets.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let _ = writeln!(out, "unusable packets: {}", parts.join(", "));
    }
}

/// The JSON report (schema in `docs/report-schema.md`).
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push_str("&#xFFFD;"),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per capture, a test case per check (rule, header declaration, setting), a
/// failure per error-level finding; warnings go to the test case's `system-out`.
pub fn junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_failures = report.count(Level::Error);
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\">",
        xml_escape(&format!("sipaccord {} version {}", report.agreement.name, report.agreement.version)),
        report.checks.len() * report.captures.len(),
        total_failures
    );
    for capture in &report.captures {
        let in_capture: Vec<&Finding> = report.findings.iter().filter(|f| &f.capture == capture).collect();
        let failures = in_capture.iter().filter(|f| f.level == Level::Error).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
            xml_escape(capture),
            report.checks.len()
        );
        for check in &report.checks {
            let classname = match &check.rule {
                Some(r) => format!("{}:{}", r.file, r.line),
                None => report.agreement.file.clone(),
            };
            let mine: Vec<&&Finding> = in_capture.iter().filter(|f| f.check == check.name).collect();
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml_escape(&check.name),
                xml_escape(&classname)
            );
            if mine.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for f in mine.iter().filter(|f| f.level == Level::Error) {
                let mut detail = String::new();
                write_finding(&mut detail, f);
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml_escape(&headline(f)),
                    kind_word(f),
                    xml_escape(&detail)
                );
            }
            let warnings: Vec<&&&Finding> = mine.iter().filter(|f| f.level == Level::Warning).collect();
            if !warnings.is_empty() {
                let mut detail = String::new();
                for f in warnings {
                    write_finding(&mut detail, f);
                }
                let _ = writeln!(out, "      <system-out>{}</system-out>", xml_escape(&detail));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The stylesheet of the HTML report (inline, so the page is one file that can be mailed or archived).
const HTML_STYLE: &str =
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#1d1d1f}\
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}\
.verdict{font-weight:600;padding:.2em .6em;border-radius:.3em;display:inline-block}\
.fail{background:#fde2e1;color:#8a1c17}.pass{background:#def7e3;color:#135f26}.warn{background:#fff3cd;color:#6b4e00}\
table{border-collapse:collapse}td,th{text-align:left;padding:.2em .8em .2em 0;vertical-align:top}\
th{font-weight:600}th.sub{font-weight:400;padding-left:1.5em}td.n{text-align:right}\
article{border-left:4px solid #c9372c;padding:.3em 1em;margin:1em 0;background:#fafafa}\
article.warning{border-color:#d4a106}article h3{font-size:1em;margin:.2em 0}\
pre{background:#fff;border:1px solid #e3e3e3;padding:.6em;overflow-x:auto;font-size:13px}\
mark{background:#fde2e1}dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.4em 0}\
dt{font-weight:600}dd{margin:0}code{font-size:13px}";

/// A standalone HTML page: verdict, summary, each check with its findings counted, then every finding
/// with the message lines it points at. Well-formed XML (XHTML syntax), deterministic like the rest.
pub fn html(report: &Report) -> String {
    let e = |s: &str| xml_escape(s);
    let (errors, warnings) = (report.count(Level::Error), report.count(Level::Warning));
    let title = format!("{} version {}", report.agreement.name, report.agreement.version);
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(out, "<title>sipaccord: {}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>", e(&title));
    let _ = writeln!(out, "<h1>{}</h1>", e(&title));
    let (class, verdict) = match (errors, warnings) {
        (0, 0) => ("pass", "the traffic keeps the agreement".to_owned()),
        (0, w) => ("warn", format!("no errors, {w} warning{}", plural(w))),
        (e, w) => ("fail", format!("{e} error{}, {w} warning{}", plural(e), plural(w))),
    };
    let _ = writeln!(out, "<p><span class=\"verdict {class}\">{verdict}</span></p>");
    let _ = writeln!(
        out,
        "<p>Agreement <code>{}</code>; captures: {}.</p>",
        e(&report.agreement.file),
        report.captures.iter().map(|c| format!("<code>{}</code>", e(c))).collect::<Vec<_>>().join(", ")
    );

    let s = &report.summary;
    out.push_str("<h2>Summary</h2>\n<table>\n");
    let _ = writeln!(out, "<tr><th>messages</th><td>{}</td></tr>", s.messages);
    for (direction, n) in &s.directions {
        let _ = writeln!(out, "<tr><th class=\"sub\">{}</th><td>{n}</td></tr>", e(direction));
    }
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", e(name), value);
    };
    row("dialogs", s.dialogs.to_string());
    row("rules", format!("{} evaluated, {} passed", s.rules_evaluated, s.rules_passed));
    row("traffic from no peer", format!("{} message{}", s.from_no_peer, plural(s.from_no_peer as usize)));
    row("malformed messages", s.malformed.to_string());
    row("skipped streams", if s.skipped_streams.is_empty() { "none".into() } else { e(&s.skipped_streams.join("; ")) });
    let unusable: Vec<String> = s.unusable_packets.iter().map(|(r, n)| format!("{n} {r}")).collect();
    row("unusable packets", if unusable.is_empty() { "none".into() } else { e(&unusable.join(", ")) });
    out.push_str("</table>\n");

    out.push_str("<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>where</th><th>errors</th><th>warnings</th></tr>\n");
    for check in &report.checks {
        let mine = report.findings.iter().filter(|f| f.check == check.name);
        let (ce, cw) = mine.fold((0, 0), |(a, b), f| if f.level == Level::Error { (a + 1, b) } else { (a, b + 1) });
        let place = check.rule.as_ref().map(|r| format!("{}:{}:{}", r.file, r.line, r.column)).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{ce}</td><td class=\"n\">{cw}</td></tr>",
            e(&check.name),
            e(&place)
        );
    }
    out.push_str("</table>\n");

    let _ = writeln!(out, "<h2>Findings ({})</h2>", report.findings.len());
    if report.findings.is_empty() {
        out.push_str("<p>None.</p>\n");
    }
    for f in &report.findings {
        let _ = writeln!(out, "<article class=\"{}\">", level_word(f.level));
        let _ = writeln!(out, "<h3>{}[{}]: {}</h3>", level_word(f.level), e(&kind_word(f)), e(&headline(f)));
        let _ = writeln!(
            out,
            "<p><code>{}</code> frame {}, {}, {} {} &#8594; {}</p>",
            e(&f.capture),
            frames_text(&f.frames),
            e(&f.time),
            e(&f.transport),
            e(&f.src),
            e(&f.dst)
        );
        let mut message = e(&f.first_line);
        if let Some(c) = &f.call_id {
            let _ = write!(message, "\nCall-ID: {}", e(c));
        }
        if let Some(q) = &f.cseq {
            let _ = write!(message, "\nCSeq: {}", e(q));
        }
        match &f.header {
            Some(h) if h.line > 0 => {
                let _ = write!(message, "\n<mark>{:>3} | {}</mark>", h.line, e(&h.text));
            }
            Some(h) => {
                let _ = write!(message, "\n{}", e(&h.text));
            }
            None => {}
        }
        let _ = writeln!(out, "<pre>{message}</pre>");
        out.push_str("<dl>\n");
        match &f.rule {
            Some(r) => {
                let first = r.text.lines().next().unwrap_or("");
                let _ = writeln!(
                    out,
                    "<dt>rule</dt><dd><code>{}:{}:{}</code> {}</dd>",
                    e(&r.file),
                    r.line,
                    r.column,
                    e(first)
                );
            }
            None => {
                let _ = writeln!(out, "<dt>check</dt><dd>{}</dd>", e(&f.check));
            }
        }
        let _ = writeln!(out, "<dt>expected</dt><dd>{}</dd>", e(&f.expected));
        let _ = writeln!(out, "<dt>seen</dt><dd>{}</dd>", e(&f.seen));
        out.push_str("</dl>\n</article>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
