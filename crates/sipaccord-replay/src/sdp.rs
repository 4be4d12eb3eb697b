//! The addresses an SDP body asks media to be sent to (`c=` lines, session and media level).

use std::net::{IpAddr, Ipv4Addr};

/// A connection address found in an SDP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection<'a> {
    /// The address.
    pub address: IpAddr,
    /// The `c=` line as written, without its line ending.
    pub line: &'a [u8],
}

/// Every `c=IN IP4 ...` / `c=IN IP6 ...` address in a body (multipart bodies included: the lines are
/// found wherever they are). Unparseable addresses (FQDNs) are skipped.
pub fn connections(body: &[u8]) -> impl Iterator<Item = Connection<'_>> {
    // A `c=` line starts the body or follows a line feed. A lowercase `c` is rare elsewhere in SDP (the
    // other lines are mostly digits, capitals and attribute names), so each one is looked at.
    let starts =
        memchr::memchr_iter(b'c', body).filter(|&i| (i == 0 || body[i - 1] == b'\n') && body.get(i + 1) == Some(&b'='));
    starts.filter_map(move |start| {
        let rest = &body[start..];
        let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A line that is not text is not read (nearly always ASCII, which is quick to tell).
        let rest = &line[2..];
        if !rest.is_ascii() && std::str::from_utf8(rest).is_err() {
            return None;
        }
        let mut words = rest.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
        let (net, _family, addr) = (words.next()?, words.next()?, words.next()?);
        if net != b"IN" {
            return None;
        }
        let addr = addr.split(|&b| b == b'/').next()?;
        Some(Connection { address: address(addr)?, line })
    })
}

/// An address as [`IpAddr`]'s `FromStr` reads it; dotted IPv4, by far the commonest, without making
/// text of it.
fn address(a: &[u8]) -> Option<IpAddr> {
    match ipv4(a) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => std::str::from_utf8(a).ok()?.parse().ok(),
    }
}

/// Four decimal octets of one to three digits, at most 255, no leading zero (as the standard library
/// reads them); `None` for anything else, which the standard parser then reads (or rejects).
fn ipv4(a: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = a.split(|&b| b == b'.');
    for octet in &mut octets {
        let digits = parts.next()?;
        if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        let mut n: u16 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(d - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ipv4_ipv6_and_multicast_ttl() {
        let body = b"v=0\r\nc=IN IP4 203.0.113.12\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 2001:db8::1\r\nc=IN IP4 233.252.0.1/127\r\nc=IN IP4 media.example.com\r\n";
        let found: Vec<String> = connections(body).map(|c| c.address.to_string()).collect();
        assert_eq!(found, ["203.0.113.12", "2001:db8::1", "233.252.0.1"]);
    }

    proptest::proptest! {
        /// The IPv4 reader answers as the standard library's, on strings near dotted quads.
        #[test]
        fn ipv4_reads_as_the_standard_library(s in "[0-9.]{0,17}|[0-9]{1,4}(\\.[0-9]{1,4}){3}") {
            proptest::prop_assert_eq!(address(s.as_bytes()), s.parse::<IpAddr>().ok());
        }
    }

    #[test]
    fn ipv4_edges_read_as_the_standard_library() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4/8",
            "::1",
            "",
        ] {
            assert_eq!(address(s.as_bytes()), s.parse::<IpAddr>().ok(), "{s}");
        }
    }
}
