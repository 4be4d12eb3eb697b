//! `sipaccord live`: the sockets of a live session. UDP and TCP listeners answer the other side as
//! [`Uas`] says; HEP listeners take mirrored traffic; every datagram, TCP read and write goes to the
//! [`Monitor`](crate::monitor::Monitor) as an [`Event`], in the order it happened.
//!
//! Only the other peer's SBC addresses are answered (a whitelist, as an SBC keeps one); anything else
//! is still evaluated, so it is reported as traffic from an unknown source.
//! TCP connections are capped and closed when idle, when they send more than a message's worth of
//! bytes without completing one, or when they send something that is not SIP.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sipaccord_agreement::Contract;
use sipaccord_sip::{Framing, Limits, Message};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;

use crate::monitor::Event;
use crate::uas::{Arrival, Uas};

/// What a live session listens on, and its limits.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// UDP addresses to answer on.
    pub udp: Vec<SocketAddr>,
    /// TCP addresses to accept on.
    pub tcp: Vec<SocketAddr>,
    /// UDP addresses that receive HEPv3 mirrored traffic (evaluated, never answered).
    pub hep: Vec<SocketAddr>,
    /// A TCP connection that sends nothing for this long is closed.
    pub tcp_idle: Duration,
    /// At most this many TCP connections at once; more are closed as they are accepted.
    pub tcp_max_connections: usize,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners {
            udp: Vec::new(),
            tcp: Vec::new(),
            hep: Vec::new(),
            tcp_idle: Duration::from_secs(60),
            tcp_max_connections: 1024,
        }
    }
}

/// Counts of what the listeners did, for the session summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// Datagrams received on the UDP listeners.
    pub datagrams: AtomicU64,
    /// HEP packets received.
    pub hep_packets: AtomicU64,
    /// TCP connections accepted.
    pub connections: AtomicU64,
    /// TCP connections refused because the cap was reached.
    pub connections_refused: AtomicU64,
    /// TCP connections closed by us: idle, oversized or not SIP.
    pub connections_closed: AtomicU64,
    /// Requests from addresses of no peer, left unanswered.
    pub unanswered: AtomicU64,
    /// Responses and retransmissions sent.
    pub sent: AtomicU64,
    /// Datagrams on a SIP listener that were not SIP (evaluated, never answered).
    pub not_sip: AtomicU64,
}

/// Notices per source address about datagrams that are not SIP; after this many, only counted.
const NOTICES_PER_SOURCE: u64 = 3;

/// Shared by every listener task.
struct Shared {
    uas: Mutex<Uas<'static>>,
    contract: &'static Contract,
    /// The peer we answer.
    them: &'static str,
    events: mpsc::Sender<Event>,
    counters: Arc<Counters>,
    limits: Limits,
    open_connections: AtomicUsize,
    listeners: Listeners,
    /// Datagrams that were not SIP, per source (bounded: at most 4,096 sources are remembered).
    junk_sources: Mutex<HashMap<IpAddr, u64>>,
}

impl Shared {
    fn send(&self, event: Event) {
        // The monitor only goes away when the session ends.
        let _ = self.events.send(event);
    }

    /// Says (a few times per source, then only counts) that a datagram was not SIP.
    fn junk(&self, src: SocketAddr, local: SocketAddr, len: usize) {
        self.counters.not_sip.fetch_add(1, Ordering::Relaxed);
        let mut sources = self.junk_sources.lock().unwrap_or_else(|e| e.into_inner());
        if sources.len() >= 4096 && !sources.contains_key(&src.ip()) {
            return;
        }
        let seen = sources.entry(src.ip()).or_default();
        *seen += 1;
        if *seen <= NOTICES_PER_SOURCE {
            let more = if *seen == NOTICES_PER_SOURCE { " (more from this address are only counted)" } else { "" };
            eprintln!("sipaccord: udp {src} -> {local}: {len} bytes that are not SIP, ignored{more}");
        }
    }

    fn is_from_them(&self, src: SocketAddr) -> bool {
        self.contract.peer_at(src.ip(), src.port()).is_some_and(|p| p.name == self.them)
    }

    /// The responses to a message received from `src`, if it is a request from the other side.
    fn answer(&self, bytes: &[u8], arrival: Arrival, stream: bool) -> Vec<Vec<u8>> {
        let parsed =
            if stream { Message::parse_stream(bytes, &self.limits) } else { Message::parse_with(bytes, &self.limits) };
        let Ok(message) = parsed else { return Vec::new() };
        if message.request().is_none() {
            return Vec::new();
        }
        if !self.is_from_them(arrival.src) {
            self.counters.unanswered.fetch_add(1, Ordering::Relaxed);
            return Vec::new();
        }
        let mut uas = self.uas.lock().unwrap_or_else(|e| e.into_inner());
        uas.handle(Instant::now(), &message, arrival)
    }
}

/// The bound sockets of a session, ready to run.
#[derive(Debug)]
pub struct Bound {
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    hep: Vec<UdpSocket>,
    listeners: Listeners,
}

impl Bound {
    /// Binds every listener; fails at once, naming the address, if one cannot be bound.
    pub async fn bind(listeners: Listeners) -> std::io::Result<Bound> {
        let mut udp = Vec::new();
        for addr in &listeners.udp {
            udp.push(bind_udp(*addr).await?);
        }
        let mut tcp = Vec::new();
        for addr in &listeners.tcp {
            tcp.push(TcpListener::bind(addr).await.map_err(|e| named(e, "tcp", *addr))?);
        }
        let mut hep = Vec::new();
        for addr in &listeners.hep {
            hep.push(bind_udp(*addr).await?);
        }
        Ok(Bound { udp, tcp, hep, listeners })
    }

    /// The listeners as bound (`udp:ADDR`, `tcp:ADDR`, `hep udp:ADDR`), for the line a session prints
    /// when it is ready.
    pub fn describe(&self) -> String {
        let name = |kind: &str, a: std::io::Result<SocketAddr>| match a {
            Ok(a) => format!("{kind}:{a}"),
            Err(_) => format!("{kind}:?"),
        };
        let mut parts: Vec<String> = self.udp.iter().map(|s| name("udp", s.local_addr())).collect();
        parts.extend(self.tcp.iter().map(|s| name("tcp", s.local_addr())));
        parts.extend(self.hep.iter().map(|s| name("hep udp", s.local_addr())));
        parts.join(", ")
    }

    /// Runs the listeners until `stop` turns true. Events go to `events` in the order they happen.
    pub async fn run(
        self,
        contract: &'static Contract,
        uas: Uas<'static>,
        them: &'static str,
        events: mpsc::Sender<Event>,
        counters: Arc<Counters>,
        mut stop: watch::Receiver<bool>,
    ) {
        let shared = Arc::new(Shared {
            uas: Mutex::new(uas),
            contract,
            them,
            events,
            counters,
            limits: Limits::default(),
            open_connections: AtomicUsize::new(0),
            listeners: self.listeners,
            junk_sources: Mutex::new(HashMap::new()),
        });
        let mut tasks = tokio::task::JoinSet::new();
        for socket in self.udp {
            tasks.spawn(udp_loop(shared.clone(), socket, stop.clone()));
        }
        for listener in self.tcp {
            tasks.spawn(tcp_accept_loop(shared.clone(), listener, stop.clone()));
        }
        for socket in self.hep {
            tasks.spawn(hep_loop(shared.clone(), socket, stop.clone()));
        }
        let _ = stop.wait_for(|s| *s).await;
        while tasks.join_next().await.is_some() {}
    }
}

fn named(e: std::io::Error, transport: &str, addr: SocketAddr) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot listen on {transport}:{addr}: {e}"))
}

/// Receive buffer asked for UDP sockets: bursts of thousands of datagrams must not be dropped by the
/// kernel while the session is busy (Linux caps it at `net.core.rmem_max`).
const UDP_RECEIVE_BUFFER: usize = 8 << 20;

/// Binds a UDP socket with a large receive buffer.
pub(crate) fn bind_udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket =
        socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a smaller buffer still works, it only drops bursts sooner.
    let _ = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

async fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    bind_udp_socket(addr).map_err(|e| named(e, "udp", addr))
}

async fn udp_loop(shared: Arc<Shared>, socket: UdpSocket, mut stop: watch::Receiver<bool>) {
    let local = socket.local_addr().expect("a bound socket has an address");
    let mut buf = vec![0u8; 65_536];
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {
                let due = shared.uas.lock().unwrap_or_else(|e| e.into_inner()).retransmissions(Instant::now(), local);
                for (dst, bytes) in due {
                    send_udp(&shared, &socket, local, dst, bytes).await;
                }
            }
            received = socket.recv_from(&mut buf) => {
                let Ok((n, src)) = received else { continue };
                shared.counters.datagrams.fetch_add(1, Ordering::Relaxed);
                let payload = Bytes::copy_from_slice(&buf[..n]);
                shared.send(Event::Datagram { src, dst: local, payload: payload.clone() });
                let keepalive = payload.iter().all(|b| matches!(b, b'\r' | b'\n' | 0));
                if !keepalive && !sipaccord_sip::looks_like_sip(&payload) {
                    shared.junk(src, local, n);
                    continue;
                }
                let arrival = Arrival { src, local, transport: "udp" };
                for reply in shared.answer(&payload, arrival, false) {
                    send_udp(&shared, &socket, local, src, reply).await;
                }
            }
        }
    }
}

async fn send_udp(shared: &Shared, socket: &UdpSocket, local: SocketAddr, dst: SocketAddr, bytes: Vec<u8>) {
    if socket.send_to(&bytes, dst).await.is_ok() {
        shared.counters.sent.fetch_add(1, Ordering::Relaxed);
        shared.send(Event::Datagram { src: local, dst, payload: Bytes::from(bytes) });
    }
}

async fn hep_loop(shared: Arc<Shared>, socket: UdpSocket, mut stop: watch::Receiver<bool>) {
    let local = socket.local_addr().expect("a bound socket has an address");
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            received = socket.recv_from(&mut buf) => {
                let Ok((n, src)) = received else { continue };
                shared.counters.hep_packets.fetch_add(1, Ordering::Relaxed);
                shared.send(Event::Datagram { src, dst: local, payload: Bytes::copy_from_slice(&buf[..n]) });
            }
        }
    }
}

async fn tcp_accept_loop(shared: Arc<Shared>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let Ok(local) = stream.local_addr() else { continue };
                shared.send(Event::TcpOpen { client: peer, server: local });
                if shared.open_connections.load(Ordering::Relaxed) >= shared.listeners.tcp_max_connections {
                    shared.counters.connections_refused.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "sipaccord: tcp {peer} -> {local}: refused, {} connections are open (the cap)",
                        shared.listeners.tcp_max_connections
                    );
                    shared.send(Event::TcpClose { src: local, dst: peer });
                    drop(stream);
                    continue;
                }
                shared.counters.connections.fetch_add(1, Ordering::Relaxed);
                shared.open_connections.fetch_add(1, Ordering::Relaxed);
                connections.spawn(tcp_connection(shared.clone(), stream, peer, local, stop.clone()));
            }
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Why we closed a connection.
enum Closing {
    Peer,
    Stopped,
    Ours(String),
}

async fn tcp_connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(8192);
    let idle = shared.listeners.tcp_idle;
    let closing = loop {
        let before = buf.len();
        let read = tokio::select! {
            _ = stop.changed() => break Closing::Stopped,
            read = tokio::time::timeout(idle, stream.read_buf(&mut buf)) => read,
        };
        match read {
            Err(_) => {
                let pending = if buf.is_empty() {
                    String::new()
                } else {
                    format!(" with {} bytes of an incomplete message", buf.len())
                };
                break Closing::Ours(format!("idle for {} s{pending}", idle.as_secs()));
            }
            Ok(Ok(0)) | Ok(Err(_)) => break Closing::Peer,
            Ok(Ok(n)) => {
                shared.send(Event::TcpData {
                    src: peer,
                    dst: local,
                    payload: Bytes::copy_from_slice(&buf[before..before + n]),
                });
            }
        }
        match frame_messages(&shared, &mut buf, Arrival { src: peer, local, transport: "tcp" }) {
            Ok(replies) => {
                let mut failed = false;
                for reply in replies {
                    if stream.write_all(&reply).await.is_err() {
                        failed = true;
                        break;
                    }
                    shared.counters.sent.fetch_add(1, Ordering::Relaxed);
                    shared.send(Event::TcpData { src: local, dst: peer, payload: Bytes::from(reply) });
                }
                if failed {
                    break Closing::Peer;
                }
            }
            Err(why) => break Closing::Ours(why),
        }
    };
    match closing {
        Closing::Peer => {
            shared.send(Event::TcpClose { src: peer, dst: local });
            shared.send(Event::TcpClose { src: local, dst: peer });
        }
        Closing::Stopped => shared.send(Event::TcpClose { src: local, dst: peer }),
        Closing::Ours(why) => {
            shared.counters.connections_closed.fetch_add(1, Ordering::Relaxed);
            eprintln!("sipaccord: tcp {peer} -> {local}: closed, {why}");
            shared.send(Event::TcpClose { src: local, dst: peer });
        }
    }
    let _ = stream.shutdown().await;
    shared.open_connections.fetch_sub(1, Ordering::Relaxed);
}

/// Cuts complete messages off the front of a connection's buffer and answers them. An error closes
/// the connection: the bytes cannot be SIP, or a message is larger than the limits allow.
fn frame_messages(shared: &Shared, buf: &mut BytesMut, arrival: Arrival) -> Result<Vec<Vec<u8>>, String> {
    let mut replies = Vec::new();
    loop {
        drop_keepalives(buf);
        // Not a start line once the first line is complete: this connection does not carry SIP.
        if buf.contains(&b'\n') && !sipaccord_sip::looks_like_sip(buf) {
            return Err(format!(
                "not SIP: the stream does not begin with a request or status line ({} bytes)",
                buf.len()
            ));
        }
        match take_stream_message(buf, &shared.limits) {
            Ok(Some(message)) => replies.extend(shared.answer(&message, arrival, true)),
            Ok(None) => return Ok(replies),
            Err(e) => return Err(format!("unusable SIP framing: {e}")),
        }
    }
}

/// Drops the CRLF keep-alives at the front of a TCP buffer.
fn drop_keepalives(buf: &mut BytesMut) {
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(buf.len());
    let _ = buf.split_to(start);
}

/// Cuts the next complete SIP message off the front of a TCP buffer (keep-alives before it are
/// dropped); `Ok(None)` while more bytes are needed. Shared by the listeners and the calling side.
pub(crate) fn take_stream_message(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Bytes>, sipaccord_sip::ParseError> {
    drop_keepalives(buf);
    if buf.is_empty() {
        return Ok(None);
    }
    Ok(match sipaccord_sip::frame_stream(buf, limits)? {
        Framing::Complete(len) => Some(buf.split_to(len).freeze()),
        Framing::Partial => None,
    })
}
