//! File formats: pcap and pcapng records, read one at a time, with the byte offset of each record
//! tracked so a truncated or corrupt file is reported precisely.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::PcapNgReader;
use pcap_file::{Endianness, PcapError, TsResolution};

use crate::decode::{Decoder, Lend, Packet};
use crate::records::PcapRecords;
use crate::{CaptureError, Limits, MessageRef, SipMessage, Summary};

type Source = Box<dyn Read + Send>;

enum Format {
    Pcap { records: PcapRecords<Source>, link: u32, nanos: bool },
    PcapNg { reader: PcapNgReader<Source> },
}

/// Reads one capture file and yields its SIP messages in the order they completed.
///
/// Create it with [`CaptureReader::open`]; iterate it; read [`CaptureReader::summary`] at the end.
/// The file is read record by record through a read buffer (256 KiB for pcap, 8 MB for pcapng),
/// never whole.
pub struct CaptureReader {
    path: PathBuf,
    format: Option<Format>,
    offset: u64,
    frame: u64,
    decoder: Decoder,
    pending_error: Option<CaptureError>,
    finished: bool,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader").field("path", &self.path).field("frame", &self.frame).finish()
    }
}

impl CaptureReader {
    /// Opens a pcap or pcapng file (recognised by its magic number, not its name).
    pub fn open(path: impl AsRef<Path>) -> Result<CaptureReader, CaptureError> {
        let path = path.as_ref();
        let io = |source| CaptureError::Io { path: path.to_path_buf(), source };
        let mut file = File::open(path).map_err(io)?;
        let mut head = [0u8; 12];
        let mut got = 0;
        while got < head.len() {
            let n = file.read(&mut head[got..]).map_err(io)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Self::from_parts(path, &head[..got], Box::new(BufReader::with_capacity(64 * 1024, file)))
    }

    /// Reads a capture from any reader; `name` is reported as the file in messages and errors.
    pub fn from_reader(
        name: impl AsRef<Path>,
        mut source: impl Read + Send + 'static,
    ) -> Result<CaptureReader, CaptureError> {
        let path = name.as_ref();
        let mut head = Vec::with_capacity(12);
        (&mut source)
            .take(12)
            .read_to_end(&mut head)
            .map_err(|source| CaptureError::Io { path: path.to_path_buf(), source })?;
        let chained: Source = Box::new(std::io::Cursor::new(head.clone()).chain(source));
        Self::from_parts(path, &head, chained)
    }

    fn from_parts(path: &Path, head: &[u8], source: Source) -> Result<CaptureReader, CaptureError> {
        let not_capture = || CaptureError::NotACapture { path: path.to_path_buf() };
        if head.len() < 4 {
            return Err(if head.is_empty() {
                not_capture()
            } else {
                CaptureError::Truncated { path: path.to_path_buf(), offset: 0 }
            });
        }
        let magic = [head[0], head[1], head[2], head[3]];
        let (format, offset) = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                if head.len() < 12 {
                    return Err(CaptureError::Truncated { path: path.to_path_buf(), offset: 0 });
                }
                let len_bytes = [head[4], head[5], head[6], head[7]];
                let shb_len = if head[8..12] == [0x1a, 0x2b, 0x3c, 0x4d] {
                    u32::from_be_bytes(len_bytes)
                } else {
                    u32::from_le_bytes(len_bytes)
                };
                let reader = PcapNgReader::new(source).map_err(|e| header_error(path, e))?;
                (Format::PcapNg { reader }, u64::from(shb_len))
            }
            [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x4d, 0x3c, 0xb2, 0xa1] => {
                let records = PcapRecords::new(source).map_err(|e| header_error(path, e))?;
                let header = records.header();
                let link = u32::from(header.datalink);
                let nanos = header.ts_resolution == TsResolution::NanoSecond;
                (Format::Pcap { records, link, nanos }, 24)
            }
            _ => return Err(not_capture()),
        };
        let file: Arc<Path> = Arc::from(path);
        Ok(CaptureReader {
            path: path.to_path_buf(),
            format: Some(format),
            offset,
            frame: 0,
            decoder: Decoder::new(file, Limits::default()),
            pending_error: None,
            finished: false,
        })
    }

    /// Replaces the default [`Limits`]; call before iterating.
    pub fn with_limits(mut self, limits: Limits) -> CaptureReader {
        self.decoder.set_limits(limits);
        self
    }

    /// Reads what is left of the file, discarding the messages; returns the summary and the error
    /// that stopped the reading early, if any.
    pub fn into_summary(mut self) -> (Summary, Option<CaptureError>) {
        let mut error = None;
        for item in &mut self {
            if let Err(e) = item {
                error = Some(e);
            }
        }
        (self.decoder.summary().clone(), error)
    }

    /// Reads what is left of the file and lends each message to `f` as soon as it is found: the
    /// messages the iterator would yield, in the same order, each fully parsed and validated, but
    /// without the copy of its bytes and the layout a [`SipMessage`] keeps. `f` returns
    /// [`ControlFlow::Break`] to stop reading (nothing after that message is lent).
    /// Returns the error that stopped the reading early, as the iterator's last item would be.
    pub fn for_each_message(&mut self, mut f: impl FnMut(&MessageRef<'_>) -> ControlFlow<()>) -> Option<CaptureError> {
        let stop = std::cell::Cell::new(false);
        // Messages already queued by an iteration that was not finished.
        while let Some(message) = self.decoder.pop() {
            let parsed = message.parse().ok();
            if f(&message.lend(parsed.as_ref())).is_break() {
                return None;
            }
        }
        let mut lend = |m: &MessageRef<'_>| {
            if !stop.get() {
                stop.set(f(m).is_break());
            }
        };
        while !self.finished {
            if !self.read_record(Some(&mut lend)) {
                self.finished = true;
                self.format = None;
                self.decoder.finish(Some(&mut lend));
            }
            if stop.get() {
                return None;
            }
        }
        self.pending_error.take()
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What has been seen so far; complete once the iterator has returned `None`.
    pub fn summary(&self) -> &Summary {
        self.decoder.summary()
    }

    /// Reads the next record into the decoder. Returns false at the end of the file or on error
    /// (the error is kept in `pending_error`).
    fn read_record<'a>(&'a mut self, lend: Option<Lend<'a>>) -> bool {
        let Some(format) = self.format.as_mut() else {
            return false;
        };
        match format {
            Format::Pcap { records, link, nanos } => match records.next_record() {
                Ok(None) => false,
                Err(e) => {
                    self.pending_error = Some(record_error(&self.path, self.offset, e));
                    false
                }
                Ok(Some(record)) => {
                    let frac = u64::from(record.ts_frac);
                    let ts = Duration::from_secs(u64::from(record.ts_sec))
                        + if *nanos { Duration::from_nanos(frac) } else { Duration::from_micros(frac) };
                    self.offset += 16 + u64::from(record.incl_len);
                    self.frame += 1;
                    let packet = Packet {
                        frame: self.frame,
                        ts,
                        link: *link,
                        data: records.data(&record),
                        orig_len: record.orig_len as usize,
                    };
                    self.decoder.packet(&packet, lend);
                    true
                }
            },
            Format::PcapNg { reader } => loop {
                let endianness = reader.section().endianness;
                let raw = match reader.next_raw_block() {
                    None => return false,
                    Some(Err(e)) => {
                        self.pending_error = Some(record_error(&self.path, self.offset, e));
                        return false;
                    }
                    Some(Ok(raw)) => raw,
                };
                let block_offset = self.offset;
                self.offset += u64::from(raw.initial_len);
                let u32_at = |b: &[u8], at: usize| -> Option<u32> {
                    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
                    Some(match endianness {
                        Endianness::Big => u32::from_be_bytes(bytes),
                        Endianness::Little => u32::from_le_bytes(bytes),
                    })
                };
                let body = &raw.body;
                let invalid = |reason: &str| CaptureError::Invalid {
                    path: self.path.clone(),
                    offset: block_offset,
                    reason: reason.to_string(),
                };
                // (interface, timestamp units, captured length, original length, data start)
                let fields = match raw.type_ {
                    // Enhanced Packet Block, and the obsolete Packet Block (same layout, with a 16-bit
                    // interface id and drop count in the first word).
                    6 | 2 => {
                        let interface = if raw.type_ == 6 {
                            u32_at(body, 0)
                        } else {
                            u32_at(body, 0).map(|w| match endianness {
                                Endianness::Big => w >> 16,
                                Endianness::Little => w & 0xffff,
                            })
                        };
                        match (interface, u32_at(body, 4), u32_at(body, 8), u32_at(body, 12), u32_at(body, 16)) {
                            (Some(i), Some(hi), Some(lo), Some(cap), Some(orig)) => {
                                Some((i, (u64::from(hi) << 32) | u64::from(lo), cap as usize, orig as usize, 20))
                            }
                            _ => None,
                        }
                    }
                    // Simple Packet Block: interface 0, no timestamp.
                    3 => u32_at(body, 0).map(|orig| {
                        let cap = (orig as usize).min(body.len().saturating_sub(4));
                        (0, 0, cap, orig as usize, 4)
                    }),
                    _ => continue,
                };
                let Some((interface, units, cap, orig, start)) = fields else {
                    self.pending_error = Some(invalid("packet block too short"));
                    return false;
                };
                let Some(data) = body.get(start..start + cap) else {
                    self.pending_error = Some(invalid("captured length beyond block"));
                    return false;
                };
                // The block borrows the reader; the interface table is read after it is released.
                let data = data.to_vec();
                drop(raw);
                let Some(idb) = reader.interfaces().get(interface as usize) else {
                    self.pending_error = Some(invalid("packet on an undeclared interface"));
                    return false;
                };
                let link = u32::from(idb.linktype);
                let mut resol = 6u8;
                for opt in &idb.options {
                    if let InterfaceDescriptionOption::IfTsResol(r) = opt {
                        resol = *r;
                    }
                }
                self.frame += 1;
                let packet = Packet {
                    frame: self.frame,
                    ts: units_to_duration(units, resol),
                    link,
                    data: &data,
                    orig_len: orig,
                };
                self.decoder.packet(&packet, lend);
                return true;
            },
        }
    }
}

fn units_to_duration(units: u64, resol: u8) -> Duration {
    if resol & 0x80 != 0 {
        let exp = u32::from(resol & 0x7f).min(63);
        let per_sec = 1u128 << exp;
        let nanos = u128::from(units) * 1_000_000_000 / per_sec;
        return Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    }
    let exp = u32::from(resol).min(19);
    let per_sec = 10u64.pow(exp);
    let secs = units / per_sec;
    let rem = u128::from(units % per_sec);
    Duration::from_secs(secs)
        + Duration::from_nanos(u64::try_from(rem * 1_000_000_000 / u128::from(per_sec)).unwrap_or(0))
}

fn header_error(path: &Path, e: PcapError) -> CaptureError {
    record_error(path, 0, e)
}

fn record_error(path: &Path, offset: u64, e: PcapError) -> CaptureError {
    match e {
        PcapError::IncompleteBuffer => CaptureError::Truncated { path: path.to_path_buf(), offset },
        PcapError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            CaptureError::Truncated { path: path.to_path_buf(), offset }
        }
        PcapError::IoError(source) => CaptureError::Io { path: path.to_path_buf(), source },
        other => CaptureError::Invalid { path: path.to_path_buf(), offset, reason: other.to_string() },
    }
}

impl Iterator for CaptureReader {
    type Item = Result<SipMessage, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(message) = self.decoder.pop() {
                return Some(Ok(message));
            }
            if self.finished {
                return self.pending_error.take().map(Err);
            }
            if !self.read_record(None) {
                self.finished = true;
                self.format = None;
                self.decoder.finish(None);
            }
        }
    }
}
