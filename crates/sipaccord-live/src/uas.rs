//! The answering side of a live session, as a state machine without sockets: given a request, the
//! responses to send (RFC 3261 UAS behaviour), each completed with what the agreement asks of our side.
//!
//! OPTIONS gets 200; INVITE gets 100, 180 and 200 with an SDP answer in our media range (the 2xx is
//! retransmitted over UDP until the ACK comes, RFC 3261 13.3.1.4); a retransmitted INVITE gets the
//! last response again; ACK ends the retransmissions; BYE, CANCEL, INFO, UPDATE, PRACK, NOTIFY and
//! MESSAGE get 200; other methods get 405 with Allow.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sipaccord_sip::{Host, Message};

use crate::compose::{host_text, media_address, sdp, Composer, Draft, MessageKind};

/// RFC 3261 T1: the first retransmission interval.
pub(crate) const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2: the longest retransmission interval.
pub(crate) const T2: Duration = Duration::from_secs(4);
/// How long a call is remembered (64 * T1, as Timer H).
const CALL_MEMORY: Duration = Duration::from_secs(32);

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK, NOTIFY, MESSAGE";

/// Where a request came from and how, which the responses depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// The sender.
    pub src: SocketAddr,
    /// Our address it was sent to.
    pub local: SocketAddr,
    /// `udp` or `tcp`.
    pub transport: &'static str,
}

#[derive(Debug)]
struct Call {
    /// The last response to the INVITE, for a retransmitted INVITE.
    last_invite_response: Vec<u8>,
    /// The 2xx awaiting its ACK over UDP: next retransmission and its interval.
    awaiting_ack: Option<(Instant, Duration)>,
    destination: SocketAddr,
    /// Our address the INVITE came to: retransmissions leave from the same socket.
    local: SocketAddr,
    started: Instant,
}

/// Answers requests for one peer, toward the other.
#[derive(Debug)]
pub struct Uas<'c> {
    composer: Composer<'c>,
    calls: HashMap<String, Call>,
    next_tag: u64,
    /// Media port of the next SDP answer.
    next_media_port: u16,
}

impl<'c> Uas<'c> {
    /// A UAS whose responses the composer completes.
    pub fn new(composer: Composer<'c>) -> Uas<'c> {
        Uas { composer, calls: HashMap::new(), next_tag: 1, next_media_port: 20_000 }
    }

    /// Calls remembered now (for tests and the summary).
    pub fn open_calls(&self) -> usize {
        self.calls.len()
    }

    /// The responses to one request, in the order they are sent.
    pub fn handle(&mut self, now: Instant, request: &Message<'_>, arrival: Arrival) -> Vec<Vec<u8>> {
        let (Some(method), Ok(Some(call_id))) = (request.method(), request.call_id()) else {
            return Vec::new();
        };
        let has_to_tag = request.to().ok().flatten().is_some_and(|t| t.tag().is_some());
        match method {
            "INVITE" if !has_to_tag => {
                if let Some(call) = self.calls.get(call_id) {
                    return vec![call.last_invite_response.clone()];
                }
                let tag = self.new_tag();
                let trying = self.response(request, arrival, 100, "Trying", None, false);
                let ringing = self.response(request, arrival, 180, "Ringing", Some(&tag), false);
                let ok = self.response(request, arrival, 200, "OK", Some(&tag), true);
                let awaiting_ack = (arrival.transport == "udp").then_some((now + T1, T1));
                self.calls.insert(
                    call_id.to_owned(),
                    Call {
                        last_invite_response: ok.clone(),
                        awaiting_ack,
                        destination: arrival.src,
                        local: arrival.local,
                        started: now,
                    },
                );
                vec![trying, ringing, ok]
            }
            "INVITE" => vec![self.response(request, arrival, 200, "OK", None, true)],
            "ACK" => {
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.awaiting_ack = None;
                }
                Vec::new()
            }
            "BYE" => {
                let ok = self.response(request, arrival, 200, "OK", None, false);
                self.calls.remove(call_id);
                vec![ok]
            }
            "OPTIONS" | "CANCEL" | "INFO" | "UPDATE" | "PRACK" | "NOTIFY" | "MESSAGE" => {
                let tag = if has_to_tag { None } else { Some(self.new_tag()) };
                vec![self.response(request, arrival, 200, "OK", tag.as_deref(), false)]
            }
            _ => {
                let tag = if has_to_tag { None } else { Some(self.new_tag()) };
                vec![self.response(request, arrival, 405, "Method Not Allowed", tag.as_deref(), false)]
            }
        }
    }

    /// 2xx responses due for retransmission over UDP from our address `local` (their ACK has not
    /// come), with where to send them; forgets calls older than 32 s.
    pub fn retransmissions(&mut self, now: Instant, local: SocketAddr) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut due = Vec::new();
        self.calls.retain(|_, call| {
            if let (Some((next, interval)), true) = (&mut call.awaiting_ack, call.local == local) {
                if *next <= now {
                    due.push((call.destination, call.last_invite_response.clone()));
                    *interval = (*interval * 2).min(T2);
                    *next = now + *interval;
                }
            }
            now.duration_since(call.started) < CALL_MEMORY
        });
        due
    }

    fn new_tag(&mut self) -> String {
        self.next_tag += 1;
        format!("sa{:x}", self.next_tag)
    }

    /// A response: Via, From, To (with our tag), Call-ID and CSeq from the request, then what the
    /// agreement asks of our side.
    fn response(
        &mut self,
        request: &Message<'_>,
        arrival: Arrival,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        with_sdp: bool,
    ) -> Vec<u8> {
        let method = request.method().unwrap_or("");
        let mut draft = Draft::new(format!("SIP/2.0 {status} {reason}"));
        for (i, via) in request.known_headers(sipaccord_sip::KnownHeader::VIA).enumerate() {
            let value = String::from_utf8_lossy(&via.value_unfolded()).into_owned();
            draft.push("Via", if i == 0 { top_via(&value, arrival.src) } else { value });
        }
        let mut initial = true;
        for name in [sipaccord_sip::KnownHeader::FROM, sipaccord_sip::KnownHeader::TO] {
            if let Some(h) = request.known_header(name) {
                let mut value = String::from_utf8_lossy(&h.value_unfolded()).into_owned();
                if name == sipaccord_sip::KnownHeader::TO {
                    let existing = request.to().ok().flatten().and_then(|t| t.tag().map(str::to_owned));
                    initial = existing.is_none();
                    if let (None, Some(tag)) = (existing, to_tag) {
                        value.push_str(";tag=");
                        value.push_str(tag);
                    }
                }
                draft.push(name.name(), value);
            }
        }
        for name in [sipaccord_sip::KnownHeader::CALL_ID, sipaccord_sip::KnownHeader::CSEQ] {
            if let Some(h) = request.known_header(name) {
                draft.push(name.name(), String::from_utf8_lossy(&h.value_unfolded()).into_owned());
            }
        }
        if status > 100 && (method == "INVITE" || method == "OPTIONS") {
            draft.push(
                "Contact",
                format!(
                    "<sip:{}:{};transport={}>",
                    host_text(arrival.local.ip()),
                    arrival.local.port(),
                    arrival.transport
                ),
            );
        }
        if status == 405 || method == "OPTIONS" || (method == "INVITE" && status == 200) {
            draft.push("Allow", ALLOW);
        }
        if method == "OPTIONS" && status == 200 {
            draft.push("Accept", "application/sdp");
        }
        draft.push("Server", "sipaccord");
        if with_sdp {
            let address = media_address(self.composer.me()).unwrap_or(arrival.local.ip());
            self.next_media_port = if self.next_media_port >= 60_000 { 20_000 } else { self.next_media_port + 2 };
            draft.content_type = Some("application/sdp".into());
            draft.body = sdp(address, u64::from(self.next_media_port), self.next_media_port);
        }
        self.composer.complete(&mut draft, MessageKind::Response { status, method, initial }, Some(request));
        draft.render()
    }
}

/// The top Via of a response: `received` when the sent-by host is not the source address, and the
/// source port in an empty `rport` (RFC 3261 18.2.1, RFC 3581).
fn top_via(value: &str, src: SocketAddr) -> String {
    let mut out = value.to_owned();
    let parsed = sipaccord_sip::Via::parse(value.as_bytes()).ok();
    if let Some(via) = &parsed {
        if via.rport() == Some(None) {
            out = replace_param(&out, "rport", &format!("rport={}", src.port()));
        }
        let sent_by: Option<IpAddr> = match via.host {
            Host::Ipv4(v4) => Some(v4.into()),
            Host::Ipv6(v6) => Some(v6.into()),
            Host::Name(_) => None,
        };
        if sent_by != Some(src.ip()) && via.received().is_none() {
            out.push_str(";received=");
            out.push_str(&src.ip().to_string());
        }
    }
    out
}

/// Replaces the first `;name` parameter (without a value) with `;replacement`.
fn replace_param(value: &str, name: &str, replacement: &str) -> String {
    let lower = value.to_ascii_lowercase();
    let needle = format!(";{name}");
    let mut from = 0;
    while let Some(at) = lower[from..].find(&needle).map(|i| i + from) {
        let end = at + needle.len();
        if lower[end..].chars().next().is_none_or(|c| c == ';' || c == ',' || c == ' ') {
            return format!("{};{replacement}{}", &value[..at], &value[end..]);
        }
        from = end;
    }
    value.to_owned()
}
