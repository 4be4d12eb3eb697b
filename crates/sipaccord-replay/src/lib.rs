//! The replay runner: evaluates a stream of captured SIP messages against a compiled agreement and
//! reports every breach as a [`Finding`].
//!
//! Feed messages in timestamp order with [`Runner::observe`], then call [`Runner::finish`] for the
//! [`Report`]. The runner attributes each message to a peer by address, matches responses to the
//! requests they answer (Call-ID and CSeq), knows initial from in-dialog requests (To tag), applies
//! header declarations, every `on` rule, the settings and the correlations.
//!
//! **This crate does no I/O**: it takes messages and returns a report; [`render`] turns a report into
//! text, JSON or JUnit XML.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod eval;
mod finding;
pub mod render;
mod sdp;
mod transactions;

use std::borrow::Cow;
use std::collections::HashSet;

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxBuildHasher;
use sipaccord_agreement::{
    Comparison, Contract, DialogState, Expr, FieldRef, HeaderName, Level as RuleLevel, MessageKind, Obligation,
    ObligationKind, Operand, Origin, Peer, Selector, Side, Strictness, Transport as AgreedTransport,
};
use sipaccord_capture::{DistinctKeys, MessageRef as Lent, Outcome, SipMessage, Transport};
use sipaccord_sip::{KnownHeader, Message};

/// Whether a rule's `if` condition holds for a message (and, for a response, the request it answers):
/// the same evaluation replay uses, for tools that compose messages an agreement asks for.
pub fn condition_holds<'a>(
    condition: &sipaccord_agreement::Expr,
    this: &Message<'a>,
    request: Option<&Message<'a>>,
) -> bool {
    eval::eval(&eval::Scope { this: Some(this), request, inbound: None, outbound: None }, condition)
}

pub use finding::{AgreementRef, CheckRef, Finding, HeaderLine, Kind, Level, Report, RuleRef, Summary};

use eval::{describe_fields, matching, shown, values_of, Scope};
use transactions::Transactions;

/// A header's value as text for a finding (folded lines joined); computed only when a finding is made.
fn header_text(m: &Lent<'_>, known: KnownHeader) -> Option<String> {
    m.parsed.and_then(|p| p.known_header(known)).map(|h| String::from_utf8_lossy(&h.value_unfolded()).into_owned())
}

/// A small message that reads, for every rule, like the request it is taken from: its start line and,
/// verbatim, every header line that a rule may read from an answered request (folded lines included),
/// in their order. Parsing it again gives those headers with the same names and values, so responses
/// are evaluated against it in place of the whole request, which is not kept. It is appended to `out`.
fn write_request_extract(request: &Message<'_>, names: &[&HeaderName], out: &mut Vec<u8>) {
    let input = request.input();
    out.extend_from_slice(request.first_line());
    out.extend_from_slice(b"\r\n");
    for h in request.headers() {
        if names.iter().any(|n| n.matches_header(h)) {
            let end = (h.value_offset as usize + h.value.len()).max(h.offset as usize + h.name.len());
            out.extend_from_slice(&input[h.offset as usize..end]);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The values of a header that `must echo` compares, unfolded, in order.
fn echo_values<'m>(m: &'m Message<'_>, header: &'m HeaderName) -> impl Iterator<Item = Cow<'m, [u8]>> {
    matching(m, header).flat_map(|h| h.values()).map(sipaccord_sip::unfold)
}

/// Whether a response carries the request's values of a header, as the text a finding shows them
/// (invalid UTF-8 made U+FFFD): bytes that are equal always are, so text is made only when the
/// bytes differ.
fn echoed(request: &Message<'_>, response: &Message<'_>, header: &HeaderName) -> bool {
    let (mut asked, mut echoed) = (echo_values(request, header), echo_values(response, header));
    loop {
        match (asked.next(), echoed.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b || String::from_utf8_lossy(&a) == String::from_utf8_lossy(&b) => {}
            _ => return false,
        }
    }
}

/// The headers a rule or correlation may read from the request a response answers.
fn request_headers(contract: &Contract) -> Vec<&HeaderName> {
    fn field<'c>(f: &'c FieldRef, out: &mut Vec<&'c HeaderName>) {
        if let FieldRef::Header { side: Side::Request, header, .. } = f {
            out.push(header);
        }
    }
    fn expr<'c>(e: &'c Expr, out: &mut Vec<&'c HeaderName>) {
        match e {
            Expr::Has { side: Side::Request, header } => out.push(header),
            Expr::Has { .. } => {}
            Expr::Compare { field: f, cmp } => {
                field(f, out);
                if let Comparison::Eq(Operand::Field(g)) | Comparison::Ne(Operand::Field(g)) = cmp {
                    field(g, out);
                }
            }
            Expr::Not(inner) => expr(inner, out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                expr(a, out);
                expr(b, out);
            }
        }
    }
    fn obligation<'c>(ob: &'c Obligation, out: &mut Vec<&'c HeaderName>) {
        match &ob.kind {
            ObligationKind::Have { side, header, cmp } => {
                if *side == Side::Request {
                    out.push(header);
                }
                if let Some(Comparison::Eq(Operand::Field(g)) | Comparison::Ne(Operand::Field(g))) = cmp {
                    field(g, out);
                }
            }
            ObligationKind::NotHave { side, header } => {
                if *side == Side::Request {
                    out.push(header);
                }
            }
            ObligationKind::Echo { header } => out.push(header),
            ObligationKind::Satisfy { expr: e } => expr(e, out),
        }
    }
    let mut out = Vec::new();
    for rule in &contract.rules {
        if let Some(c) = &rule.selector.condition {
            expr(c, &mut out);
        }
        for ob in &rule.obligations {
            obligation(ob, &mut out);
        }
    }
    for c in &contract.correlations {
        for sel in [&c.inbound, &c.outbound] {
            if let Some(e) = &sel.condition {
                expr(e, &mut out);
            }
        }
        expr(&c.matcher, &mut out);
        for ob in &c.obligations {
            obligation(ob, &mut out);
        }
    }
    out.dedup();
    out
}

/// The CSeq methods of requests whose responses some rule or correlation leg may select; `None` when
/// any method's may be.
fn answered_methods(contract: &Contract) -> Option<Vec<&str>> {
    let selectors = contract
        .rules
        .iter()
        .map(|r| &r.selector)
        .chain(contract.correlations.iter().flat_map(|k| [&k.inbound, &k.outbound]));
    let mut methods = Vec::new();
    for sel in selectors {
        match &sel.message {
            MessageKind::Request { .. } => {}
            MessageKind::Message => return None,
            MessageKind::Response { methods: m, .. } if m.is_empty() => return None,
            MessageKind::Response { methods: m, .. } => methods.extend(m.iter().map(String::as_str)),
        }
    }
    Some(methods)
}

/// An inbound leg waiting for its partner.
struct PendingLeg {
    correlation: usize,
    message: SipMessage,
}

/// Evaluates messages against a contract.
pub struct Runner<'c> {
    contract: &'c Contract,
    /// The declaration of each registered header, by [`KnownHeader::index`].
    declared_known: Box<[Option<usize>]>,
    /// A bit per length of the other declared names: most unregistered headers of a message are ruled
    /// out by one test.
    declared_other_lengths: u64,
    /// The peers of recent IPv4 addresses: (address and port + 1, peer), 0 for an empty slot.
    peer_cache: Box<[(u64, Option<usize>); 1 << PEER_CACHE_BITS]>,
    /// Buffers reused from message to message: declaration counts, and headers the rules name.
    scratch_counts: Vec<(usize, usize, u32)>,
    scratch_allowed: Vec<&'c HeaderName>,
    /// The peers of each rule's selector, by index.
    rule_ends: Vec<Ends>,
    /// The peers of each correlation's inbound and outbound selectors, by index.
    correlation_ends: Vec<[Ends; 2]>,
    /// The selectors of rules and correlation legs that can pick a response at all (response and
    /// message kinds), with their peers: the ones [`Runner::response_rules_may_select`] asks.
    response_selectors: Vec<(&'c Selector, Ends)>,
    declared_other: Vec<(&'c str, usize)>,
    summary: Summary,
    findings: Vec<Finding>,
    /// Requests kept to answer responses.
    transactions: Transactions,
    /// The extract of the request a response answers, copied out of `transactions` while the
    /// response is checked (a buffer reused from response to response).
    scratch_request: Vec<u8>,
    /// The headers a rule may read from the request a response answers (`request.H`, `must echo H`).
    request_headers: Vec<&'c HeaderName>,
    /// CSeq methods of requests whose responses some selector may pick (`None`: any method).
    answered_methods: Option<Vec<&'c str>>,
    /// Hashes of (Call-ID, tags): enough to count dialogs without keeping their text.
    dialogs: DistinctKeys<u64>,
    reported_sources: HashSet<SocketAddr>,
    reported_transports: HashSet<(SocketAddr, Transport)>,
    pending: Vec<PendingLeg>,
    captures: Vec<String>,
    last_file: Option<Arc<std::path::Path>>,
    /// Messages per (source peer, destination peer), at `src * (peers + 1) + dst` with peer indices
    /// (`peers` for an address of no peer).
    directions: Vec<u64>,
}

fn rule_ref(o: &Origin) -> RuleRef {
    RuleRef { file: o.file.clone(), line: o.line, column: o.column, text: o.text.clone() }
}

fn check_name(o: &Origin) -> String {
    format!("{}:{} {}", o.line, o.column, o.text.lines().next().unwrap_or("").trim_end_matches(['{', ' ']))
}

fn strictness_level(s: Strictness) -> Option<Level> {
    match s {
        Strictness::Allow => None,
        Strictness::Warn => Some(Level::Warning),
        Strictness::Error => Some(Level::Error),
    }
}

fn agreed(t: Transport) -> AgreedTransport {
    match t {
        Transport::Udp => AgreedTransport::Udp,
        Transport::Tcp => AgreedTransport::Tcp,
        Transport::Sctp => AgreedTransport::Sctp,
        Transport::WebSocket => AgreedTransport::Ws,
    }
}

/// Slots of the address-to-peer cache, as a power of two.
const PEER_CACHE_BITS: u32 = 8;

/// A bit for a name length; lengths of 63 and more share the last bit.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// The peers a selector names (`from`, `to`), by index; a name of no peer is `usize::MAX`, which no
/// message has.
#[derive(Clone, Copy)]
struct Ends {
    from: Option<usize>,
    to: Option<usize>,
}

impl Ends {
    fn of(contract: &Contract, sel: &Selector) -> Ends {
        let index = |name: &Option<String>| {
            name.as_deref().map(|n| contract.peers.iter().position(|p| p.name == n).unwrap_or(usize::MAX))
        };
        Ends { from: index(&sel.from), to: index(&sel.to) }
    }

    /// Whether a message between these peers fits.
    fn admit(self, src: Option<usize>, dst: Option<usize>) -> bool {
        self.from.is_none_or(|p| src == Some(p)) && self.to.is_none_or(|p| dst == Some(p))
    }
}

/// Per-message facts the selectors need.
struct Context<'s, 'a> {
    message: &'s Message<'a>,
    request: Option<&'s Message<'a>>,
    /// Index of the sending peer.
    src_peer: Option<usize>,
    /// Index of the receiving peer.
    dst_peer: Option<usize>,
    initial: bool,
    /// The method for selector matching: the request's, or the CSeq method of a response.
    method: &'s str,
}

impl<'s, 'a> Context<'s, 'a> {
    fn scope(&self) -> Scope<'s, 'a> {
        Scope { this: Some(self.message), request: self.request, inbound: None, outbound: None }
    }
}

impl<'c> Runner<'c> {
    /// A runner for one contract.
    pub fn new(contract: &'c Contract) -> Runner<'c> {
        let mut declared_known = vec![None; KnownHeader::COUNT].into_boxed_slice();
        let mut declared_other = Vec::new();
        for (i, d) in contract.headers.iter().enumerate() {
            match KnownHeader::lookup(d.name.as_bytes()) {
                // As a map would: a later declaration of the same header replaces an earlier one.
                Some(k) => declared_known[k.index()] = Some(i),
                None => declared_other.push((d.name.as_str(), i)),
            }
        }
        let rule_ends: Vec<Ends> = contract.rules.iter().map(|r| Ends::of(contract, &r.selector)).collect();
        let correlation_ends: Vec<[Ends; 2]> = contract
            .correlations
            .iter()
            .map(|c| [Ends::of(contract, &c.inbound), Ends::of(contract, &c.outbound)])
            .collect();
        let rule_selectors = contract.rules.iter().map(|r| &r.selector).zip(rule_ends.iter().copied());
        let leg_selectors = contract
            .correlations
            .iter()
            .zip(&correlation_ends)
            .flat_map(|(k, e)| [(&k.inbound, e[0]), (&k.outbound, e[1])]);
        let response_selectors = rule_selectors
            .chain(leg_selectors)
            .filter(|(sel, _)| !matches!(sel.message, MessageKind::Request { .. }))
            .collect();
        let declared_other_lengths =
            declared_other.iter().fold(0, |bits, (name, _): &(&str, usize)| bits | length_bit(name.len()));
        Runner {
            contract,
            declared_known,
            declared_other_lengths,
            peer_cache: Box::new([(0, None); 1 << PEER_CACHE_BITS]),
            scratch_counts: Vec::new(),
            scratch_allowed: Vec::new(),
            rule_ends,
            correlation_ends,
            response_selectors,
            declared_other,
            summary: Summary::default(),
            findings: Vec::new(),
            transactions: Transactions::default(),
            scratch_request: Vec::new(),
            request_headers: request_headers(contract),
            answered_methods: answered_methods(contract),
            dialogs: DistinctKeys::default(),
            reported_sources: HashSet::new(),
            reported_transports: HashSet::new(),
            pending: Vec::new(),
            captures: Vec::new(),
            last_file: None,
            directions: vec![0; (contract.peers.len() + 1) * (contract.peers.len() + 1)],
        }
    }

    /// Names a capture as part of the evidence (reports list captures even when they hold no SIP).
    pub fn add_capture(&mut self, name: &str) {
        if !self.captures.iter().any(|c| c == name) {
            self.captures.push(name.to_owned());
        }
    }

    /// Adds what capture decoding could not use to the summary.
    pub fn add_capture_summary(&mut self, s: &sipaccord_capture::Summary) {
        for k in &s.skipped_streams {
            self.summary.skipped_streams.push(format!("{} -> {} (TLS, not inspected)", k.src, k.dst));
        }
        for (reason, n) in &s.unusable {
            *self.summary.unusable_packets.entry(reason.to_string()).or_default() += n;
        }
    }

    /// The declaration of a header in a message, if the agreement declares it. Every header of every
    /// message asks, so the common answers (by the registry table, or by the name's length) are
    /// given inline and only a name that may be declared is compared.
    #[inline(always)]
    fn declaration(&self, h: &sipaccord_sip::Header<'_>) -> Option<usize> {
        match h.known {
            Some(k) => self.declared_known[k.index()],
            None if self.declared_other_lengths & length_bit(h.name.len()) == 0 => None,
            None => self.declared_other_named(h.name),
        }
    }

    /// The declaration of an unregistered header name.
    fn declared_other_named(&self, name: &[u8]) -> Option<usize> {
        self.declared_other.iter().find(|(declared, _)| name.eq_ignore_ascii_case(declared.as_bytes())).map(|d| d.1)
    }

    /// The index of the peer an address belongs to (the first whose SBC addresses hold it).
    fn peer_of(&mut self, addr: SocketAddr) -> Option<usize> {
        let (ip, port) = (addr.ip(), addr.port());
        let find =
            |contract: &Contract| contract.peers.iter().position(|p| p.sbc.iter().any(|a| a.contains(ip, Some(port))));
        // IPv4 addresses and ports in a small direct-mapped cache: a capture has few of them.
        let SocketAddr::V4(v4) = addr else { return find(self.contract) };
        let key = (u64::from(v4.ip().to_bits()) << 16) | u64::from(port);
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - PEER_CACHE_BITS)) as usize;
        match self.peer_cache[slot] {
            (k, peer) if k == key + 1 => peer,
            _ => {
                let peer = find(self.contract);
                self.peer_cache[slot] = (key + 1, peer);
                peer
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        level: Level,
        kind: Kind,
        origin: Option<&Origin>,
        check: String,
        m: &Lent<'_>,
        extra_frames: &[u64],
        header: Option<HeaderLine>,
        expected: String,
        seen: String,
    ) {
        let mut frames = vec![m.frame];
        frames.extend_from_slice(extra_frames);
        self.findings.push(Finding {
            level,
            kind,
            rule: origin.map(rule_ref),
            check,
            capture: m.file.display().to_string(),
            frames,
            time: render::rfc3339(m.timestamp),
            src: m.src.to_string(),
            dst: m.dst.to_string(),
            transport: m.transport.as_str().to_owned(),
            first_line: m.first_line().into_owned(),
            call_id: header_text(m, KnownHeader::CALL_ID),
            cseq: header_text(m, KnownHeader::CSEQ),
            header,
            expected,
            seen,
        });
    }

    /// Evaluates one message. Messages must come in timestamp order.
    pub fn observe(&mut self, sip: &SipMessage) {
        let parsed = sip.parse();
        self.observe_lent(&sip.lend(parsed.as_ref().ok()));
    }

    /// [`Runner::observe`] for a message lent by [`sipaccord_capture::CaptureReader::for_each_message`]
    /// (no copy of its bytes, the parse it was validated from).
    pub fn observe_lent(&mut self, sip: &Lent<'_>) {
        if self.last_file.as_ref().is_none_or(|f| f.as_os_str() != sip.file.as_os_str()) {
            self.add_capture(&sip.file.display().to_string());
            self.last_file = Some(Arc::from(sip.file));
        }
        self.summary.messages += 1;
        self.expire(sip.timestamp);
        let peers = &self.contract.peers;
        let (src_index, dst_index) = (self.peer_of(sip.src), self.peer_of(sip.dst));
        self.directions[src_index.unwrap_or(peers.len()) * (peers.len() + 1) + dst_index.unwrap_or(peers.len())] += 1;
        let src_peer = src_index.map(|i| &peers[i]);
        if let Outcome::Malformed(reason) | Outcome::Invalid(reason) = sip.outcome {
            self.summary.malformed += 1;
            self.push(
                Level::Error,
                Kind::Malformed,
                None,
                "well-formed SIP".into(),
                sip,
                &[],
                None,
                "a well-formed SIP message".into(),
                reason.clone(),
            );
        }
        let Some(message) = sip.parsed else { return };
        if src_peer.is_none() {
            self.summary.from_no_peer += 1;
            if let Some(level) = strictness_level(self.contract.settings.unknown_source) {
                if self.reported_sources.insert(sip.src) {
                    self.push(
                        level,
                        Kind::UnknownSource,
                        None,
                        "settings unknown-source".into(),
                        sip,
                        &[],
                        None,
                        "SIP from an SBC address of a peer".into(),
                        format!("{} belongs to no peer", sip.src.ip()),
                    );
                }
            }
            return;
        }
        self.check_transport(sip, src_peer);
        // Call-ID and tags are only hashed and compared, so they are read as bytes (no UTF-8 check).
        let call_id = sip.found.call_id(message).unwrap_or_else(|| message.call_id_bytes().ok().flatten());
        let cseq = sip.found.cseq(message).unwrap_or_else(|| message.cseq().ok().flatten());
        // The Call-ID is hashed once, for the transaction key and the dialog's.
        let call_hash = call_id.map(|c| FxBuildHasher.hash_one(c));
        let key = match (call_hash, cseq) {
            (Some(c), Some(q)) => Some(FxBuildHasher.hash_one((c, q.number, q.method))),
            _ => None,
        };
        let message_to_tag = sip.found.to_tag(message).unwrap_or_else(|| message.to_tag_bytes());
        // The From tag is read only when there is a dialog to count (a Call-ID and a To tag).
        if let (Some(c), Some(to)) = (call_hash, message_to_tag) {
            if let Some(from) = sip.found.from_tag(message).unwrap_or_else(|| message.from_tag_bytes()) {
                let (a, b) = if from < to { (from, to) } else { (to, from) };
                self.dialogs.insert(FxBuildHasher.hash_one((c, a, b)));
            }
        }
        let method = match message.method() {
            Some(m) => m,
            None => cseq.map_or("", |c| c.method),
        };
        // Only the responses of methods some selector may pick need their request (whether it was
        // initial, its extract), so only those methods' requests are remembered and looked up.
        let cseq_method = cseq.map_or("", |c| c.method);
        let answerable = self.answered_methods.as_ref().is_none_or(|methods| methods.contains(&cseq_method));
        let answered = match (key, message.request()) {
            (Some(k), None) if answerable => self.transactions.answered(k),
            _ => None,
        };
        // A response is in a dialog when the request it answers was; only a response that some
        // response rule may select needs the request (for `must echo` and `request.FIELD`).
        let initial = match answered {
            Some(a) => a.initial,
            None => message_to_tag.is_none(),
        };
        let mut request_text = std::mem::take(&mut self.scratch_request);
        request_text.clear();
        if let Some(extract) = answered
            .and_then(|a| a.extract)
            .filter(|_| self.response_rules_may_select(method, message.status(), src_index, dst_index))
        {
            request_text.extend_from_slice(extract);
        }
        let request = (!request_text.is_empty()).then(|| Message::parse(&request_text).ok()).flatten();
        let ctx =
            Context { message, request: request.as_ref(), src_peer: src_index, dst_peer: dst_index, initial, method };
        self.check_declarations(&ctx, sip);
        let allowed = self.check_rules(&ctx, sip);
        self.check_undeclared(&ctx, sip, &allowed);
        self.scratch_allowed = allowed;
        let contract = self.contract;
        self.check_media(&ctx, src_index.map(|i| &contract.peers[i]), sip);
        self.check_correlations(sip, &ctx);
        drop(request);
        self.scratch_request = request_text;
        if let (Some(k), Some(_), true) = (key, message.request(), answerable) {
            let names = &self.request_headers;
            let write_extract = |out: &mut Vec<u8>| write_request_extract(message, names, out);
            self.transactions.remember(k, sip.timestamp, initial, write_extract);
        }
    }

    fn expire(&mut self, now: Duration) {
        self.transactions.expire(now);
        let window_passed = |leg: &PendingLeg| {
            let window = Duration::from_millis(self.contract.correlations[leg.correlation].within_ms);
            leg.message.timestamp + window < now
        };
        if !self.pending.iter().any(window_passed) {
            return;
        }
        let expired: Vec<usize> = (0..self.pending.len())
            .filter(|&i| {
                let leg = &self.pending[i];
                let window = Duration::from_millis(self.contract.correlations[leg.correlation].within_ms);
                leg.message.timestamp + window < now
            })
            .collect();
        for i in expired.into_iter().rev() {
            let leg = self.pending.remove(i);
            self.no_partner(&leg, "within the window");
        }
    }

    fn no_partner(&mut self, leg: &PendingLeg, when: &str) {
        let c = &self.contract.correlations[leg.correlation];
        let parsed = leg.message.parse();
        let lent = leg.message.lend(parsed.as_ref().ok());
        let origin = c.origin.clone();
        self.push(
            Level::Error,
            Kind::NoPartnerLeg,
            Some(&origin),
            check_name(&origin),
            &lent,
            &[],
            None,
            format!("an outbound leg `{}` {when} ({} ms) where `{}`", c.outbound.text, c.within_ms, c.matcher_text),
            format!("no partner leg {when}"),
        );
    }

    fn check_transport(&mut self, sip: &Lent<'_>, src_peer: Option<&Peer>) {
        let Some(peer) = src_peer else { return };
        if peer.transports.is_empty() || peer.transports.contains(&agreed(sip.transport)) {
            return;
        }
        if self.reported_transports.insert((sip.src, sip.transport)) {
            let allowed: Vec<&str> = peer.transports.iter().map(|t| t.as_str()).collect();
            let origin = peer.origin.clone();
            self.push(
                Level::Error,
                Kind::TransportNotAllowed,
                Some(&origin),
                check_name(&origin),
                sip,
                &[],
                None,
                format!("{} uses {}", peer.name, allowed.join(", ")),
                format!("{} from {}", sip.transport, sip.src),
            );
        }
    }

    fn check_declarations(&mut self, ctx: &Context<'_, '_>, mref: &Lent<'_>) {
        // (declaration, values seen, line of its first header): a few entries, searched linearly.
        let mut counts = std::mem::take(&mut self.scratch_counts);
        counts.clear();
        for h in ctx.message.headers() {
            let Some(i) = self.declaration(h) else { continue };
            let decl = &self.contract.headers[i];
            let at = match counts.iter().position(|c| c.0 == i) {
                Some(at) => at,
                None => {
                    counts.push((i, 0, h.line));
                    counts.len() - 1
                }
            };
            let entry = &mut counts[at];
            for value in values_of(h, decl.list) {
                entry.1 += 1;
                let Some(ty) = &decl.value else { continue };
                // Only a message with continuation lines can have a value to unfold.
                let value = if ctx.message.has_folded_lines() {
                    sipaccord_sip::unfold(value)
                } else {
                    std::borrow::Cow::Borrowed(value)
                };
                if !ty.matches(&value) {
                    let origin = decl.origin.clone();
                    self.push(
                        Level::Error,
                        Kind::BadValue,
                        Some(&origin),
                        check_name(&origin),
                        mref,
                        &[],
                        Some(header_line(h)),
                        format!("{}: {}", decl.name, ty.describe()),
                        format!("{:?}", String::from_utf8_lossy(&value)),
                    );
                }
            }
        }
        counts.sort_unstable();
        for &(i, n, line) in &counts {
            let decl = &self.contract.headers[i];
            if let Some(max) = decl.max.filter(|&m| n > m as usize) {
                let origin = decl.origin.clone();
                let h = ctx.message.headers().iter().find(|h| h.line == line).map(header_line);
                self.push(
                    Level::Error,
                    Kind::TooManyValues,
                    Some(&origin),
                    check_name(&origin),
                    mref,
                    &[],
                    h,
                    format!("at most {max} {} value{}", decl.name, if max == 1 { "" } else { "s" }),
                    format!("{n} values"),
                );
            }
        }
        self.scratch_counts = counts;
    }

    /// Whether any rule or correlation leg could select this response, judging by kind and direction
    /// alone (conditions may need the answered request, so they are not evaluated here).
    fn response_rules_may_select(
        &self,
        method: &str,
        status: Option<u16>,
        src_peer: Option<usize>,
        dst_peer: Option<usize>,
    ) -> bool {
        self.response_selectors
            .iter()
            .any(|(sel, ends)| ends.admit(src_peer, dst_peer) && sel.matches_kind(method, status))
    }

    fn selects(&self, sel: &Selector, ends: Ends, ctx: &Context<'_, '_>) -> bool {
        ends.admit(ctx.src_peer, ctx.dst_peer)
            && match sel.dialog {
                DialogState::Any => true,
                DialogState::Initial => ctx.initial,
                DialogState::InDialog => !ctx.initial,
            }
            && sel.matches_kind(ctx.method, ctx.message.status())
            && sel.condition.as_ref().is_none_or(|c| eval::eval(&ctx.scope(), c))
    }

    /// Applies every matching rule; returns the header names the matching rules mention: those are
    /// accounted for (required, allowed or already reported as forbidden), not undeclared.
    fn check_rules(&mut self, ctx: &Context<'_, '_>, mref: &Lent<'_>) -> Vec<&'c HeaderName> {
        let mut allowed = std::mem::take(&mut self.scratch_allowed);
        allowed.clear();
        let contract = self.contract;
        for (ri, rule) in contract.rules.iter().enumerate() {
            if !self.selects(&rule.selector, self.rule_ends[ri], ctx) {
                continue;
            }
            self.summary.rules_evaluated += 1;
            let before = self.findings.len();
            for ob in &rule.obligations {
                if let ObligationKind::Have { header, .. } | ObligationKind::NotHave { header, .. } = &ob.kind {
                    allowed.push(header);
                }
                self.check_obligation(ob, &ctx.scope(), &rule.origin, mref, &[]);
            }
            if self.findings.len() == before {
                self.summary.rules_passed += 1;
            }
        }
        allowed
    }

    fn check_obligation(
        &mut self,
        ob: &Obligation,
        scope: &Scope<'_, '_>,
        check: &Origin,
        mref: &Lent<'_>,
        extra: &[u64],
    ) {
        let level = match ob.level {
            RuleLevel::Must => Level::Error,
            RuleLevel::Should => Level::Warning,
            RuleLevel::May => return,
        };
        let Some(this) = scope.this.or(scope.outbound) else { return };
        let o = &ob.origin;
        match &ob.kind {
            ObligationKind::Have { side, header, cmp } => {
                let Some(this) = scope.side(*side) else { return };
                let Some(h) = matching(this, header).next() else {
                    self.push(
                        level,
                        Kind::MissingHeader,
                        Some(o),
                        check_name(check),
                        mref,
                        extra,
                        Some(HeaderLine {
                            line: 0,
                            text: format!("{} missing (expected among the headers)", header.name),
                        }),
                        format!("{} present", header.name),
                        "absent".into(),
                    );
                    return;
                };
                if let Some(cmp) = cmp {
                    let value =
                        h.values().next().map(|v| String::from_utf8_lossy(&sipaccord_sip::unfold(v)).into_owned());
                    if !eval::compare(scope, value.as_deref(), cmp) {
                        self.push(
                            level,
                            Kind::WrongValue,
                            Some(o),
                            check_name(check),
                            mref,
                            extra,
                            Some(header_line(h)),
                            o.text.trim_start_matches("must have ").trim_start_matches("should have ").to_owned(),
                            shown(value),
                        );
                    }
                }
            }
            ObligationKind::NotHave { side, header } => {
                let Some(this) = scope.side(*side) else { return };
                if let Some(h) = matching(this, header).next() {
                    let name = if header.prefix { format!("{}*", header.name) } else { header.name.clone() };
                    self.push(
                        level,
                        Kind::ForbiddenHeader,
                        Some(o),
                        check_name(check),
                        mref,
                        extra,
                        Some(header_line(h)),
                        format!("no {name}"),
                        format!("{:?}", String::from_utf8_lossy(h.name)),
                    );
                }
            }
            ObligationKind::Echo { header } => {
                let Some(request) = scope.request else { return };
                if !echoed(request, this, header) {
                    let collect = |m: &Message<'_>| -> Vec<String> {
                        echo_values(m, header).map(|v| String::from_utf8_lossy(&v).into_owned()).collect()
                    };
                    let (asked, echoed) = (collect(request), collect(this));
                    let h = matching(this, header).next().map(header_line);
                    self.push(
                        level,
                        Kind::MissingEcho,
                        Some(o),
                        check_name(check),
                        mref,
                        extra,
                        h,
                        format!("{} as in the request: {}", header.name, list_or_absent(&asked)),
                        list_or_absent(&echoed),
                    );
                }
            }
            ObligationKind::Satisfy { expr } => {
                if !eval::eval(scope, expr) {
                    let mut fields = Vec::new();
                    describe_fields(scope, expr, &mut fields);
                    self.push(
                        level,
                        Kind::Unsatisfied,
                        Some(o),
                        check_name(check),
                        mref,
                        extra,
                        None,
                        o.text.trim_start_matches("must satisfy ").trim_start_matches("should satisfy ").to_owned(),
                        fields.join(", "),
                    );
                }
            }
        }
    }

    fn check_undeclared(&mut self, ctx: &Context<'_, '_>, mref: &Lent<'_>, allowed: &[&HeaderName]) {
        let Some(level) = strictness_level(self.contract.settings.undeclared_headers) else { return };
        for h in ctx.message.headers() {
            if h.known.is_some() || self.declaration(h).is_some() || allowed.iter().any(|a| a.matches_header(h)) {
                continue;
            }
            self.push(
                level,
                Kind::UndeclaredHeader,
                None,
                "settings undeclared-headers".into(),
                mref,
                &[],
                Some(header_line(h)),
                "declared headers, or ones a matching rule names".into(),
                format!("{:?} is not declared", String::from_utf8_lossy(h.name)),
            );
        }
    }

    fn check_media(&mut self, ctx: &Context<'_, '_>, src_peer: Option<&'c Peer>, mref: &Lent<'_>) {
        let Some(level) = strictness_level(self.contract.settings.media_outside) else { return };
        let Some(peer) = src_peer else { return };
        if peer.media.is_empty() || ctx.message.body().is_empty() {
            return;
        }
        for c in sdp::connections(ctx.message.body()) {
            if peer.media_contains(c.address) {
                continue;
            }
            let body_line = ctx.message.position_at(ctx.message.len() - ctx.message.body().len()).line;
            let ranges: Vec<String> = peer.media.iter().map(|a| a.to_string()).collect();
            let origin = peer.origin.clone();
            self.push(
                level,
                Kind::MediaOutside,
                Some(&origin),
                "settings media-outside".into(),
                mref,
                &[],
                Some(HeaderLine { line: body_line, text: String::from_utf8_lossy(c.line).into_owned() }),
                format!("{} media in {}", peer.name, ranges.join(", ")),
                format!("{}", c.address),
            );
        }
    }

    fn check_correlations(&mut self, sip: &Lent<'_>, ctx: &Context<'_, '_>) {
        let contract = self.contract;
        for (ci, c) in contract.correlations.iter().enumerate() {
            let [inbound_ends, outbound_ends] = self.correlation_ends[ci];
            if self.selects(&c.outbound, outbound_ends, ctx) {
                let partner = self.pending.iter().position(|leg| {
                    leg.correlation == ci
                        && leg.message.parse().is_ok_and(|inbound| {
                            let scope = Scope {
                                this: None,
                                request: None,
                                inbound: Some(&inbound),
                                outbound: Some(ctx.message),
                            };
                            eval::eval(&scope, &c.matcher)
                        })
                });
                if let Some(i) = partner {
                    let leg = self.pending.remove(i);
                    if let Ok(inbound) = leg.message.parse() {
                        let scope =
                            Scope { this: None, request: None, inbound: Some(&inbound), outbound: Some(ctx.message) };
                        for ob in &c.obligations {
                            self.check_obligation(ob, &scope, &c.origin, sip, &[leg.message.frame]);
                        }
                    }
                    continue;
                }
            }
            if self.selects(&c.inbound, inbound_ends, ctx) {
                let file = self.last_file.clone().unwrap_or_else(|| Arc::from(sip.file));
                self.pending.push(PendingLeg { correlation: ci, message: sip.to_owned_message(file) });
            }
        }
    }

    /// The findings made so far, in the order they were made (a live session prints the new ones after
    /// each message).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Ends the replay: inbound legs still waiting become findings, and the report is returned.
    pub fn finish(mut self, agreement_file: &str) -> Report {
        for leg in std::mem::take(&mut self.pending) {
            self.no_partner(&leg, "before the capture ended");
        }
        self.summary.dialogs = self.dialogs.len() as u64;
        let c = self.contract;
        let name = |i: usize| c.peers.get(i).map_or("?", |p| p.name.as_str());
        for (i, &n) in self.directions.iter().enumerate().filter(|(_, &n)| n > 0) {
            let (from, to) = (i / (c.peers.len() + 1), i % (c.peers.len() + 1));
            self.summary.directions.insert(format!("{} -> {}", name(from), name(to)), n);
        }
        let mut checks = vec![
            CheckRef { name: "well-formed SIP".into(), rule: None },
            CheckRef { name: "settings unknown-source".into(), rule: None },
            CheckRef { name: "settings undeclared-headers".into(), rule: None },
            CheckRef { name: "settings media-outside".into(), rule: None },
        ];
        let origins = c
            .peers
            .iter()
            .map(|p| &p.origin)
            .chain(c.headers.iter().map(|h| &h.origin))
            .chain(c.rules.iter().map(|r| &r.origin))
            .chain(c.correlations.iter().map(|r| &r.origin));
        checks.extend(origins.map(|o| CheckRef { name: check_name(o), rule: Some(rule_ref(o)) }));
        Report {
            schema_version: 1,
            agreement: AgreementRef { name: c.name.clone(), version: c.version, file: agreement_file.to_owned() },
            captures: self.captures,
            summary: self.summary,
            findings: self.findings,
            checks,
        }
    }
}

fn header_line(h: &sipaccord_sip::Header<'_>) -> HeaderLine {
    HeaderLine {
        line: h.line,
        text: format!("{}: {}", String::from_utf8_lossy(h.name), String::from_utf8_lossy(&h.value_unfolded())),
    }
}

fn list_or_absent(values: &[String]) -> String {
    if values.is_empty() {
        "absent".into()
    } else {
        values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The extract gives every named header (compact forms, prefixes, folded and empty values, repeats)
    /// with the same values as the whole request, and the same start line.
    #[test]
    fn request_extract_reads_like_the_request() {
        let request = b"INVITE sip:+4930123@example.com;user=phone SIP/2.0\r\n\
            Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
            f: <sip:a@example.com>;tag=1\r\n\
            X-Hairpin:   fmc  \r\n\
            X-Empty:\r\n\
            X-Folded: one,\r\n  two\r\n\
            X-Late:\r\n\tlate value\r\n\
            X-Acme-One: 1\r\n\
            x-acme-two :2\r\n\
            X-Hairpin: none\r\n\
            Call-ID: c1\r\n\
            CSeq: 1 INVITE\r\n\
            Content-Length: 4\r\n\
            \r\n\
            body";
        let message = Message::parse(request).unwrap();
        let names: Vec<HeaderName> = ["X-Hairpin", "From", "X-Empty", "X-Folded", "X-Late", "X-Acme-*", "X-Absent"]
            .iter()
            .map(|n| HeaderName::new(n))
            .collect();
        let refs: Vec<&HeaderName> = names.iter().collect();
        let mut extract = Vec::new();
        write_request_extract(&message, &refs, &mut extract);
        let kept = Message::parse(&extract).unwrap();
        assert_eq!(kept.start_line(), message.start_line());
        for name in &names {
            let values = |m: &Message<'_>| -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
                eval::matching(m, name).map(|h| (h.name.to_vec(), h.values().map(<[u8]>::to_vec).collect())).collect()
            };
            assert_eq!(values(&kept), values(&message), "{}", name.name);
        }
        assert!(kept.known_header(KnownHeader::VIA).is_none());
    }
}
