//! The calling side's connection to one SBC of the other peer, over UDP or TCP: sends requests,
//! delivers responses to whoever waits for their Call-ID, answers requests the other side sends (BYE,
//! OPTIONS, ...) as the UAS does, and reports every datagram, read and write to the monitor.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sipaccord_sip::{Limits, Message};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::mpsc as channel;
use tokio::task::JoinHandle;

use crate::monitor::Event;
use crate::uas::{Arrival, Uas};

/// UDP or TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP datagrams.
    Udp,
    /// One TCP connection.
    Tcp,
}

impl Transport {
    /// Parses a received message with this transport's rules (datagram or stream framing).
    pub fn parse(self, bytes: &[u8]) -> Result<Message<'_>, sipaccord_sip::ParseError> {
        match self {
            Transport::Udp => Message::parse(bytes),
            Transport::Tcp => Message::parse_stream(bytes, &Limits::default()),
        }
    }

    /// `udp` or `tcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

enum Outbound {
    Udp(Arc<UdpSocket>),
    Tcp(tokio::sync::Mutex<OwnedWriteHalf>),
}

type Waiters = Arc<Mutex<HashMap<String, channel::UnboundedSender<Bytes>>>>;

struct Inner {
    local: SocketAddr,
    remote: SocketAddr,
    transport: Transport,
    events: mpsc::Sender<Event>,
    waiters: Waiters,
    uas: Option<Arc<Mutex<Uas<'static>>>>,
}

impl Inner {
    fn event(&self, e: Event) {
        let _ = self.events.send(e);
    }
}

/// A connection to one SBC.
pub struct Endpoint {
    inner: Arc<Inner>,
    outbound: Arc<Outbound>,
    reader: JoinHandle<()>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local", &self.inner.local)
            .field("remote", &self.inner.remote)
            .field("transport", &self.inner.transport)
            .finish()
    }
}

impl Endpoint {
    /// Binds `local` (port 0: any) and, for TCP, connects to `remote`. Requests the other side sends
    /// are answered by `uas` when one is given.
    pub async fn connect(
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        events: mpsc::Sender<Event>,
        uas: Option<Arc<Mutex<Uas<'static>>>>,
    ) -> std::io::Result<Endpoint> {
        let named = |e: std::io::Error, what: &str| std::io::Error::new(e.kind(), format!("{what}: {e}"));
        let waiters: Waiters = Arc::default();
        match transport {
            Transport::Udp => {
                let socket =
                    crate::server::bind_udp_socket(local).map_err(|e| named(e, &format!("cannot bind udp:{local}")))?;
                let local = socket.local_addr()?;
                let socket = Arc::new(socket);
                let inner = Arc::new(Inner { local, remote, transport, events, waiters, uas });
                let outbound = Arc::new(Outbound::Udp(socket.clone()));
                let reader = tokio::spawn(udp_reader(inner.clone(), socket, outbound.clone()));
                Ok(Endpoint { inner, outbound, reader })
            }
            Transport::Tcp => {
                let socket = if local.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
                socket.bind(local).map_err(|e| named(e, &format!("cannot bind tcp:{local}")))?;
                let stream =
                    socket.connect(remote).await.map_err(|e| named(e, &format!("cannot connect to tcp:{remote}")))?;
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr()?;
                let inner = Arc::new(Inner { local, remote, transport, events, waiters, uas });
                inner.event(Event::TcpOpen { client: local, server: remote });
                let (read, write) = stream.into_split();
                let outbound = Arc::new(Outbound::Tcp(tokio::sync::Mutex::new(write)));
                let reader = tokio::spawn(tcp_reader(inner.clone(), read, outbound.clone()));
                Ok(Endpoint { inner, outbound, reader })
            }
        }
    }

    /// Our address.
    pub fn local(&self) -> SocketAddr {
        self.inner.local
    }

    /// The SBC's address.
    pub fn remote(&self) -> SocketAddr {
        self.inner.remote
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// Delivers every message with this Call-ID to the returned receiver until [`Endpoint::forget`].
    pub fn expect(&self, call_id: &str) -> channel::UnboundedReceiver<Bytes> {
        let (tx, rx) = channel::unbounded_channel();
        self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner()).insert(call_id.to_owned(), tx);
        rx
    }

    /// Stops delivering a Call-ID's messages.
    pub fn forget(&self, call_id: &str) {
        self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner()).remove(call_id);
    }

    /// Sends one message.
    pub async fn send(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        send_on(&self.inner, &self.outbound, bytes).await
    }

    /// Closes the connection (a FIN on TCP) and stops reading.
    pub async fn close(self) {
        if let Outbound::Tcp(write) = self.outbound.as_ref() {
            let _ = write.lock().await.shutdown().await;
            self.inner.event(Event::TcpClose { src: self.inner.local, dst: self.inner.remote });
        }
        self.reader.abort();
    }
}

async fn send_on(inner: &Inner, outbound: &Outbound, bytes: Vec<u8>) -> std::io::Result<()> {
    match outbound {
        Outbound::Udp(socket) => {
            socket.send_to(&bytes, inner.remote).await?;
            inner.event(Event::Datagram { src: inner.local, dst: inner.remote, payload: Bytes::from(bytes) });
        }
        Outbound::Tcp(write) => {
            let mut w = write.lock().await;
            w.write_all(&bytes).await?;
            inner.event(Event::TcpData { src: inner.local, dst: inner.remote, payload: Bytes::from(bytes) });
        }
    }
    Ok(())
}

/// Hands a received message to its waiter; answers it when it is a request.
fn deliver(inner: &Inner, message: Bytes, src: SocketAddr) -> Vec<Vec<u8>> {
    let Ok(parsed) = inner.transport.parse(&message) else { return Vec::new() };
    let replies = match (&inner.uas, parsed.request().is_some()) {
        (Some(uas), true) => {
            let arrival = Arrival { src, local: inner.local, transport: inner.transport.as_str() };
            uas.lock().unwrap_or_else(|e| e.into_inner()).handle(Instant::now(), &parsed, arrival)
        }
        _ => Vec::new(),
    };
    if let Ok(Some(call_id)) = parsed.call_id() {
        if let Some(tx) = inner.waiters.lock().unwrap_or_else(|e| e.into_inner()).get(call_id) {
            let _ = tx.send(message.clone());
        }
    }
    replies
}

async fn udp_reader(inner: Arc<Inner>, socket: Arc<UdpSocket>, outbound: Arc<Outbound>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, src)) = socket.recv_from(&mut buf).await else { continue };
        let payload = Bytes::copy_from_slice(&buf[..n]);
        inner.event(Event::Datagram { src, dst: inner.local, payload: payload.clone() });
        for reply in deliver(&inner, payload, src) {
            let _ = send_on(&inner, &outbound, reply).await;
        }
    }
}

async fn tcp_reader(inner: Arc<Inner>, mut read: tokio::net::tcp::OwnedReadHalf, outbound: Arc<Outbound>) {
    let mut buf = BytesMut::with_capacity(8192);
    let limits = Limits::default();
    loop {
        let before = buf.len();
        match read.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                inner.event(Event::TcpClose { src: inner.remote, dst: inner.local });
                return;
            }
            Ok(n) => {
                inner.event(Event::TcpData {
                    src: inner.remote,
                    dst: inner.local,
                    payload: Bytes::copy_from_slice(&buf[before..before + n]),
                });
            }
        }
        loop {
            match crate::server::take_stream_message(&mut buf, &limits) {
                Ok(Some(message)) => {
                    for reply in deliver(&inner, message, inner.remote) {
                        let _ = send_on(&inner, &outbound, reply).await;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    // Not SIP, or too large: nothing more on this connection can be framed.
                    buf.clear();
                    break;
                }
            }
        }
    }
}
