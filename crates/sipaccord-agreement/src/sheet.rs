//! The sign-off sheet both operators review, as Markdown or HTML.

use crate::contract::{Contract, Level, MessageKind, ObligationKind, Rule, Selector};

/// Output format of the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// A standalone HTML page.
    Html,
}

enum Block {
    Heading(u8, String),
    Para(String),
    /// Items, each with sub-items.
    List(Vec<(String, Vec<String>)>),
    Table(Vec<&'static str>, Vec<Vec<String>>),
    Checklist(Vec<(bool, String)>),
}

fn duration(ms: u64) -> String {
    if ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn obligation_words(level: Level, kind: &ObligationKind, text: &str) -> String {
    let lvl = match level {
        Level::Must => "must",
        Level::Should => "should",
        Level::May => "may",
    };
    match kind {
        ObligationKind::Have { header, cmp: None, .. } => format!("{lvl} carry `{}`", header.name),
        ObligationKind::NotHave { header, .. } if header.prefix => {
            format!("{lvl} not carry any header starting with `{}`", header.name)
        }
        ObligationKind::NotHave { header, .. } => format!("{lvl} not carry `{}`", header.name),
        ObligationKind::Echo { header } => {
            format!("{lvl} echo `{}` from the request (same value, or absent in both)", header.name)
        }
        _ => format!("`{text}`"),
    }
}

fn selector_words(s: &Selector) -> String {
    let dialog = match s.dialog {
        crate::contract::DialogState::Any => "",
        crate::contract::DialogState::Initial => "initial ",
        crate::contract::DialogState::InDialog => "in-dialog ",
    };
    let mut w = match &s.message {
        MessageKind::Request { methods } if methods.is_empty() => format!("every {dialog}request"),
        MessageKind::Request { methods } => format!("{dialog}{}", methods.join(", ")),
        MessageKind::Response { codes, methods } => {
            let codes: Vec<String> = codes
                .iter()
                .map(|c| match (c.min, c.max - c.min) {
                    (a, 0) => a.to_string(),
                    (a, 99) if a % 100 == 0 => format!("{}xx", a / 100),
                    (a, 9) if a % 10 == 0 => format!("{}x", a / 10),
                    (a, _) => format!("{a}-{}", c.max),
                })
                .collect();
            let to = if methods.is_empty() { "any request".to_string() } else { methods.join(", ") };
            format!("{dialog}responses {} to {to}", codes.join(", "))
        }
        MessageKind::Message => format!("every {dialog}message"),
    };
    if let Some(i) = s.text.find(" if ") {
        w.push_str(&format!(" when `{}`", &s.text[i + 4..]));
    }
    w
}

fn applies(r: &Rule, from: &str, to: &str) -> bool {
    r.selector.from.as_deref().is_none_or(|f| f == from) && r.selector.to.as_deref().is_none_or(|t| t == to)
}

fn build(c: &Contract) -> Vec<Block> {
    let mut b = vec![Block::Heading(1, format!("Header agreement: {} (version {})", c.name, c.version))];
    b.push(Block::Para(format!(
        "Compiled from `{}`. Both operators review and sign this sheet before interop testing.",
        c.file
    )));
    b.push(Block::Heading(2, "Peers".into()));
    for p in &c.peers {
        let title = match &p.display {
            Some(d) => format!("{} ({})", d, p.name),
            None => p.name.clone(),
        };
        b.push(Block::Heading(3, title));
        let join = |v: Vec<String>| {
            if v.is_empty() {
                "none given".to_string()
            } else {
                v.join(", ")
            }
        };
        let transports: Vec<String> = p.transports.iter().map(|t| t.as_str().to_string()).collect();
        b.push(Block::List(vec![
            (format!("SBC signalling addresses: {}", join(p.sbc.iter().map(ToString::to_string).collect())), vec![]),
            (format!("Media ranges: {}", join(p.media.iter().map(ToString::to_string).collect())), vec![]),
            (
                format!(
                    "Transports: {}",
                    if transports.is_empty() { "any".to_string() } else { transports.join(", ") }
                ),
                vec![],
            ),
        ]));
    }
    b.push(Block::Heading(2, "Headers".into()));
    if c.headers.is_empty() {
        b.push(Block::Para("No headers declared.".into()));
    } else {
        let rows = c
            .headers
            .iter()
            .map(|h| {
                let mut value = match (&h.value, &h.value_source) {
                    (Some(v), Some(src)) if !crate::check::BUILTINS.contains(&src.as_str()) => {
                        format!("`{src}`: {}", v.describe())
                    }
                    (Some(v), _) => v.describe(),
                    _ => "any value".to_string(),
                };
                if h.list {
                    value.push_str(" (comma-separated list allowed)");
                }
                vec![
                    h.name.clone(),
                    value,
                    h.max.map_or("-".into(), |m| m.to_string()),
                    h.example.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        b.push(Block::Table(vec!["Header", "Value", "Max", "Example"], rows));
    }
    for from in &c.peers {
        for to in &c.peers {
            if from.name == to.name {
                continue;
            }
            b.push(Block::Heading(2, format!("Messages from {} to {}", from.name, to.name)));
            let items: Vec<(String, Vec<String>)> = c
                .rules
                .iter()
                .filter(|r| applies(r, &from.name, &to.name))
                .map(|r| {
                    let subs =
                        r.obligations.iter().map(|o| obligation_words(o.level, &o.kind, &o.origin.text)).collect();
                    (format!("{} (line {})", selector_words(&r.selector), r.origin.line), subs)
                })
                .collect();
            if items.is_empty() {
                b.push(Block::Para("No rules.".into()));
            } else {
                b.push(Block::List(items));
            }
        }
    }
    if !c.correlations.is_empty() {
        b.push(Block::Heading(2, "Correlations".into()));
        let items = c
            .correlations
            .iter()
            .map(|k| {
                let head = format!(
                    "{}: for every `{}`, the first later `{}` within {} for which `{}` holds is its partner leg; no partner leg is a finding",
                    k.name,
                    k.inbound.text,
                    k.outbound.text,
                    duration(k.within_ms),
                    k.matcher_text
                );
                let subs = k.obligations.iter().map(|o| format!("the pair {}", obligation_words(o.level, &o.kind, &o.origin.text))).collect();
                (head, subs)
            })
            .collect();
        b.push(Block::List(items));
    }
    b.push(Block::Heading(2, "Strictness".into()));
    let s = &c.settings;
    let lv = |l: crate::contract::Strictness| format!("{l:?}").to_lowercase();
    b.push(Block::List(vec![
        (format!("Non-standard headers not declared here: {}", lv(s.undeclared_headers)), vec![]),
        (format!("SIP from an address of no peer: {}", lv(s.unknown_source)), vec![]),
        (format!("SDP media outside the sender's ranges: {}", lv(s.media_outside)), vec![]),
    ]));
    b.push(Block::Heading(2, "Connectivity checklist".into()));
    let mut checks = vec![];
    for p in &c.peers {
        checks.push((!p.sbc.is_empty(), format!("{} SBC addresses provided", p.name)));
    }
    checks.push((false, "Mutual whitelist applied on both SBCs".into()));
    let custom: Vec<String> = c.headers.iter().filter(|h| !h.standard).map(|h| h.name.clone()).collect();
    checks.push((
        false,
        format!("Custom headers agreed: {}", if custom.is_empty() { "none".to_string() } else { custom.join(", ") }),
    ));
    checks.push((
        false,
        format!(
            "Signed off by {}",
            c.peers
                .iter()
                .map(|p| p.display.clone().unwrap_or_else(|| p.name.clone()))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    ));
    b.push(Block::Checklist(checks));
    b
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Inline code spans (backticks) to `<code>`, after escaping.
fn html_inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in html(s).split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{part}</code>"));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Renders the sign-off sheet.
pub fn sheet(c: &Contract, format: SheetFormat) -> String {
    let blocks = build(c);
    let mut out = String::new();
    match format {
        SheetFormat::Markdown => {
            for b in blocks {
                match b {
                    Block::Heading(n, t) => out.push_str(&format!("{} {t}\n\n", "#".repeat(usize::from(n)))),
                    Block::Para(t) => out.push_str(&format!("{t}\n\n")),
                    Block::List(items) => {
                        for (t, subs) in items {
                            out.push_str(&format!("- {t}\n"));
                            for s in subs {
                                out.push_str(&format!("  - {s}\n"));
                            }
                        }
                        out.push('\n');
                    }
                    Block::Table(head, rows) => {
                        out.push_str(&format!("| {} |\n", head.join(" | ")));
                        out.push_str(&format!("|{}\n", " --- |".repeat(head.len())));
                        for r in rows {
                            let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
                            out.push_str(&format!("| {} |\n", cells.join(" | ")));
                        }
                        out.push('\n');
                    }
                    Block::Checklist(items) => {
                        for (done, t) in items {
                            out.push_str(&format!("- [{}] {t}\n", if done { "x" } else { " " }));
                        }
                        out.push('\n');
                    }
                }
            }
            while out.ends_with("\n\n") {
                out.pop();
            }
        }
        SheetFormat::Html => {
            out.push_str(&format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.3em .6em;text-align:left}}</style>\n</head>\n<body>\n",
                html(&format!("Header agreement: {} (version {})", c.name, c.version))
            ));
            for b in blocks {
                match b {
                    Block::Heading(n, t) => out.push_str(&format!("<h{n}>{}</h{n}>\n", html_inline(&t))),
                    Block::Para(t) => out.push_str(&format!("<p>{}</p>\n", html_inline(&t))),
                    Block::List(items) => {
                        out.push_str("<ul>\n");
                        for (t, subs) in items {
                            out.push_str(&format!("<li>{}", html_inline(&t)));
                            if !subs.is_empty() {
                                out.push_str("\n<ul>\n");
                                for s in subs {
                                    out.push_str(&format!("<li>{}</li>\n", html_inline(&s)));
                                }
                                out.push_str("</ul>\n");
                            }
                            out.push_str("</li>\n");
                        }
                        out.push_str("</ul>\n");
                    }
                    Block::Table(head, rows) => {
                        out.push_str("<table>\n<tr>");
                        for h in head {
                            out.push_str(&format!("<th>{h}</th>"));
                        }
                        out.push_str("</tr>\n");
                        for r in rows {
                            out.push_str("<tr>");
                            for c in r {
                                out.push_str(&format!("<td>{}</td>", html(&c)));
                            }
                            out.push_str("</tr>\n");
                        }
                        out.push_str("</table>\n");
                    }
                    Block::Checklist(items) => {
                        out.push_str("<ul class=\"checklist\">\n");
                        for (done, t) in items {
                            out.push_str(&format!(
                                "<li><label><input type=\"checkbox\"{}> {}</label></li>\n",
                                if done { " checked" } else { "" },
                                html_inline(&t)
                            ));
                        }
                        out.push_str("</ul>\n");
                    }
                }
            }
            out.push_str("</body>\n</html>\n");
        }
    }
    out
}
