//! The live UAS on arbitrary requests: whatever a peer sends, `Uas::handle` must not panic (a panic
//! would stop a listener in the middle of an interop session), and every response it writes must parse
//! as a SIP message. The agreement is the project's example, `fixtures/interop/telegent-acme.agreement`.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sipaccord_agreement::Contract;
use sipaccord_live::compose::Composer;
use sipaccord_live::uas::{Arrival, Uas};
use sipaccord_sip::{Limits, Message};

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let source = include_str!("../../fixtures/interop/telegent-acme.agreement");
        sipaccord_agreement::compile(source, "telegent-acme.agreement").contract.expect("the example compiles")
    })
}

fuzz_target!(|data: &[u8]| {
    let c = contract();
    let (telegent, acme) = (c.peer("telegent").unwrap(), c.peer("acme").unwrap());
    let mut uas = Uas::new(Composer::new(c, telegent, acme));
    let now = Instant::now();
    for (transport, parsed) in [("udp", Message::parse(data)), ("tcp", Message::parse_stream(data, &Limits::default()))] {
        let Ok(request) = parsed else { continue };
        if request.request().is_none() {
            continue;
        }
        let arrival = Arrival { src: "127.0.20.1:5060".parse().unwrap(), local: "127.0.10.1:5060".parse().unwrap(), transport };
        // Twice: the second time is a retransmission (or a new transaction) for the UAS.
        for _ in 0..2 {
            for response in uas.handle(now, &request, arrival) {
                assert!(Message::parse(&response).is_ok(), "a response the UAS wrote does not parse");
            }
        }
        for (_, response) in uas.retransmissions(now + Duration::from_secs(1), arrival.local) {
            assert!(Message::parse(&response).is_ok());
        }
    }
});
