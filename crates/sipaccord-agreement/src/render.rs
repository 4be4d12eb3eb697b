//! Rendering diagnostics rustc-style, with the source snippet. Without colour the output is stable
//! text, suitable for snapshots.

use std::fmt::Write;

use crate::diag::{line_col, Diagnostic, Label, Severity};

/// Renders every diagnostic, separated by blank lines.
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

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Renders one diagnostic.
pub fn render_one(d: &Diagnostic, src: &str, file: &str, colour: bool) -> String {
    let st = Style { on: colour };
    let (word, col) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let mut labels: Vec<(&Label, bool)> = vec![(&d.primary, true)];
    labels.extend(d.secondary.iter().map(|l| (l, false)));
    let width = labels.iter().map(|(l, _)| line_col(src, l.span.start).0.to_string().len()).max().unwrap_or(1);
    let pad = " ".repeat(width);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{}",
        st.paint(col, &format!("{word}[{}]", d.code.as_str())),
        st.paint("1", &format!(": {}", d.message))
    );
    let (l0, c0) = line_col(src, d.primary.span.start);
    let _ = writeln!(out, "{pad}{} {file}:{l0}:{c0}", st.paint("1;34", "-->"));
    let _ = writeln!(out, "{pad} {}", st.paint("1;34", "|"));
    let mut ordered = labels.clone();
    ordered.sort_by_key(|(l, _)| l.span.start);
    let mut last_line = 0;
    for (l, primary) in ordered {
        let (line, col1) = line_col(src, l.span.start);
        if last_line != 0 && line > last_line + 1 {
            let _ = writeln!(out, "{}", st.paint("1;34", "..."));
        }
        let text = src.lines().nth(line - 1).unwrap_or("");
        if line != last_line {
            let _ = writeln!(out, "{} {}", st.paint("1;34", &format!("{line:>width$} |")), text);
        }
        last_line = line;
        let line_end_chars = text.chars().count() + 1;
        let span_text = src.get(l.span.start..l.span.end).unwrap_or("");
        let first_line_len = span_text.lines().next().map_or(0, |s| s.chars().count());
        let len = first_line_len.max(1).min(line_end_chars.saturating_sub(col1).max(1));
        let marker = if primary { "^" } else { "-" };
        let mcol = if primary { col } else { "1;34" };
        let underline = format!("{}{}", " ".repeat(col1 - 1), marker.repeat(len));
        let label = if l.message.is_empty() { String::new() } else { format!(" {}", l.message) };
        let _ = writeln!(
            out,
            "{pad} {} {}",
            st.paint("1;34", "|"),
            st.paint(mcol, &format!("{}{label}", underline.trim_start_matches('\u{0}')))
        );
    }
    let _ = writeln!(out, "{pad} {}", st.paint("1;34", "|"));
    if let Some(h) = &d.help {
        let _ = writeln!(out, "{pad} {} {h}", st.paint("1;34", "= help:"));
    }
    out
}
