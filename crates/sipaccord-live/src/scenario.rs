//! `sipaccord scenario`: a SIPp UAC scenario whose calls carry what the agreement asks of one side
//! (or break one rule on purpose), so a partner can test with the tool everyone already has.
//!
//! Each message is composed as the UAC would send it, with the peers' real addresses, then written as
//! a SIPp template: the structural headers use SIPp's keywords (`[local_ip]`, `[call_id]`, ...), the
//! headers the agreement asks for are written as composed.

use std::fmt::Write as _;

use sipaccord_agreement::HeaderName;

use crate::compose::{host_text, media_address, sdp, Composer, Draft, MessageKind};

/// Headers the scenario writes with SIPp keywords, in this order.
const STRUCTURAL: [&str; 7] = ["Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards"];

/// The Request-URI user and caller used when no rule asks for other values.
pub const CALLED: &str = "+15550100001";
/// The caller's number.
pub const CALLER: &str = "+15550100002";

/// Options of a scenario.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    /// Pause between the ACK and the BYE, in milliseconds.
    pub hold_ms: u64,
    /// The agreement file, named in the scenario's comment.
    pub agreement_file: String,
}

/// A call's three requests, composed for SIPp.
pub fn write(composer: &Composer<'_>, options: &ScenarioOptions) -> Result<String, String> {
    let me = composer.me();
    let them = composer.them();
    let my_host = me.sbc.first().map(|a| host_text(a.ip)).unwrap_or_else(|| "127.0.0.1".into());
    let their_host = them.sbc.first().map(|a| host_text(a.ip)).unwrap_or_else(|| "127.0.0.1".into());
    let their_port = them.sbc.first().and_then(|a| a.port).unwrap_or(5060);
    let mut notes = Vec::new();
    let mut broken = false;

    // The INVITE, composed with real values so rule conditions can be evaluated.
    let mut invite = Draft::new(format!("INVITE sip:{CALLED}@{their_host}:{their_port} SIP/2.0"));
    invite
        .push("Via", format!("SIP/2.0/UDP {my_host}:5060;branch=z9hG4bK-sipaccord-1"))
        .push("From", format!("<sip:{CALLER}@{my_host}>;tag=sipaccord-1"))
        .push("To", format!("<sip:{CALLED}@{their_host}>"))
        .push("Call-ID", "sipaccord-1@sipaccord")
        .push("CSeq", "1 INVITE")
        .push("Contact", format!("<sip:{CALLER}@{my_host}:5060>"))
        .push("Max-Forwards", "70");
    let media = media_address(me).ok_or("our peer has neither media ranges nor SBC addresses")?;
    invite.content_type = Some("application/sdp".into());
    invite.body = sdp(media, 1, 16_000);
    let kind = MessageKind::Request { method: "INVITE", initial: true };
    broken |= composer.breaks(kind);
    notes.extend(composer.complete(&mut invite, kind, None));

    let mut in_dialog = |method: &str, cseq: u32| {
        let mut d = Draft::new(format!("{method} sip:{CALLED}@{their_host}:{their_port} SIP/2.0"));
        d.push("Via", format!("SIP/2.0/UDP {my_host}:5060;branch=z9hG4bK-sipaccord-{cseq}"))
            .push("From", format!("<sip:{CALLER}@{my_host}>;tag=sipaccord-1"))
            .push("To", format!("<sip:{CALLED}@{their_host}>;tag=answer"))
            .push("Call-ID", "sipaccord-1@sipaccord")
            .push("CSeq", format!("{cseq} {method}"))
            .push("Contact", format!("<sip:{CALLER}@{my_host}:5060>"))
            .push("Max-Forwards", "70");
        let kind = MessageKind::Request { method, initial: false };
        let first_break = !broken && composer.breaks(kind);
        broken |= first_break;
        notes.extend(composer.complete(&mut d, kind, None));
        d
    };
    let ack = in_dialog("ACK", 1);
    let bye = in_dialog("BYE", 2);
    if composer.is_violating() && !broken {
        return Err(
            "the rule to break selects none of the scenario's requests (INVITE, ACK, BYE from this side)".into()
        );
    }
    if !notes.is_empty() {
        return Err(format!("the agreement asks for what a scenario cannot compose: {}", notes.join("; ")));
    }

    let mut x = String::new();
    let _ = writeln!(x, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>");
    let _ = writeln!(x, "<!DOCTYPE scenario SYSTEM \"sipp.dtd\">");
    let _ = writeln!(
        x,
        "<!-- Written by sipaccord scenario from {}: calls from {} to {}, each carrying what the agreement asks of {}. -->",
        xml_comment(&options.agreement_file),
        me.name,
        them.name,
        me.name
    );
    let _ = writeln!(x, "<scenario name=\"sipaccord {} to {}\">", me.name, them.name);
    send(&mut x, &invite, "1 INVITE", None, true);
    for code in [100, 180, 183] {
        let _ = writeln!(x, "  <recv response=\"{code}\" optional=\"true\"/>");
    }
    let _ = writeln!(x, "  <recv response=\"200\" rtd=\"true\"/>");
    send(&mut x, &ack, "1 ACK", Some("[last_To:]"), false);
    let _ = writeln!(x, "  <pause milliseconds=\"{}\"/>", options.hold_ms);
    send(&mut x, &bye, "2 BYE", Some("[last_To:]"), true);
    let _ = writeln!(x, "  <recv response=\"200\" crlf=\"true\"/>");
    let _ = writeln!(x, "  <ResponseTimeRepartition value=\"10, 20, 50, 100, 200, 500, 1000\"/>");
    let _ = writeln!(x, "</scenario>");
    Ok(x)
}

/// One `<send>`: the start line and structural headers with SIPp keywords, then the rest as composed.
fn send(x: &mut String, draft: &Draft, cseq: &str, to: Option<&str>, retransmit: bool) {
    let _ = writeln!(x, "  <send{}>", if retransmit { " retrans=\"500\"" } else { "" });
    let _ = writeln!(x, "    <![CDATA[");
    // The Request-URI keeps the composed user; the host is the target SIPp was given.
    let method = draft.start_line.split(' ').next().unwrap_or("INVITE");
    let user = draft.request_uri().and_then(|u| u.split_once(':')).and_then(|(_, r)| r.split_once('@')).map(|(u, _)| u);
    let ruri_user = user.map(|u| format!("{u}@")).unwrap_or_default();
    let _ = writeln!(x, "{method} sip:{ruri_user}[remote_ip]:[remote_port] SIP/2.0");
    for name in STRUCTURAL {
        if !draft.has(&HeaderName::new(name)) {
            continue;
        }
        let line = match name {
            "Via" => "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]".to_owned(),
            "From" => format!("From: <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"),
            "To" => to.map_or_else(|| format!("To: <sip:{ruri_user}[remote_ip]:[remote_port]>"), str::to_owned),
            "Call-ID" => "Call-ID: [call_id]".to_owned(),
            "CSeq" => format!("CSeq: {cseq}"),
            "Contact" => format!("Contact: <sip:{CALLER}@[local_ip]:[local_port];transport=[transport]>"),
            _ => format!("{name}: {}", draft.value(&HeaderName::new(name)).unwrap_or("")),
        };
        let _ = writeln!(x, "{line}");
    }
    let structural: Vec<HeaderName> = STRUCTURAL.iter().map(|n| HeaderName::new(n)).collect();
    for (name, value) in &draft.headers {
        if !structural.iter().any(|s| s.matches(name.as_bytes())) {
            let _ = writeln!(x, "{name}: {value}");
        }
    }
    if let Some(t) = &draft.content_type {
        let _ = writeln!(x, "Content-Type: {t}");
    }
    let _ = writeln!(x, "Content-Length: [len]");
    let _ = writeln!(x);
    for line in draft.body.lines() {
        let _ = writeln!(x, "{line}");
    }
    let _ = writeln!(x, "    ]]>");
    let _ = writeln!(x, "  </send>");
}

fn xml_comment(s: &str) -> String {
    s.replace("--", "- -")
}
