//! Sixteen bytes at a time. The searches the header split runs over every line: the first control
//! byte (the line end), and the first colon or control byte (the name end); and, in `classes`, runs
//! of a byte class (tokens, hosts, URI users and parameters, digits) and the Call-ID's byte check.
//!
//! Header lines and values are mostly a few dozen bytes, so a search costs what its setup and its
//! steps cost, not a vectorised search's (about a hundred instructions to start). On x86_64 a search
//! step looks at sixteen bytes with SSE2 (part of every x86_64 processor), elsewhere at two eight-byte
//! words with word arithmetic; class runs take sixteen bytes a step where the target has SSSE3 (the
//! workspace builds for x86-64-v2, see `.cargo/config.toml`), else a byte at a time with 256-entry
//! tables (`quick::run`, `scan::call_id_weight`). The intrinsics come through `safe_arch`'s safe
//! wrappers. Every path answers exactly what a byte loop answers (property tests here, in `quick.rs`
//! and in `scan.rs`).

#[cfg(target_arch = "x86_64")]
pub(crate) use sse2::{find_colon_or_control, find_control_before};
#[cfg(not(target_arch = "x86_64"))]
pub(crate) use words::{find_colon_or_control, find_control_before};

/// Sixteen bytes a step: a byte `b` is a control byte when `min(b, 0x1f) == b` (an unsigned
/// comparison, which SSE2 has only as a minimum), and one comparison mask per step gives the first.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i};

    /// One bit per byte of `chunk` (bit `k` for byte `k`) that is a control byte, or a colon with
    /// `COLON`.
    #[inline(always)]
    fn flags<const COLON: bool>(chunk: &[u8; 16]) -> u32 {
        let bytes = load_unaligned_m128i(chunk);
        let controls = cmp_eq_mask_i8_m128i(min_u8_m128i(bytes, set_splat_i8_m128i(0x1f)), bytes);
        let mut mask = move_mask_i8_m128i(controls) as u32;
        if COLON {
            mask |= move_mask_i8_m128i(cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(b':' as i8))) as u32;
        }
        mask
    }

    /// Index of the first flagged byte (see [`flags`]) in `s[from..]`, or `s.len()`. The last step
    /// looks at the last sixteen bytes of `s`, some of them looked at before (their flags dropped),
    /// so no byte is ever read alone unless `s` is shorter than a step.
    #[inline(always)]
    fn find<const COLON: bool>(s: &[u8], from: usize) -> usize {
        let mut i = from;
        while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let mask = flags::<COLON>(chunk);
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
        if i >= s.len() {
            return s.len();
        }
        match s.last_chunk::<16>() {
            Some(last) => {
                // The last step starts `back` bytes before `i`; their flags are shifted out.
                let back = i - (s.len() - 16);
                let mask = flags::<COLON>(last) >> back;
                if mask != 0 {
                    i + mask.trailing_zeros() as usize
                } else {
                    s.len()
                }
            }
            None => i + s[i..].iter().take_while(|&&b| b >= 0x20 && !(COLON && b == b':')).count(),
        }
    }

    /// Index of the first control byte (below 0x20: CR, LF, HT, ...) in `s[from..limit]`, or `limit`.
    #[inline(always)]
    pub(crate) fn find_control_before(s: &[u8], from: usize, limit: usize) -> usize {
        find::<false>(&s[..limit], from)
    }

    /// Index of the first `:` or control byte at or after `from`, or `s.len()`.
    #[inline(always)]
    pub(crate) fn find_colon_or_control(s: &[u8], from: usize) -> usize {
        find::<true>(s, from)
    }
}

/// Runs of bytes of a class, sixteen bytes a step with SSSE3's byte shuffle as two table lookups: a
/// byte below 0x80 is `high << 4 | low`, the class's table gives for each `low` the set of `high`
/// nibbles (bits 0 to 7) that make a byte of the class, and a second table turns `high` into its bit
/// (none for the bytes from 0x80 up, which no class here holds).
#[cfg(all(target_arch = "x86_64", target_feature = "ssse3"))]
pub(crate) mod classes {
    use safe_arch::{
        bitand_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
        shr_imm_u16_m128i, shuffle_av_i8z_all_m128i, zeroed_m128i,
    };

    /// The per-`low` sets of high nibbles of the bytes `members` holds (which must all be below
    /// 0x80).
    pub(crate) const fn nibble_table(members: &[bool; 256]) -> [u8; 16] {
        let mut table = [0u8; 16];
        let mut b = 0;
        while b < 256 {
            assert!(b < 128 || !members[b], "a class of ASCII bytes");
            if members[b] {
                table[b & 15] |= 1 << (b >> 4);
            }
            b += 1;
        }
        table
    }

    const HIGH_BITS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0];

    /// One bit per byte of `bytes` that is not of the class `table` describes.
    #[inline(always)]
    fn outside(table: m128i, bytes: m128i) -> u32 {
        let nibble = set_splat_i8_m128i(0x0f);
        let low = bitand_m128i(bytes, nibble);
        let high = bitand_m128i(shr_imm_u16_m128i::<4>(bytes), nibble);
        let sets = shuffle_av_i8z_all_m128i(table, low);
        let bits = shuffle_av_i8z_all_m128i(load_unaligned_m128i(&HIGH_BITS), high);
        move_mask_i8_m128i(cmp_eq_mask_i8_m128i(bitand_m128i(sets, bits), zeroed_m128i())) as u32
    }

    /// Length of the run of bytes of the class `table` describes at the start of `s`, sixteen bytes
    /// a step while sixteen are left: `Ok(length)`, or `Err(at)` when fewer are left at `at`, for the
    /// caller's byte loop to go on from there.
    #[inline(always)]
    pub(crate) fn run(table: &[u8; 16], s: &[u8]) -> Result<usize, usize> {
        let table = load_unaligned_m128i(table);
        let mut i = 0;
        while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let mask = outside(table, load_unaligned_m128i(chunk));
            if mask != 0 {
                return Ok(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
        Err(i)
    }

    /// The Call-ID weight of a value of sixteen bytes or more (`None` for a shorter one), as
    /// `scan::call_id_weight` adds it up: 1 for each `@`, 2 for each byte outside the class `table`
    /// describes (the word bytes and `@`). The last step looks at the last sixteen bytes, without the
    /// ones looked at before.
    #[inline]
    pub(crate) fn call_id_weight(table: &[u8; 16], value: &[u8]) -> Option<usize> {
        let table = load_unaligned_m128i(table);
        let weigh = |chunk: &[u8; 16], skip: usize| {
            let bytes = load_unaligned_m128i(chunk);
            let ats = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(b'@' as i8))) as u32;
            ((ats >> skip).count_ones() + 2 * (outside(table, bytes) >> skip).count_ones()) as usize
        };
        let last = value.last_chunk::<16>()?;
        let (steps, tail) = value.split_at(value.len() / 16 * 16);
        let whole: usize = steps.chunks_exact(16).map(|chunk| weigh(chunk.try_into().expect("sixteen bytes"), 0)).sum();
        Some(if tail.is_empty() { whole } else { whole + weigh(last, 16 - tail.len()) })
    }
}

/// Eight bytes a step with word arithmetic: for each byte `b`, the high bit of `(b - 0x20) & !b` is
/// set exactly when `b < 0x20`, and a borrow from one byte into the next only happens below such a
/// byte, so the lowest flagged byte is the first control byte; a byte equal to `:` is one that XOR
/// `:` turns into zero (and a zero byte is one below 1).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod words {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
    const COLONS: u64 = u64::from_le_bytes([b':'; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);

    /// Index of the first control byte in `s[from..limit]`, or `limit`.
    #[inline(always)]
    pub(crate) fn find_control_before(s: &[u8], from: usize, limit: usize) -> usize {
        let flags = |word: u64| word.wrapping_sub(SPACES) & !word & HIGH_BITS;
        let s = &s[..limit];
        let mut i = from;
        // Two words a step (one bounds check and one test for sixteen bytes): most lines end within a few.
        while let Some(pair) = s.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let (Some(low), Some(high)) = (pair.first_chunk::<8>(), pair.last_chunk::<8>()) else { break };
            let (low, high) = (flags(u64::from_le_bytes(*low)), flags(u64::from_le_bytes(*high)));
            if low | high != 0 {
                let (at, flagged) = if low != 0 { (i, low) } else { (i + 8, high) };
                return at + (flagged.trailing_zeros() / 8) as usize;
            }
            i += 16;
        }
        while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let flagged = flags(u64::from_le_bytes(*chunk));
            if flagged != 0 {
                return i + (flagged.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while i < s.len() && s[i] >= 0x20 {
            i += 1;
        }
        i
    }

    /// Index of the first `:` or control byte at or after `from`, or `s.len()`.
    pub(crate) fn find_colon_or_control(s: &[u8], from: usize) -> usize {
        let mut i = from;
        while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let word = u64::from_le_bytes(*chunk);
            let colons = word ^ COLONS;
            let flagged = (colons.wrapping_sub(ONES) & !colons | word.wrapping_sub(SPACES) & !word) & HIGH_BITS;
            if flagged != 0 {
                return i + (flagged.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while i < s.len() && s[i] >= 0x20 && s[i] != b':' {
            i += 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// The byte loop both implementations must agree with.
    fn first(s: &[u8], from: usize, colon: bool) -> usize {
        from + s[from..].iter().take_while(|&&b| b >= 0x20 && !(colon && b == b':')).count()
    }

    /// Lines of printable bytes with a few control bytes, colons and high bytes among them.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![8 => 0x20u8..0x7f, 1 => 0u8..0x20, 1 => Just(b':'), 1 => 0x80u8..=0xff],
            0..80,
        )
    }

    proptest! {
        #[test]
        fn searches_find_what_a_byte_loop_finds(s in line(), from in 0usize..80, limit in 0usize..80) {
            let limit = limit.min(s.len());
            let from = from.min(limit);
            prop_assert_eq!(super::find_control_before(&s, from, limit), first(&s[..limit], from, false));
            prop_assert_eq!(super::words::find_control_before(&s, from, limit), first(&s[..limit], from, false));
            let from = from.min(s.len());
            prop_assert_eq!(super::find_colon_or_control(&s, from), first(&s, from, true));
            prop_assert_eq!(super::words::find_colon_or_control(&s, from), first(&s, from, true));
        }
    }

    #[test]
    fn every_position_of_a_control_byte_in_a_long_line() {
        for len in 0..70 {
            for at in 0..len {
                for from in 0..=at {
                    let mut s = vec![b'a'; len];
                    s[at] = b'\r';
                    assert_eq!(super::find_control_before(&s, from, len), at, "len {len} at {at} from {from}");
                    s[at] = b':';
                    assert_eq!(super::find_colon_or_control(&s, from), at, "len {len} at {at} from {from}");
                    assert_eq!(super::find_control_before(&s, from, len), len, "len {len} at {at} from {from}");
                }
            }
        }
    }
}
