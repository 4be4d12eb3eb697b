//! Differential test of the SIP parser against rsip 0.4, on the torture messages of `../shared/torture`
//! and on every SIP message found in the captures of `../shared/corpus` (it lives here because this
//! crate reads pcaps): on every message both parsers accept, the method or status, Call-ID, CSeq and
//! From/To tags must agree. Where they disagree, `KNOWN_DISAGREEMENTS` pins each case with the
//! RFC 3261 reason our answer is the right one.

use rsip::headers::ToTypedHeader;
use rsip::message::HeadersExt;
use rsip::prelude::UntypedHeader;
use sipaccord_sip::Message;

use crate::corpus::corpus_dir;

fn shared_dir() -> std::path::PathBuf {
    corpus_dir().join("..")
}

/// What both parsers report about a message.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Summary {
    pub first: String,
    pub call_id: Option<String>,
    pub cseq: Option<String>,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
}

/// Our parser's summary, when the message is well-formed.
pub fn ours(bytes: &[u8]) -> Option<Summary> {
    let m = Message::parse(bytes).ok()?;
    if !m.validate().is_well_formed() {
        return None;
    }
    Some(Summary {
        first: m.method().map_or_else(|| m.status().unwrap_or(0).to_string(), str::to_owned),
        call_id: m.call_id().ok()?.map(str::to_owned),
        cseq: m.cseq().ok()?.map(|c| format!("{} {}", c.number, c.method)),
        from_tag: m.from().ok()?.and_then(|f| f.tag().map(str::to_owned)),
        to_tag: m.to().ok()?.and_then(|t| t.tag().map(str::to_owned)),
    })
}

/// rsip's summary, when rsip accepts the message and its typed headers.
pub fn theirs(bytes: &[u8]) -> Option<Summary> {
    let m = rsip::SipMessage::try_from(bytes).ok()?;
    let first = match &m {
        rsip::SipMessage::Request(r) => r.method.to_string(),
        rsip::SipMessage::Response(r) => u16::from(r.status_code.clone()).to_string(),
    };
    let cseq = m.cseq_header().ok().and_then(|c| c.typed().ok()).map(|c| format!("{} {}", c.seq, c.method));
    Some(Summary {
        first,
        call_id: m.call_id_header().ok().map(|c| c.value().to_owned()),
        cseq,
        from_tag: m.from_header().ok().and_then(|f| f.tag().ok().flatten()).map(|t| t.to_string()),
        to_tag: m.to_header().ok().and_then(|t| t.tag().ok().flatten()).map(|t| t.to_string()),
    })
}

/// Messages where both accept but disagree, and why RFC 3261 sides with sipaccord.
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[(
    "rfc4475/dblreq.dat",
    "Call-ID is written in compact form as `I:`; RFC 3261 7.3.1 makes header names case-insensitive and \
     7.3.3 makes `i` the compact form of Call-ID, so the Call-ID is present. rsip finds none.",
)];

#[test]
fn agrees_with_rsip_wherever_both_accept_a_torture_message() {
    let dir = shared_dir().join("torture");
    let mut both = 0;
    let mut disagreements = Vec::new();
    for sub in ["rfc4475", "rfc5118"] {
        let mut files: Vec<_> =
            std::fs::read_dir(dir.join(sub)).expect("torture dir").flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).expect("read torture message");
            let (Some(a), Some(b)) = (ours(&bytes), theirs(&bytes)) else { continue };
            both += 1;
            if a != b {
                let name = format!("{sub}/{}", path.file_name().unwrap_or_default().to_string_lossy());
                disagreements.push((name, format!("ours {a:?} rsip {b:?}")));
            }
        }
    }
    assert!(both >= 10, "only {both} torture messages accepted by both");
    let names: Vec<&str> = disagreements.iter().map(|d| d.0.as_str()).collect();
    let known: Vec<&str> = KNOWN_DISAGREEMENTS.iter().map(|d| d.0).collect();
    assert_eq!(names, known, "disagreements: {disagreements:#?}");
    // The pinned case: our Call-ID is the one on the `I:` line, rsip has none.
    let dblreq = std::fs::read(dir.join("rfc4475/dblreq.dat")).expect("read dblreq.dat");
    assert_eq!(ours(&dblreq).and_then(|s| s.call_id).as_deref(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    assert_eq!(theirs(&dblreq).map(|s| s.call_id), Some(None));
}

/// The one kind of corpus disagreement, pinned: rsip loses the `tag` of a From or To whose URI is a
/// `tel:` URI or has an IPv6 reference host (`<tel:263734>;tag=cVKbrkhG0L`,
/// `<sip:a@[fd17::1]:5060>;tag=x`). RFC 3261 20.20/20.39 define `tag` as a header parameter after
/// the name-addr, whatever the URI, so the tag is there; tshark reads it the same way.
fn rsip_loses_the_tag(bytes: &[u8], ours: &Summary, rsip: &Summary) -> bool {
    let Ok(m) = Message::parse(bytes) else { return false };
    let unusual_uri = |a: Option<sipaccord_sip::NameAddr<'_>>| {
        a.is_some_and(|a| {
            matches!(a.uri.scheme, sipaccord_sip::Scheme::Tel)
                || matches!(a.uri.host, Some(sipaccord_sip::Host::Ipv6(_)))
        })
    };
    let from_lost = ours.from_tag.is_some() && rsip.from_tag.is_none() && unusual_uri(m.from().ok().flatten());
    let to_lost = ours.to_tag.is_some() && rsip.to_tag.is_none() && unusual_uri(m.to().ok().flatten());
    let same_otherwise = Summary {
        from_tag: if from_lost { None } else { ours.from_tag.clone() },
        to_tag: if to_lost { None } else { ours.to_tag.clone() },
        ..ours.clone()
    } == *rsip;
    (from_lost || to_lost) && same_otherwise
}

#[test]
fn agrees_with_rsip_wherever_both_accept_a_corpus_message() {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    let (mut both, mut ours_only, mut rsip_only, mut lost_tags) = (0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for name in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("path\t"))
        .map(|l| l.split('\t').next().unwrap_or(""))
    {
        let reader = sipaccord_capture::CaptureReader::open(dir.join(name)).expect("open corpus capture");
        for message in reader.flatten() {
            // rsip reads one message per buffer, so give it exactly the bytes this message occupies.
            let Ok(parsed) = message.parse() else { continue };
            let bytes = &message.bytes[..parsed.len()];
            match (ours(bytes), theirs(bytes)) {
                (Some(a), Some(b)) => {
                    both += 1;
                    if a != b {
                        if rsip_loses_the_tag(bytes, &a, &b) {
                            lost_tags += 1;
                        } else {
                            disagreements.push((name.to_owned(), message.frame, format!("ours {a:?} rsip {b:?}")));
                        }
                    }
                }
                (Some(_), None) => ours_only += 1,
                (None, Some(_)) => rsip_only += 1,
                (None, None) => {}
            }
        }
    }
    assert!(
        both > 900,
        "only {both} corpus messages accepted by both ({ours_only} by us only, {rsip_only} by rsip only)"
    );
    assert!(disagreements.is_empty(), "unexplained disagreements: {disagreements:#?}");
    // 14 messages of arkime/gtp-iphone.pcap (tel: URIs) and 18 of sngrep/ipv6frag.pcap (IPv6 hosts).
    assert_eq!(lost_tags, 32, "messages where rsip loses a tel:/IPv6 From or To tag");
}
