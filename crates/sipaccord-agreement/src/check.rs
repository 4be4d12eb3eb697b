//! Name resolution, checks and lowering from the syntax tree to a [`Contract`].

use std::collections::HashMap;
use std::net::IpAddr;

use sipaccord_sip::KnownHeader;

use crate::ast::{self, Item};
use crate::contract::*;
use crate::diag::{line_col, Code, Diagnostic, Span};

/// The built-in value type names.
pub const BUILTINS: [&str; 13] = [
    "token",
    "integer",
    "quoted-string",
    "host",
    "ipv4",
    "ipv6",
    "uuid",
    "any",
    "e164",
    "uri",
    "sip-uri",
    "tel-uri",
    "name-addr",
];

/// Checks and lowers a parsed file. The contract is `None` when there are errors.
pub fn lower(src: &str, file: &str, tree: &ast::File, diags: &mut Vec<Diagnostic>) -> Option<Contract> {
    let mut cx = Cx {
        src,
        file,
        diags,
        types: HashMap::new(),
        type_stack: vec![],
        headers: HashMap::new(),
        uses: vec![],
        peers: HashMap::new(),
        hdecls: vec![],
        line_starts: std::iter::once(0).chain(src.match_indices('\n').map(|(i, _)| i + 1)).collect(),
    };
    cx.run(tree)
}

struct Cx<'a> {
    src: &'a str,
    file: &'a str,
    diags: &'a mut Vec<Diagnostic>,
    types: HashMap<String, &'a ast::TypeDecl>,
    type_stack: Vec<String>,
    /// Folded header name -> (declaration index, span of its name).
    headers: HashMap<String, (usize, Span)>,
    /// Header names used in rules: folded name and span.
    uses: Vec<(String, Span, bool)>,
    peers: HashMap<String, Span>,
    hdecls: Vec<HeaderDecl>,
    /// Byte offset of every line start, so origins cost a binary search, not a scan of the file.
    line_starts: Vec<usize>,
}

/// Canonical spelling: the registry's for a standard header (compact forms resolved), else as written.
fn canonical(name: &str) -> String {
    KnownHeader::lookup(name.as_bytes()).map_or_else(|| name.to_string(), |k| k.name().to_string())
}

fn fold(name: &str) -> String {
    canonical(name).to_ascii_lowercase()
}

fn parse_addr(text: &str, allow_range: bool) -> Result<Address, String> {
    let (body, port) = if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']').ok_or("`[` without closing `]`")?;
        let inner = &rest[..close];
        let after = &rest[close + 1..];
        let (prefix_part, port) = if let Some(p) = after.strip_prefix(':') { ("", Some(p)) } else { (after, None) };
        (format!("{inner}{prefix_part}"), port)
    } else if text.matches(':').count() == 1 {
        let (a, p) = text.split_once(':').ok_or("bad address")?;
        (a.to_string(), Some(p))
    } else {
        (text.to_string(), None)
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0).ok_or(format!("`{p}` is not a port (1 to 65535)"))?),
        None => None,
    };
    let (ip_text, prefix) = match body.split_once('/') {
        Some((ip, len)) => {
            if !allow_range {
                return Err("a range is not allowed here".into());
            }
            (ip.to_string(), Some(len.parse::<u8>().map_err(|_| format!("`{len}` is not a prefix length"))?))
        }
        None => (body.clone(), None),
    };
    let ip: IpAddr = ip_text.parse().map_err(|_| {
        if ip_text.contains(':') && !text.starts_with('[') && port.is_some() {
            "an IPv6 address with a port must be written in brackets: `[2001:db8::1]:5060`".to_string()
        } else {
            format!("`{ip_text}` is not an IPv4 or IPv6 address")
        }
    })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    if prefix > max {
        return Err(format!("prefix length {prefix} is longer than {max}"));
    }
    let a = Address { ip, prefix, port };
    if !a.contains(ip, None) || masked(ip, prefix) != ip {
        return Err(format!("`{text}` has host bits set; the network address is {}/{prefix}", masked(ip, prefix)));
    }
    Ok(a)
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((u32::from(v4) & m).into())
        }
        IpAddr::V6(v6) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((u128::from(v6) & m).into())
        }
    }
}

/// Source text on one line: block lines joined with `; ` (as a one-line block is written).
fn one_line(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if !out.is_empty() {
            let soft = out.ends_with('{') || out.ends_with(',') || out.ends_with(';') || line.starts_with('}');
            out.push_str(if soft { " " } else { "; " });
        }
        out.push_str(line);
    }
    out
}

/// Peer, type and correlation names: `[a-z][a-z0-9-]*`.
fn valid_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_duration(s: &str) -> Option<u64> {
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        return None;
    };
    num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult))
}

fn parse_code(s: &str) -> Result<CodeRange, String> {
    let bad = || format!("`{s}` is not a status code, class (`2xx`, `18x`) or range (`400-499`)");
    let r = if let Some((a, b)) = s.split_once('-') {
        CodeRange { min: a.parse().map_err(|_| bad())?, max: b.parse().map_err(|_| bad())? }
    } else if s.len() == 3 && s.ends_with("xx") {
        let d: u16 = s[..1].parse().map_err(|_| bad())?;
        CodeRange { min: d * 100, max: d * 100 + 99 }
    } else if s.len() == 3 && s.ends_with('x') {
        let d: u16 = s[..2].parse().map_err(|_| bad())?;
        CodeRange { min: d * 10, max: d * 10 + 9 }
    } else if s.len() == 3 {
        let c: u16 = s.parse().map_err(|_| bad())?;
        CodeRange { min: c, max: c }
    } else {
        return Err(bad());
    };
    Ok(r)
}

impl<'a> Cx<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn text(&self, span: Span) -> &'a str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    fn origin(&self, span: Span) -> Origin {
        let line_index = self.line_starts.partition_point(|&start| start <= span.start).saturating_sub(1);
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self.src.get(line_start..span.start).map_or(1, |s| s.chars().count() + 1);
        let line = line_index + 1;
        debug_assert_eq!((line, column), line_col(self.src, span.start));
        let text = self.text(span);
        let first = text.lines().next().unwrap_or("").trim_end();
        let first = first.strip_suffix('{').unwrap_or(first).trim_end();
        Origin { file: self.file.to_string(), line, column, text: first.to_string() }
    }

    fn run(&mut self, tree: &'a ast::File) -> Option<Contract> {
        let (name, version) = match &tree.agreement {
            Some(a) => {
                if !a.first {
                    self.push(
                        Diagnostic::new(
                            Code::MissingAgreement,
                            "the `agreement` line must come first",
                            a.span,
                            "not the first item",
                        )
                        .with_help("move this line to the top of the file"),
                    );
                }
                (a.name.value.clone(), a.version.map_or(0, |v| v.0))
            }
            None => {
                self.push(
                    Diagnostic::new(
                        Code::MissingAgreement,
                        "missing `agreement` line",
                        Span::new(0, 0),
                        "expected `agreement \"NAME\" version N` here",
                    )
                    .with_help("start the file with a line such as `agreement \"acme-telegent\" version 1`"),
                );
                (String::new(), 0)
            }
        };

        // Declarations first, so rules may refer to anything in the file.
        for item in &tree.items {
            if let Item::Type(t) = item {
                if let Some(first) = self.types.get(&t.name.name) {
                    let first = first.name.span;
                    self.push(
                        Diagnostic::new(
                            Code::DuplicateType,
                            format!("type `{}` is declared twice", t.name.name),
                            t.name.span,
                            "declared again here",
                        )
                        .with_secondary(first, "first declared here")
                        .with_help("remove one declaration or rename it"),
                    );
                } else {
                    self.types.insert(t.name.name.clone(), t);
                }
            }
        }
        for t in tree.items.iter().filter_map(|i| if let Item::Type(t) = i { Some(t) } else { None }) {
            self.check_name(&t.name, "type");
            self.type_stack.push(t.name.name.clone());
            self.value_type(&t.value);
            self.type_stack.clear();
        }

        let mut peers: Vec<Peer> = vec![];
        let mut peer_addrs: Vec<(Address, Span, String)> = vec![];
        for item in &tree.items {
            let Item::Peer(p) = item else { continue };
            self.check_name(&p.name, "peer");
            if let Some(&first) = self.peers.get(&p.name.name) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicatePeer,
                        format!("peer `{}` is declared twice", p.name.name),
                        p.name.span,
                        "declared again here",
                    )
                    .with_secondary(first, "first declared here")
                    .with_help("merge the two declarations into one block"),
                );
                continue;
            }
            self.peers.insert(p.name.name.clone(), p.name.span);
            let mut sbc = vec![];
            for a in &p.sbc {
                if let Some(addr) = self.address(a, true) {
                    for (other, span, owner) in &peer_addrs {
                        if owner != &p.name.name && other.overlaps(&addr) {
                            self.diags.push(
                                Diagnostic::new(Code::AddressInTwoPeers, format!("address `{}` belongs to two peers", a.name), a.span, format!("also given to peer `{owner}`"))
                                    .with_secondary(*span, format!("given to `{owner}` here"))
                                    .with_help("traffic is attributed to a peer by its source address, so each SBC address must belong to one peer"),
                            );
                            break;
                        }
                    }
                    peer_addrs.push((addr, a.span, p.name.name.clone()));
                    sbc.push(addr);
                }
            }
            let media = p.media.iter().filter_map(|a| self.address(a, true)).collect();
            let mut transports = vec![];
            for t in &p.transports {
                match Transport::from_word(&t.name) {
                    Some(tr) => transports.push(tr),
                    None => self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("unknown transport `{}`", t.name),
                            t.span,
                            "not a transport",
                        )
                        .with_help("use udp, tcp, tls, sctp or ws"),
                    ),
                }
            }
            peers.push(Peer {
                name: p.name.name.clone(),
                display: p.display.as_ref().map(|d| d.value.clone()),
                sbc,
                media,
                transports,
                origin: self.origin(p.span),
            });
        }
        if peers.len() < 2 {
            let span = tree.agreement.as_ref().map_or(Span::new(0, 0), |a| a.span);
            let mut d = Diagnostic::new(
                Code::TooFewPeers,
                format!("an agreement needs at least two peers, found {}", peers.len()),
                span,
                "in this agreement",
            )
            .with_help("declare both sides with `peer NAME { sbc ADDR }`");
            if let Some(p) = tree.items.iter().find_map(|i| if let Item::Peer(p) = i { Some(p) } else { None }) {
                d = d.with_secondary(p.name.span, "the only peer");
            }
            self.push(d);
        }

        let mut headers: Vec<HeaderDecl> = vec![];
        for item in &tree.items {
            let Item::Header(h) = item else { continue };
            let key = fold(&h.name.name);
            if let Some(&(_, first)) = self.headers.get(&key) {
                self.push(
                    Diagnostic::new(Code::DuplicateHeader, format!("header `{}` is declared twice", canonical(&h.name.name)), h.name.span, "declared again here")
                        .with_secondary(first, "first declared here")
                        .with_help("header names are case-insensitive and compact forms mean their full name; keep one declaration"),
                );
                continue;
            }
            if h.name.name.ends_with('*') {
                self.push(
                    Diagnostic::new(
                        Code::PrefixNotAllowed,
                        "a prefix pattern cannot be declared",
                        h.name.span,
                        "prefix pattern",
                    )
                    .with_help("declare each header by its full name"),
                );
                continue;
            }
            self.headers.insert(key, (headers.len(), h.name.span));
            let value = h.value.as_ref().and_then(|v| self.value_type(v));
            if let (Some(t), Some(ex)) = (&value, &h.example) {
                let items: Vec<&[u8]> = if h.list.is_some() {
                    sipaccord_sip::ListItems::new(ex.value.as_bytes()).collect()
                } else {
                    vec![ex.value.as_bytes()]
                };
                if !items.iter().all(|v| t.matches(v)) {
                    self.push(
                        Diagnostic::new(
                            Code::LiteralNeverMatches,
                            format!("example \"{}\" does not match the header's type", ex.value),
                            ex.span,
                            format!("expected {}", t.describe()),
                        )
                        .with_secondary(h.value.as_ref().map_or(h.name.span, |v| v.span()), "type declared here"),
                    );
                }
            }
            headers.push(HeaderDecl {
                name: canonical(&h.name.name),
                value,
                value_source: h.value.as_ref().map(|v| one_line(self.text(v.span()))),
                list: h.list.is_some(),
                max: h.max.map(|m| m.0),
                example: h.example.as_ref().map(|e| e.value.clone()),
                standard: KnownHeader::lookup(h.name.name.as_bytes()).is_some(),
                origin: self.origin(h.span),
            });
        }

        // Rules read the declarations (for literal checks) while they are lowered.
        self.hdecls = headers;
        let mut settings = Settings::default();
        for item in &tree.items {
            let Item::Settings(s) = item else { continue };
            for (k, v) in &s.entries {
                let level = match v.name.as_str() {
                    "allow" => Strictness::Allow,
                    "warn" => Strictness::Warn,
                    "error" => Strictness::Error,
                    _ => {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("unknown level `{}`", v.name),
                                v.span,
                                "not a level",
                            )
                            .with_help("use allow, warn or error"),
                        );
                        continue;
                    }
                };
                match k.name.as_str() {
                    "undeclared-headers" => settings.undeclared_headers = level,
                    "unknown-source" => settings.unknown_source = level,
                    "media-outside" => settings.media_outside = level,
                    _ => self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("unknown setting `{}`", k.name),
                            k.span,
                            "not a setting",
                        )
                        .with_help("settings are undeclared-headers, unknown-source and media-outside"),
                    ),
                }
            }
        }

        let mut rules = vec![];
        let mut rule_keys: Vec<(SelKey, &ast::Rule)> = vec![];
        for item in &tree.items {
            let Item::Rule(r) = item else { continue };
            let response = r.selector.codes.is_some();
            let selector = self.selector(&r.selector, false);
            let ctx = if response { Ctx::Response } else { Ctx::Request };
            let mut obligations = vec![];
            for o in &r.obligations {
                if let ast::ObligationKind::Echo(h) = &o.kind {
                    if !response {
                        self.push(
                            Diagnostic::new(
                                Code::EchoInRequestRule,
                                "`must echo` in a request rule",
                                o.span,
                                "a request has nothing to echo",
                            )
                            .with_secondary(r.selector.span, "this rule selects requests")
                            .with_help(format!(
                                "move it to a response rule: `on response 2xx to INVITE {{ must echo {} }}`",
                                h.name
                            )),
                        );
                    }
                }
                if let Some(o) = self.obligation(o, ctx) {
                    obligations.push(o);
                }
            }
            if let Some(selector) = selector {
                rule_keys.push((selector_key(&selector, r.selector.cond.as_ref().map(|c| self.text(c.span()))), r));
                rules.push(Rule { selector, obligations, origin: self.origin(r.span) });
            }
        }
        self.conflicts(&rule_keys);

        let mut correlations = vec![];
        let mut names: HashMap<String, Span> = HashMap::new();
        for item in &tree.items {
            let Item::Correlate(c) = item else { continue };
            self.check_name(&c.name, "correlation");
            if let Some(&first) = names.get(&c.name.name) {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("correlation `{}` is declared twice", c.name.name),
                        c.name.span,
                        "declared again here",
                    )
                    .with_secondary(first, "first declared here"),
                );
            }
            names.insert(c.name.name.clone(), c.name.span);
            let missing = |what: &str| {
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("correlation `{}` has no `{what}`", c.name.name),
                    c.name.span,
                    format!("`{what}` missing"),
                )
                .with_help(
                    "a correlation needs `inbound = SELECTOR`, `outbound = SELECTOR` and `match EXPR within DURATION`",
                )
            };
            let mut errs = vec![];
            if c.inbound.is_none() {
                errs.push(missing("inbound"));
            }
            if c.outbound.is_none() {
                errs.push(missing("outbound"));
            }
            if c.matcher.is_none() {
                errs.push(missing("match"));
            }
            self.diags.extend(errs);
            let inbound = c.inbound.as_ref().and_then(|s| self.selector(s, true));
            let outbound = c.outbound.as_ref().and_then(|s| self.selector(s, true));
            let matcher = c.matcher.as_ref().and_then(|(e, d)| {
                let e = self.expr(e, Ctx::Correlation);
                let ms = parse_duration(&d.name);
                if ms.is_none() {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("`{}` is not a duration", d.name),
                            d.span,
                            "expected a duration",
                        )
                        .with_help("write durations as `500ms`, `5s` or `2m`"),
                    );
                }
                Some((e?, ms?, self.text(c.matcher.as_ref()?.0.span()).to_string()))
            });
            let obligations: Vec<Obligation> =
                c.obligations.iter().filter_map(|o| self.obligation(o, Ctx::Correlation)).collect();
            if let (Some(inbound), Some(outbound), Some((matcher, within_ms, matcher_text))) =
                (inbound, outbound, matcher)
            {
                correlations.push(Correlation {
                    name: c.name.name.clone(),
                    inbound,
                    outbound,
                    matcher,
                    matcher_text,
                    within_ms,
                    obligations,
                    origin: self.origin(c.span),
                });
            }
        }

        let headers = std::mem::take(&mut self.hdecls);
        // Header uses: undeclared non-standard headers, unused declarations.
        let mut used = vec![false; headers.len()];
        let mut warned: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (key, span, warn) in std::mem::take(&mut self.uses) {
            if let Some(&(i, _)) = self.headers.get(&key) {
                used[i] = true;
            } else if warn && KnownHeader::lookup(key.as_bytes()).is_none() && warned.insert(key) {
                let name = self.text(span).to_string();
                self.push(
                    Diagnostic::new(
                        Code::UndeclaredHeader,
                        format!("header `{name}` is not declared and not a standard SIP header"),
                        span,
                        "not declared",
                    )
                    .with_help(format!("declare it so its values are checked: `header {name} {{ value token }}`")),
                );
            }
        }
        for (h, u) in headers.iter().zip(&used) {
            if !u {
                let span = self.headers.get(&h.name.to_ascii_lowercase()).map_or(Span::default(), |x| x.1);
                self.push(
                    Diagnostic::new(
                        Code::UnusedHeader,
                        format!("header `{}` is declared but no rule uses it", h.name),
                        span,
                        "declared here",
                    )
                    .with_help(format!(
                        "add `may have {}` to the rules where it is allowed, or remove the declaration",
                        h.name
                    )),
                );
            }
        }

        self.diags.sort_by_key(|d| (d.primary.span.start, d.code));
        if self.diags.iter().any(Diagnostic::is_error) {
            return None;
        }
        Some(Contract { name, version, file: self.file.to_string(), peers, headers, settings, rules, correlations })
    }

    fn check_name(&mut self, id: &ast::Ident, what: &str) {
        if !valid_name(&id.name) {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a valid {what} name", id.name),
                    id.span,
                    "invalid name",
                )
                .with_help(format!("{what} names are lower-case letters, digits and `-`, starting with a letter")),
            );
        }
    }

    fn address(&mut self, a: &ast::Ident, allow_range: bool) -> Option<Address> {
        match parse_addr(&a.name, allow_range) {
            Ok(x) => Some(x),
            Err(e) => {
                self.push(
                    Diagnostic::new(Code::InvalidAddress, format!("invalid address `{}`", a.name), a.span, e)
                        .with_help(
                        "write `203.0.113.10`, `203.0.113.10:5060`, `[2001:db8::1]:5060` or a range `198.51.100.0/27`",
                    ),
                );
                None
            }
        }
    }

    /// Compiles a regular expression literal, reporting the regex engine's own message.
    fn pattern(&mut self, l: &ast::Lit) -> Option<Pattern> {
        match Pattern::new(&l.value) {
            Ok(p) => Some(p),
            Err(e) => {
                let msg = e.to_string();
                let detail = msg.lines().last().unwrap_or("").trim().trim_start_matches("error: ").to_string();
                self.push(
                    Diagnostic::new(Code::InvalidRegex, "invalid regular expression", l.span, detail)
                        .with_help("the regex crate's syntax is used; escape a literal slash as `\\/`"),
                );
                None
            }
        }
    }

    fn value_type(&mut self, v: &'a ast::ValueType) -> Option<ValueType> {
        match v {
            ast::ValueType::Literal(l) => Some(ValueType::Literal { value: l.value.clone() }),
            ast::ValueType::Regex(l) => Some(ValueType::Regex { pattern: self.pattern(l)? }),
            ast::ValueType::Alt(alts, _) => {
                let lowered: Vec<Option<ValueType>> = alts.iter().map(|a| self.value_type(a)).collect();
                let alternatives: Option<Vec<ValueType>> = lowered.into_iter().collect();
                Some(ValueType::Alt { alternatives: alternatives? })
            }
            ast::ValueType::Params(p) => Some(ValueType::WithParams { base: None, params: self.params(p)? }),
            ast::ValueType::Named { name, range, fields, params, .. } => {
                let base = self.named(name, range.as_ref(), fields)?;
                match params {
                    Some(p) => Some(ValueType::WithParams { base: Some(Box::new(base)), params: self.params(p)? }),
                    None => Some(base),
                }
            }
        }
    }

    fn params(&mut self, p: &'a ast::ParamsSpec) -> Option<ParamsSpecC> {
        let mut entries = vec![];
        let mut ok = true;
        let mut seen: Vec<&ast::Ident> = vec![];
        for e in &p.entries {
            if let Some(first) = seen.iter().find(|f| f.name.eq_ignore_ascii_case(&e.name.name)) {
                ok = false;
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("parameter `{}` is listed twice", e.name.name),
                        e.name.span,
                        "listed again here",
                    )
                    .with_secondary(first.span, "first listed here")
                    .with_help("parameter names are case-insensitive; keep one entry"),
                );
            }
            seen.push(&e.name);
            let value = match &e.value {
                Some(v) => match self.value_type(v) {
                    Some(t) => Some(t),
                    None => {
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            entries.push(ParamSpec { name: e.name.name.clone(), value, required: e.required });
        }
        ok.then_some(ParamsSpecC { closed: p.closed, entries })
    }

    fn named(
        &mut self,
        name: &ast::Ident,
        range: Option<&(ast::Ident, Span)>,
        fields: &'a [(ast::Ident, ast::ValueType)],
    ) -> Option<ValueType> {
        let n = name.name.as_str();
        if let Some(decl) = self.types.get(n).copied() {
            if self.type_stack.iter().any(|s| s == n) && self.type_stack.len() > 1
                || self.type_stack.first().is_some_and(|s| s == n)
            {
                self.push(
                    Diagnostic::new(
                        Code::UndeclaredType,
                        format!("type `{n}` refers to itself"),
                        name.span,
                        "recursive reference",
                    )
                    .with_help("a type cannot contain itself"),
                );
                return None;
            }
            if range.is_some() || !fields.is_empty() {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    format!("type `{n}` takes no arguments"),
                    name.span,
                    "declared type used with arguments",
                ));
                return None;
            }
            if self.type_stack.len() >= usize::from(crate::grammar::MAX_DEPTH) {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    format!("type `{n}` is nested too deeply"),
                    name.span,
                    "too many types referring to types",
                ));
                return None;
            }
            self.type_stack.push(n.to_string());
            let r = self.value_type(&decl.value);
            self.type_stack.pop();
            return r;
        }
        if !BUILTINS.contains(&n) {
            let mut d =
                Diagnostic::new(Code::UndeclaredType, format!("type `{n}` is not declared"), name.span, "unknown type");
            d = d.with_help(format!("declare it with `type {n} = ...` or use a built-in: {}", BUILTINS.join(", ")));
            self.push(d);
            return None;
        }
        if let Some((r, span)) = range {
            if n != "integer" {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{n}` takes no range"),
                    *span,
                    "unexpected range",
                ));
                return None;
            }
            let parsed =
                r.name.split_once("..").and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
            return match parsed {
                Some((a, b)) if a <= b => Some(ValueType::Integer { min: Some(a), max: Some(b) }),
                _ => {
                    self.push(Diagnostic::new(
                        Code::InvalidValue,
                        format!("invalid range `{}`", r.name),
                        r.span,
                        "expected `MIN..MAX` with MIN <= MAX",
                    ));
                    None
                }
            };
        }
        let mut uf = UriFields::default();
        if !fields.is_empty() {
            if !matches!(n, "uri" | "sip-uri" | "tel-uri" | "name-addr") {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{n}` takes no field constraints"),
                    name.span,
                    "field constraints apply to uri, sip-uri, tel-uri and name-addr",
                ));
                return None;
            }
            for (f, t) in fields {
                let t = Box::new(self.value_type(t)?);
                match f.name.as_str() {
                    "user" => uf.user = Some(t),
                    "host" => uf.host = Some(t),
                    "port" => uf.port = Some(t),
                    "scheme" => uf.scheme = Some(t),
                    other => {
                        self.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("unknown URI field `{other}`"),
                                f.span,
                                "not a field",
                            )
                            .with_help("fields are user, host, port and scheme"),
                        );
                        return None;
                    }
                }
            }
        }
        Some(match n {
            "token" => ValueType::Token,
            "integer" => ValueType::Integer { min: None, max: None },
            "quoted-string" => ValueType::QuotedString,
            "host" => ValueType::Host,
            "ipv4" => ValueType::Ipv4,
            "ipv6" => ValueType::Ipv6,
            "uuid" => ValueType::Uuid,
            "any" => ValueType::Any,
            "e164" => ValueType::E164,
            "uri" => ValueType::Uri { scheme: UriKind::Any, fields: uf },
            "sip-uri" => ValueType::Uri { scheme: UriKind::Sip, fields: uf },
            "tel-uri" => ValueType::Uri { scheme: UriKind::Tel, fields: uf },
            _ => ValueType::NameAddr { fields: uf },
        })
    }

    fn peer_ref(&mut self, p: &ast::Ident) -> Option<String> {
        if self.peers.contains_key(&p.name) {
            return Some(p.name.clone());
        }
        let mut known: Vec<&String> = self.peers.keys().collect();
        known.sort();
        let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        self.push(
            Diagnostic::new(Code::UndeclaredPeer, format!("peer `{}` is not declared", p.name), p.span, "unknown peer")
                .with_help(if list.is_empty() {
                    "declare it with `peer NAME { sbc ADDR }`".to_string()
                } else {
                    format!("declared peers: {}", list.join(", "))
                }),
        );
        None
    }

    fn selector(&mut self, s: &'a ast::Selector, leg: bool) -> Option<Selector> {
        let mut ok = true;
        let methods: Vec<String> = s.methods.iter().map(|m| m.name.clone()).collect();
        let message = match &s.codes {
            Some(codes) => {
                let mut out = vec![];
                for c in codes {
                    match parse_code(&c.name) {
                        Ok(r) if r.min >= 100 && r.max <= 699 && r.min <= r.max => out.push(r),
                        Ok(_) => {
                            ok = false;
                            self.push(
                                Diagnostic::new(
                                    Code::SelectorNeverMatches,
                                    format!("status `{}` never occurs", c.name),
                                    c.span,
                                    "outside 100 to 699",
                                )
                                .with_help("SIP status codes run from 100 to 699"),
                            );
                        }
                        Err(e) => {
                            ok = false;
                            self.push(Diagnostic::new(Code::InvalidValue, e, c.span, "not a status code"));
                        }
                    }
                }
                let only_ack = s.methods.iter().all(|m| m.name == "ACK");
                for m in &s.methods {
                    if m.name == "ACK" {
                        ok = false;
                        self.push(
                            Diagnostic::new(
                                Code::SelectorNeverMatches,
                                if only_ack {
                                    "this selector can never match: ACK has no responses"
                                } else {
                                    "`ACK` in this list can never match: ACK has no responses"
                                },
                                m.span,
                                "ACK is never answered",
                            )
                            .with_help("select the ACK itself with `on ACK`, or the responses to INVITE"),
                        );
                    }
                }
                MessageKind::Response { codes: out, methods }
            }
            None if s.any.as_ref().is_some_and(|a| a.name == "message") => MessageKind::Message,
            None => MessageKind::Request { methods },
        };
        if let Some(m) = s.methods.iter().find(|m| !m.name.bytes().all(crate::contract::is_token_byte)) {
            ok = false;
            self.push(Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a method", m.name),
                m.span,
                "expected a method token like INVITE",
            ));
        }
        let dialog = match s.dialog {
            ast::Dialog::Any => DialogState::Any,
            ast::Dialog::Initial => DialogState::Initial,
            ast::Dialog::InDialog => DialogState::InDialog,
        };
        if s.dialog == ast::Dialog::Initial
            && s.methods.iter().any(|m| m.name == "ACK" || m.name == "BYE")
            && s.codes.is_none()
        {
            ok = false;
            let m = s.methods.iter().find(|m| m.name == "ACK" || m.name == "BYE").map_or(s.span, |m| m.span);
            self.push(
                Diagnostic::new(
                    Code::SelectorNeverMatches,
                    "this selector can never match: ACK and BYE are always in a dialog",
                    m,
                    "never sent outside a dialog",
                )
                .with_help("remove `initial`"),
            );
        }
        let from = match &s.from {
            Some(p) => {
                let r = self.peer_ref(p);
                ok &= r.is_some();
                r
            }
            None => None,
        };
        let to = match &s.to {
            Some(p) => {
                let r = self.peer_ref(p);
                ok &= r.is_some();
                r
            }
            None => None,
        };
        if let (Some(f), Some(t)) = (&s.from, &s.to) {
            if f.name == t.name && from.is_some() {
                ok = false;
                self.push(
                    Diagnostic::new(
                        Code::SelectorNeverMatches,
                        "this selector can never match: a message does not go from a peer to itself",
                        t.span,
                        "same peer as `from`",
                    )
                    .with_secondary(f.span, "sent by this peer"),
                );
            }
        }
        let ctx = if leg {
            Ctx::Request
        } else if s.codes.is_some() {
            Ctx::Response
        } else {
            Ctx::Request
        };
        let condition = match &s.cond {
            Some(e) => {
                let r = self.expr(e, ctx);
                ok &= r.is_some();
                r
            }
            None => None,
        };
        ok.then_some(Selector { message, dialog, from, to, condition, text: self.text(s.span).to_string() })
    }

    fn header_name(&mut self, h: &ast::Ident, allow_prefix: bool) -> Option<HeaderName> {
        if h.name.ends_with('*') {
            if !allow_prefix {
                self.push(
                    Diagnostic::new(
                        Code::PrefixNotAllowed,
                        "a prefix pattern is only allowed after `must not have` or `should not have`",
                        h.span,
                        "prefix pattern",
                    )
                    .with_help("name one header here"),
                );
                return None;
            }
            return Some(HeaderName::new(&h.name));
        }
        if !h.name.bytes().all(crate::contract::is_token_byte) {
            self.push(Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a header name", h.name),
                h.span,
                "not a token",
            ));
            return None;
        }
        self.uses.push((fold(&h.name), h.span, !allow_prefix));
        Some(HeaderName::new(&h.name))
    }

    fn obligation(&mut self, o: &'a ast::Obligation, ctx: Ctx) -> Option<Obligation> {
        let level = match o.level {
            ast::Level::Must => Level::Must,
            ast::Level::Should => Level::Should,
            ast::Level::May => Level::May,
        };
        let kind = match &o.kind {
            ast::ObligationKind::Have(h, cmp) => {
                let (side, hname) = self.side_of(h, ctx)?;
                let header = self.header_name(&hname, false)?;
                let cmp = match cmp {
                    Some(c) => {
                        let c = self.comparison(c, ctx)?;
                        self.literal_check(&header, &Part::Value, &c, cmp_lits(cmp.as_ref()));
                        Some(c)
                    }
                    None => None,
                };
                ObligationKind::Have { side, header, cmp }
            }
            ast::ObligationKind::NotHave(h) => {
                let (side, hname) = self.side_of(h, ctx)?;
                ObligationKind::NotHave { side, header: self.header_name(&hname, true)? }
            }
            ast::ObligationKind::Echo(h) => {
                if ctx == Ctx::Correlation {
                    self.push(
                        Diagnostic::new(
                            Code::EchoInRequestRule,
                            "`must echo` in a correlation",
                            o.span,
                            "only a response can echo its request",
                        )
                        .with_help("compare the legs instead: `must satisfy outbound.H == inbound.H`"),
                    );
                    return None;
                }
                ObligationKind::Echo { header: self.header_name(h, false)? }
            }
            ast::ObligationKind::Satisfy(e) => ObligationKind::Satisfy { expr: self.expr(e, ctx)? },
        };
        Some(Obligation { level, kind, origin: self.origin(o.span) })
    }

    /// The message a header reference reads, from its `inbound.`/`outbound.`/`request.` prefix.
    fn side_of(&mut self, h: &ast::Ident, ctx: Ctx) -> Option<(Side, ast::Ident)> {
        let (side, name) = split_side(h);
        let side_ident = side.map(|w| ast::Ident { span: Span::new(h.span.start, h.span.start + w.len()), name: w });
        Some((self.resolve_side(side_ident.as_ref(), ctx, h.span)?, name))
    }

    /// The message a field reads, from its `inbound.`/`outbound.`/`request.` prefix (`whole` is the
    /// field as written, for messages).
    fn resolve_side(&mut self, side: Option<&ast::Ident>, ctx: Ctx, whole: Span) -> Option<Side> {
        match (side, ctx) {
            (None, Ctx::Correlation) => {
                self.push(
                    Diagnostic::new(
                        Code::FieldNotAvailable,
                        "a field in a correlation must name its leg",
                        whole,
                        "which leg?",
                    )
                    .with_help(format!("write `inbound.{0}` or `outbound.{0}`", self.text(whole))),
                );
                None
            }
            (None, _) => Some(Side::This),
            (Some(s), c) => {
                match (s.name.as_str(), c) {
                    ("request", Ctx::Response) => Some(Side::Request),
                    ("inbound", Ctx::Correlation) => Some(Side::Inbound),
                    ("outbound", Ctx::Correlation) => Some(Side::Outbound),
                    (w, _) => {
                        let help = match c {
                        Ctx::Request => "in a request rule, fields are read from the request itself",
                        Ctx::Response => "`request.` reads the answered request; `inbound.`/`outbound.` exist only in correlations",
                        Ctx::Correlation => "use `inbound.` or `outbound.`",
                    };
                        self.push(
                            Diagnostic::new(
                                Code::FieldNotAvailable,
                                format!("`{w}.` is not available here"),
                                s.span,
                                "not available in this rule",
                            )
                            .with_help(help),
                        );
                        None
                    }
                }
            }
        }
    }

    fn comparison(&mut self, c: &'a ast::Cmp, ctx: Ctx) -> Option<Comparison> {
        Some(match c {
            ast::Cmp::Eq(o) => Comparison::Eq(self.operand(o, ctx)?),
            ast::Cmp::Ne(o) => Comparison::Ne(self.operand(o, ctx)?),
            ast::Cmp::Is(t) => Comparison::Is(self.value_type(t)?),
            ast::Cmp::Matches(l) => Comparison::Matches(self.pattern(l)?),
            ast::Cmp::In(v) => Comparison::In(v.iter().map(|l| l.value.clone()).collect()),
        })
    }

    fn operand(&mut self, o: &'a ast::Operand, ctx: Ctx) -> Option<Operand> {
        Some(match o {
            ast::Operand::Lit(l) => Operand::Literal(l.value.clone()),
            ast::Operand::Field(f) => Operand::Field(self.field(f, ctx)?),
        })
    }

    fn field(&mut self, f: &'a ast::Field, ctx: Ctx) -> Option<FieldRef> {
        let side = self.resolve_side(f.side.as_ref(), ctx, f.span)?;
        let names: Vec<&str> = f.path.iter().map(|s| s.name.as_str()).collect();
        let param = f.param.as_ref().map(|p| p.name.clone());
        let part_of = |rest: &[&str]| -> Option<Part> {
            match rest {
                [] => Some(Part::Value),
                ["user"] => Some(Part::UriUser),
                ["host"] => Some(Part::UriHost),
                ["param"] => param.clone().map(Part::Param),
                _ => None,
            }
        };
        let r = match names.as_slice() {
            ["ruri", rest @ ..] => part_of(rest).map(|part| FieldRef::Ruri { side, part }),
            ["method"] => Some(FieldRef::Method { side }),
            ["status"] => {
                if ctx == Ctx::Request && side == Side::This {
                    self.push(
                        Diagnostic::new(
                            Code::FieldNotAvailable,
                            "`status` is not available in a request rule",
                            f.span,
                            "requests have no status",
                        )
                        .with_help("use `status` in `on response` rules"),
                    );
                    return None;
                }
                Some(FieldRef::Status { side })
            }
            [_, rest @ ..] => {
                let part = match rest {
                    [] => Some(Part::Value),
                    ["uri", "user"] => Some(Part::UriUser),
                    ["uri", "host"] => Some(Part::UriHost),
                    ["param"] => param.clone().map(Part::Param),
                    _ => None,
                };
                match part {
                    Some(part) => {
                        let id = f.path[0].clone();
                        let header = self.header_name(&id, false)?;
                        Some(FieldRef::Header { side, header, part })
                    }
                    None => None,
                }
            }
            [] => None,
        };
        if r.is_none() {
            self.push(
                Diagnostic::new(Code::FieldNotAvailable, format!("unknown field `{}`", self.text(f.span)), f.span, "not a field")
                    .with_help("fields are a header name, H.uri.user, H.uri.host, H.param(NAME), ruri, ruri.user, ruri.host, ruri.param(NAME), method and status"),
            );
        }
        r
    }

    fn expr(&mut self, e: &'a ast::Expr, ctx: Ctx) -> Option<Expr> {
        Some(match e {
            ast::Expr::Has(h, _) => {
                let (side, hname) = self.side_of(h, ctx)?;
                Expr::Has { side, header: self.header_name(&hname, false)? }
            }
            ast::Expr::Cmp(f, c, _) => {
                let field = self.field(f, ctx);
                let cmp = self.comparison(c, ctx)?;
                let field = field?;
                if let FieldRef::Header { header, part, .. } = &field {
                    self.literal_check(header, part, &cmp, cmp_lits(Some(c)));
                }
                Expr::Compare { field, cmp }
            }
            ast::Expr::Not(e, _) => Expr::Not(Box::new(self.expr(e, ctx)?)),
            ast::Expr::And(a, b, _) => {
                let a = self.expr(a, ctx);
                let b = self.expr(b, ctx);
                Expr::And(Box::new(a?), Box::new(b?))
            }
            ast::Expr::Or(a, b, _) => {
                let a = self.expr(a, ctx);
                let b = self.expr(b, ctx);
                Expr::Or(Box::new(a?), Box::new(b?))
            }
        })
    }

    /// A literal compared for equality with a declared header's value must be able to match its type.
    fn literal_check(&mut self, header: &HeaderName, part: &Part, cmp: &Comparison, lits: Vec<&ast::Lit>) {
        if matches!(cmp, Comparison::Ne(_)) {
            return;
        }
        let key = header.name.to_ascii_lowercase();
        // Every header is lowered before any rule, so the declared types are all known here.
        let decl_ty = self.hdecls.iter().find(|h| h.name.eq_ignore_ascii_case(&key)).and_then(|h| h.value.clone());
        let Some(ty) = decl_ty else { return };
        let ty = match part {
            Part::Value => Some(ty),
            Part::Param(p) => match &ty {
                ValueType::WithParams { params, .. } => {
                    params.entries.iter().find(|e| e.name.eq_ignore_ascii_case(p)).and_then(|e| e.value.clone())
                }
                _ => None,
            },
            _ => None,
        };
        let Some(ty) = ty else { return };
        for l in lits {
            if !ty.matches_str(&l.value) {
                let decl_span = self.headers.get(&key).map(|x| x.1);
                let mut d = Diagnostic::new(
                    Code::LiteralNeverMatches,
                    format!("\"{}\" can never match the declared type of `{}`", l.value, header.name),
                    l.span,
                    format!("expected {}", ty.describe()),
                )
                .with_help("fix the literal or widen the header's `value` type");
                if let Some(s) = decl_span {
                    d = d.with_secondary(s, "header declared here");
                }
                self.push(d);
            }
        }
    }

    /// `must have H` and `must not have H` (or a matching prefix) in rules whose selectors overlap.
    /// The `must not have` obligations are indexed by header name first, so only pairs that name the
    /// same header are compared: linear in the number of obligations, not quadratic in rules.
    fn conflicts(&mut self, rules: &[(SelKey, &'a ast::Rule)]) {
        let musts = |kind: fn(&'a ast::ObligationKind) -> bool| {
            rules.iter().enumerate().flat_map(move |(i, (_, r))| {
                r.obligations.iter().filter(move |o| o.level == ast::Level::Must && kind(&o.kind)).map(move |o| (i, o))
            })
        };
        let mut forbidden_exact: HashMap<String, Vec<(usize, &'a ast::Obligation)>> = HashMap::new();
        let mut forbidden_prefix: Vec<(String, usize, &'a ast::Obligation)> = vec![];
        for (j, ob) in musts(|k| matches!(k, ast::ObligationKind::NotHave(_))) {
            let ast::ObligationKind::NotHave(hb) = &ob.kind else { continue };
            match hb.name.strip_suffix('*') {
                Some(prefix) => forbidden_prefix.push((prefix.to_ascii_lowercase(), j, ob)),
                None => forbidden_exact.entry(fold(&hb.name)).or_default().push((j, ob)),
            }
        }
        let mut seen: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
        for (i, oa) in musts(|k| matches!(k, ast::ObligationKind::Have(..))) {
            let ast::ObligationKind::Have(ha, _) = &oa.kind else { continue };
            let lower = ha.name.to_ascii_lowercase();
            let exact = forbidden_exact.get(&fold(&ha.name)).into_iter().flatten().copied();
            let prefixed =
                forbidden_prefix.iter().filter(|(p, _, _)| lower.starts_with(p.as_str())).map(|&(_, j, ob)| (j, ob));
            let hits: Vec<(usize, &'a ast::Obligation)> = exact.chain(prefixed).collect();
            for (j, ob) in hits {
                if !rules[i].0.overlaps(&rules[j].0) || !seen.insert((i, j)) {
                    continue;
                }
                self.push(
                    Diagnostic::new(
                        Code::ConflictingObligations,
                        format!("`{}` is both required and forbidden for the same messages", ha.name),
                        ob.span,
                        "forbidden here",
                    )
                    .with_secondary(oa.span, "required here")
                    .with_help("no message can satisfy both; remove one or narrow one rule's selector"),
                );
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Request,
    Response,
    Correlation,
}

fn split_side(h: &ast::Ident) -> (Option<String>, ast::Ident) {
    if let Some((side, rest)) = h.name.split_once('.') {
        if matches!(side, "inbound" | "outbound" | "request") {
            let off = side.len() + 1;
            return (
                Some(side.to_string()),
                ast::Ident { name: rest.to_string(), span: Span::new(h.span.start + off, h.span.end) },
            );
        }
    }
    (None, h.clone())
}

fn cmp_lits(c: Option<&ast::Cmp>) -> Vec<&ast::Lit> {
    match c {
        Some(ast::Cmp::Eq(ast::Operand::Lit(l))) => vec![l],
        Some(ast::Cmp::In(v)) => v.iter().collect(),
        _ => vec![],
    }
}

/// What a rule selects, for the must-have / must-not-have conflict check.
struct SelKey {
    sel: Selector,
    cond: Option<String>,
}

fn selector_key(s: &Selector, cond: Option<&str>) -> SelKey {
    SelKey { sel: s.clone(), cond: cond.map(str::to_string) }
}

fn methods_meet(a: &[String], b: &[String]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|m| b.contains(m))
}

impl SelKey {
    /// Whether some message is certainly selected by both: their kinds, dialog states and peers
    /// meet, and neither has an `if` the other lacks (conditions are compared as written).
    fn overlaps(&self, other: &SelKey) -> bool {
        let (a, b) = (&self.sel, &other.sel);
        let kinds = match (&a.message, &b.message) {
            (MessageKind::Message, _) | (_, MessageKind::Message) => true,
            (MessageKind::Request { methods: x }, MessageKind::Request { methods: y }) => methods_meet(x, y),
            (MessageKind::Response { codes: cx, methods: x }, MessageKind::Response { codes: cy, methods: y }) => {
                methods_meet(x, y) && cx.iter().any(|p| cy.iter().any(|q| p.min <= q.max && q.min <= p.max))
            }
            _ => false,
        };
        let dialog = a.dialog == b.dialog || a.dialog == DialogState::Any || b.dialog == DialogState::Any;
        let peer = |x: &Option<String>, y: &Option<String>| x.is_none() || y.is_none() || x == y;
        kinds && dialog && peer(&a.from, &b.from) && peer(&a.to, &b.to) && self.cond == other.cond
    }
}
