//! pcapng writer for `-w FILE`: one section, one interface per link type and snaplen, EPBs.
//!
//! Written in little-endian order with nanosecond timestamps (if_tsresol = 9), so frames read
//! back with the same timestamp, link type, bytes and original length.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use super::{CaptureError, Frame, LinkType};

/// Snapshot length written in interface blocks when the caller does not give one.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// Interfaces one writer describes at most (a cap on its table).
const MAX_WRITER_INTERFACES: usize = 4096;
/// Zero bytes used for padding to 32 bits.
const PAD: [u8; 4] = [0; 4];

/// Writes frames as a pcapng file to any `io::Write`.
pub struct PcapngWriter<W: Write> {
    out: W,
    /// (link type, snaplen) of each Interface Description Block written, by interface id.
    interfaces: Vec<(LinkType, u32)>,
    snaplen: u32,
}

/// Creates `path` and writes a pcapng section header to it (buffered).
pub fn create_file(path: &str) -> Result<PcapngWriter<BufWriter<File>>, CaptureError> {
    let io_err = |source| CaptureError::Io {
        path: path.to_string(),
        source,
    };
    let file = File::create(path).map_err(io_err)?;
    PcapngWriter::new(BufWriter::with_capacity(1 << 20, file)).map_err(io_err)
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block; interfaces use [`DEFAULT_SNAPLEN`].
    pub fn new(out: W) -> io::Result<PcapngWriter<W>> {
        PcapngWriter::with_snaplen(out, DEFAULT_SNAPLEN)
    }

    /// Writes the Section Header Block; frames written with `write_frame` get this snaplen.
    pub fn with_snaplen(mut out: W, snaplen: u32) -> io::Result<PcapngWriter<W>> {
        let appl = b"mqttscope";
        let opt_len = 4 + padded(appl.len()) + 4; // shb_userappl, opt_endofopt
        let total = (28 + opt_len) as u32;
        let mut shb = Vec::with_capacity(total as usize);
        shb.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        shb.extend_from_slice(&total.to_le_bytes());
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes()); // byte-order magic
        shb.extend_from_slice(&1u16.to_le_bytes()); // major version
        shb.extend_from_slice(&0u16.to_le_bytes()); // minor version
        shb.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        push_option(&mut shb, 4, appl); // shb_userappl
        shb.extend_from_slice(&PAD); // opt_endofopt
        shb.extend_from_slice(&total.to_le_bytes());
        out.write_all(&shb)?;
        Ok(PcapngWriter {
            out,
            interfaces: Vec::new(),
            snaplen,
        })
    }

    /// Writes one frame as an Enhanced Packet Block (with the writer's snaplen).
    pub fn write_frame(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        self.write_frame_snaplen(frame, self.snaplen)
    }

    /// Writes one frame, describing its interface with `snaplen` if this pair is new.
    pub fn write_frame_snaplen(&mut self, frame: &Frame<'_>, snaplen: u32) -> io::Result<()> {
        let id = self.interface_id(frame.linktype, snaplen)?;
        let caplen = frame.data.len();
        let total = 32 + padded(caplen);
        let total32 = u32::try_from(total).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame {} of {caplen} bytes is too large for pcapng",
                    frame.frame_no
                ),
            )
        })?;
        let units = u64::try_from(frame.ts.0).unwrap_or(0);
        let mut head = [0u8; 28];
        for (i, v) in [
            6, // block type: Enhanced Packet Block
            total32,
            id,
            (units >> 32) as u32,
            units as u32,
            caplen as u32,
            frame.orig_len,
        ]
        .into_iter()
        .enumerate()
        {
            head[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        self.out.write_all(&head)?;
        self.out.write_all(frame.data)?;
        self.out.write_all(&PAD[..padded(caplen) - caplen])?;
        self.out.write_all(&total32.to_le_bytes())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// The interface id for this link type and snaplen, writing its IDB on first use.
    fn interface_id(&mut self, linktype: LinkType, snaplen: u32) -> io::Result<u32> {
        if let Some(i) = self
            .interfaces
            .iter()
            .position(|&x| x == (linktype, snaplen))
        {
            return Ok(i as u32);
        }
        if self.interfaces.len() >= MAX_WRITER_INTERFACES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("more than {MAX_WRITER_INTERFACES} link type and snaplen pairs"),
            ));
        }
        let total: u32 = 16 + 8 + 4 + 4; // header, if_tsresol, opt_endofopt, trailer
        let mut idb = Vec::with_capacity(total as usize);
        idb.extend_from_slice(&1u32.to_le_bytes());
        idb.extend_from_slice(&total.to_le_bytes());
        idb.extend_from_slice(&linktype.0.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes()); // reserved
        idb.extend_from_slice(&snaplen.to_le_bytes());
        push_option(&mut idb, 9, &[9]); // if_tsresol: 10^-9 s
        idb.extend_from_slice(&PAD); // opt_endofopt
        idb.extend_from_slice(&total.to_le_bytes());
        self.out.write_all(&idb)?;
        self.interfaces.push((linktype, snaplen));
        Ok(self.interfaces.len() as u32 - 1)
    }
}

/// `n` rounded up to a multiple of 4.
fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Appends an option (code, length, value, padding) in little-endian order.
fn push_option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(&PAD[..padded(value.len()) - value.len()]);
}
