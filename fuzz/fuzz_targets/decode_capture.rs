//! The capture decoder on arbitrary bytes as a pcap or pcapng file: reading every message and the
//! summary must never panic, whatever the file claims (lengths, link types, tunnels, TCP sequence
//! numbers, fragments).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipaccord_capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::from_reader("fuzz.pcap", std::io::Cursor::new(data.to_vec())) else { return };
    for item in &mut reader {
        if let Ok(message) = item {
            let _ = message.first_line();
            if let Ok(parsed) = message.parse() {
                let _ = parsed.validate();
            }
        }
    }
    let _ = reader.summary();
});
