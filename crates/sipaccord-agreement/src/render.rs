//! Rendering diagnostics rustc-style with the source snippet (via `annotate-snippets`). Without
//! colour the output is stable text, suitable for snapshots.

use annotate_snippets::{Level, Renderer, Snippet};

use crate::diag::{Diagnostic, Severity};

/// Renders every diagnostic, each followed by a blank line between them.
pub fn render(diags: &[Diagnostic], src: &str, file: &str, colour: bool) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_one(d, src, file, colour));
    }
    out
}

/// The source as the snippet shows it: control characters and unusual whitespace (a vertical tab,
/// a form feed, a CR not before LF, NEL, line separators) become `?`, one for each of their bytes,
/// so every span still falls where it did. The snippet renderer measures lines in display columns
/// but counts such characters as leading whitespace, and a diagnostic pointing into a long run of
/// them made it subtract past zero (found by fuzzing); `?` is neither whitespace nor invisible.
fn displayable(src: &str) -> std::borrow::Cow<'_, str> {
    let odd = |(i, c): (usize, char)| {
        let ordinary = matches!(c, ' ' | '\t' | '\n') || (c == '\r' && src.as_bytes().get(i + 1) == Some(&b'\n'));
        !ordinary && (c.is_control() || c.is_whitespace())
    };
    if !src.char_indices().any(odd) {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut shown = String::with_capacity(src.len());
    for (i, c) in src.char_indices() {
        if odd((i, c)) {
            shown.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            shown.push(c);
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// Clamps a span to the source and to char boundaries; an empty span at the end of a line points
/// at that position.
fn clamp(src: &str, start: usize, end: usize) -> std::ops::Range<usize> {
    let mut s = start.min(src.len());
    // A span at the very end (after the final newline) points at the end of the last line.
    if s == src.len() && src.ends_with('\n') && s > 0 {
        s -= 1;
        return s..s;
    }
    while !src.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = end.clamp(s, src.len());
    while !src.is_char_boundary(e) {
        e += 1;
    }
    s..e
}

/// Renders one diagnostic.
pub fn render_one(d: &Diagnostic, src: &str, file: &str, colour: bool) -> String {
    let level = match d.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
    };
    let src = &*displayable(src);
    let mut snippet = Snippet::source(src).line_start(1).origin(file).fold(true);
    let p = &d.primary;
    // annotate-snippets draws `^` for an error-level annotation and `-` for a warning-level one,
    // and prefixes neither label, which is rustc's look for primary and secondary spans.
    snippet = snippet.annotation(Level::Error.span(clamp(src, p.span.start, p.span.end)).label(&p.message));
    for s in &d.secondary {
        snippet = snippet.annotation(Level::Warning.span(clamp(src, s.span.start, s.span.end)).label(&s.message));
    }
    let mut msg = level.title(&d.message).id(d.code.as_str()).snippet(snippet);
    if let Some(h) = &d.help {
        msg = msg.footer(Level::Help.title(h));
    }
    let renderer = if colour { Renderer::styled() } else { Renderer::plain() };
    let mut text = renderer.render(msg).to_string();
    text.push('\n');
    text
}
