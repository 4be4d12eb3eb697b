//! Parser: tokens to a syntax tree. Never gives up: a broken item is skipped up to the next line
//! or item boundary and reported, and parsing goes on.
//!
//! The productions themselves are nom parsers over the token stream ([`crate::grammar`]); this
//! module is the driver around them: it walks items and `{ }` blocks, runs a production for each
//! item, turns a failed production into an "expected X, found Y" diagnostic, and recovers.

use crate::ast::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::grammar::{self, CorrelateEntry, HeaderEntry, In, PErr, PeerEntry};
use crate::lexer::{lex, Tok, Token};
use nom::IResult;

/// Parses a whole file: the tree plus every syntax diagnostic.
pub fn parse(src: &str) -> (File, Vec<Diagnostic>) {
    let (tokens, mut diags) = lex(src);
    let toks: Vec<Token> = tokens.into_iter().filter(|t| t.kind != Tok::Comment).collect();
    let mut p = Parser { src, toks, pos: 0, diags: Vec::new() };
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

const TOP_KEYWORDS: [&str; 7] = ["agreement", "peer", "type", "header", "settings", "on", "correlate"];

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
        self.peek().filter(|t| t.kind == Tok::Word).map(|t| self.text(t))
    }

    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span,
            None => Span::new(self.src.len(), self.src.len()),
        }
    }

    fn prev_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map_or(0, |t| t.span.end)
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
            Ok(self.bump().unwrap_or(Token { kind, span: Span::default() }))
        } else {
            self.error(what)
        }
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
                let (name, v) = self.run(grammar::agreement_line)?;
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
                    file.agreement = Some(AgreementDecl { name, version, span, first: !seen });
                }
                Ok(())
            }
            Some("peer") => {
                let (name, display) = self.run(grammar::peer_head)?;
                let mut peer =
                    Peer { name, display, sbc: vec![], media: vec![], transports: vec![], span: Span::default() };
                let span = self.block(|p| {
                    match p.run(grammar::peer_entry)? {
                        PeerEntry::Sbc(a) => peer.sbc.extend(a),
                        PeerEntry::Media(a) => peer.media.extend(a),
                        PeerEntry::Transport(t) => peer.transports.extend(t),
                    }
                    Ok(())
                })?;
                peer.span = Span::new(start, span.end);
                file.items.push(Item::Peer(peer));
                Ok(())
            }
            Some("type") => {
                let (name, value) = self.run(grammar::type_decl)?;
                file.items.push(Item::Type(TypeDecl { name, value, span: Span::new(start, self.prev_end()) }));
                Ok(())
            }
            Some("header") => {
                let name = self.run(grammar::header_head)?;
                let mut h =
                    HeaderDecl { name, value: None, list: None, max: None, example: None, span: Span::default() };
                let span = self.block(|p| {
                    let entry = p.run(grammar::header_entry)?;
                    let (what, span, first) = match &entry {
                        HeaderEntry::Value(v) => ("value", v.span(), h.value.as_ref().map(ValueType::span)),
                        HeaderEntry::List(s) => ("list", *s, h.list),
                        HeaderEntry::Max(_, s) => ("max", *s, h.max.map(|m| m.1)),
                        HeaderEntry::Example(l) => ("example", l.span, h.example.as_ref().map(|e| e.span)),
                    };
                    if let Some(first) = first {
                        p.diags.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("`{what}` given twice for header `{}`", h.name.name),
                                span,
                                "given again here",
                            )
                            .with_secondary(first, "first given here")
                            .with_help("keep one"),
                        );
                    }
                    match entry {
                        HeaderEntry::Value(v) => h.value = Some(v),
                        HeaderEntry::List(s) => h.list = Some(s),
                        HeaderEntry::Max(n, s) => h.max = Some((n, s)),
                        HeaderEntry::Example(l) => h.example = Some(l),
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
                    entries.push(p.run(grammar::setting)?);
                    Ok(())
                })?;
                file.items.push(Item::Settings(Settings { entries, span: Span::new(start, span.end) }));
                Ok(())
            }
            Some("on") => {
                let selector = self.run(grammar::rule_head)?;
                if self.peek_kind() != Some(Tok::LBrace) {
                    return self.error(if selector.cond.is_some() { "`{`" } else { "`from`, `to`, `if` or `{`" });
                }
                let mut obligations = vec![];
                let span = self.block(|p| {
                    obligations.push(p.run(grammar::obligation)?);
                    Ok(())
                })?;
                file.items.push(Item::Rule(Rule { selector, obligations, span: Span::new(start, span.end) }));
                Ok(())
            }
            Some("correlate") => {
                let name = self.run(grammar::correlate_head)?;
                let mut c = Correlate {
                    name,
                    inbound: None,
                    outbound: None,
                    matcher: None,
                    obligations: vec![],
                    span: Span::default(),
                };
                let span = self.block(|p| {
                    match p.run(grammar::correlate_entry)? {
                        CorrelateEntry::Inbound(s) => c.inbound = Some(s),
                        CorrelateEntry::Outbound(s) => c.outbound = Some(s),
                        CorrelateEntry::Match(e, d) => c.matcher = Some((e, d)),
                        CorrelateEntry::Obligation(o) => c.obligations.push(o),
                    }
                    Ok(())
                })?;
                c.span = Span::new(start, span.end);
                file.items.push(Item::Correlate(c));
                Ok(())
            }
            _ => self.error("`agreement`, `peer`, `type`, `header`, `settings`, `on` or `correlate`"),
        }
    }

    /// Runs a grammar production on the remaining tokens; on failure, records the diagnostic.
    fn run<T>(&mut self, mut p: impl FnMut(In<'_>) -> IResult<In<'_>, T, PErr<'_>>) -> PResult<T> {
        let toks = self.toks.get(self.pos..).unwrap_or(&[]);
        let input = In { toks, src: self.src, depth: 0 };
        let outcome = match p(input) {
            Ok((rest, v)) => Ok((toks.len() - rest.toks.len(), v)),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err((toks.len() - e.at.toks.len(), e.expected)),
            Err(nom::Err::Incomplete(_)) => Err((toks.len(), "more input".to_string())),
        };
        match outcome {
            Ok((n, v)) => {
                self.pos += n;
                Ok(v)
            }
            Err((n, expected)) => {
                // Report where the production failed, then rewind to its start, so recovery sees
                // the item's braces balanced.
                let start = self.pos;
                self.pos += n;
                let r = self.error(&expected);
                self.pos = start;
                r
            }
        }
    }
}
