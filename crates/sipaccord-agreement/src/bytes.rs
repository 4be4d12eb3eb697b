//! Byte helpers for the value checks in `contract.rs`: the token and host-name byte classes in one
//! table, a comparison for the short names and literals of an agreement, and a port written as text.
//! The SIP grammar's scans of structured values (URIs, name-addrs, parameters) are
//! `sipaccord_sip::plain`'s.

/// Host-name bytes (`sipaccord_sip::Host::parse` takes non-empty runs of them not starting with `-`
/// or `.`, and nothing else but IPv6 references).
pub(crate) const HOST: u8 = 1;
/// RFC 3261 token bytes.
pub(crate) const TOKEN: u8 = 2;

/// The classes of every byte: one load a byte for each check.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let alnum = c.is_ascii_alphanumeric();
        let mut class = 0;
        if alnum || matches!(c, b'-' | b'.' | b'_') {
            class |= HOST;
        }
        if alnum || matches!(c, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~') {
            class |= TOKEN;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Whether `b` is of `class`.
#[inline(always)]
pub(crate) fn is(b: u8, class: u8) -> bool {
    CLASS[usize::from(b)] & class != 0
}

/// Length of the run of bytes of `class` at the start of `s`: eight bytes a step while eight remain
/// (one length check for eight bytes), then byte by byte.
#[inline(always)]
fn run(s: &[u8], class: u8) -> usize {
    let mut rest = s;
    while let Some((chunk, after)) = rest.split_first_chunk::<8>() {
        for (k, &b) in chunk.iter().enumerate() {
            if !is(b, class) {
                return s.len() - rest.len() + k;
            }
        }
        rest = after;
    }
    for (k, &b) in rest.iter().enumerate() {
        if !is(b, class) {
            return s.len() - rest.len() + k;
        }
    }
    s.len()
}

/// Whether every byte of `s` is of `class` (true for none).
#[inline]
pub(crate) fn all(s: &[u8], class: u8) -> bool {
    run(s, class) == s.len()
}

/// `a == b`, for the short names and literals of an agreement: eight bytes a step (the last step
/// overlapping the one before), four or one at a time below eight, instead of a call to `memcmp`.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

/// The decimal digits of `port` as `u16::to_string` writes them, in `buf`.
pub(crate) fn port_text(port: u16, buf: &mut [u8; 5]) -> &[u8] {
    let mut n = port;
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}
