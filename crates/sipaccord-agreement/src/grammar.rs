//! The expression-level grammar (value types, selectors, obligations, comparisons, expressions),
//! written with nom combinators over the token stream. The item and block level around it lives in
//! [`crate::parser`], which owns error recovery.

use nom::branch::alt;
use nom::combinator::{cut, map, opt, verify};
use nom::multi::{many0, many1, separated_list0, separated_list1};
use nom::sequence::{delimited, pair, preceded, terminated, tuple};
use nom::{IResult, InputLength};

use crate::ast::*;
use crate::diag::Span;
use crate::lexer::{Tok, Token};

/// Parser input: the remaining tokens, and the source they point into.
#[derive(Debug, Clone, Copy)]
pub struct In<'t> {
    /// Remaining tokens (comments removed).
    pub toks: &'t [Token],
    /// The whole source.
    pub src: &'t str,
    /// How deeply the production being parsed is nested (capped at [`MAX_DEPTH`]).
    pub depth: u16,
}

/// The deepest nesting of expressions and value types accepted: a hard cap, so that deeply nested
/// input is an error and not a stack overflow.
pub const MAX_DEPTH: u16 = 32;

/// Runs `p` one level deeper, failing beyond [`MAX_DEPTH`].
fn nested<'t, T>(mut p: impl FnMut(In<'t>) -> R<'t, T>) -> impl FnMut(In<'t>) -> R<'t, T> {
    move |i: In<'t>| {
        if i.depth >= MAX_DEPTH {
            return Err(nom::Err::Failure(PErr { at: i, expected: format!("at most {MAX_DEPTH} levels of nesting") }));
        }
        let (mut rest, v) = p(In { depth: i.depth + 1, ..i })?;
        rest.depth = i.depth;
        Ok((rest, v))
    }
}

impl InputLength for In<'_> {
    fn input_len(&self) -> usize {
        self.toks.len()
    }
}

impl<'t> In<'t> {
    fn first(&self) -> Option<Token> {
        self.toks.first().copied()
    }

    fn rest(self) -> In<'t> {
        In { toks: self.toks.get(1..).unwrap_or(&[]), ..self }
    }

    fn text(&self, t: &Token) -> &'t str {
        self.src.get(t.span.start..t.span.end).unwrap_or("")
    }
}

/// What the grammar expected, and where.
#[derive(Debug, Clone)]
pub struct PErr<'t> {
    /// The input at the failure.
    pub at: In<'t>,
    /// What would have been accepted there.
    pub expected: String,
}

impl<'t> nom::error::ParseError<In<'t>> for PErr<'t> {
    fn from_error_kind(input: In<'t>, kind: nom::error::ErrorKind) -> Self {
        PErr { at: input, expected: format!("{kind:?}").to_lowercase() }
    }

    fn append(_: In<'t>, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two failed alternatives, the one that got farther explains the error best.
    fn or(self, other: Self) -> Self {
        if other.at.toks.len() <= self.at.toks.len() {
            other
        } else {
            self
        }
    }
}

type R<'t, T> = IResult<In<'t>, T, PErr<'t>>;

fn fail<'t, T>(at: In<'t>, expected: &str) -> R<'t, T> {
    Err(nom::Err::Error(PErr { at, expected: expected.to_string() }))
}

/// Replaces the expectation of a parser that fails without consuming anything.
fn expecting<'t, T>(what: &'static str, mut p: impl FnMut(In<'t>) -> R<'t, T>) -> impl FnMut(In<'t>) -> R<'t, T> {
    move |i: In<'t>| match p(i) {
        Err(nom::Err::Error(e)) if e.at.toks.len() == i.toks.len() => fail(i, what),
        r => r,
    }
}

/// One token of a kind.
fn tok<'t>(kind: Tok, what: &'static str) -> impl Fn(In<'t>) -> R<'t, Token> {
    move |i: In<'t>| match i.first() {
        Some(t) if t.kind == kind => Ok((i.rest(), t)),
        _ => fail(i, what),
    }
}

/// A keyword.
fn kw<'t>(word: &'static str) -> impl Fn(In<'t>) -> R<'t, Span> {
    move |i: In<'t>| match i.first() {
        Some(t) if t.kind == Tok::Word && i.text(&t) == word => Ok((i.rest(), t.span)),
        _ => fail(i, &format!("`{word}`")),
    }
}

/// Any word, as an identifier.
fn word<'t>(what: &'static str) -> impl Fn(In<'t>) -> R<'t, Ident> {
    move |i: In<'t>| match i.first() {
        Some(t) if t.kind == Tok::Word => Ok((i.rest(), Ident { name: i.text(&t).to_string(), span: t.span })),
        _ => fail(i, what),
    }
}

/// Words that end a method list or begin a clause.
const CLAUSE_WORDS: [&str; 8] = ["from", "to", "if", "response", "request", "message", "initial", "in-dialog"];

fn method(i: In<'_>) -> R<'_, Ident> {
    verify(word("a method"), |w: &Ident| !CLAUSE_WORDS.contains(&w.name.as_str()))(i)
}

/// Unescapes a string or regex token.
pub fn unescape(raw: &str, kind: Tok) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    if kind == Tok::Str {
        let mut out = String::new();
        let mut esc = false;
        for c in inner.chars() {
            if esc || c != '\\' {
                out.push(c);
                esc = false;
            } else {
                esc = true;
            }
        }
        out
    } else {
        inner.replace("\\/", "/")
    }
}

fn lit<'t>(kind: Tok, what: &'static str) -> impl Fn(In<'t>) -> R<'t, Lit> {
    move |i: In<'t>| {
        let (rest, t) = tok(kind, what)(i)?;
        Ok((rest, Lit { value: unescape(i.text(&t), kind), span: t.span }))
    }
}

fn string(i: In<'_>) -> R<'_, Lit> {
    lit(Tok::Str, "a string")(i)
}

fn regex(i: In<'_>) -> R<'_, Lit> {
    lit(Tok::Regex, "a regular expression")(i)
}

fn comma(i: In<'_>) -> R<'_, Token> {
    tok(Tok::Comma, "`,`")(i)
}

/// The span from the first token of `before` to the last token consumed when `after` remains.
fn consumed(before: In<'_>, after: In<'_>) -> Span {
    let n = before.toks.len() - after.toks.len();
    match (before.toks.first(), n.checked_sub(1).and_then(|k| before.toks.get(k))) {
        (Some(a), Some(b)) => a.span.to(b.span),
        (Some(a), None) => Span::new(a.span.start, a.span.start),
        _ => Span::default(),
    }
}

/// Separators between items of a block: newlines, `;` and (inside `params`) `,`.
fn separators(i: In<'_>) -> R<'_, ()> {
    map(many1(alt((tok(Tok::Newline, "end of line"), tok(Tok::Semi, "`;`"), comma))), |_| ())(i)
}

fn newlines(i: In<'_>) -> R<'_, ()> {
    map(many0(alt((tok(Tok::Newline, "end of line"), tok(Tok::Semi, "`;`")))), |_| ())(i)
}

/// `A | B | ...`
pub fn value_type(i: In<'_>) -> R<'_, ValueType> {
    let (rest, mut alts) = nested(separated_list1(tok(Tok::Pipe, "`|`"), cut(vt_primary)))(i)?;
    if alts.len() == 1 {
        return Ok((rest, alts.remove(0)));
    }
    let span = consumed(i, rest);
    Ok((rest, ValueType::Alt(alts, span)))
}

fn vt_primary(i: In<'_>) -> R<'_, ValueType> {
    expecting(
        "a value type",
        alt((
            map(string, ValueType::Literal),
            map(regex, ValueType::Regex),
            map(params_spec, ValueType::Params),
            named_type,
        )),
    )(i)
}

enum Args {
    Range(Ident, Span),
    Fields(Vec<(Ident, ValueType)>),
}

fn named_type(i: In<'_>) -> R<'_, ValueType> {
    let field = map(
        tuple((word("a field name (`user`, `host`, `port` or `scheme`)"), tok(Tok::Colon, "`:`"), value_type)),
        |(f, _, t)| (f, t),
    );
    let args = alt((
        map(separated_list1(comma, field), Args::Fields),
        map(word("a range like `0..255`"), |r| {
            let span = r.span;
            Args::Range(r, span)
        }),
    ));
    let (rest, (name, args, params)) = tuple((
        verify(word("a value type"), |w: &Ident| w.name != "params"),
        opt(preceded(
            tok(Tok::LParen, "`(`"),
            cut(terminated(
                expecting("a range like `0..255` or fields like `user: e164`", args),
                expecting("`,` or `)`", tok(Tok::RParen, "`)`")),
            )),
        )),
        opt(params_spec),
    ))(i)?;
    let (range, fields) = match args {
        Some(Args::Range(r, s)) => (Some((r, s)), vec![]),
        Some(Args::Fields(f)) => (None, f),
        None => (None, vec![]),
    };
    Ok((rest, ValueType::Named { name, range, fields, params, span: consumed(i, rest) }))
}

/// `params [closed] { NAME[: TYPE] [required], ... }`
pub fn params_spec(i: In<'_>) -> R<'_, ParamsSpec> {
    let entry = |i| {
        let (rest, (name, value, req)) = tuple((
            word("a parameter name"),
            opt(preceded(tok(Tok::Colon, "`:`"), cut(value_type))),
            opt(kw("required")),
        ))(i)?;
        Ok((rest, ParamEntry { name, value, required: req.is_some(), span: consumed(i, rest) }))
    };
    let (rest, (_, closed, _, _, entries, _, _)) = tuple((
        kw("params"),
        opt(kw("closed")),
        tok(Tok::LBrace, "`{`"),
        newlines,
        separated_list0(separators, entry),
        opt(separators),
        expecting("`,`, end of line or `}`", tok(Tok::RBrace, "`}`")),
    ))(i)?;
    Ok((rest, ParamsSpec { closed: closed.is_some(), entries, span: consumed(i, rest) }))
}

/// `[initial | in-dialog] (response CODES to METHODS | request | message | METHODS) [from P] [to P] [if EXPR]`
pub fn selector(i: In<'_>) -> R<'_, Selector> {
    let dialog = map(opt(alt((kw("initial"), kw("in-dialog")))), |d| match d {
        None => Dialog::Any,
        Some(s) if i.src.get(s.start..s.end) == Some("initial") => Dialog::Initial,
        Some(_) => Dialog::InDialog,
    });
    let response = map(
        tuple((
            kw("response"),
            separated_list1(comma, word("a status code like `200`, `18x`, `2xx` or `400-499`")),
            kw("to"),
            alt((map(word_eq("request"), |w| (Some(w), vec![])), map(separated_list1(comma, method), |m| (None, m)))),
        )),
        |(_, codes, _, (any, methods))| (Some(codes), any, methods),
    );
    let request = alt((
        map(alt((word_eq("request"), word_eq("message"))), |w| (None, Some(w), vec![])),
        map(separated_list1(comma, method), |m| (None, None, m)),
    ));
    let (rest, (dialog, (codes, any, methods), from, to, cond)) = tuple((
        dialog,
        expecting("`request`, `message`, `response` or a method", alt((response, request))),
        opt(preceded(kw("from"), cut(word("a peer name")))),
        opt(preceded(kw("to"), cut(word("a peer name")))),
        opt(preceded(kw("if"), cut(expr))),
    ))(i)?;
    Ok((rest, Selector { dialog, codes, methods, any, from, to, cond, span: consumed(i, rest) }))
}

fn word_eq<'t>(w: &'static str) -> impl Fn(In<'t>) -> R<'t, Ident> {
    move |i: In<'t>| {
        let (rest, s) = kw(w)(i)?;
        Ok((rest, Ident { name: w.to_string(), span: s }))
    }
}

/// `must have H [CMP]`, `must not have H`, `must echo H`, `must satisfy EXPR`, `should ...`, `may have H`.
pub fn obligation(i: In<'_>) -> R<'_, Obligation> {
    let (rest, level) = expecting(
        "`must`, `should` or `may`",
        alt((map(kw("must"), |_| Level::Must), map(kw("should"), |_| Level::Should), map(kw("may"), |_| Level::May))),
    )(i)?;
    let (rest, kind) = if level == Level::May {
        expecting("`have`", preceded(kw("have"), have))(rest)?
    } else {
        expecting("`have`, `not have`, `echo` or `satisfy`", strong)(rest)?
    };
    Ok((rest, Obligation { level, kind, span: consumed(i, rest) }))
}

fn have(i: In<'_>) -> R<'_, ObligationKind> {
    map(pair(word("a header name"), opt(cmp)), |(h, c)| ObligationKind::Have(h, c))(i)
}

fn strong(i: In<'_>) -> R<'_, ObligationKind> {
    alt((
        preceded(kw("have"), have),
        map(preceded(pair(kw("not"), kw("have")), word("a header name or prefix pattern")), ObligationKind::NotHave),
        map(preceded(kw("echo"), word("a header name")), ObligationKind::Echo),
        map(preceded(kw("satisfy"), expr), ObligationKind::Satisfy),
    ))(i)
}

/// `== V`, `!= V`, `is TYPE`, `matches /re/`, `in ("a", ...)`.
fn cmp(i: In<'_>) -> R<'_, Cmp> {
    expecting(
        "`==`, `!=`, `is`, `matches` or `in`",
        alt((
            map(preceded(tok(Tok::EqEq, "`==`"), cut(operand)), Cmp::Eq),
            map(preceded(tok(Tok::NotEq, "`!=`"), cut(operand)), Cmp::Ne),
            map(preceded(kw("is"), cut(vt_primary)), Cmp::Is),
            map(preceded(kw("matches"), cut(regex)), Cmp::Matches),
            map(
                preceded(
                    kw("in"),
                    cut(delimited(tok(Tok::LParen, "`(`"), separated_list1(comma, string), tok(Tok::RParen, "`)`"))),
                ),
                Cmp::In,
            ),
        )),
    )(i)
}

fn operand(i: In<'_>) -> R<'_, Operand> {
    let number = map(verify(word("a number"), |w: &Ident| w.name.bytes().all(|b| b.is_ascii_digit())), |w| {
        Operand::Lit(Lit { value: w.name, span: w.span })
    });
    expecting("a string, number or field", alt((map(string, Operand::Lit), number, map(field, Operand::Field))))(i)
}

/// `X-Foo`, `ruri.user`, `inbound.X-Foo.param(name)`.
fn field(i: In<'_>) -> R<'_, Field> {
    let (rest, w) = word("a field")(i)?;
    let mut segs: Vec<Ident> = vec![];
    let mut off = w.span.start;
    for part in w.name.split('.') {
        segs.push(Ident { name: part.to_string(), span: Span::new(off, off + part.len()) });
        off += part.len() + 1;
    }
    let side = if segs.len() > 1 && matches!(segs[0].name.as_str(), "inbound" | "outbound" | "request") {
        Some(segs.remove(0))
    } else {
        None
    };
    let (rest, param) = if segs.last().is_some_and(|s| s.name == "param") {
        let (rest, p) = delimited(tok(Tok::LParen, "`(`"), word("a parameter name"), tok(Tok::RParen, "`)`"))(rest)?;
        (rest, Some(p))
    } else {
        (rest, None)
    };
    Ok((rest, Field { side, path: segs, param, span: consumed(i, rest) }))
}

/// `A or B`, `A and B`, `not A`, `(A)`, `has H`, `FIELD CMP`; `and` binds tighter than `or`.
pub fn expr(i: In<'_>) -> R<'_, Expr> {
    let (rest, (first, more)) = pair(and_expr, many0(preceded(kw("or"), cut(and_expr))))(i)?;
    Ok((rest, fold(first, more, |a, b, s| Expr::Or(Box::new(a), Box::new(b), s))))
}

fn and_expr(i: In<'_>) -> R<'_, Expr> {
    let (rest, (first, more)) = pair(unary, many0(preceded(kw("and"), cut(unary))))(i)?;
    Ok((rest, fold(first, more, |a, b, s| Expr::And(Box::new(a), Box::new(b), s))))
}

fn fold(first: Expr, more: Vec<Expr>, f: impl Fn(Expr, Expr, Span) -> Expr) -> Expr {
    more.into_iter().fold(first, |a, b| {
        let s = a.span().to(b.span());
        f(a, b, s)
    })
}

fn unary(i: In<'_>) -> R<'_, Expr> {
    let not = map(pair(kw("not"), unary), |(s, e)| {
        let span = s.to(e.span());
        Expr::Not(Box::new(e), span)
    });
    let paren = delimited(tok(Tok::LParen, "`(`"), expr, expecting("`)`", tok(Tok::RParen, "`)`")));
    let has = map(pair(kw("has"), word("a header name")), |(s, h)| {
        let span = s.to(h.span);
        Expr::Has(h, span)
    });
    nested(expecting("`has`, `not`, `(` or a field", alt((not, paren, has, compare))))(i)
}

fn compare(i: In<'_>) -> R<'_, Expr> {
    let (rest, (f, c)) = pair(field, cmp)(i)?;
    Ok((rest, Expr::Cmp(f, c, consumed(i, rest))))
}

/// Runs `p` and requires it to be followed by the end of an item (end of line, `;`, `}` or end of file).
pub fn item<'t, T>(p: impl FnMut(In<'t>) -> R<'t, T>) -> impl FnMut(In<'t>) -> R<'t, T> {
    terminated(p, |i: In<'t>| match i.first() {
        None => Ok((i, ())),
        Some(t) if matches!(t.kind, Tok::Newline | Tok::Semi | Tok::RBrace) => Ok((i, ())),
        _ => fail(i, "end of line or `;`"),
    })
}

/// One line of a `peer` block.
pub enum PeerEntry {
    /// `sbc ADDR, ...`
    Sbc(Vec<Ident>),
    /// `media RANGE, ...`
    Media(Vec<Ident>),
    /// `transport udp, ...`
    Transport(Vec<Ident>),
}

fn address(i: In<'_>) -> R<'_, Ident> {
    match i.first() {
        Some(t) if matches!(t.kind, Tok::Word | Tok::Bracketed) => {
            Ok((i.rest(), Ident { name: i.text(&t).to_string(), span: t.span }))
        }
        _ => fail(i, "an address"),
    }
}

/// `sbc ...`, `media ...` or `transport ...`.
pub fn peer_entry(i: In<'_>) -> R<'_, PeerEntry> {
    expecting(
        "`sbc`, `media` or `transport`",
        alt((
            map(preceded(kw("sbc"), cut(separated_list1(comma, address))), PeerEntry::Sbc),
            map(preceded(kw("media"), cut(separated_list1(comma, address))), PeerEntry::Media),
            map(preceded(kw("transport"), cut(separated_list1(comma, word("a transport")))), PeerEntry::Transport),
        )),
    )(i)
}

/// One line of a `header` block.
pub enum HeaderEntry {
    /// `value TYPE`
    Value(ValueType),
    /// `list`
    List(Span),
    /// `max N`
    Max(u32, Span),
    /// `example "..."`
    Example(Lit),
}

fn number(i: In<'_>) -> R<'_, (u32, Span)> {
    match i.first() {
        Some(t) if t.kind == Tok::Word => match i.text(&t).parse::<u32>() {
            Ok(n) => Ok((i.rest(), (n, t.span))),
            Err(_) => fail(i, "a number"),
        },
        _ => fail(i, "a number"),
    }
}

/// `value ...`, `list`, `max N` or `example "..."`.
pub fn header_entry(i: In<'_>) -> R<'_, HeaderEntry> {
    expecting(
        "`value`, `list`, `max` or `example`",
        alt((
            map(preceded(kw("value"), cut(value_type)), HeaderEntry::Value),
            map(kw("list"), HeaderEntry::List),
            map(preceded(kw("max"), cut(number)), |(n, s)| HeaderEntry::Max(n, s)),
            map(preceded(kw("example"), cut(lit(Tok::Str, "example value in quotes"))), HeaderEntry::Example),
        )),
    )(i)
}

/// `NAME LEVEL` in a `settings` block.
pub fn setting(i: In<'_>) -> R<'_, (Ident, Ident)> {
    pair(word("a setting name"), cut(word("`allow`, `warn` or `error`")))(i)
}

/// One line of a `correlate` block.
pub enum CorrelateEntry {
    /// `inbound = SELECTOR`
    Inbound(Selector),
    /// `outbound = SELECTOR`
    Outbound(Selector),
    /// `match EXPR within DURATION`
    Match(Expr, Ident),
    /// An obligation on the pair.
    Obligation(Obligation),
}

/// `inbound = ...`, `outbound = ...`, `match ... within ...` or an obligation.
pub fn correlate_entry(i: In<'_>) -> R<'_, CorrelateEntry> {
    let eq = || cut(tok(Tok::Eq, "`=`"));
    alt((
        map(preceded(pair(kw("inbound"), eq()), cut(selector)), CorrelateEntry::Inbound),
        map(preceded(pair(kw("outbound"), eq()), cut(selector)), CorrelateEntry::Outbound),
        map(preceded(kw("match"), cut(tuple((expr, kw("within"), word("a duration like `5s`"))))), |(e, _, d)| {
            CorrelateEntry::Match(e, d)
        }),
        map(obligation, CorrelateEntry::Obligation),
    ))(i)
}

/// `agreement "NAME" version N` (the version as written; the parser checks it is a number).
pub fn agreement_line(i: In<'_>) -> R<'_, (Lit, Ident)> {
    map(
        tuple((
            kw("agreement"),
            cut(lit(Tok::Str, "agreement name in quotes")),
            cut(kw("version")),
            cut(word("version number")),
        )),
        |(_, n, _, v)| (n, v),
    )(i)
}

/// `peer NAME ["Display"]`, before the block.
pub fn peer_head(i: In<'_>) -> R<'_, (Ident, Option<Lit>)> {
    preceded(kw("peer"), pair(cut(word("peer name")), opt(lit(Tok::Str, "display name"))))(i)
}

/// `type NAME = VALUE-TYPE`.
pub fn type_decl(i: In<'_>) -> R<'_, (Ident, ValueType)> {
    map(tuple((kw("type"), cut(word("type name")), cut(tok(Tok::Eq, "`=`")), cut(value_type))), |(_, n, _, v)| (n, v))(
        i,
    )
}

/// `header NAME`, before the block.
pub fn header_head(i: In<'_>) -> R<'_, Ident> {
    preceded(kw("header"), cut(word("header name")))(i)
}

/// `correlate NAME`, before the block.
pub fn correlate_head(i: In<'_>) -> R<'_, Ident> {
    preceded(kw("correlate"), cut(word("correlation name")))(i)
}

/// `on SELECTOR`, before the block.
pub fn rule_head(i: In<'_>) -> R<'_, Selector> {
    preceded(kw("on"), cut(selector))(i)
}
