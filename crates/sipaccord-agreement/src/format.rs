//! The formatter: canonical indentation (2 spaces) and spacing; line structure, item order and
//! comments kept as written. Idempotent; refuses files with syntax errors.

use crate::diag::Diagnostic;
use crate::lexer::{lex, Tok, Token};

/// Keywords after which `(` is an operand, not a call: `in (...)`, `not (...)`.
const SPACED_BEFORE_PAREN: [&str; 8] = ["in", "if", "not", "and", "or", "satisfy", "match", "within"];

/// Formats a file, or returns its syntax errors.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let (_, diags) = crate::parser::parse(source);
    if !diags.is_empty() {
        return Err(diags);
    }
    let (toks, _) = lex(source);
    let text = |t: &Token| &source[t.span.start..t.span.end];
    let mut out = String::new();
    let mut depth: usize = 0;
    let mut paren: usize = 0;
    let mut line: Vec<Token> = vec![];
    let mut blank_pending = false;
    let mut newlines = 0;
    let mut lines: Vec<(usize, String)> = vec![];

    let flush = |line: &mut Vec<Token>, depth: &mut usize, paren: &mut usize, lines: &mut Vec<(usize, String)>| {
        if line.is_empty() {
            return;
        }
        let starts_close = line[0].kind == Tok::RBrace;
        let indent = if starts_close { depth.saturating_sub(1) } else { *depth } + *paren;
        let mut s = String::new();
        let mut prev: Option<Token> = None;
        for t in line.iter() {
            if let Some(p) = prev {
                let no_space = matches!(t.kind, Tok::Comma | Tok::RParen | Tok::Colon | Tok::Semi)
                    || p.kind == Tok::LParen
                    || (t.kind == Tok::LParen && p.kind == Tok::Word && !SPACED_BEFORE_PAREN.contains(&text(&p)));
                if !no_space {
                    s.push(' ');
                }
            }
            s.push_str(text(t));
            match t.kind {
                Tok::LBrace => *depth += 1,
                Tok::RBrace => *depth = depth.saturating_sub(1),
                Tok::LParen => *paren += 1,
                Tok::RParen => *paren = paren.saturating_sub(1),
                _ => {}
            }
            prev = Some(*t);
        }
        lines.push((indent, s));
        line.clear();
    };

    for t in toks {
        if t.kind == Tok::Newline {
            if line.is_empty() {
                newlines += 1;
                if newlines >= 1 && !lines.is_empty() {
                    blank_pending = true;
                }
            } else {
                if blank_pending {
                    lines.push((usize::MAX, String::new()));
                    blank_pending = false;
                }
                flush(&mut line, &mut depth, &mut paren, &mut lines);
                newlines = 0;
            }
            continue;
        }
        line.push(t);
    }
    if !line.is_empty() {
        if blank_pending {
            lines.push((usize::MAX, String::new()));
        }
        flush(&mut line, &mut depth, &mut paren, &mut lines);
    }
    // No blank line right after `{` or right before `}`.
    let mut kept: Vec<(usize, String)> = vec![];
    for (i, l) in lines.iter().enumerate() {
        if l.0 == usize::MAX {
            let after_open = kept.last().is_some_and(|p: &(usize, String)| p.1.ends_with('{'));
            let before_close = lines.get(i + 1).is_some_and(|n| n.1.starts_with('}'));
            if after_open || before_close || kept.last().is_some_and(|p| p.0 == usize::MAX) {
                continue;
            }
        }
        kept.push(l.clone());
    }
    for (indent, s) in kept {
        if indent == usize::MAX {
            out.push('\n');
        } else {
            out.push_str(&"  ".repeat(indent));
            out.push_str(&s);
            out.push('\n');
        }
    }
    Ok(out)
}
