//! The calling side: `sipaccord call` places calls that carry what the agreement asks of our side
//! (INVITE, ACK, BYE, RFC 3261 client transactions with UDP retransmissions), and `sipaccord probe`
//! sends OPTIONS to each SBC of the other side. What comes back is validated by the monitor.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sipaccord_sip::Message;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::client::{Endpoint, Transport};
use crate::compose::{host_text, media_address, sdp, Composer, Draft, MessageKind};
use crate::scenario::{CALLED, CALLER};
use crate::uas::{T1, T2};

/// How many calls, how fast, how long.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    /// Calls to place.
    pub calls: u64,
    /// Calls started per second.
    pub rate: f64,
    /// Time between the ACK and our BYE.
    pub hold: Duration,
    /// How long to wait for a final response (RFC 3261 Timer B: 32 s).
    pub timeout: Duration,
}

/// What became of the calls.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CallStats {
    /// INVITEs sent (first transmissions).
    pub placed: u64,
    /// Answered with 2xx.
    pub answered: u64,
    /// Ended with our BYE answered by 2xx.
    pub completed: u64,
    /// Ended by the other side's BYE.
    pub ended_by_them: u64,
    /// Final responses other than 2xx, by status.
    pub rejected: BTreeMap<u16, u64>,
    /// No final response in time (to the INVITE or the BYE).
    pub timed_out: u64,
}

impl CallStats {
    /// Whether every call was answered and ended cleanly.
    pub fn all_completed(&self) -> bool {
        self.completed + self.ended_by_them == self.placed
    }

    /// One line for the end of a run.
    pub fn line(&self) -> String {
        let rejected: Vec<String> = self.rejected.iter().map(|(s, n)| format!("{n} x {s}")).collect();
        format!(
            "calls: {} placed, {} answered, {} completed, {} ended by the other side, {} rejected{}, {} timed out",
            self.placed,
            self.answered,
            self.completed,
            self.ended_by_them,
            self.rejected.values().sum::<u64>(),
            if rejected.is_empty() { String::new() } else { format!(" ({})", rejected.join(", ")) },
            self.timed_out
        )
    }
}

enum CallEnd {
    Completed,
    EndedByThem,
    Rejected(u16),
    TimedOut,
}

/// Builds the requests of one call from our side.
struct CallBuilder<'a> {
    composer: &'a Composer<'static>,
    endpoint: &'a Endpoint,
    call_id: String,
    from_tag: String,
}

impl CallBuilder<'_> {
    fn request(&self, method: &str, cseq: u32, to_tag: Option<&str>, branch: &str, kind: MessageKind<'_>) -> Vec<u8> {
        let local = self.endpoint.local();
        let remote = self.endpoint.remote();
        let t = self.endpoint.transport().as_str();
        let (lh, rh) = (host_text(local.ip()), host_text(remote.ip()));
        let mut d = Draft::new(format!("{method} sip:{CALLED}@{rh}:{} SIP/2.0", remote.port()));
        d.push("Via", format!("SIP/2.0/{} {lh}:{};branch={branch};rport", t.to_ascii_uppercase(), local.port()))
            .push("From", format!("<sip:{CALLER}@{lh}>;tag={}", self.from_tag))
            .push(
                "To",
                match to_tag {
                    Some(tag) => format!("<sip:{CALLED}@{rh}>;tag={tag}"),
                    None => format!("<sip:{CALLED}@{rh}>"),
                },
            )
            .push("Call-ID", self.call_id.clone())
            .push("CSeq", format!("{cseq} {method}"))
            .push("Contact", format!("<sip:{CALLER}@{lh}:{};transport={t}>", local.port()))
            .push("Max-Forwards", "70")
            .push("User-Agent", "sipaccord");
        if method == "INVITE" {
            let media = media_address(self.composer.me()).unwrap_or(local.ip());
            d.content_type = Some("application/sdp".into());
            d.body = sdp(media, 1, 16_000);
        }
        self.composer.complete(&mut d, kind, None);
        d.render()
    }
}

/// A unique token for Call-IDs, tags and branches.
fn token(counter: u64) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{:x}{:x}{counter:x}", std::process::id(), nanos & 0xffff_ffff)
}

/// Sends `request` and waits for a final response to `method` (retransmitting over UDP, Timer A,
/// until a provisional response). Returns the final response, or `None` after `timeout`.
async fn transaction(
    endpoint: &Endpoint,
    rx: &mut UnboundedReceiver<Bytes>,
    request: Vec<u8>,
    method: &str,
    timeout: Duration,
    mut on_other: impl FnMut(&Message<'_>),
) -> Option<Bytes> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut interval = T1;
    let mut retransmit = endpoint.transport() == Transport::Udp;
    let _ = endpoint.send(request.clone()).await;
    loop {
        let wake = if retransmit { (tokio::time::Instant::now() + interval).min(deadline) } else { deadline };
        match tokio::time::timeout_at(wake, rx.recv()).await {
            Ok(Some(bytes)) => {
                let Ok(m) = endpoint.transport().parse(&bytes) else { continue };
                let is_ours = m.status().is_some() && m.cseq().ok().flatten().is_some_and(|c| c.method == method);
                if !is_ours {
                    on_other(&m);
                    continue;
                }
                if m.status().is_some_and(|s| s >= 200) {
                    return Some(bytes.clone());
                }
                retransmit = false;
            }
            Ok(None) => return None,
            Err(_) if tokio::time::Instant::now() >= deadline => return None,
            Err(_) => {
                let _ = endpoint.send(request.clone()).await;
                interval = (interval * 2).min(T2);
            }
        }
    }
}

async fn one_call(composer: &Composer<'static>, endpoint: &Endpoint, n: u64, options: CallOptions) -> CallEnd {
    let call = CallBuilder { composer, endpoint, call_id: format!("{}@sipaccord", token(n)), from_tag: token(n + 1) };
    let mut rx = endpoint.expect(&call.call_id);
    let branch = format!("z9hG4bK{}", token(n));
    let invite = call.request("INVITE", 1, None, &branch, MessageKind::Request { method: "INVITE", initial: true });
    let end = async {
        let Some(response) = transaction(endpoint, &mut rx, invite, "INVITE", options.timeout, |_| {}).await else {
            return CallEnd::TimedOut;
        };
        let Ok(final_response) = endpoint.transport().parse(&response) else { return CallEnd::TimedOut };
        let status = final_response.status().unwrap_or(0);
        let to_tag = final_response.to().ok().flatten().and_then(|t| t.tag().map(str::to_owned));
        // ACK: a new transaction for a 2xx, the INVITE's branch for other finals (RFC 3261 17.1.1.3).
        let ack_branch = if status < 300 { format!("z9hG4bK{}", token(n + 2)) } else { branch.clone() };
        let ack_kind = MessageKind::Request { method: "ACK", initial: to_tag.is_none() };
        let ack = call.request("ACK", 1, to_tag.as_deref(), &ack_branch, ack_kind);
        let _ = endpoint.send(ack.clone()).await;
        if status >= 300 {
            return CallEnd::Rejected(status);
        }
        // Hold, re-acknowledging 2xx retransmissions, until our BYE or theirs.
        let hold_end = tokio::time::Instant::now() + options.hold;
        while let Ok(Some(bytes)) = tokio::time::timeout_at(hold_end, rx.recv()).await {
            match endpoint.transport().parse(&bytes) {
                Ok(m) if m.method() == Some("BYE") => return CallEnd::EndedByThem,
                Ok(m) if m.status().is_some_and(|s| (200..300).contains(&s)) => {
                    let _ = endpoint.send(ack.clone()).await;
                }
                _ => {}
            }
        }
        let bye_branch = format!("z9hG4bK{}", token(n + 3));
        let bye = call.request(
            "BYE",
            2,
            to_tag.as_deref(),
            &bye_branch,
            MessageKind::Request { method: "BYE", initial: false },
        );
        let Some(response) = transaction(endpoint, &mut rx, bye, "BYE", options.timeout, |_| {}).await else {
            return CallEnd::TimedOut;
        };
        match endpoint.transport().parse(&response).ok().and_then(|m| m.status()).unwrap_or(0) {
            200..=299 => CallEnd::Completed,
            status => CallEnd::Rejected(status),
        }
    }
    .await;
    endpoint.forget(&call.call_id);
    end
}

/// Places calls at the rate asked, all at once in flight, and waits for every one to end.
pub async fn place_calls(composer: Arc<Composer<'static>>, endpoint: Arc<Endpoint>, options: CallOptions) -> CallStats {
    let answered = Arc::new(AtomicU64::new(0));
    let mut calls = tokio::task::JoinSet::new();
    let gap = if options.rate > 0.0 { Duration::from_secs_f64(1.0 / options.rate) } else { Duration::ZERO };
    let start = tokio::time::Instant::now();
    for n in 0..options.calls {
        tokio::time::sleep_until(start + gap.mul_f64(n as f64)).await;
        let (composer, endpoint, answered) = (composer.clone(), endpoint.clone(), answered.clone());
        calls.spawn(async move {
            let end = one_call(&composer, &endpoint, n * 4, options).await;
            if matches!(end, CallEnd::Completed | CallEnd::EndedByThem) {
                answered.fetch_add(1, Ordering::Relaxed);
            }
            end
        });
    }
    let mut stats = CallStats { placed: options.calls, ..CallStats::default() };
    while let Some(end) = calls.join_next().await {
        match end {
            Ok(CallEnd::Completed) => stats.completed += 1,
            Ok(CallEnd::EndedByThem) => stats.ended_by_them += 1,
            Ok(CallEnd::Rejected(s)) => *stats.rejected.entry(s).or_default() += 1,
            Ok(CallEnd::TimedOut) | Err(_) => stats.timed_out += 1,
        }
    }
    stats.answered = answered.load(Ordering::Relaxed);
    stats
}

/// What one OPTIONS probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A final response came back.
    Answered {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// From the first transmission to the response.
        round_trip: Duration,
    },
    /// Nothing came back in time.
    NoAnswer,
    /// The probe could not be sent (TCP refused, no route, bind failed).
    Failed(String),
}

/// Sends one OPTIONS to `target` from `local` and waits up to `wait` for the final response.
pub async fn probe(
    composer: &Composer<'static>,
    transport: Transport,
    local: SocketAddr,
    target: SocketAddr,
    events: std::sync::mpsc::Sender<crate::monitor::Event>,
    wait: Duration,
) -> ProbeOutcome {
    let endpoint = match Endpoint::connect(transport, local, target, events, None).await {
        Ok(e) => e,
        Err(e) => return ProbeOutcome::Failed(e.to_string()),
    };
    let call =
        CallBuilder { composer, endpoint: &endpoint, call_id: format!("{}@sipaccord", token(0)), from_tag: token(1) };
    let mut rx = endpoint.expect(&call.call_id);
    let options = call.request(
        "OPTIONS",
        1,
        None,
        &format!("z9hG4bK{}", token(2)),
        MessageKind::Request { method: "OPTIONS", initial: true },
    );
    let started = Instant::now();
    let outcome = match transaction(&endpoint, &mut rx, options, "OPTIONS", wait, |_| {}).await {
        Some(bytes) => match transport.parse(&bytes) {
            Ok(m) => ProbeOutcome::Answered {
                status: m.status().unwrap_or(0),
                reason: m.response().map(|s| String::from_utf8_lossy(s.reason).into_owned()).unwrap_or_default(),
                round_trip: started.elapsed(),
            },
            Err(e) => ProbeOutcome::Failed(format!("the answer could not be parsed: {e}")),
        },
        None => ProbeOutcome::NoAnswer,
    };
    endpoint.forget(&call.call_id);
    endpoint.close().await;
    outcome
}
