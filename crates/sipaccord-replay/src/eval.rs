//! Evaluation of the contract's fields, expressions and comparisons against parsed messages.

use std::borrow::Cow;

use sipaccord_agreement::{Comparison, Expr, FieldRef, HeaderName, Operand, Part, Side};
use sipaccord_sip::{Header, ListItems, Message, NameAddr, Params, Uri};

/// The messages an expression can refer to: the message itself, the request a response answers, and
/// the two legs of a correlation.
#[derive(Clone, Copy, Default)]
pub struct Scope<'s, 'a> {
    /// The message under evaluation (`Side::This`).
    pub this: Option<&'s Message<'a>>,
    /// The answered request (`request.FIELD`).
    pub request: Option<&'s Message<'a>>,
    /// The inbound leg of a correlation.
    pub inbound: Option<&'s Message<'a>>,
    /// The outbound leg of a correlation.
    pub outbound: Option<&'s Message<'a>>,
}

impl<'s, 'a> Scope<'s, 'a> {
    /// The message a side names (`Side::This` in a correlation means its outbound leg).
    pub fn side(&self, side: Side) -> Option<&'s Message<'a>> {
        match side {
            Side::This => self.this.or(self.outbound),
            Side::Request => self.request,
            Side::Inbound => self.inbound,
            Side::Outbound => self.outbound,
        }
    }
}

/// Headers of a message that a header name (or prefix pattern) selects.
pub fn matching<'m, 'a>(m: &'m Message<'a>, name: &'m HeaderName) -> impl Iterator<Item = &'m Header<'a>> + 'm {
    m.headers().iter().filter(move |h| match (name.prefix, name.known) {
        // A registered header is told by the entry both sides resolved, here without a call into the
        // agreement crate (`#[inline]` on `HeaderName::matches_header` instead costs more: it inlines
        // the name comparisons everywhere it is called).
        (false, Some(k)) => h.known == Some(k),
        // A prefix pattern (`X-Internal-*`) rules most names out at their first byte (the test
        // `HeaderName::matches` starts with), without the call.
        (true, _) => {
            name.name.as_bytes().first().is_none_or(|&p| h.name.first().is_some_and(|&b| b | 0x20 == p | 0x20))
                && name.matches_header(h)
        }
        // An unregistered name is never a registered header's.
        (false, None) => h.known.is_none() && name.matches_header(h),
    })
}

/// The values of one header line: split at commas when the header is a list (by the registry or by the
/// agreement's `list`), else the whole value.
pub fn values_of<'a>(h: &Header<'a>, declared_list: bool) -> ListItems<'a> {
    if declared_list {
        ListItems::new(h.value)
    } else {
        h.values()
    }
}

fn text(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Reads a field; `None` when the message, header or part is absent.
pub fn field<'a>(scope: &Scope<'_, 'a>, f: &FieldRef) -> Option<String> {
    match f {
        FieldRef::Header { side, header, part } => {
            let m = scope.side(*side)?;
            let h = matching(m, header).next()?;
            let first = h.values().next().unwrap_or_default();
            part_of(first, part)
        }
        FieldRef::Ruri { side, part } => {
            // In a response, `ruri` is the Request-URI of the request it answers.
            let m = scope.side(*side)?;
            let uri = match m.request() {
                Some(r) => r.uri,
                None if *side == Side::This => scope.request?.request()?.uri,
                None => return None,
            };
            match part {
                Part::Value => Some(text(uri).into_owned()),
                _ => uri_part(&Uri::parse(uri).ok()?, part),
            }
        }
        FieldRef::Method { side } => {
            let m = scope.side(*side)?;
            match m.method() {
                Some(method) => Some(method.to_owned()),
                None => m.cseq().ok().flatten().map(|c| c.method.to_owned()),
            }
        }
        FieldRef::Status { side } => scope.side(*side)?.status().map(|s| s.to_string()),
    }
}

fn part_of(value: &[u8], part: &Part) -> Option<String> {
    match part {
        Part::Value => Some(text(&sipaccord_sip::unfold(value)).into_owned()),
        Part::UriUser | Part::UriHost => match NameAddr::parse(value) {
            Ok(a) => uri_part(&a.uri, part),
            Err(_) => uri_part(&Uri::parse(value).ok()?, part),
        },
        Part::Param(name) => match NameAddr::parse(value) {
            Ok(a) => param(&a.params(), name),
            Err(_) => {
                let semi = value.iter().position(|&b| b == b';')?;
                param(&Params::new(&value[semi..]), name)
            }
        },
    }
}

fn param(params: &Params<'_>, name: &str) -> Option<String> {
    params.get(name).map(|v| v.map(|v| text(v).trim_matches('"').to_owned()).unwrap_or_default())
}

fn uri_part(uri: &Uri<'_>, part: &Part) -> Option<String> {
    match part {
        Part::Value => Some(uri.raw.to_owned()),
        Part::UriUser => uri.user.map(str::to_owned),
        Part::UriHost => (!uri.host_raw.is_empty()).then(|| uri.host_raw.to_owned()),
        Part::Param(name) => uri.param(name).map(|v| v.unwrap_or("").to_owned()),
    }
}

/// Whether a comparison holds for a value, resolving a field operand in the same scope.
pub fn compare(scope: &Scope<'_, '_>, value: Option<&str>, cmp: &Comparison) -> bool {
    let other = match cmp {
        Comparison::Eq(Operand::Field(f)) | Comparison::Ne(Operand::Field(f)) => field(scope, f),
        _ => None,
    };
    cmp.holds(value, other.as_deref())
}

/// Evaluates an expression.
pub fn eval(scope: &Scope<'_, '_>, e: &Expr) -> bool {
    match e {
        Expr::Has { side, header } => scope.side(*side).is_some_and(|m| matching(m, header).next().is_some()),
        Expr::Compare { field: f, cmp } => compare(scope, field(scope, f).as_deref(), cmp),
        Expr::Not(inner) => !eval(scope, inner),
        Expr::And(a, b) => eval(scope, a) && eval(scope, b),
        Expr::Or(a, b) => eval(scope, a) || eval(scope, b),
    }
}

/// The fields an expression reads, with their values, for "seen" in findings: `ruri.user = "+1..."`.
pub fn describe_fields(scope: &Scope<'_, '_>, e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Has { side, header } => {
            let present = scope.side(*side).is_some_and(|m| matching(m, header).next().is_some());
            out.push(format!("{}{} {}", side_prefix(*side), header.name, if present { "present" } else { "absent" }));
        }
        Expr::Compare { field: f, cmp } => {
            out.push(format!("{} = {}", field_name(f), shown(field(scope, f))));
            if let Comparison::Eq(Operand::Field(g)) | Comparison::Ne(Operand::Field(g)) = cmp {
                out.push(format!("{} = {}", field_name(g), shown(field(scope, g))));
            }
        }
        Expr::Not(inner) => describe_fields(scope, inner, out),
        Expr::And(a, b) | Expr::Or(a, b) => {
            describe_fields(scope, a, out);
            describe_fields(scope, b, out);
        }
    }
}

/// A value as shown in findings: quoted, or `absent`.
pub fn shown(v: Option<String>) -> String {
    v.map_or_else(|| "absent".to_owned(), |v| format!("{v:?}"))
}

fn side_prefix(side: Side) -> &'static str {
    match side {
        Side::This => "",
        Side::Request => "request.",
        Side::Inbound => "inbound.",
        Side::Outbound => "outbound.",
    }
}

fn part_suffix(part: &Part) -> String {
    match part {
        Part::Value => String::new(),
        Part::UriUser => ".uri.user".into(),
        Part::UriHost => ".uri.host".into(),
        Part::Param(n) => format!(".param({n})"),
    }
}

/// A field as written in the language.
pub fn field_name(f: &FieldRef) -> String {
    match f {
        FieldRef::Header { side, header, part } => {
            format!("{}{}{}", side_prefix(*side), header.name, part_suffix(part))
        }
        FieldRef::Ruri { side, part } => {
            let suffix = match part {
                Part::Value => String::new(),
                Part::UriUser => ".user".into(),
                Part::UriHost => ".host".into(),
                Part::Param(n) => format!(".param({n})"),
            };
            format!("{}ruri{suffix}", side_prefix(*side))
        }
        FieldRef::Method { side } => format!("{}method", side_prefix(*side)),
        FieldRef::Status { side } => format!("{}status", side_prefix(*side)),
    }
}
