//! The addresses an SDP body asks media to be sent to (`c=` lines, session and media level).

use std::net::IpAddr;

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
        let rest = line.strip_prefix(b"c=")?;
        let text = std::str::from_utf8(rest).ok()?;
        let mut words = text.split_ascii_whitespace();
        let (net, _family, addr) = (words.next()?, words.next()?, words.next()?);
        if net != "IN" {
            return None;
        }
        let addr = addr.split('/').next()?;
        let address = addr.parse().ok()?;
        Some(Connection { address, line })
    })
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
}
