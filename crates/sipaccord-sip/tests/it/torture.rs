//! RFC 4475 and RFC 5118 torture messages, read from `../shared/torture`, each classified as
//! `../shared/torture/EXPECTED.tsv` says. For `either`, the project's choice is documented in
//! `docs/torture.md` and pinned in `EITHER_CHOICES` below.

use sipaccord_sip::{Message, Validation, WarningKind};

use crate::shared_dir;

/// The project's choice for every `either` message (see docs/torture.md).
const EITHER_CHOICES: &[(&str, &str)] = &[
    // Trailing SP after SIP/2.0 breaks the Request-Line grammar; a conformance tool reports it.
    ("rfc4475/trws.dat", "reject"),
    // Date is not used by the tool; an invalid time zone does not make the message unusable.
    ("rfc4475/baddate.dat", "accept"),
    // `2001:db8:::192.0.2.1` is not a valid IPv6 address (RFC 5118 4.10 says the ABNF bug allowed it).
    ("rfc5118/ipv6-bug-abnf-3-colons.dat", "reject"),
];

/// The warning each `flag` message must produce.
fn expected_flag(file: &str, kind: &WarningKind) -> bool {
    match file {
        "rfc4475/insuf.dat" => matches!(kind, WarningKind::MissingHeader("Call-ID" | "From" | "To")),
        "rfc4475/multi01.dat" => matches!(kind, WarningKind::SeveralValues { .. }),
        "rfc4475/mcl01.dat" => matches!(kind, WarningKind::SeveralContentLengths { .. }),
        _ => false,
    }
}

fn classify(bytes: &[u8]) -> Result<Validation, String> {
    let message = Message::parse(bytes).map_err(|e| e.to_string())?;
    // The byte readers answer as the text readers do, errors included.
    assert_eq!(message.call_id_bytes(), message.call_id().map(|c| c.map(str::as_bytes)));
    assert_eq!(message.from_tag_bytes(), message.from_tag().map(str::as_bytes));
    assert_eq!(message.to_tag_bytes(), message.to_tag().map(str::as_bytes));
    // What validation settles on its way is what the readers answer.
    let found = message.validate().found;
    assert!(found.call_id(&message).is_none_or(|c| c == message.call_id_bytes().ok().flatten()));
    assert!(found.from_tag(&message).is_none_or(|t| t == message.from_tag_bytes()));
    assert!(found.to_tag(&message).is_none_or(|t| t == message.to_tag_bytes()));
    assert!(found.cseq(&message).is_none_or(|c| c == message.cseq().ok().flatten()));
    let validation = message.validate();
    match validation.errors.first() {
        Some(e) => Err(e.to_string()),
        None => Ok(validation),
    }
}

#[test]
fn every_torture_message_is_classified_as_expected() {
    let dir = shared_dir().join("torture");
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("read EXPECTED.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#') && !l.starts_with("file\t")) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, expect) = (cols[0], cols[3]);
        let expect = match expect {
            "either" => EITHER_CHOICES.iter().find(|(f, _)| *f == file).map(|c| c.1).expect("choice documented"),
            other => other,
        };
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
        let outcome = classify(&bytes);
        let ok = match (expect, &outcome) {
            ("accept", Ok(_)) => true,
            ("reject", Err(_)) => true,
            ("flag", Ok(v)) => v.warnings.iter().any(|w| expected_flag(file, &w.kind)),
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: expected {expect}, got {outcome:?}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 61, "EXPECTED.tsv lists 61 messages");
    assert!(failures.is_empty(), "{} of {checked} misclassified:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn rejections_name_the_offending_line() {
    let dir = shared_dir().join("torture/rfc4475");
    let cases = [
        ("badinv01.dat", 7, "Via"),
        ("ncl.dat", 10, "Content-Length"),
        ("quotbal.dat", 2, "To"),
        ("ltgtruri.dat", 1, "Request-URI"),
        ("lwsstart.dat", 1, "space"),
        ("escruri.dat", 1, "Request-URI"),
        ("regbadct.dat", 8, "Contact"),
        ("badaspec.dat", 5, "To"),
        ("baddn.dat", 4, "From"),
        ("badvers.dat", 1, "version"),
        ("mismatch01.dat", 6, "CSeq"),
        ("bigcode.dat", 1, "status code"),
        ("scalar02.dat", 5, "CSeq"),
        ("clerr.dat", 10, "Content-Length"),
    ];
    for (file, line, mentions) in cases {
        let bytes = std::fs::read(dir.join(file)).expect("read torture file");
        let err = classify(&bytes).expect_err(file);
        assert!(err.starts_with(&format!("line {line},")), "{file}: {err}");
        assert!(err.contains(mentions), "{file}: `{err}` should mention {mentions}");
    }
}

#[test]
fn tortuous_invite_parts_are_read_correctly() {
    let bytes = std::fs::read(shared_dir().join("torture/rfc4475/wsinv.dat")).expect("read wsinv.dat");
    let m = Message::parse(&bytes).expect("wsinv parses");
    assert_eq!(m.method(), Some("INVITE"));
    assert_eq!(m.call_id().unwrap(), Some("wsinv.ndaksdj@192.0.2.1"));
    let cseq = m.cseq().unwrap().unwrap();
    assert_eq!((cseq.number, cseq.method), (9, "INVITE"));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    assert_eq!(m.to().unwrap().unwrap().tag(), Some("1918181833n"));
    assert_eq!(m.from().unwrap().unwrap().tag(), Some("98asjd8"));
    let vias: Vec<_> = m.vias().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport, "UDP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.header("Subject").map(|h| h.value), Some(&b""[..]));
    assert_eq!(
        m.header("NewFangledHeader").unwrap().value_unfolded().as_ref(),
        b"newfangled value continued newfangled value"
    );
    assert_eq!(m.body().len(), 150);
    let contact = m.contacts().next().unwrap().unwrap();
    assert!(matches!(contact, sipaccord_sip::Contact::Address(ref a) if a.params().get("secondparam") == Some(None)));
}
