//! Capture sources: pcap/pcapng files and live interfaces, yielding borrowed frames.

use std::fmt;

/// A capture timestamp: nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
    /// Seconds since the epoch as a float (for output).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }
    /// Builds a timestamp from seconds and nanoseconds.
    pub fn from_parts(secs: i64, nanos: u32) -> Ts {
        Ts(secs
            .saturating_mul(1_000_000_000)
            .saturating_add(nanos as i64))
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

/// A link-layer header type, as the LINKTYPE_* registry numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (with optional 802.1Q / QinQ tags).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (version taken from the first nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The registry name of this link type, or None when it is not one we decode.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "ETHERNET",
            LinkType::RAW => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "LINKTYPE_{}", self.0),
        }
    }
}

/// One captured frame, borrowed from the source's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture timestamp.
    pub ts: Ts,
    /// Link-layer type of `data`.
    pub linktype: LinkType,
    /// 1-based frame number in the capture (as tshark numbers frames).
    pub frame_no: u64,
    /// Bytes captured (`data.len()`).
    pub caplen: u32,
    /// Bytes the frame had on the wire (larger than caplen when cut by snaplen).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// The shared buffer `data` lies in, when the source reads into shared chunks (files):
    /// a consumer on another thread may keep the bytes by holding it instead of copying them.
    pub owner: Option<&'a Chunk>,
}

/// Counters a source keeps about what it read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames handed out.
    pub frames: u64,
    /// Captured bytes handed out.
    pub bytes: u64,
    /// Frames the BPF filter rejected.
    pub filtered: u64,
    /// Frames dropped by the kernel (live capture only; None when unknown).
    pub kernel_drops: Option<u64>,
    /// Frames dropped by the interface or driver (live capture only).
    pub if_drops: Option<u64>,
}

/// Why a capture could not be opened or read on.
#[derive(Debug)]
pub enum CaptureError {
    /// The file (or stdin) could not be opened or read.
    Io {
        /// Path as given ("-" for stdin).
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first bytes are neither a pcap nor a pcapng magic number.
    UnknownFormat {
        /// Path as given.
        path: String,
        /// The first four bytes found.
        magic: [u8; 4],
    },
    /// The file is damaged at `offset`; every frame before it was delivered.
    Damaged {
        /// Path as given.
        path: String,
        /// Byte offset in the file where the damage starts.
        offset: u64,
        /// What is wrong, as a sentence fragment.
        reason: String,
        /// True when `--keep-going` can resume at a later readable record.
        resumable: bool,
    },
    /// Live capture needs privileges the process does not have.
    Permission {
        /// The device.
        device: String,
        /// libpcap's message.
        detail: String,
    },
    /// The BPF filter does not compile.
    Filter {
        /// The filter as given.
        filter: String,
        /// libpcap's message.
        message: String,
    },
    /// Any other libpcap failure.
    Pcap {
        /// What we were doing.
        context: String,
        /// libpcap's message.
        message: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io { path, source } => write!(f, "cannot read {path}: {source}"),
            CaptureError::UnknownFormat { path, magic } => write!(
                f,
                "{path} is not a pcap or pcapng file (first bytes {:02x} {:02x} {:02x} {:02x})",
                magic[0], magic[1], magic[2], magic[3]
            ),
            CaptureError::Damaged {
                path,
                offset,
                reason,
                ..
            } => {
                write!(f, "{path} is damaged at byte offset {offset}: {reason}")
            }
            CaptureError::Permission { device, detail } => write!(
                f,
                "capturing on {device} needs root, or the cap_net_raw and cap_net_admin \
                 capabilities on the binary (setcap cap_net_raw,cap_net_admin=eip $(which \
                 mqttscope)); libpcap said: {detail}"
            ),
            CaptureError::Filter { filter, message } => {
                write!(f, "invalid capture filter {filter:?}: {message}")
            }
            CaptureError::Pcap { context, message } => write!(f, "{context}: {message}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// A source of frames: a capture file or a live interface.
pub trait FrameSource {
    /// The next frame, `Ok(None)` at the end. After a `Damaged` error with `resumable`, calling
    /// again skips to the next readable record (`--keep-going`); otherwise it returns `Ok(None)`.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError>;
    /// Counters so far.
    fn stats(&self) -> SourceStats;
    /// What is being read: "file captures/x.pcap" or "interface lo".
    fn describe(&self) -> String;
    /// Bytes consumed and total size, for files of known size (progress bars).
    fn progress(&self) -> Option<(u64, u64)> {
        None
    }
}

pub mod devices;
pub mod file;
pub mod filter;
mod input;
pub mod live;
mod pcap;
mod pcapng;
mod record;
pub mod writer;

pub use devices::{format_device_list, list_devices, Connection, DeviceInfo};
pub use file::{open_file, open_reader, FileOptions, FileSource};
pub use filter::BpfFilter;
pub use input::{Chunk, INITIAL_BUFFER, MAX_CHUNKS, MAX_RECORD};
pub use live::{open_live, LiveOptions, LiveSource};
pub use pcapng::MAX_INTERFACES;
pub use writer::{create_file as create_pcapng_file, PcapngWriter};
