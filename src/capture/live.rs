//! Live capture from a network interface through libpcap, stoppable with a shared flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pcap::{Active, BreakLoop, Capture};

use super::filter::strip;
use super::{CaptureError, Frame, FrameSource, LinkType, SourceStats, Ts};

/// Default snapshot length (libpcap's default maximum).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// Default kernel buffer size: the size of libpcap's TPACKET_V3 ring on Linux. tcpdump and
/// dumpcap use libpcap's 2 MiB, which overflowed while the capture thread waited for a core
/// under scripts/bench-live on two cores; 16 MiB kept up there, 64 MiB leaves room for faster
/// links and longer stalls (see README, "Live capture under load").
pub const DEFAULT_BUFFER: u32 = 64 << 20;
/// Default read timeout: how often the stop flag is looked at when no traffic comes, and at
/// most how long a captured frame waits in a partly filled ring block before delivery.
pub const DEFAULT_TIMEOUT_MS: u32 = 100;
/// Kernel drop counters are refreshed every this many frames (and at every read timeout).
const STATS_EVERY: u64 = 4096;

/// How to open a live capture.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Interface name ("eth0", "lo", "any").
    pub device: String,
    /// Bytes kept per frame.
    pub snaplen: u32,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
    /// Kernel buffer size in bytes.
    pub buffer_size: u32,
    /// Deliver packets as soon as they arrive instead of in blocks. Off by default: on Linux,
    /// libpcap then falls back from TPACKET_V3 (blocks packed with frames of any size) to
    /// TPACKET_V2, whose ring has one fixed slot per frame sized for the largest frame (the
    /// MTU or the snaplen): on loopback (MTU 65536) a 16 MiB buffer held 256 frames of any
    /// size, in a 32 MiB mapping, and overflowed under load.
    pub immediate: bool,
    /// Read timeout in milliseconds; the stop flag is checked at least this often.
    pub timeout_ms: u32,
    /// BPF filter compiled into the kernel (empty or None: no filter).
    pub filter: Option<String>,
    /// Set to true (e.g. from a Ctrl-C handler) to make `next_frame` return `Ok(None)`.
    pub stop: Arc<AtomicBool>,
}

impl LiveOptions {
    /// Options for `device` with the defaults: snaplen 262144, promiscuous, 64 MiB buffer,
    /// block delivery (not immediate mode), 100 ms timeout, no filter, a fresh stop flag.
    pub fn new(device: &str) -> LiveOptions {
        LiveOptions {
            device: device.to_string(),
            snaplen: DEFAULT_SNAPLEN,
            promiscuous: true,
            buffer_size: DEFAULT_BUFFER,
            immediate: false,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            filter: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Frames captured live from one interface.
pub struct LiveSource {
    device: String,
    cap: Capture<Active>,
    linktype: LinkType,
    stop: Arc<AtomicBool>,
    /// The current frame's bytes: libpcap's buffer cannot be lent out across the read loop,
    /// so each frame is copied here (reused, no allocation once grown to the snaplen).
    buf: Vec<u8>,
    frame_no: u64,
    stats: SourceStats,
    /// Set when the source is dropped: ends the stop watcher.
    closed: Arc<AtomicBool>,
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// Wakes a blocked read when the stop flag is set. libpcap 1.10 on Linux keeps polling through
/// read timeouts in blocking mode (the timeout never reaches `pcap_next_ex`), so without this a
/// Ctrl-C on an idle interface would never be noticed; `pcap_breakloop` interrupts the poll.
fn watch_stop(stop: Arc<AtomicBool>, closed: Arc<AtomicBool>, breaker: BreakLoop, every: Duration) {
    let spawned = thread::Builder::new()
        .name("capture-stop".into())
        .spawn(move || {
            while !closed.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    breaker.breakloop();
                    return;
                }
                thread::sleep(every);
            }
        });
    // Without the watcher a stop is still seen at the next captured frame.
    drop(spawned);
}

/// Opens `opts.device` for capture and installs the filter.
pub fn open_live(opts: &LiveOptions) -> Result<LiveSource, CaptureError> {
    let dev = opts.device.as_str();
    let to_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let inactive = Capture::from_device(dev).map_err(|e| open_error(dev, e))?;
    let mut cap = inactive
        .snaplen(to_i32(opts.snaplen))
        .promisc(opts.promiscuous)
        .buffer_size(to_i32(opts.buffer_size))
        .immediate_mode(opts.immediate)
        .timeout(to_i32(opts.timeout_ms.max(1)))
        .open()
        .map_err(|e| open_error(dev, e))?;
    if let Some(f) = opts.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        cap.filter(f, true).map_err(|e| CaptureError::Filter {
            filter: f.to_string(),
            message: strip(e),
        })?;
    }
    let linktype = LinkType(u16::try_from(cap.get_datalink().0).unwrap_or(u16::MAX));
    let closed = Arc::new(AtomicBool::new(false));
    watch_stop(
        Arc::clone(&opts.stop),
        Arc::clone(&closed),
        cap.breakloop_handle(),
        Duration::from_millis(u64::from(opts.timeout_ms.clamp(10, 1000))),
    );
    Ok(LiveSource {
        closed,
        device: dev.to_string(),
        cap,
        linktype,
        stop: Arc::clone(&opts.stop),
        buf: Vec::new(),
        frame_no: 0,
        stats: SourceStats::default(),
    })
}

/// The timestamp (a microsecond timeval) of a libpcap packet header.
#[allow(clippy::useless_conversion)] // time_t and suseconds_t are not i64 on every platform
fn header_ts(h: &pcap::PacketHeader) -> Ts {
    let secs = i64::from(h.ts.tv_sec);
    let micros = i64::from(h.ts.tv_usec);
    Ts(Ts::from_parts(secs, 0)
        .0
        .saturating_add(micros.saturating_mul(1000)))
}

/// Maps a libpcap open failure: permission problems get their own error.
fn open_error(device: &str, e: pcap::Error) -> CaptureError {
    let message = strip(e);
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") || lower.contains("eperm") {
        CaptureError::Permission {
            device: device.to_string(),
            detail: message,
        }
    } else {
        CaptureError::Pcap {
            context: format!("cannot open interface {device}"),
            message,
        }
    }
}

impl LiveSource {
    /// The link type of the interface.
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// A clone of the stop flag.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Reads libpcap's drop counters into the stats (done by `next_frame` at read timeouts,
    /// every few thousand frames and when stopping).
    pub fn refresh_stats(&mut self) {
        if let Ok(s) = self.cap.stats() {
            self.stats.kernel_drops = Some(u64::from(s.dropped));
            self.stats.if_drops = Some(u64::from(s.if_dropped));
        }
    }
}

/// The capture's socket (on Linux the packet socket whose ring libpcap maps), for polling it
/// or inspecting it under /proc.
#[cfg(unix)]
impl std::os::fd::AsRawFd for LiveSource {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.cap)
    }
}

impl FrameSource for LiveSource {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        let (ts, orig_len) = loop {
            if self.stop.load(Ordering::Relaxed) {
                self.refresh_stats();
                return Ok(None);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    let ts = header_ts(p.header);
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    break (ts, p.header.len);
                }
                Err(pcap::Error::TimeoutExpired) => self.refresh_stats(),
                // Also what a read interrupted by `pcap_breakloop` returns.
                Err(pcap::Error::NoMorePackets) => {
                    self.refresh_stats();
                    return Ok(None);
                }
                Err(e) => {
                    return Err(CaptureError::Pcap {
                        context: format!("reading from interface {}", self.device),
                        message: strip(e),
                    })
                }
            }
        };
        self.frame_no += 1;
        self.stats.frames += 1;
        self.stats.bytes += self.buf.len() as u64;
        if self.frame_no % STATS_EVERY == 0 {
            self.refresh_stats();
        }
        Ok(Some(Frame {
            ts,
            linktype: self.linktype,
            frame_no: self.frame_no,
            caplen: self.buf.len() as u32,
            orig_len,
            data: &self.buf,
            owner: None,
        }))
    }

    fn stats(&self) -> SourceStats {
        self.stats
    }

    fn describe(&self) -> String {
        format!("interface {}", self.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_messages_map_to_permission() {
        let e = open_error(
            "eth0",
            pcap::Error::PcapError(
                "eth0: You don't have permission to perform this capture on that device".into(),
            ),
        );
        assert!(matches!(e, CaptureError::Permission { .. }), "{e:?}");
        let e = open_error(
            "eth0",
            pcap::Error::PcapError("socket: Operation not permitted".into()),
        );
        assert!(matches!(e, CaptureError::Permission { .. }), "{e:?}");
        let e = open_error(
            "nosuch0",
            pcap::Error::PcapError("nosuch0: No such device exists".into()),
        );
        match e {
            CaptureError::Pcap { context, message } => {
                assert!(context.contains("nosuch0"));
                assert!(message.contains("No such device"));
            }
            other => panic!("expected a pcap error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_device_is_an_error_not_a_panic() {
        let r = open_live(&LiveOptions::new("mqttscope-no-such-if0"));
        assert!(r.is_err());
    }
}
