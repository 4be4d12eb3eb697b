//! Lexer: source text to tokens (comments and newlines kept, for the formatter).

use nom::branch::alt;
use nom::bytes::complete::{escaped, is_not, tag, take_while, take_while1};
use nom::character::complete::{char, one_of};
use nom::combinator::{opt, recognize};
use nom::sequence::{delimited, preceded, tuple};
use nom::IResult;

use crate::diag::{Code, Diagnostic, Span};

/// The kind of a token; its text is the source under its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// A word: keyword, name, header name, method, number, code, duration or address.
    Word,
    /// `"..."`
    Str,
    /// `/.../`
    Regex,
    /// `[v6]` with optional `:port` or `/prefix`.
    Bracketed,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `|`
    Pipe,
    /// End of line.
    Newline,
    /// `# ...` to the end of the line.
    Comment,
}

/// One token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: Tok,
    /// Where it is.
    pub span: Span,
}

fn is_word_byte(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!%+~'`*:/".contains(c)
}

fn string(i: &str) -> IResult<&str, &str> {
    recognize(delimited(char('"'), opt(escaped(is_not("\\\"\n"), '\\', one_of("\"\\"))), char('"')))(i)
}

fn regex(i: &str) -> IResult<&str, &str> {
    recognize(delimited(char('/'), opt(escaped(is_not("\\/\n"), '\\', nom::character::complete::anychar)), char('/')))(
        i,
    )
}

fn bracketed(i: &str) -> IResult<&str, &str> {
    recognize(tuple((
        delimited(char('['), take_while(|c: char| c.is_ascii_hexdigit() || c == ':' || c == '.'), char(']')),
        opt(alt((
            preceded(char(':'), take_while1(|c: char| c.is_ascii_digit())),
            preceded(char('/'), take_while1(|c: char| c.is_ascii_digit())),
        ))),
    )))(i)
}

fn punct(i: &str) -> IResult<&str, (Tok, &str)> {
    let p = |t: &'static str, k: Tok| move |i| tag(t)(i).map(|(r, s)| (r, (k, s)));
    alt((
        p("==", Tok::EqEq),
        p("!=", Tok::NotEq),
        p("{", Tok::LBrace),
        p("}", Tok::RBrace),
        p("(", Tok::LParen),
        p(")", Tok::RParen),
        p(",", Tok::Comma),
        p(";", Tok::Semi),
        p(":", Tok::Colon),
        p("=", Tok::Eq),
        p("|", Tok::Pipe),
        p("\n", Tok::Newline),
        p("\r\n", Tok::Newline),
    ))(i)
}

/// Splits a word before a `:` that ends a field or parameter name (`user:` in `user: e164`),
/// but keeps IPv6 addresses and `addr:port` whole.
fn word_len(w: &str) -> usize {
    let Some(colon) = w.find(':') else {
        return w.len();
    };
    let head = &w[..colon];
    let addressy = head.chars().all(|c| c.is_ascii_hexdigit() || c == '.');
    let trailing = colon + 1 == w.len();
    if addressy && !trailing || colon == 0 {
        w.len()
    } else {
        colon
    }
}

/// Lexes the whole source. Never fails: unknown characters become diagnostics and are skipped.
pub fn lex(src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut toks = Vec::new();
    let mut diags = Vec::new();
    let mut pos = 0;
    while pos < src.len() {
        let rest = &src[pos..];
        let c = rest.chars().next().unwrap_or(' ');
        if c == ' ' || c == '\t' || c == '\r' && !rest.starts_with("\r\n") {
            pos += 1;
            continue;
        }
        let (kind, len) = if c == '#' {
            (Tok::Comment, rest.find('\n').unwrap_or(rest.len()))
        } else if c == '"' {
            match string(rest) {
                Ok((_, s)) => (Tok::Str, s.len()),
                Err(_) => {
                    let len = rest.find('\n').unwrap_or(rest.len());
                    diags.push(
                        Diagnostic::new(
                            Code::Syntax,
                            "unterminated string",
                            Span::new(pos, pos + len),
                            "string starts here",
                        )
                        .with_help("close the string with `\"` on the same line"),
                    );
                    (Tok::Str, len)
                }
            }
        } else if c == '/' {
            match regex(rest) {
                Ok((_, s)) => (Tok::Regex, s.len()),
                Err(_) => {
                    let len = rest.find('\n').unwrap_or(rest.len());
                    diags.push(
                        Diagnostic::new(
                            Code::Syntax,
                            "unterminated regular expression",
                            Span::new(pos, pos + len),
                            "regular expression starts here",
                        )
                        .with_help("close it with `/`; write a slash inside it as `\\/`"),
                    );
                    (Tok::Regex, len)
                }
            }
        } else if c == '[' {
            match bracketed(rest) {
                Ok((_, s)) => (Tok::Bracketed, s.len()),
                Err(_) => {
                    let len = rest.find([']', '\n', ' ', ',']).map_or(rest.len(), |i| {
                        if rest.as_bytes()[i] == b']' {
                            i + 1
                        } else {
                            i
                        }
                    });
                    (Tok::Bracketed, len.max(1))
                }
            }
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let w = match take_while1::<_, _, nom::error::Error<&str>>(is_word_byte)(rest) {
                Ok((_, w)) => w,
                Err(_) => &rest[..1],
            };
            (Tok::Word, word_len(w))
        } else if let Ok((_, (k, s))) = punct(rest) {
            (k, s.len())
        } else {
            let len = c.len_utf8();
            diags.push(Diagnostic::new(
                Code::Syntax,
                format!("unexpected character `{c}`"),
                Span::new(pos, pos + len),
                "not part of the language",
            ));
            pos += len;
            continue;
        };
        toks.push(Token { kind, span: Span::new(pos, pos + len) });
        pos += len;
    }
    (toks, diags)
}
