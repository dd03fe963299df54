//! Live capture on the loopback interface: a known payload sent over TCP must be captured.
//!
//! Needs capture privileges (root or cap_net_raw). Without them the test fails with a clear
//! message, unless MQTTSCOPE_SKIP_LIVE=1 is set, in which case it says it skipped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use mqttscope::capture::{open_live, CaptureError, FrameSource, LiveOptions, LiveSource};

/// Skips (with a message) when MQTTSCOPE_SKIP_LIVE=1, else fails explaining what is missing.
fn skip_or_fail(e: &CaptureError) {
    if std::env::var("MQTTSCOPE_SKIP_LIVE").as_deref() == Ok("1") {
        eprintln!("live capture test skipped (MQTTSCOPE_SKIP_LIVE=1): {e}");
    } else {
        panic!(
            "live capture needs privileges: {e}\n\
             run as root, or set MQTTSCOPE_SKIP_LIVE=1 to skip this test"
        );
    }
}

/// Opens a live source, or explains why the test cannot run (None: skipped).
fn open_or_skip(opts: &LiveOptions) -> Option<LiveSource> {
    match open_live(opts) {
        Ok(src) => Some(src),
        Err(e @ CaptureError::Permission { .. }) => {
            skip_or_fail(&e);
            None
        }
        Err(e) => panic!("cannot open {} for capture: {e}", opts.device),
    }
}

#[test]
fn loopback_capture_sees_the_payload_and_stops_on_the_flag() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut opts = LiveOptions::new("lo");
    opts.filter = Some(format!("tcp port {port}"));
    let Some(mut src) = open_or_skip(&opts) else {
        return;
    };
    assert_eq!(src.describe(), "interface lo");

    // Deadline: a watchdog sets the stop flag after 5 s unless told the test is done.
    let stop = src.stop_flag();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(5)).is_err() {
            stop.store(true, Ordering::Relaxed);
        }
    });

    let payload: &[u8] = b"mqttscope-live-test-payload-7f3a";
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.write_all(payload).unwrap();
    drop(client);

    let mut seen = false;
    let mut frames = 0u64;
    while let Some(frame) = src.next_frame().unwrap() {
        frames += 1;
        assert_eq!(frame.frame_no, frames);
        assert_eq!(frame.caplen as usize, frame.data.len());
        if frame.data.windows(payload.len()).any(|w| w == payload) {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "payload not captured on lo within 5 s ({frames} frames seen)"
    );
    assert_eq!(server.join().unwrap(), payload);

    // Setting the flag (as a Ctrl-C handler would) ends the source cleanly.
    src.stop_flag().store(true, Ordering::Relaxed);
    assert!(src.next_frame().unwrap().is_none());
    let stats = src.stats();
    assert!(stats.frames >= 2, "{stats:?}"); // at least the SYN and the data segment
    assert!(stats.kernel_drops.is_some(), "{stats:?}");
    done_tx.send(()).unwrap();
    watchdog.join().unwrap();
}

#[test]
fn invalid_live_filter_is_a_filter_error() {
    let mut opts = LiveOptions::new("lo");
    opts.filter = Some("tcp port".into());
    match open_live(&opts) {
        Err(CaptureError::Filter { filter, .. }) => assert_eq!(filter, "tcp port"),
        Err(e @ CaptureError::Permission { .. }) => skip_or_fail(&e),
        Err(e) => panic!("expected a filter error, got {e}"),
        Ok(_) => panic!("an invalid filter was accepted"),
    }
}

#[test]
fn any_device_opens_with_a_cooked_link_type() {
    let Some(src) = open_or_skip(&LiveOptions::new("any")) else {
        return;
    };
    let lt = src.linktype().0;
    assert!(lt == 113 || lt == 276, "link type {lt}");
}

/// Bytes of this process's memory mapped from the socket behind `fd` (libpcap's ring), read
/// from /proc/self/maps; None when the socket or the maps cannot be read.
#[cfg(target_os = "linux")]
fn ring_bytes(fd: std::os::fd::RawFd) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let name = link.to_str()?.to_string(); // "socket:[INODE]"
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut total = 0u64;
    for line in maps.lines().filter(|l| l.ends_with(&name)) {
        let range = line.split_whitespace().next()?;
        let (a, b) = range.split_once('-')?;
        let (a, b) = (
            u64::from_str_radix(a, 16).ok()?,
            u64::from_str_radix(b, 16).ok()?,
        );
        total += b.checked_sub(a)?;
    }
    Some(total)
}

/// The default buffer reaches libpcap, and the ring packs frames by size (TPACKET_V3): the
/// mapped ring is the buffer size. Immediate mode would fall back to TPACKET_V2, whose fixed
/// slots sized for the largest frame (64 KiB on lo) make the mapping about twice the buffer while
/// holding only a few hundred frames.
#[cfg(target_os = "linux")]
#[test]
fn default_buffer_reaches_libpcap_as_a_packed_ring() {
    use mqttscope::capture::live::DEFAULT_BUFFER;
    use std::os::fd::AsRawFd;
    let opts = LiveOptions::new("lo");
    assert!(!opts.immediate);
    assert_eq!(opts.buffer_size, DEFAULT_BUFFER);
    let Some(src) = open_or_skip(&opts) else {
        return;
    };
    let mapped = ring_bytes(src.as_raw_fd()).expect("the capture socket in /proc/self");
    assert_eq!(
        mapped,
        u64::from(DEFAULT_BUFFER),
        "ring of the default options"
    );

    // A smaller -B gives a smaller ring: the option is not ignored.
    let mut small = LiveOptions::new("lo");
    small.buffer_size = 4 << 20;
    let Some(src) = open_or_skip(&small) else {
        return;
    };
    assert_eq!(ring_bytes(src.as_raw_fd()), Some(4 << 20));
}
