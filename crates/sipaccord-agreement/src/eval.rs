//! Evaluation of compiled expressions and obligations against parsed SIP messages, so the runner
//! shares one definition of what each field and obligation means.

use sipaccord_sip::{CSeq, Message, NameAddr, Params, Uri};

use crate::contract::{Comparison, Expr, FieldRef, HeaderName, ObligationKind, Operand, Part, Side};

/// The messages an expression may read: the message under test, and, where they exist, the request
/// it answers and the two legs of a correlation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Messages<'m> {
    /// The message under test.
    pub this: Option<&'m Message<'m>>,
    /// The request a response answers.
    pub request: Option<&'m Message<'m>>,
    /// The inbound leg of a correlation.
    pub inbound: Option<&'m Message<'m>>,
    /// The outbound leg of a correlation.
    pub outbound: Option<&'m Message<'m>>,
}

impl<'m> Messages<'m> {
    /// Just one message.
    pub fn one(m: &'m Message<'m>) -> Messages<'m> {
        Messages { this: Some(m), ..Messages::default() }
    }

    /// A response and the request it answers.
    pub fn response(resp: &'m Message<'m>, req: Option<&'m Message<'m>>) -> Messages<'m> {
        Messages { this: Some(resp), request: req, ..Messages::default() }
    }

    /// The two legs of a correlation.
    pub fn pair(inbound: &'m Message<'m>, outbound: &'m Message<'m>) -> Messages<'m> {
        Messages { inbound: Some(inbound), outbound: Some(outbound), ..Messages::default() }
    }

    fn get(&self, side: Side) -> Option<&'m Message<'m>> {
        match side {
            Side::This => self.this,
            Side::Request => self.request,
            Side::Inbound => self.inbound,
            Side::Outbound => self.outbound,
        }
    }
}

fn text(b: &[u8]) -> Option<String> {
    std::str::from_utf8(b).ok().map(|s| s.trim().to_string())
}

/// The value of the first parameter with this name (case-insensitive), unquoted; empty for a flag.
fn param_value(params: Params<'_>, name: &str) -> Option<String> {
    params
        .map_while(Result::ok)
        .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|p| p.value_unquoted().map_or(String::new(), |v| String::from_utf8_lossy(v).into_owned()))
}

/// The first value of a header (list headers split at commas), trimmed.
pub fn first_value<'m>(m: &'m Message<'m>, header: &HeaderName) -> Option<&'m [u8]> {
    m.headers().iter().find(|h| header.matches_header(h)).and_then(|h| h.values().next())
}

fn part_of_value(v: &[u8], part: &Part) -> Option<String> {
    match part {
        Part::Value => text(v),
        Part::UriUser | Part::UriHost => {
            let na = NameAddr::parse(v).ok()?;
            match part {
                Part::UriUser => na.uri.user.map(str::to_string),
                _ => Some(na.uri.host_raw.to_string()).filter(|h| !h.is_empty()),
            }
        }
        Part::Param(name) => {
            if let Ok(na) = NameAddr::parse(v) {
                if let Some(p) = param_value(na.params(), name) {
                    return Some(p);
                }
            }
            // A bare parameter list (`a=1;b=2`) or `token;params`.
            let s = std::str::from_utf8(v).ok()?;
            let (head, rest) = crate::contract::split_params(s);
            let owned;
            let params = if head.contains('=') {
                owned = format!(";{s}");
                owned.as_str()
            } else {
                rest
            };
            param_value(Params::new(params.as_bytes()), name)
        }
    }
}

impl FieldRef {
    /// Reads the field; `None` when the message, header or part is absent.
    pub fn read(&self, msgs: &Messages<'_>) -> Option<String> {
        match self {
            FieldRef::Header { side, header, part } => part_of_value(first_value(msgs.get(*side)?, header)?, part),
            FieldRef::Ruri { side, part } => {
                let m = msgs.get(*side)?;
                // A response has no Request-URI: read the answered request's.
                let req = match m.request() {
                    Some(r) => *r,
                    None if *side == Side::This => *msgs.request?.request()?,
                    None => return None,
                };
                let uri = Uri::parse(req.uri).ok()?;
                match part {
                    Part::Value => Some(uri.raw.to_string()),
                    Part::UriUser => uri.user.map(str::to_string),
                    Part::UriHost => Some(uri.host_raw.to_string()).filter(|h| !h.is_empty()),
                    Part::Param(n) => uri.param(n).map(|p| p.unwrap_or("").to_string()),
                }
            }
            FieldRef::Method { side } => {
                let m = msgs.get(*side)?;
                match m.method() {
                    Some(method) => Some(method.to_string()),
                    // A response's method is its CSeq method.
                    None => m.values("CSeq").next().and_then(|v| CSeq::parse(v).ok()).map(|c| c.method.to_string()),
                }
            }
            FieldRef::Status { side } => msgs.get(*side)?.status().map(|s| s.to_string()),
        }
    }
}

impl Comparison {
    fn eval(&self, value: Option<&str>, msgs: &Messages<'_>) -> bool {
        let other = match self {
            Comparison::Eq(Operand::Field(f)) | Comparison::Ne(Operand::Field(f)) => f.read(msgs),
            _ => None,
        };
        self.holds(value, other.as_deref())
    }
}

impl Expr {
    /// Evaluates the expression. A comparison on an absent field is false (`!=` against a literal is true).
    pub fn eval(&self, msgs: &Messages<'_>) -> bool {
        match self {
            Expr::Has { side, header } => {
                msgs.get(*side).is_some_and(|m| m.headers().iter().any(|h| header.matches_header(h)))
            }
            Expr::Compare { field, cmp } => cmp.eval(field.read(msgs).as_deref(), msgs),
            Expr::Not(e) => !e.eval(msgs),
            Expr::And(a, b) => a.eval(msgs) && b.eval(msgs),
            Expr::Or(a, b) => a.eval(msgs) || b.eval(msgs),
        }
    }
}

impl ObligationKind {
    /// Whether the obligation holds. Value grammars are not checked here: a declared header's values
    /// are checked against its declaration wherever it appears.
    pub fn holds(&self, msgs: &Messages<'_>) -> bool {
        match self {
            ObligationKind::Have { side, header, cmp } => {
                let Some(m) = msgs.get(*side) else {
                    return false;
                };
                let Some(v) = first_value(m, header) else {
                    return false;
                };
                match cmp {
                    None => true,
                    Some(c) => c.eval(text(v).as_deref(), msgs),
                }
            }
            ObligationKind::NotHave { side, header } => {
                msgs.get(*side).is_none_or(|m| !m.headers().iter().any(|h| header.matches_header(h)))
            }
            ObligationKind::Echo { header } => {
                let resp = msgs.this.and_then(|m| first_value(m, header)).and_then(text);
                let req = msgs.request.and_then(|m| first_value(m, header)).and_then(text);
                resp == req
            }
            ObligationKind::Satisfy { expr } => expr.eval(msgs),
        }
    }
}

/// What the runner knows about a message when it selects rules: for a response, `method` is the
/// answered request's method and `from` the peer sending the response.
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts<'a> {
    /// Method (of the request, or of the request a response answers).
    pub method: &'a str,
    /// Status code, for a response.
    pub status: Option<u16>,
    /// Whether the message belongs to a dialog (a To tag).
    pub in_dialog: bool,
    /// The sending peer, if attributed.
    pub from: Option<&'a str>,
    /// The receiving peer, if attributed.
    pub to: Option<&'a str>,
}

impl crate::contract::Selector {
    /// Whether the selector picks this message (the `if` condition evaluated on `msgs`).
    pub fn matches(&self, facts: &MessageFacts<'_>, msgs: &Messages<'_>) -> bool {
        use crate::contract::DialogState;
        let dialog = match self.dialog {
            DialogState::Any => true,
            DialogState::Initial => !facts.in_dialog,
            DialogState::InDialog => facts.in_dialog,
        };
        self.matches_kind(facts.method, facts.status)
            && dialog
            && self.from.as_deref().is_none_or(|p| facts.from == Some(p))
            && self.to.as_deref().is_none_or(|p| facts.to == Some(p))
            && self.condition.as_ref().is_none_or(|c| c.eval(msgs))
    }
}
