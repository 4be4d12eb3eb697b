//! What our side must send: completes a message with the headers the agreement asks of its sender.
//!
//! The UAS (`live`), the UAC (`call`) and the SIPp scenario writer (`scenario`) build the structural
//! part of each message (Via, From, To, ...) as a [`Draft`]; [`Composer::complete`] then applies every
//! rule that selects the message as sent from our peer to theirs: `must` and `should have` add the
//! header (the declaration's `example`, or a value made from its type), `must not have` removes it,
//! `must echo` copies the request's value, `must satisfy` on the Request-URI or a header sets it.
//! Rule conditions are evaluated on the draft by the replay runner's own evaluator.
//!
//! To test the other side's checks, a composer can break one rule on purpose ([`Violation`]).

use std::net::IpAddr;

use sipaccord_agreement::{
    Comparison, Contract, DialogState, Expr, FieldRef, HeaderDecl, HeaderName, Level, ObligationKind, Operand, Part,
    Peer, Side, ValueType,
};
use sipaccord_sip::Message;

/// Values tried, in order, when a value must match a regular expression or avoid a literal.
const CANDIDATES: &[&str] = &[
    "+15550100001",
    "15550100001",
    "sipaccord",
    "1",
    "0",
    "a",
    "A",
    "yes",
    "true",
    "on",
    "orig",
    "term",
    "fmc",
    "none",
    "example.com",
    "192.0.2.1",
    "2001:db8::1",
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "sip:+15550100001@example.com",
    "<sip:+15550100001@example.com>",
    "\"sipaccord\"",
];

/// A value no declared grammar but `any` accepts (a space and unbalanced markup).
const INVALID_VALUE: &str = "<sipaccord violation";

/// Values tried, in order, to break a header declaration's value type.
const OUTSIDE_VALUES: &[&str] = &["<sip:sipaccord@example.com>", "sipaccord violation", INVALID_VALUE];

/// A message being composed: start line, headers in order, body. Content-Length is added when it is
/// rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Request or status line, without its line ending.
    pub start_line: String,
    /// Header fields in order: name, value.
    pub headers: Vec<(String, String)>,
    /// Content-Type of the body, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
}

impl Draft {
    /// A draft with a start line and nothing else.
    pub fn new(start_line: impl Into<String>) -> Draft {
        Draft { start_line: start_line.into(), headers: Vec::new(), content_type: None, body: String::new() }
    }

    /// Appends a header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Draft {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether a header (or prefix pattern) is present.
    pub fn has(&self, name: &HeaderName) -> bool {
        self.headers.iter().any(|(n, _)| name.matches(n.as_bytes()))
    }

    /// The first value of a header.
    pub fn value(&self, name: &HeaderName) -> Option<&str> {
        self.headers.iter().find(|(n, _)| name.matches(n.as_bytes())).map(|(_, v)| v.as_str())
    }

    /// Removes every line of a header (or prefix pattern); says whether there was one.
    pub fn remove(&mut self, name: &HeaderName) -> bool {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !name.matches(n.as_bytes()));
        self.headers.len() != before
    }

    /// Sets a header to one value, replacing every line it had; says whether anything changed.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let header = HeaderName::new(name);
        if self.headers.iter().filter(|(n, _)| header.matches(n.as_bytes())).count() == 1
            && self.value(&header) == Some(value)
        {
            return false;
        }
        match self.headers.iter().position(|(n, _)| header.matches(n.as_bytes())) {
            Some(at) => {
                self.headers[at].1 = value.to_owned();
                let mut seen = 0;
                self.headers.retain(|(n, _)| {
                    let same = header.matches(n.as_bytes());
                    seen += usize::from(same);
                    !same || seen == 1
                });
            }
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
        true
    }

    /// The Request-URI of a request line (`METHOD URI SIP/2.0`).
    pub fn request_uri(&self) -> Option<&str> {
        self.start_line.split(' ').nth(1)
    }

    /// Replaces the user part of the Request-URI (`sip:USER@host`); says whether anything changed.
    pub fn set_ruri_user(&mut self, user: &str) -> bool {
        let mut parts: Vec<String> = self.start_line.split(' ').map(str::to_owned).collect();
        let Some(uri) = parts.get_mut(1) else { return false };
        let Some(colon) = uri.find(':') else { return false };
        let rest = &uri[colon + 1..];
        let host = rest.find('@').map_or(rest, |at| &rest[at + 1..]);
        let new = format!("{}:{user}@{host}", &uri[..colon]);
        if *uri == new {
            return false;
        }
        *uri = new;
        self.start_line = parts.join(" ");
        true
    }

    /// The message as sent: header lines, Content-Type and Content-Length, blank line, body.
    pub fn render(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512 + self.body.len());
        out.push_str(&self.start_line);
        out.push_str("\r\n");
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        if let Some(t) = &self.content_type {
            out.push_str("Content-Type: ");
            out.push_str(t);
            out.push_str("\r\n");
        }
        out.push_str("Content-Length: ");
        out.push_str(&self.body.len().to_string());
        out.push_str("\r\n\r\n");
        out.push_str(&self.body);
        out.into_bytes()
    }
}

/// The kind of message being composed, as selectors see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind<'a> {
    /// A request; `initial` when it is outside a dialog (no To tag).
    Request {
        /// Method.
        method: &'a str,
        /// Outside a dialog.
        initial: bool,
    },
    /// A response to a request of `method`; `initial` when that request was.
    Response {
        /// Status code.
        status: u16,
        /// The answered request's method.
        method: &'a str,
        /// The answered request was outside a dialog.
        initial: bool,
    },
}

/// The rule part the composer breaks on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Obligation `obligation` of rule `rule` (indices into the contract).
    Obligation {
        /// Rule index.
        rule: usize,
        /// Obligation index in the rule.
        obligation: usize,
    },
    /// The value grammar or `max` of header declaration `header`, in the first request sent.
    Declaration {
        /// Declaration index.
        header: usize,
    },
}

impl Violation {
    /// Finds what `--violate SPEC` names in the agreement: `LINE`, `LINE:COLUMN` or
    /// `FILE:LINE:COLUMN` (as findings print rules) of an obligation, of an `on` rule (its first
    /// `must` obligation), or of a header declaration.
    pub fn resolve(contract: &Contract, spec: &str) -> Result<Violation, String> {
        let numbers: Vec<&str> = spec.rsplitn(3, ':').collect();
        let parse = |s: &str| s.parse::<usize>().ok();
        let (line, column) = match numbers.as_slice() {
            [l] => (parse(l), None),
            [c, l] => (parse(l), parse(c)),
            [c, l, _file] => (parse(l), parse(c)),
            _ => (None, None),
        };
        let Some(line) = line else {
            return Err(format!("`{spec}` is not a rule's place: give LINE or LINE:COLUMN, as findings print rules"));
        };
        let at = |o: &sipaccord_agreement::Origin| o.line == line && column.is_none_or(|c| c == o.column);
        for (r, rule) in contract.rules.iter().enumerate() {
            if let Some(o) = rule.obligations.iter().position(|o| at(&o.origin)) {
                return Self::breakable(contract, r, o);
            }
        }
        for (r, rule) in contract.rules.iter().enumerate() {
            if at(&rule.origin) {
                let Some(o) = rule.obligations.iter().position(|o| o.level == Level::Must) else {
                    return Err(format!("the rule on line {line} has no `must` obligation to break"));
                };
                return Self::breakable(contract, r, o);
            }
        }
        if let Some(h) = contract.headers.iter().position(|h| at(&h.origin)) {
            let decl = &contract.headers[h];
            if decl.value.as_ref().is_none_or(|v| matches!(v, ValueType::Any)) && decl.max.is_none() {
                return Err(format!("header {} accepts any value and any count: there is nothing to break", decl.name));
            }
            return Ok(Violation::Declaration { header: h });
        }
        if contract.correlations.iter().any(|c| at(&c.origin) || c.obligations.iter().any(|o| at(&o.origin))) {
            return Err(format!(
                "line {line} is in a correlation: breaking it takes two calls, which a scenario cannot place"
            ));
        }
        let mut lines: Vec<String> = contract
            .rules
            .iter()
            .flat_map(|r| r.obligations.iter().map(|o| o.origin.line))
            .chain(contract.headers.iter().map(|h| h.origin.line))
            .map(|l| l.to_string())
            .collect();
        lines.dedup();
        Err(format!(
            "no rule, obligation or header declaration starts on line {line} of {}; these do: {}",
            contract.file,
            lines.join(", ")
        ))
    }

    fn breakable(contract: &Contract, rule: usize, obligation: usize) -> Result<Violation, String> {
        let o = &contract.rules[rule].obligations[obligation];
        if o.level == Level::May {
            return Err(format!("line {}: a `may` obligation cannot be broken", o.origin.line));
        }
        Ok(Violation::Obligation { rule, obligation })
    }
}

/// Completes messages sent by one peer to another.
#[derive(Debug, Clone)]
pub struct Composer<'c> {
    contract: &'c Contract,
    me: &'c Peer,
    them: &'c Peer,
    violation: Option<Violation>,
    /// Our signalling host, for values that are hosts or URIs.
    host: String,
}

impl<'c> Composer<'c> {
    /// A composer for messages from `me` to `them`.
    pub fn new(contract: &'c Contract, me: &'c Peer, them: &'c Peer) -> Composer<'c> {
        let host = me.sbc.first().map_or_else(|| "example.com".to_owned(), |a| host_text(a.ip));
        Composer { contract, me, them, violation: None, host }
    }

    /// The same composer, breaking one rule part on purpose.
    pub fn violating(mut self, violation: Violation) -> Composer<'c> {
        self.violation = Some(violation);
        self
    }

    /// Whether this composer breaks a rule on purpose.
    pub fn is_violating(&self) -> bool {
        self.violation.is_some()
    }

    /// Our peer.
    pub fn me(&self) -> &'c Peer {
        self.me
    }

    /// Their peer.
    pub fn them(&self) -> &'c Peer {
        self.them
    }

    /// Whether a rule's selector picks a message of this kind from us to them (its condition aside).
    fn selects(&self, selector: &sipaccord_agreement::Selector, kind: MessageKind<'_>) -> bool {
        let (method, status, initial) = match kind {
            MessageKind::Request { method, initial } => (method, None, initial),
            MessageKind::Response { status, method, initial } => (method, Some(status), initial),
        };
        selector.from.as_deref().is_none_or(|p| p == self.me.name)
            && selector.to.as_deref().is_none_or(|p| p == self.them.name)
            && selector.matches_kind(method, status)
            && match selector.dialog {
                DialogState::Any => true,
                DialogState::Initial => initial,
                DialogState::InDialog => !initial,
            }
    }

    /// Adds, removes and sets what the agreement asks of this message (`request` is the request a
    /// response answers). Returns what could not be done, in words (empty when the message keeps
    /// every rule that selects it).
    pub fn complete(&self, draft: &mut Draft, kind: MessageKind<'_>, request: Option<&Message<'_>>) -> Vec<String> {
        let mut unmet = Vec::new();
        let targeted_rule = match self.violation {
            Some(Violation::Obligation { rule, .. }) => Some(rule),
            _ => None,
        };
        // Make the broken rule's condition true, so the rule applies to this message.
        if let Some(r) = targeted_rule {
            let rule = &self.contract.rules[r];
            if let (true, Some(condition)) = (self.selects(&rule.selector, kind), &rule.selector.condition) {
                // What cannot be made true is reported by the obligations the rule then fails to select.
                let _ = self.make_true(draft, condition);
            }
        }
        // Rules can depend on headers other rules add (conditions): repeat until nothing changes.
        for _pass in 0..4 {
            let rendered = draft.render();
            let Ok(parsed) = Message::parse(&rendered) else { break };
            let mut changed = false;
            unmet.clear();
            for (r, rule) in self.contract.rules.iter().enumerate() {
                if !self.selects(&rule.selector, kind) {
                    continue;
                }
                if let Some(condition) = &rule.selector.condition {
                    if !sipaccord_replay::condition_holds(condition, &parsed, request) {
                        continue;
                    }
                }
                for (o, obligation) in rule.obligations.iter().enumerate() {
                    if obligation.level == Level::May
                        || self.violation == Some(Violation::Obligation { rule: r, obligation: o })
                    {
                        continue;
                    }
                    match self.satisfy(draft, &obligation.kind, request) {
                        Ok(c) => changed |= c,
                        Err(why) => unmet.push(format!("{}: {why}", obligation.origin.text.trim())),
                    }
                }
            }
            if !changed {
                break;
            }
        }
        match self.violation {
            Some(Violation::Obligation { rule, obligation }) if targeted_rule.is_some() => {
                let r = &self.contract.rules[rule];
                if self.selects(&r.selector, kind) {
                    self.break_obligation(draft, &r.obligations[obligation].kind, request);
                }
            }
            Some(Violation::Declaration { header }) if matches!(kind, MessageKind::Request { initial: true, .. }) => {
                self.break_declaration(draft, &self.contract.headers[header]);
            }
            _ => {}
        }
        unmet
    }

    /// Whether this composer's violation applies to a message of this kind.
    pub fn breaks(&self, kind: MessageKind<'_>) -> bool {
        match self.violation {
            Some(Violation::Obligation { rule, .. }) => self.selects(&self.contract.rules[rule].selector, kind),
            Some(Violation::Declaration { .. }) => matches!(kind, MessageKind::Request { initial: true, .. }),
            None => false,
        }
    }

    fn satisfy(&self, draft: &mut Draft, kind: &ObligationKind, request: Option<&Message<'_>>) -> Result<bool, String> {
        match kind {
            ObligationKind::Have { side: Side::This, header, cmp } => match cmp {
                None if draft.has(header) => Ok(false),
                None => Ok(draft.set(&header_spelling(header), &self.value_for(header, None)?)),
                Some(cmp) if draft.value(header).is_some_and(|v| cmp.holds(Some(v), None)) => Ok(false),
                Some(cmp) => Ok(draft.set(&header_spelling(header), &self.value_for(header, Some(cmp))?)),
            },
            ObligationKind::NotHave { side: Side::This, header } => Ok(draft.remove(header)),
            ObligationKind::Echo { header } => {
                let Some(request) = request else { return Ok(false) };
                let values: Vec<String> = request
                    .headers()
                    .iter()
                    .filter(|h| header.matches_header(h))
                    .map(|h| String::from_utf8_lossy(&h.value_unfolded()).into_owned())
                    .collect();
                if values.is_empty() || draft.value(header) == Some(values[0].as_str()) {
                    return Ok(false);
                }
                draft.remove(header);
                for v in values {
                    draft.push(header_spelling(header), v);
                }
                Ok(true)
            }
            ObligationKind::Satisfy { expr } => self.make_true(draft, expr),
            _ => Err("refers to another message".into()),
        }
    }

    /// Changes the draft so a simple expression holds: `has H`, `not has H`, `FIELD == "v"`,
    /// `FIELD is TYPE`, `FIELD matches /re/`, `FIELD in (...)` on a header or the Request-URI user,
    /// `and`, `or` (its first side).
    fn make_true(&self, draft: &mut Draft, expr: &Expr) -> Result<bool, String> {
        match expr {
            Expr::Has { side: Side::This, header } if draft.has(header) => Ok(false),
            Expr::Has { side: Side::This, header } => {
                Ok(draft.set(&header_spelling(header), &self.value_for(header, None)?))
            }
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Has { side: Side::This, header } => Ok(draft.remove(header)),
                _ => Err("cannot compose a message for this negation".into()),
            },
            Expr::And(a, b) => Ok(self.make_true(draft, a)? | self.make_true(draft, b)?),
            Expr::Or(a, _) => self.make_true(draft, a),
            Expr::Compare { field, cmp } => {
                let value = self.value_satisfying(field_type(self.contract, field), cmp)?;
                match field {
                    FieldRef::Header { side: Side::This, header, part: Part::Value } => {
                        if draft.value(header).is_some_and(|v| cmp.holds(Some(v), None)) {
                            return Ok(false);
                        }
                        Ok(draft.set(&header_spelling(header), &value))
                    }
                    FieldRef::Ruri { side: Side::This, part: Part::UriUser } => {
                        let current = draft.request_uri().and_then(uri_user);
                        if current.is_some_and(|u| cmp.holds(Some(u), None)) {
                            return Ok(false);
                        }
                        Ok(draft.set_ruri_user(&value))
                    }
                    _ => Err("cannot compose a message for this field".into()),
                }
            }
            _ => Err("refers to another message".into()),
        }
    }

    fn break_obligation(&self, draft: &mut Draft, kind: &ObligationKind, request: Option<&Message<'_>>) {
        match kind {
            ObligationKind::Have { header, cmp: None, .. } => {
                draft.remove(header);
            }
            ObligationKind::Have { header, cmp: Some(cmp), .. } => {
                let decl = self.contract.header(&header.name).and_then(|d| d.value.as_ref());
                let bad = CANDIDATES
                    .iter()
                    .copied()
                    .find(|v| !cmp.holds(Some(v), None) && decl.is_none_or(|t| t.matches_str(v)))
                    .unwrap_or(INVALID_VALUE);
                draft.set(&header_spelling(header), bad);
            }
            ObligationKind::NotHave { header, .. } => {
                let name = if header.prefix { format!("{}Violation", header.name) } else { header.name.clone() };
                let value = self.value_for(&HeaderName::new(&name), None).unwrap_or_else(|_| "1".into());
                draft.push(name, value);
            }
            ObligationKind::Echo { header } => {
                let asked = request.and_then(|r| r.headers().iter().find(|h| header.matches_header(h)));
                let asked = asked.map(|h| String::from_utf8_lossy(&h.value_unfolded()).into_owned());
                let decl = self.contract.header(&header.name).and_then(|d| d.value.as_ref());
                let other = CANDIDATES
                    .iter()
                    .copied()
                    .find(|v| Some(*v) != asked.as_deref() && decl.is_none_or(|t| t.matches_str(v)));
                match (asked, other) {
                    (Some(_), Some(v)) => {
                        draft.set(&header_spelling(header), v);
                    }
                    _ => {
                        draft.remove(header);
                    }
                }
            }
            ObligationKind::Satisfy { expr } => self.make_false(draft, expr),
        }
    }

    /// Changes the draft so a simple expression fails (the first side of `and`, both of `or`).
    fn make_false(&self, draft: &mut Draft, expr: &Expr) {
        match expr {
            Expr::Has { header, .. } => {
                draft.remove(header);
            }
            Expr::Not(inner) => {
                let _ = self.make_true(draft, inner);
            }
            Expr::And(a, _) => self.make_false(draft, a),
            Expr::Or(a, b) => {
                self.make_false(draft, a);
                self.make_false(draft, b);
            }
            Expr::Compare { field, cmp } => {
                let bad = CANDIDATES.iter().copied().find(|v| !cmp.holds(Some(v), None)).unwrap_or(INVALID_VALUE);
                match field {
                    FieldRef::Header { side: Side::This, header, .. } => {
                        draft.set(&header_spelling(header), bad);
                    }
                    FieldRef::Ruri { side: Side::This, .. } => {
                        draft.set_ruri_user(bad);
                    }
                    _ => {}
                }
            }
        }
    }

    fn break_declaration(&self, draft: &mut Draft, decl: &HeaderDecl) {
        // A value outside the declared type that is still good SIP (a URI whose user is no number
        // for name-addr types), so the finding is the declaration's and the message stays well-formed.
        let outside = decl.value.as_ref().and_then(|t| OUTSIDE_VALUES.iter().find(|v| !t.matches_str(v)));
        match (outside, decl.max) {
            (Some(bad), _) => {
                draft.set(&decl.name, bad);
            }
            (None, Some(max)) => {
                let good = self.value_for(&HeaderName::new(&decl.name), None).unwrap_or_else(|_| "1".into());
                draft.remove(&HeaderName::new(&decl.name));
                for _ in 0..=max {
                    draft.push(decl.name.clone(), good.clone());
                }
            }
            (None, None) => {}
        }
    }

    /// A value for a header: the declaration's `example` if it fits, else one made from its type.
    fn value_for(&self, header: &HeaderName, cmp: Option<&Comparison>) -> Result<String, String> {
        let decl = self.contract.header(&header.name);
        let fits = |v: &str| {
            decl.and_then(|d| d.value.as_ref()).is_none_or(|t| t.matches_str(v))
                && cmp.is_none_or(|c| c.holds(Some(v), None))
        };
        if let Some(example) = decl.and_then(|d| d.example.as_deref()).filter(|e| fits(e)) {
            return Ok(example.to_owned());
        }
        if let Some(cmp) = cmp {
            return self.value_satisfying(decl.and_then(|d| d.value.as_ref()), cmp);
        }
        match decl.and_then(|d| d.value.as_ref()) {
            Some(t) => self.sample(t).ok_or_else(|| {
                format!(
                    "no value of header {} could be made from its type; give the declaration an `example`",
                    header.name
                )
            }),
            None => Ok(standard_value(header).unwrap_or("sipaccord").to_owned()),
        }
    }

    /// A value that satisfies a comparison (and the type, when known).
    fn value_satisfying(&self, declared: Option<&ValueType>, cmp: &Comparison) -> Result<String, String> {
        let fits = |v: &str| declared.is_none_or(|t| t.matches_str(v)) && cmp.holds(Some(v), None);
        let direct = match cmp {
            Comparison::Eq(Operand::Literal(l)) => Some(l.clone()),
            Comparison::In(vs) => vs.first().cloned(),
            Comparison::Is(t) => self.sample(t),
            _ => None,
        };
        direct
            .filter(|v| cmp.holds(Some(v), None))
            .or_else(|| declared.and_then(|t| self.sample(t)).filter(|v| fits(v)))
            .or_else(|| CANDIDATES.iter().find(|v| fits(v)).map(|v| (*v).to_owned()))
            .ok_or_else(|| "no value could be made that satisfies it".to_owned())
    }

    /// A value of a type (`None` for a pattern no candidate matches).
    fn sample(&self, t: &ValueType) -> Option<String> {
        Some(match t {
            ValueType::Literal { value } => value.clone(),
            ValueType::Regex { pattern } => CANDIDATES.iter().find(|v| pattern.is_match(v))?.to_string(),
            ValueType::Alt { alternatives } => return alternatives.iter().find_map(|a| self.sample(a)),
            ValueType::Token | ValueType::Any => "sipaccord".into(),
            ValueType::Integer { min, .. } => min.unwrap_or(1).to_string(),
            ValueType::QuotedString => "\"sipaccord\"".into(),
            ValueType::Host => self.host.clone(),
            ValueType::Ipv4 => match self.me.sbc.iter().find(|a| a.ip.is_ipv4()) {
                Some(a) => a.ip.to_string(),
                None => "192.0.2.1".into(),
            },
            ValueType::Ipv6 => "2001:db8::1".into(),
            ValueType::Uuid => CANDIDATES[17].into(),
            ValueType::E164 => CANDIDATES[0].into(),
            ValueType::Uri { fields, .. } => self.sample_uri(fields)?,
            ValueType::NameAddr { fields } => format!("<{}>", self.sample_uri(fields)?),
            ValueType::WithParams { base, params } => {
                let mut v = match base {
                    Some(b) => self.sample(b)?,
                    None => String::new(),
                };
                for p in &params.entries {
                    let value = match &p.value {
                        Some(t) => self.sample(t)?,
                        None => "sipaccord".into(),
                    };
                    if !v.is_empty() || base.is_some() {
                        v.push(';');
                    }
                    v.push_str(&p.name);
                    v.push('=');
                    v.push_str(&value);
                }
                v
            }
        })
    }

    fn sample_uri(&self, fields: &sipaccord_agreement::UriFields) -> Option<String> {
        let scheme = match &fields.scheme {
            Some(t) => self.sample(t)?,
            None => "sip".into(),
        };
        let user = match &fields.user {
            Some(t) => self.sample(t)?,
            None => CANDIDATES[0].into(),
        };
        if scheme == "tel" {
            return Some(format!("tel:{user}"));
        }
        let host = match &fields.host {
            Some(t) => self.sample(t)?,
            None => self.host.clone(),
        };
        Some(format!("{scheme}:{user}@{host}"))
    }
}

/// The declared type of the field an expression reads, when it is a header's whole value.
fn field_type<'c>(contract: &'c Contract, field: &FieldRef) -> Option<&'c ValueType> {
    match field {
        FieldRef::Header { header, part: Part::Value, .. } => contract.header(&header.name)?.value.as_ref(),
        _ => None,
    }
}

/// How a header is written when it is added.
fn header_spelling(header: &HeaderName) -> String {
    if header.prefix {
        format!("{}Sipaccord", header.name)
    } else {
        header.name.clone()
    }
}

/// Plausible values for standard headers an agreement asks for without declaring.
fn standard_value(header: &HeaderName) -> Option<&'static str> {
    let k = header.known?;
    Some(match k.name() {
        "P-Asserted-Identity" | "P-Preferred-Identity" | "Remote-Party-ID" => "<sip:+15550100001@example.com>",
        "P-Charging-Vector" => "icid-value=sipaccord",
        "Allow" => "INVITE, ACK, BYE, CANCEL, OPTIONS",
        "Supported" => "timer",
        "Session-Expires" => "1800",
        "Min-SE" => "90",
        "Privacy" => "none",
        "User-Agent" | "Server" => "sipaccord",
        _ => return None,
    })
}

/// The user part of a SIP URI (`sip:user@host`).
fn uri_user(uri: &str) -> Option<&str> {
    let rest = &uri[uri.find(':')? + 1..];
    let at = rest.find('@')?;
    Some(&rest[..at])
}

/// A host as written in a URI: IPv6 in brackets.
pub fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// An address of the peer's media ranges (the first host of the first range), for the `c=` line of
/// an SDP offer or answer; the peer's first SBC address when it declares no media.
pub fn media_address(peer: &Peer) -> Option<IpAddr> {
    match peer.media.first() {
        Some(range) => Some(match range.ip {
            IpAddr::V4(v4) if range.prefix < 31 => IpAddr::V4((u32::from(v4) + 1).into()),
            IpAddr::V6(v6) if range.prefix < 127 => IpAddr::V6((u128::from(v6) + 1).into()),
            ip => ip,
        }),
        None => peer.sbc.first().map(|a| a.ip),
    }
}

/// An SDP offer or answer for one audio stream (PCMU/PCMA) at `address`.
pub fn sdp(address: IpAddr, session: u64, port: u16) -> String {
    let family = if address.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=sipaccord {session} {session} IN {family} {address}\r\ns=sipaccord\r\nc=IN {family} {address}\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
    )
}
