//! The capture decoder on arbitrary bytes as a pcap or pcapng file: reading every message and the
//! summary must never panic, whatever the file claims (lengths, link types, tunnels, TCP sequence
//! numbers, fragments). Both ways of taking the messages (the iterator and the lending
//! `for_each_message`) must give the same messages and the same summary.
#![no_main]

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use sipaccord_capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let open = || CaptureReader::from_reader("fuzz.pcap", std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = open() else { return };
    let mut iterated = Vec::new();
    let mut iterator_error = None;
    for item in &mut reader {
        match item {
            Ok(message) => {
                let _ = message.first_line();
                if let Ok(parsed) = message.parse() {
                    let _ = parsed.validate();
                }
                iterated.push((message.frame, message.bytes.to_vec(), message.outcome.clone()));
            }
            Err(e) => iterator_error = Some(e.to_string()),
        }
    }
    let summary = format!("{:?}", reader.summary());

    let Ok(mut lending) = open() else { panic!("the same bytes opened once and not twice") };
    let mut lent = Vec::new();
    let error = lending.for_each_message(|m| {
        let _ = m.first_line();
        lent.push((m.frame, m.bytes.to_vec(), m.outcome.clone()));
        ControlFlow::Continue(())
    });
    assert_eq!(iterated, lent, "the iterator and for_each_message give different messages");
    assert_eq!(iterator_error, error.map(|e| e.to_string()), "different read errors");
    assert_eq!(summary, format!("{:?}", lending.summary()), "different summaries");
});
