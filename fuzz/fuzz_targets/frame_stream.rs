//! `frame_stream` on arbitrary bytes. When it says `Complete(len)`, `len` must fit the buffer and
//! `Message::parse_stream(&buf[..len])` must not panic; the rest of the buffer is framed the same way,
//! as a TCP reader would, so back-to-back messages and keep-alives are covered too. The helpers that
//! recognise start lines run on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipaccord_sip::{find_start_line, frame_stream, is_start_line, looks_like_sip, Framing, Limits, Message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let tight = Limits { max_message_size: 512, max_headers: 8, max_line_length: 96 };
    for limits in [limits, tight] {
        let mut buf = data;
        // Every step consumes at least one byte, so this ends; the cap is a second guard.
        for _ in 0..=data.len() {
            match frame_stream(buf, &limits) {
                Ok(Framing::Complete(len)) => {
                    assert!(len > 0 && len <= buf.len(), "Complete({len}) for a buffer of {}", buf.len());
                    if let Ok(msg) = Message::parse_stream(&buf[..len], &Limits::default()) {
                        let _ = msg.validate();
                    }
                    let _ = Message::parse_stream(&buf[..len], &limits);
                    buf = &buf[len..];
                }
                Ok(Framing::Partial) | Err(_) => break,
            }
        }
    }
    // Every prefix of a short input is a stream buffer caught mid-message.
    if data.len() <= 256 {
        for cut in 0..data.len() {
            if let Ok(Framing::Complete(len)) = frame_stream(&data[..cut], &limits) {
                assert!(len <= cut);
                let _ = Message::parse_stream(&data[..len], &Limits::default());
            }
        }
    }
    let _ = looks_like_sip(data);
    if let Some(at) = find_start_line(data) {
        assert!(at <= data.len());
        let rest = &data[at..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        assert!(is_start_line(&rest[..end]), "find_start_line points at a line is_start_line rejects");
    }
});
