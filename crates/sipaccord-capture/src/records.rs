//! Classic pcap records read from a buffer of our own: a few hundred KiB read at a time (so what was
//! just read is still in the CPU cache when it is decoded), records taken from it in place.

use std::io::Read;

use pcap_file::pcap::{PcapHeader, PcapParser};
use pcap_file::{Endianness, PcapError};

/// Bytes read from the source at a time (the buffer grows only for a larger record).
const READ_SIZE: usize = 256 * 1024;

/// The largest record (16-byte header and data) read; a larger one is reported as truncated, as
/// pcap-file's own reader (whose buffer holds 8,000,000 bytes) reports it.
const MAX_RECORD: usize = 8_000_000;

/// One record: its header fields and where its data lies in the buffer.
pub(crate) struct Record {
    pub ts_sec: u32,
    pub ts_frac: u32,
    pub incl_len: u32,
    pub orig_len: u32,
    start: usize,
}

pub(crate) struct PcapRecords<R: Read> {
    source: R,
    header: PcapHeader,
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..len]`.
    pos: usize,
    len: usize,
    eof: bool,
}

impl<R: Read> PcapRecords<R> {
    /// Reads the file header.
    pub fn new(source: R) -> Result<PcapRecords<R>, PcapError> {
        let mut records =
            PcapRecords { source, header: PcapHeader::default(), buf: vec![0; READ_SIZE], pos: 0, len: 0, eof: false };
        loop {
            match PcapParser::new(&records.buf[..records.len]) {
                Ok((rest, parser)) => {
                    records.header = parser.header();
                    records.pos = records.len - rest.len();
                    return Ok(records);
                }
                Err(PcapError::IncompleteBuffer) if !records.eof => records.fill()?,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn header(&self) -> PcapHeader {
        self.header
    }

    /// The next record; `Ok(None)` at the end of the file, `IncompleteBuffer` when the file ends
    /// inside a record (or the record is larger than [`MAX_RECORD`]).
    pub fn next_record(&mut self) -> Result<Option<Record>, PcapError> {
        loop {
            let available = self.len - self.pos;
            if available >= 16 {
                let mut head = [0u8; 16];
                head.copy_from_slice(&self.buf[self.pos..self.pos + 16]);
                let big = self.header.endianness == Endianness::Big;
                let field = |at: usize| {
                    let bytes = [head[at], head[at + 1], head[at + 2], head[at + 3]];
                    if big {
                        u32::from_be_bytes(bytes)
                    } else {
                        u32::from_le_bytes(bytes)
                    }
                };
                let incl_len = field(8);
                let need = 16usize.saturating_add(incl_len as usize);
                if available >= need {
                    let record = Record {
                        ts_sec: field(0),
                        ts_frac: field(4),
                        incl_len,
                        orig_len: field(12),
                        start: self.pos + 16,
                    };
                    self.pos += need;
                    return Ok(Some(record));
                }
                if need > MAX_RECORD {
                    return Err(PcapError::IncompleteBuffer);
                }
                if need > self.buf.len() {
                    self.buf.resize(need, 0);
                }
            }
            if self.eof {
                return if available == 0 { Ok(None) } else { Err(PcapError::IncompleteBuffer) };
            }
            self.fill()?;
        }
    }

    /// The data of a record returned by the last call to [`PcapRecords::next_record`].
    pub fn data(&self, record: &Record) -> &[u8] {
        &self.buf[record.start..record.start + record.incl_len as usize]
    }

    /// Moves the unread bytes to the front and reads more after them.
    fn fill(&mut self) -> Result<(), PcapError> {
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        if self.len == self.buf.len() {
            return Ok(());
        }
        loop {
            match self.source.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(PcapError::IoError(e)),
            }
        }
    }
}
