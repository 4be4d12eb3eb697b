//! Syntax tree. Every node carries the byte span it was parsed from.

use crate::diag::Span;

/// A name with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// As written.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// A string or regex literal, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lit {
    /// The unescaped text.
    pub value: String,
    /// Where (including quotes or slashes).
    pub span: Span,
}

/// A whole file.
#[derive(Debug, Clone, Default)]
pub struct File {
    /// `agreement "NAME" version N`, if present.
    pub agreement: Option<AgreementDecl>,
    /// Everything else, in order.
    pub items: Vec<Item>,
}

/// `agreement "NAME" version N`.
#[derive(Debug, Clone)]
pub struct AgreementDecl {
    /// The name.
    pub name: Lit,
    /// The version.
    pub version: Option<(u32, Span)>,
    /// The whole line.
    pub span: Span,
    /// Whether another item came before it.
    pub first: bool,
}

/// A top-level item.
// Items are built once per file, so boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Item {
    /// `peer`
    Peer(Peer),
    /// `type`
    Type(TypeDecl),
    /// `header`
    Header(HeaderDecl),
    /// `settings`
    Settings(Settings),
    /// `on`
    Rule(Rule),
    /// `correlate`
    Correlate(Correlate),
}

/// `peer NAME ["Display"] { ... }`.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Name.
    pub name: Ident,
    /// Display name.
    pub display: Option<Lit>,
    /// `sbc` addresses as written.
    pub sbc: Vec<Ident>,
    /// `media` ranges as written.
    pub media: Vec<Ident>,
    /// `transport` words.
    pub transports: Vec<Ident>,
    /// The whole declaration.
    pub span: Span,
}

/// `type NAME = VALUE-TYPE`.
#[derive(Debug, Clone)]
pub struct TypeDecl {
    /// Name.
    pub name: Ident,
    /// The type.
    pub value: ValueType,
    /// The whole declaration.
    pub span: Span,
}

/// `header NAME { ... }`.
#[derive(Debug, Clone)]
pub struct HeaderDecl {
    /// Header name.
    pub name: Ident,
    /// `value`.
    pub value: Option<ValueType>,
    /// `list`.
    pub list: Option<Span>,
    /// `max N`.
    pub max: Option<(u32, Span)>,
    /// `example "..."`.
    pub example: Option<Lit>,
    /// The whole declaration.
    pub span: Span,
}

/// `settings { ... }`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `key level` pairs.
    pub entries: Vec<(Ident, Ident)>,
    /// The whole block.
    pub span: Span,
}

/// A value type as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueType {
    /// `"text"`
    Literal(Lit),
    /// `/re/`
    Regex(Lit),
    /// `A | B`
    Alt(Vec<ValueType>, Span),
    /// A built-in or declared type, with optional arguments and parameters.
    Named {
        /// The name.
        name: Ident,
        /// `(0..255)` range argument.
        range: Option<(Ident, Span)>,
        /// `(user: T, ...)` field constraints.
        fields: Vec<(Ident, ValueType)>,
        /// `params { ... }`.
        params: Option<ParamsSpec>,
        /// Whole span.
        span: Span,
    },
    /// `params { ... }` alone.
    Params(ParamsSpec),
}

impl ValueType {
    /// The span of the whole type.
    pub fn span(&self) -> Span {
        match self {
            ValueType::Literal(l) | ValueType::Regex(l) => l.span,
            ValueType::Alt(_, s) => *s,
            ValueType::Named { span, .. } => *span,
            ValueType::Params(p) => p.span,
        }
    }
}

/// `params [closed] { NAME[: T] [required], ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsSpec {
    /// `closed`.
    pub closed: bool,
    /// The entries.
    pub entries: Vec<ParamEntry>,
    /// Whole span.
    pub span: Span,
}

/// One parameter entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamEntry {
    /// Parameter name.
    pub name: Ident,
    /// Its value type.
    pub value: Option<ValueType>,
    /// `required`.
    pub required: bool,
    /// The whole entry.
    pub span: Span,
}

/// `initial` / `in-dialog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    /// Either.
    Any,
    /// No To tag.
    Initial,
    /// With a To tag.
    InDialog,
}

/// What a rule or correlation leg selects.
#[derive(Debug, Clone)]
pub struct Selector {
    /// `initial` / `in-dialog`.
    pub dialog: Dialog,
    /// `response CODES`, if a response selector.
    pub codes: Option<Vec<Ident>>,
    /// Methods; empty with `request`/`message` keyword.
    pub methods: Vec<Ident>,
    /// `request` or `message` keyword, if used instead of methods.
    pub any: Option<Ident>,
    /// `from PEER`.
    pub from: Option<Ident>,
    /// `to PEER`.
    pub to: Option<Ident>,
    /// `if EXPR`.
    pub cond: Option<Expr>,
    /// Whole span.
    pub span: Span,
}

/// `on SELECTOR { OBLIGATION... }`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The selector.
    pub selector: Selector,
    /// The obligations.
    pub obligations: Vec<Obligation>,
    /// Whole rule.
    pub span: Span,
}

/// `must` / `should` / `may`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `must`
    Must,
    /// `should`
    Should,
    /// `may`
    May,
}

/// One obligation.
#[derive(Debug, Clone)]
pub struct Obligation {
    /// Level.
    pub level: Level,
    /// What.
    pub kind: ObligationKind,
    /// Whole obligation.
    pub span: Span,
}

/// The forms of obligation.
#[derive(Debug, Clone)]
pub enum ObligationKind {
    /// `have H [CMP]`
    Have(Ident, Option<Cmp>),
    /// `not have H` / `not have X-*`
    NotHave(Ident),
    /// `echo H`
    Echo(Ident),
    /// `satisfy EXPR`
    Satisfy(Expr),
}

/// A comparison operator and its operand.
#[derive(Debug, Clone)]
pub enum Cmp {
    /// `== V`
    Eq(Operand),
    /// `!= V`
    Ne(Operand),
    /// `is TYPE`
    Is(ValueType),
    /// `matches /re/`
    Matches(Lit),
    /// `in ("a", ...)`
    In(Vec<Lit>),
}

impl Cmp {
    /// The span of the operand side (the operator itself is not kept).
    pub fn span(&self) -> Span {
        match self {
            Cmp::Eq(o) | Cmp::Ne(o) => o.span(),
            Cmp::Is(t) => t.span(),
            Cmp::Matches(l) => l.span,
            Cmp::In(v) => match (v.first(), v.last()) {
                (Some(a), Some(b)) => a.span.to(b.span),
                _ => Span::default(),
            },
        }
    }
}

impl Operand {
    /// Where the operand is.
    pub fn span(&self) -> Span {
        match self {
            Operand::Lit(l) => l.span,
            Operand::Field(f) => f.span,
        }
    }
}

/// The right-hand side of `==` / `!=`.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A string or number.
    Lit(Lit),
    /// Another field.
    Field(Field),
}

/// A field reference: `X-Foo`, `ruri.user`, `inbound.X-Foo.param(a)`.
#[derive(Debug, Clone)]
pub struct Field {
    /// `inbound` / `outbound` / `request` prefix.
    pub side: Option<Ident>,
    /// The path segments after the prefix, as written.
    pub path: Vec<Ident>,
    /// `param(NAME)` argument.
    pub param: Option<Ident>,
    /// Whole span.
    pub span: Span,
}

/// An expression.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Expr {
    /// `has H`
    Has(Ident, Span),
    /// `FIELD CMP`
    Cmp(Field, Cmp, Span),
    /// `not E`
    Not(Box<Expr>, Span),
    /// `A and B`
    And(Box<Expr>, Box<Expr>, Span),
    /// `A or B`
    Or(Box<Expr>, Box<Expr>, Span),
}

impl Expr {
    /// Whole span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Has(_, s) | Expr::Cmp(_, _, s) | Expr::Not(_, s) | Expr::And(_, _, s) | Expr::Or(_, _, s) => *s,
        }
    }
}

/// `correlate NAME { ... }`.
#[derive(Debug, Clone)]
pub struct Correlate {
    /// Name.
    pub name: Ident,
    /// `inbound = SELECTOR`.
    pub inbound: Option<Selector>,
    /// `outbound = SELECTOR`.
    pub outbound: Option<Selector>,
    /// `match EXPR within DURATION`.
    pub matcher: Option<(Expr, Ident)>,
    /// Obligations on the pair.
    pub obligations: Vec<Obligation>,
    /// Whole block.
    pub span: Span,
}
