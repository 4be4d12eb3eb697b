//! Parser: tokens to a syntax tree. Never gives up: a broken item is skipped up to the next line
//! or item boundary and reported, and parsing goes on.

use crate::ast::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::lexer::{lex, Tok, Token};

/// Parses a whole file: the tree plus every syntax diagnostic.
pub fn parse(src: &str) -> (File, Vec<Diagnostic>) {
    let (tokens, mut diags) = lex(src);
    let toks: Vec<Token> = tokens
        .into_iter()
        .filter(|t| t.kind != Tok::Comment)
        .collect();
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        diags: Vec::new(),
    };
    let file = p.file();
    diags.append(&mut p.diags);
    diags.sort_by_key(|d| d.primary.span.start);
    (file, diags)
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    diags: Vec<Diagnostic>,
}

/// A parse failure; the diagnostic is already recorded.
struct Fail;

type PResult<T> = Result<T, Fail>;

const TOP_KEYWORDS: [&str; 7] = [
    "agreement",
    "peer",
    "type",
    "header",
    "settings",
    "on",
    "correlate",
];

fn describe(src: &str, t: Option<&Token>) -> String {
    match t {
        None => "end of file".into(),
        Some(t) => match t.kind {
            Tok::Newline => "end of line".into(),
            Tok::Str => format!("string {}", &src[t.span.start..t.span.end]),
            Tok::Regex => "regular expression".into(),
            _ => format!("`{}`", &src[t.span.start..t.span.end]),
        },
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_kind(&self) -> Option<Tok> {
        self.peek().map(|t| t.kind)
    }

    fn text(&self, t: &Token) -> &'s str {
        &self.src[t.span.start..t.span.end]
    }

    fn peek_word(&self) -> Option<&'s str> {
        self.peek()
            .filter(|t| t.kind == Tok::Word)
            .map(|t| self.text(t))
    }

    fn at_word(&self, w: &str) -> bool {
        self.peek_word() == Some(w)
    }

    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span,
            None => Span::new(self.src.len(), self.src.len()),
        }
    }

    fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.span.end)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).copied();
        self.pos += 1;
        t
    }

    fn error<T>(&mut self, expected: &str) -> PResult<T> {
        let found = describe(self.src, self.peek());
        let span = self.here();
        self.diags.push(Diagnostic::new(
            Code::Syntax,
            format!("expected {expected}, found {found}"),
            span,
            format!("expected {expected}"),
        ));
        Err(Fail)
    }

    fn expect(&mut self, kind: Tok, what: &str) -> PResult<Token> {
        if self.peek_kind() == Some(kind) {
            Ok(self.bump().unwrap_or(Token {
                kind,
                span: Span::default(),
            }))
        } else {
            self.error(what)
        }
    }

    fn keyword(&mut self, w: &str) -> PResult<Span> {
        if self.at_word(w) {
            Ok(self.bump().map(|t| t.span).unwrap_or_default())
        } else {
            self.error(&format!("`{w}`"))
        }
    }

    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match self.peek() {
            Some(t) if t.kind == Tok::Word => {
                let t = *t;
                self.pos += 1;
                Ok(Ident {
                    name: self.text(&t).to_string(),
                    span: t.span,
                })
            }
            _ => self.error(what),
        }
    }

    fn lit(&mut self, kind: Tok, what: &str) -> PResult<Lit> {
        let t = self.expect(kind, what)?;
        let raw = self.text(&t);
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let value = if kind == Tok::Str {
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
        };
        Ok(Lit {
            value,
            span: t.span,
        })
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek_kind(), Some(Tok::Newline | Tok::Semi)) {
            self.pos += 1;
        }
    }

    /// Skips to the start of the next top-level item.
    fn recover_top(&mut self) {
        let mut depth = 0i32;
        while let Some(t) = self.peek().copied() {
            match t.kind {
                Tok::LBrace => depth += 1,
                Tok::RBrace => depth -= 1,
                Tok::Newline if depth <= 0 => {
                    self.pos += 1;
                    self.skip_newlines();
                    if let Some(w) = self.peek_word() {
                        if TOP_KEYWORDS.contains(&w) {
                            return;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Skips to the end of the current block item (newline, `;` or the block's `}`).
    fn recover_item(&mut self) {
        let mut depth = 0i32;
        while let Some(t) = self.peek().copied() {
            match t.kind {
                Tok::LBrace => depth += 1,
                Tok::RBrace if depth == 0 => return,
                Tok::RBrace => depth -= 1,
                Tok::Newline | Tok::Semi if depth == 0 => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn end_of_item(&mut self) -> PResult<()> {
        match self.peek_kind() {
            None | Some(Tok::Newline | Tok::Semi | Tok::RBrace) => Ok(()),
            _ => self.error("end of line or `;`"),
        }
    }

    /// Parses `{ item; item \n item }`, calling `item` for each.
    fn block(&mut self, mut item: impl FnMut(&mut Self) -> PResult<()>) -> PResult<Span> {
        let open = self.expect(Tok::LBrace, "`{`")?;
        loop {
            self.skip_newlines();
            match self.peek_kind() {
                Some(Tok::RBrace) => {
                    let close = self.bump().map(|t| t.span).unwrap_or_default();
                    return Ok(open.span.to(close));
                }
                None => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Syntax,
                            "expected `}`, found end of file",
                            self.here(),
                            "block not closed",
                        )
                        .with_secondary(open.span, "block opened here"),
                    );
                    return Err(Fail);
                }
                _ => {
                    if item(self).and_then(|()| self.end_of_item()).is_err() {
                        self.recover_item();
                    }
                }
            }
        }
    }

    fn file(&mut self) -> File {
        let mut file = File::default();
        let mut seen_item = false;
        loop {
            self.skip_newlines();
            if self.peek().is_none() {
                break;
            }
            let before = self.pos;
            let r = self.top_item(&mut file, seen_item);
            seen_item = true;
            match r {
                Ok(()) => {
                    if self.end_of_item().is_err() {
                        self.recover_top();
                    }
                }
                Err(Fail) => {
                    self.recover_top();
                }
            }
            if self.pos <= before {
                self.pos = before + 1;
            }
        }
        file
    }

    fn top_item(&mut self, file: &mut File, seen: bool) -> PResult<()> {
        let start = self.here().start;
        match self.peek_word() {
            Some("agreement") => {
                self.pos += 1;
                let name = self.lit(Tok::Str, "agreement name in quotes")?;
                self.keyword("version")?;
                let v = self.ident("version number")?;
                let version = match v.name.parse::<u32>() {
                    Ok(n) => Some((n, v.span)),
                    Err(_) => {
                        self.diags.push(Diagnostic::new(
                            Code::Syntax,
                            format!("expected version number, found `{}`", v.name),
                            v.span,
                            "expected a whole number",
                        ));
                        None
                    }
                };
                let span = Span::new(start, self.prev_end());
                if let Some(first) = &file.agreement {
                    self.diags.push(
                        Diagnostic::new(
                            Code::MissingAgreement,
                            "a second `agreement` line",
                            span,
                            "the file already has one",
                        )
                        .with_secondary(first.span, "first `agreement` line")
                        .with_help("a file holds one agreement; remove this line"),
                    );
                } else {
                    file.agreement = Some(AgreementDecl {
                        name,
                        version,
                        span,
                        first: !seen,
                    });
                }
                Ok(())
            }
            Some("peer") => {
                self.pos += 1;
                let name = self.ident("peer name")?;
                let display = if self.peek_kind() == Some(Tok::Str) {
                    Some(self.lit(Tok::Str, "display name")?)
                } else {
                    None
                };
                let mut peer = Peer {
                    name,
                    display,
                    sbc: vec![],
                    media: vec![],
                    transports: vec![],
                    span: Span::default(),
                };
                let span = self.block(|p| {
                    let key = p.ident("`sbc`, `media` or `transport`")?;
                    let list = match key.name.as_str() {
                        "sbc" => &mut peer.sbc,
                        "media" => &mut peer.media,
                        "transport" => &mut peer.transports,
                        _ => {
                            p.pos -= 1;
                            return p.error("`sbc`, `media` or `transport`");
                        }
                    };
                    loop {
                        let t = match p.peek() {
                            Some(t) if matches!(t.kind, Tok::Word | Tok::Bracketed) => *t,
                            _ => {
                                return p.error(if key.name == "transport" {
                                    "a transport"
                                } else {
                                    "an address"
                                })
                            }
                        };
                        p.pos += 1;
                        list.push(Ident {
                            name: p.text(&t).to_string(),
                            span: t.span,
                        });
                        if p.peek_kind() == Some(Tok::Comma) {
                            p.pos += 1;
                        } else {
                            return Ok(());
                        }
                    }
                })?;
                peer.span = Span::new(start, span.end);
                file.items.push(Item::Peer(peer));
                Ok(())
            }
            Some("type") => {
                self.pos += 1;
                let name = self.ident("type name")?;
                self.expect(Tok::Eq, "`=`")?;
                let value = self.value_type()?;
                file.items.push(Item::Type(TypeDecl {
                    name,
                    value,
                    span: Span::new(start, self.prev_end()),
                }));
                Ok(())
            }
            Some("header") => {
                self.pos += 1;
                let name = self.ident("header name")?;
                let mut h = HeaderDecl {
                    name,
                    value: None,
                    list: None,
                    max: None,
                    example: None,
                    span: Span::default(),
                };
                let span = self.block(|p| {
                    let key = p.ident("`value`, `list`, `max` or `example`")?;
                    match key.name.as_str() {
                        "value" => h.value = Some(p.value_type()?),
                        "list" => h.list = Some(key.span),
                        "max" => {
                            let n = p.ident("a number")?;
                            match n.name.parse() {
                                Ok(v) => h.max = Some((v, n.span)),
                                Err(_) => {
                                    p.pos -= 1;
                                    return p.error("a number");
                                }
                            }
                        }
                        "example" => h.example = Some(p.lit(Tok::Str, "example value in quotes")?),
                        _ => {
                            p.pos -= 1;
                            return p.error("`value`, `list`, `max` or `example`");
                        }
                    }
                    Ok(())
                })?;
                h.span = Span::new(start, span.end);
                file.items.push(Item::Header(h));
                Ok(())
            }
            Some("settings") => {
                self.pos += 1;
                let mut entries = vec![];
                let span = self.block(|p| {
                    let k = p.ident("a setting name")?;
                    let v = p.ident("`allow`, `warn` or `error`")?;
                    entries.push((k, v));
                    Ok(())
                })?;
                file.items.push(Item::Settings(Settings {
                    entries,
                    span: Span::new(start, span.end),
                }));
                Ok(())
            }
            Some("on") => {
                self.pos += 1;
                let selector = self.selector(true)?;
                let mut obligations = vec![];
                let span = self.block(|p| {
                    obligations.push(p.obligation()?);
                    Ok(())
                })?;
                file.items.push(Item::Rule(Rule {
                    selector,
                    obligations,
                    span: Span::new(start, span.end),
                }));
                Ok(())
            }
            Some("correlate") => {
                self.pos += 1;
                let name = self.ident("correlation name")?;
                let mut c = Correlate {
                    name,
                    inbound: None,
                    outbound: None,
                    matcher: None,
                    obligations: vec![],
                    span: Span::default(),
                };
                let span = self.block(|p| {
                    match p.peek_word() {
                        Some(w @ ("inbound" | "outbound")) => {
                            p.pos += 1;
                            p.expect(Tok::Eq, "`=`")?;
                            let s = p.selector(false)?;
                            if w == "inbound" {
                                c.inbound = Some(s);
                            } else {
                                c.outbound = Some(s);
                            }
                        }
                        Some("match") => {
                            p.pos += 1;
                            let e = p.expr()?;
                            p.keyword("within")?;
                            let d = p.ident("a duration like `5s`")?;
                            c.matcher = Some((e, d));
                        }
                        _ => c.obligations.push(p.obligation()?),
                    }
                    Ok(())
                })?;
                c.span = Span::new(start, span.end);
                file.items.push(Item::Correlate(c));
                Ok(())
            }
            _ => {
                self.error("`agreement`, `peer`, `type`, `header`, `settings`, `on` or `correlate`")
            }
        }
    }

    fn value_type(&mut self) -> PResult<ValueType> {
        let first = self.vt_primary()?;
        if self.peek_kind() != Some(Tok::Pipe) {
            return Ok(first);
        }
        let mut alts = vec![first];
        while self.peek_kind() == Some(Tok::Pipe) {
            self.pos += 1;
            alts.push(self.vt_primary()?);
        }
        let span = alts[0].span().to(alts[alts.len() - 1].span());
        Ok(ValueType::Alt(alts, span))
    }

    fn vt_primary(&mut self) -> PResult<ValueType> {
        match self.peek_kind() {
            Some(Tok::Str) => Ok(ValueType::Literal(self.lit(Tok::Str, "string")?)),
            Some(Tok::Regex) => Ok(ValueType::Regex(
                self.lit(Tok::Regex, "regular expression")?,
            )),
            Some(Tok::Word) if self.at_word("params") => Ok(ValueType::Params(self.params_spec()?)),
            Some(Tok::Word) => {
                let name = self.ident("type")?;
                let mut range = None;
                let mut fields = vec![];
                if self.peek_kind() == Some(Tok::LParen) {
                    let open = self.bump().map(|t| t.span).unwrap_or_default();
                    let next_is_colon =
                        self.toks.get(self.pos + 1).map(|t| t.kind) == Some(Tok::Colon);
                    if next_is_colon {
                        loop {
                            let f =
                                self.ident("field name (`user`, `host`, `port` or `scheme`)")?;
                            self.expect(Tok::Colon, "`:`")?;
                            let t = self.value_type()?;
                            fields.push((f, t));
                            if self.peek_kind() == Some(Tok::Comma) {
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                    } else {
                        let r = self.ident("a range like `0..255`")?;
                        range = Some((r, open));
                    }
                    self.expect(Tok::RParen, "`)`")?;
                }
                let params = if self.at_word("params") {
                    Some(self.params_spec()?)
                } else {
                    None
                };
                let span = Span::new(name.span.start, self.prev_end());
                Ok(ValueType::Named {
                    name,
                    range,
                    fields,
                    params,
                    span,
                })
            }
            _ => self.error("a value type"),
        }
    }

    fn params_spec(&mut self) -> PResult<ParamsSpec> {
        let start = self.keyword("params")?;
        let closed = if self.at_word("closed") {
            self.pos += 1;
            true
        } else {
            false
        };
        let mut entries = vec![];
        let span = self.block(|p| loop {
            let name = p.ident("parameter name")?;
            let value = if p.peek_kind() == Some(Tok::Colon) {
                p.pos += 1;
                Some(p.value_type()?)
            } else {
                None
            };
            let required = if p.at_word("required") {
                p.pos += 1;
                true
            } else {
                false
            };
            entries.push(ParamEntry {
                name,
                value,
                required,
            });
            if p.peek_kind() == Some(Tok::Comma) {
                p.pos += 1;
                while p.peek_kind() == Some(Tok::Newline) {
                    p.pos += 1;
                }
                if p.peek_kind() == Some(Tok::RBrace) {
                    return Ok(());
                }
            } else {
                return Ok(());
            }
        })?;
        Ok(ParamsSpec {
            closed,
            entries,
            span: start.to(span),
        })
    }

    fn word_list(&mut self, what: &str) -> PResult<Vec<Ident>> {
        let mut out = vec![self.ident(what)?];
        while self.peek_kind() == Some(Tok::Comma) {
            self.pos += 1;
            out.push(self.ident(what)?);
        }
        Ok(out)
    }

    fn selector(&mut self, rule: bool) -> PResult<Selector> {
        let start = self.here().start;
        let dialog = match self.peek_word() {
            Some("initial") => {
                self.pos += 1;
                Dialog::Initial
            }
            Some("in-dialog") => {
                self.pos += 1;
                Dialog::InDialog
            }
            _ => Dialog::Any,
        };
        let mut sel = Selector {
            dialog,
            codes: None,
            methods: vec![],
            any: None,
            from: None,
            to: None,
            cond: None,
            span: Span::default(),
        };
        if self.at_word("response") {
            self.pos += 1;
            sel.codes =
                Some(self.word_list("a status code like `200`, `18x`, `2xx` or `400-499`")?);
            self.keyword("to")?;
            if self.at_word("request") {
                sel.any = self.ident("`request`").ok();
            } else {
                sel.methods = self.word_list("a method")?;
            }
        } else {
            match self.peek_word() {
                Some("request" | "message") => sel.any = self.ident("`request`").ok(),
                Some(w) if !matches!(w, "from" | "to" | "if") => {
                    sel.methods = self.word_list("a method")?
                }
                _ => return self.error("`request`, `message`, `response` or a method"),
            }
        }
        if self.at_word("from") {
            self.pos += 1;
            sel.from = Some(self.ident("peer name")?);
        }
        if self.at_word("to") {
            self.pos += 1;
            sel.to = Some(self.ident("peer name")?);
        }
        if self.at_word("if") {
            self.pos += 1;
            sel.cond = Some(self.expr()?);
        }
        if rule && self.peek_kind() != Some(Tok::LBrace) {
            return self.error(if sel.cond.is_some() {
                "`{`"
            } else {
                "`from`, `to`, `if` or `{`"
            });
        }
        sel.span = Span::new(start, self.prev_end());
        Ok(sel)
    }

    fn obligation(&mut self) -> PResult<Obligation> {
        let start = self.here().start;
        let level = match self.peek_word() {
            Some("must") => Level::Must,
            Some("should") => Level::Should,
            Some("may") => Level::May,
            _ => return self.error("`must`, `should` or `may`"),
        };
        self.pos += 1;
        let kind = match self.peek_word() {
            Some("have") => {
                self.pos += 1;
                let h = self.ident("header name")?;
                let cmp = if matches!(self.peek_kind(), Some(Tok::EqEq | Tok::NotEq))
                    || matches!(self.peek_word(), Some("is" | "matches" | "in"))
                {
                    Some(self.cmp()?)
                } else {
                    None
                };
                ObligationKind::Have(h, cmp)
            }
            Some("not") if level != Level::May => {
                self.pos += 1;
                self.keyword("have")?;
                ObligationKind::NotHave(self.ident("header name or prefix pattern")?)
            }
            Some("echo") if level != Level::May => {
                self.pos += 1;
                ObligationKind::Echo(self.ident("header name")?)
            }
            Some("satisfy") if level != Level::May => {
                self.pos += 1;
                ObligationKind::Satisfy(self.expr()?)
            }
            _ => {
                return self.error(if level == Level::May {
                    "`have`"
                } else {
                    "`have`, `not have`, `echo` or `satisfy`"
                });
            }
        };
        Ok(Obligation {
            level,
            kind,
            span: Span::new(start, self.prev_end()),
        })
    }

    fn cmp(&mut self) -> PResult<Cmp> {
        match (self.peek_kind(), self.peek_word()) {
            (Some(Tok::EqEq), _) => {
                self.pos += 1;
                Ok(Cmp::Eq(self.operand()?))
            }
            (Some(Tok::NotEq), _) => {
                self.pos += 1;
                Ok(Cmp::Ne(self.operand()?))
            }
            (_, Some("is")) => {
                self.pos += 1;
                Ok(Cmp::Is(self.vt_primary()?))
            }
            (_, Some("matches")) => {
                self.pos += 1;
                Ok(Cmp::Matches(self.lit(Tok::Regex, "regular expression")?))
            }
            (_, Some("in")) => {
                self.pos += 1;
                self.expect(Tok::LParen, "`(`")?;
                let mut v = vec![self.lit(Tok::Str, "string")?];
                while self.peek_kind() == Some(Tok::Comma) {
                    self.pos += 1;
                    v.push(self.lit(Tok::Str, "string")?);
                }
                self.expect(Tok::RParen, "`)`")?;
                Ok(Cmp::In(v))
            }
            _ => self.error("`==`, `!=`, `is`, `matches` or `in`"),
        }
    }

    fn operand(&mut self) -> PResult<Operand> {
        match self.peek_kind() {
            Some(Tok::Str) => Ok(Operand::Lit(self.lit(Tok::Str, "string")?)),
            Some(Tok::Word) => {
                if self
                    .peek_word()
                    .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
                {
                    let id = self.ident("number")?;
                    Ok(Operand::Lit(Lit {
                        value: id.name,
                        span: id.span,
                    }))
                } else {
                    Ok(Operand::Field(self.field()?))
                }
            }
            _ => self.error("a string, number or field"),
        }
    }

    fn field(&mut self) -> PResult<Field> {
        let w = self.ident("a field")?;
        let mut segs: Vec<Ident> = vec![];
        let mut off = w.span.start;
        for part in w.name.split('.') {
            segs.push(Ident {
                name: part.to_string(),
                span: Span::new(off, off + part.len()),
            });
            off += part.len() + 1;
        }
        let side = if segs.len() > 1
            && matches!(segs[0].name.as_str(), "inbound" | "outbound" | "request")
        {
            Some(segs.remove(0))
        } else {
            None
        };
        let mut param = None;
        if segs.last().is_some_and(|s| s.name == "param") {
            self.expect(Tok::LParen, "`(`")?;
            param = Some(self.ident("parameter name")?);
            self.expect(Tok::RParen, "`)`")?;
        }
        Ok(Field {
            side,
            path: segs,
            param,
            span: Span::new(w.span.start, self.prev_end()),
        })
    }

    fn expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.and_expr()?;
        while self.at_word("or") {
            self.pos += 1;
            let rhs = self.and_expr()?;
            let span = lhs.span().to(rhs.span());
            lhs = Expr::Or(Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while self.at_word("and") {
            self.pos += 1;
            let rhs = self.unary()?;
            let span = lhs.span().to(rhs.span());
            lhs = Expr::And(Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.here();
        if self.at_word("not") {
            self.pos += 1;
            let e = self.unary()?;
            let span = start.to(e.span());
            return Ok(Expr::Not(Box::new(e), span));
        }
        if self.peek_kind() == Some(Tok::LParen) {
            self.pos += 1;
            let e = self.expr()?;
            self.expect(Tok::RParen, "`)`")?;
            return Ok(e);
        }
        if self.at_word("has") {
            self.pos += 1;
            let h = self.ident("header name")?;
            let span = start.to(h.span);
            return Ok(Expr::Has(h, span));
        }
        if self.peek_kind() != Some(Tok::Word) {
            return self.error("`has`, `not`, `(` or a field");
        }
        let f = self.field()?;
        let c = self.cmp()?;
        let span = Span::new(f.span.start, self.prev_end());
        Ok(Expr::Cmp(f, c, span))
    }
}
