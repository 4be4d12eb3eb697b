//! The session recording: every packet of a live session in a pcapng file, with real timestamps
//! (nanosecond resolution) and addresses, readable by tshark and by `sipaccord replay`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

use crate::wire::LINK_TYPE_RAW_IP;

/// A recording could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the recording {path}: {reason}")]
pub struct RecordError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// Writes a session's packets to a pcapng file as they happen.
pub struct Recorder {
    writer: PcapNgWriter<BufWriter<File>>,
    path: PathBuf,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("path", &self.path).finish()
    }
}

impl Recorder {
    /// Creates (or truncates) the file and writes the section and interface headers.
    pub fn create(path: &Path) -> Result<Recorder, RecordError> {
        let fail = |e: &dyn std::fmt::Display| RecordError { path: path.to_owned(), reason: e.to_string() };
        let file = File::create(path).map_err(|e| fail(&e))?;
        let mut writer = PcapNgWriter::new(BufWriter::with_capacity(1 << 16, file)).map_err(|e| fail(&e))?;
        let interface = InterfaceDescriptionBlock {
            linktype: DataLink::from(LINK_TYPE_RAW_IP),
            snaplen: 0,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed("sipaccord-live")),
                // pcap-file writes timestamps in nanoseconds; say so, or readers assume microseconds.
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        writer.write_pcapng_block(interface).map_err(|e| fail(&e))?;
        Ok(Recorder { writer, path: path.to_owned() })
    }

    /// Appends one raw IP packet.
    pub fn packet(&mut self, timestamp: Duration, data: &[u8]) -> Result<(), RecordError> {
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp,
            original_len: data.len() as u32,
            data: Cow::Borrowed(data),
            options: vec![],
        };
        self.writer
            .write_pcapng_block(block)
            .map(drop)
            .map_err(|e| RecordError { path: self.path.clone(), reason: e.to_string() })
    }

    /// Writes out what is buffered, so the file is complete up to here.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.writer.get_mut().flush().map_err(|e| RecordError { path: self.path.clone(), reason: e.to_string() })
    }
}
