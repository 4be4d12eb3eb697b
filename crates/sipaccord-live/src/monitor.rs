//! The evaluation side of a live session: every packet the session sends or receives is recorded and
//! evaluated here, in the order it happened, with the same decoder and runner replay uses.
//!
//! Because the live verdicts come from the very packets written to the recording, a replay of the
//! recording gives the same findings.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sipaccord_agreement::Contract;
use sipaccord_capture::{Limits, PacketDecoder};
use sipaccord_replay::{Finding, Report, Runner};

use crate::recorder::{RecordError, Recorder};
use crate::wire::{PacketBuilder, LINK_TYPE_RAW_IP};

/// Something that happened on the wire of a live session.
#[derive(Debug, Clone)]
pub enum Event {
    /// A UDP datagram, received or sent (HEP packets from a mirror included: the decoder opens them).
    Datagram {
        /// Sender.
        src: SocketAddr,
        /// Receiver.
        dst: SocketAddr,
        /// The datagram.
        payload: Bytes,
    },
    /// A TCP connection was established.
    TcpOpen {
        /// The side that connected.
        client: SocketAddr,
        /// The side that accepted.
        server: SocketAddr,
    },
    /// Bytes read from or written to a TCP connection.
    TcpData {
        /// Sender.
        src: SocketAddr,
        /// Receiver.
        dst: SocketAddr,
        /// The bytes, as one read or one write.
        payload: Bytes,
    },
    /// One side of a TCP connection closed it.
    TcpClose {
        /// The side that closed.
        src: SocketAddr,
        /// The other side.
        dst: SocketAddr,
    },
}

/// Records and evaluates a session's packets.
pub struct Monitor<'c> {
    runner: Runner<'c>,
    decoder: PacketDecoder,
    builder: PacketBuilder,
    recorder: Option<Recorder>,
    record_error: Option<RecordError>,
    last_timestamp: Duration,
    reported: usize,
}

impl<'c> Monitor<'c> {
    /// A monitor whose findings name `source` as their capture: the recording's path when the session
    /// is recorded, so live findings and a replay of the recording read the same.
    pub fn new(contract: &'c Contract, source: &Path, recorder: Option<Recorder>) -> Monitor<'c> {
        let mut runner = Runner::new(contract);
        runner.add_capture(&source.display().to_string());
        Monitor {
            runner,
            decoder: PacketDecoder::new(source, Limits::default()),
            builder: PacketBuilder::new(),
            recorder,
            record_error: None,
            last_timestamp: Duration::ZERO,
            reported: 0,
        }
    }

    /// Records and evaluates one event; returns the findings it caused (and any made since the last
    /// call).
    pub fn event(&mut self, event: &Event) -> &[Finding] {
        // Wall-clock time, never going backwards: replay needs messages in timestamp order.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().max(self.last_timestamp);
        self.last_timestamp = now;
        match event {
            Event::Datagram { src, dst, payload } => {
                let packet = self.builder.udp(*src, *dst, payload);
                self.packet(now, &packet);
            }
            Event::TcpOpen { client, server } => {
                for packet in self.builder.tcp_open(*client, *server) {
                    self.packet(now, &packet);
                }
            }
            Event::TcpData { src, dst, payload } => {
                for packet in self.builder.tcp_data(*src, *dst, payload) {
                    self.packet(now, &packet);
                }
            }
            Event::TcpClose { src, dst } => {
                let packet = self.builder.tcp_close(*src, *dst);
                self.packet(now, &packet);
            }
        }
        self.new_findings()
    }

    fn packet(&mut self, timestamp: Duration, packet: &[u8]) {
        if let Some(recorder) = &mut self.recorder {
            if let Err(e) = recorder.packet(timestamp, packet) {
                self.record_error.get_or_insert(e);
                self.recorder = None;
            }
        }
        self.decoder.push_frame(LINK_TYPE_RAW_IP, timestamp, packet, packet.len());
        while let Some(message) = self.decoder.pop() {
            self.runner.observe(&message);
        }
    }

    fn new_findings(&mut self) -> &[Finding] {
        let all = self.runner.findings();
        let new = &all[self.reported..];
        self.reported = all.len();
        new
    }

    /// SIP messages evaluated so far.
    pub fn messages(&self) -> u64 {
        self.decoder.summary().messages
    }

    /// Writes out the recording so far (a session can be stopped at any moment).
    pub fn flush(&mut self) {
        if let Some(recorder) = &mut self.recorder {
            if let Err(e) = recorder.flush() {
                self.record_error.get_or_insert(e);
                self.recorder = None;
            }
        }
    }

    /// Ends the session: incomplete stream data is reported as replay would report it at the end of
    /// the recording. Returns the findings made at the end, the report, and the first recording error.
    pub fn finish(mut self, agreement_file: &str) -> (Vec<Finding>, Report, Option<RecordError>) {
        self.flush();
        self.decoder.finish();
        while let Some(message) = self.decoder.pop() {
            self.runner.observe(&message);
        }
        self.runner.add_capture_summary(self.decoder.summary());
        let reported = self.reported;
        let report = self.runner.finish(agreement_file);
        let late = report.findings[reported..].to_vec();
        (late, report, self.record_error)
    }
}

/// Runs a monitor on the current thread until every sender of `events` is gone, handing each new
/// finding to `on_finding` as it is made. Returns the report and the first recording error.
pub fn run(
    mut monitor: Monitor<'_>,
    events: &mpsc::Receiver<Event>,
    agreement_file: &str,
    mut on_finding: impl FnMut(&Finding),
) -> (Report, Option<RecordError>) {
    let mut since_flush = 0u32;
    loop {
        // Flush the recording whenever the session goes quiet, so the file is usable while it runs.
        let event = match events.recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if since_flush > 0 {
                    monitor.flush();
                    since_flush = 0;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        since_flush += 1;
        for f in monitor.event(&event) {
            on_finding(f);
        }
    }
    let (late, report, error) = monitor.finish(agreement_file);
    for f in &late {
        on_finding(f);
    }
    (report, error)
}
