//! Header bytes as text: the one place this crate uses `unsafe`.
//!
//! Nearly every value a view hands out as `&str` (a URI, a tag, a branch, a Call-ID) is a few dozen
//! ASCII bytes. `std::str::from_utf8` checks such a run a byte at a time up to an aligned address and
//! after the last aligned pair of words, about a hundred instructions for a From value, where
//! `<[u8]>::is_ascii` reads it a word at a time from both ends, about forty; and ASCII bytes are text
//! without further checks: about 250 fewer instructions a message on the parser benchmark's typed
//! access (docs/performance.md, "Parser changes of 2026-11-26, fifth stop").
#![allow(unsafe_code)]

/// `bytes` as text: what `std::str::from_utf8(bytes).ok()` answers, and faster when every byte is
/// ASCII.
#[inline]
pub(crate) fn text(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, and each such byte is a whole UTF-8 character, so the
        // bytes are valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn text_is_what_from_utf8_answers(bytes in proptest::collection::vec(
            prop_oneof![6 => 0u8..0x80, 1 => 0x80u8..=0xff, 1 => Just(0xc3u8), 1 => Just(0xa9u8)], 0..70,
        )) {
            prop_assert_eq!(super::text(&bytes), std::str::from_utf8(&bytes).ok());
        }
    }
}
