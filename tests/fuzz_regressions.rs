//! Regression tests for the crashes cargo fuzz found (fuzz/), one named test per crash.

use mqttscope::capture::Ts;
use mqttscope::limits::Limits;
use mqttscope::net::{TcpFlags, TcpSegment};
use mqttscope::tcp::{Dir, Reassembler, StreamEvent};
use std::collections::HashMap;
use std::net::SocketAddr;

fn seg<'a>(seq: u32, ack: u32, flags: u8, payload: &'a [u8], missing: u32) -> TcpSegment<'a> {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.1.1:1883".parse().unwrap();
    TcpSegment {
        ts: Ts(1_000_000_000),
        frame_no: 1,
        src: client,
        dst: server,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 1024,
        payload,
        missing,
    }
}

/// Found by fuzz target tcp_reassembler (crash-720ba12f): an out-of-order segment over the
/// per-direction cap, starting where a held range starts. Giving up the hole delivered the held
/// range, then the segment was delivered again from the same offset: bytes came out twice.
#[test]
fn held_range_delivered_by_cap_is_not_delivered_twice() {
    let limits = Limits {
        max_buffered_per_dir: 512,
        ..Limits::default()
    };
    let mut r = Reassembler::new(&limits, &[1883]);
    let isn = 857_796_594u32;
    let far = 2_754_867_187u32;
    let first: Vec<u8> = (0..20u8).collect();
    let second: Vec<u8> = (0..517u32).map(|i| (i % 251) as u8).collect();
    // (dir, offset, len) of every data and gap event, in order.
    let mut spans: Vec<(Dir, u64, u64, bool)> = Vec::new();
    let mut delivered: HashMap<Dir, Vec<u8>> = HashMap::new();
    let mut on = |e: StreamEvent<'_>| match e {
        StreamEvent::Data {
            dir, offset, bytes, ..
        } => {
            spans.push((dir, offset, bytes.len() as u64, true));
            delivered.entry(dir).or_default().extend_from_slice(bytes);
        }
        StreamEvent::Gap {
            dir, offset, len, ..
        } => spans.push((dir, offset, len, false)),
        _ => {}
    };
    r.segment(&seg(isn, 0, TcpFlags::SYN, &[], 0), &mut on);
    r.segment(&seg(far, 0, TcpFlags::ACK, &first, 8), &mut on);
    r.segment(
        &seg(far, 0, TcpFlags::ACK | TcpFlags::PSH, &second, 39),
        &mut on,
    );
    r.finish(&mut on);
    // Every event continues the stream exactly where the previous one ended.
    let mut next = 0u64;
    for &(dir, offset, len, _) in &spans {
        assert_eq!(dir, Dir::ToServer);
        assert_eq!(offset, next, "events must be contiguous: {spans:?}");
        next += len;
    }
    let gap_to = u64::from(far.wrapping_sub(isn + 1));
    assert_eq!(spans.first(), Some(&(Dir::ToServer, 0, gap_to, false)));
    // The first copy of the 20 held bytes wins, then the rest of the second segment.
    let mut want = first.clone();
    want.extend_from_slice(&second[20..]);
    assert_eq!(delivered.get(&Dir::ToServer), Some(&want));
    assert_eq!(r.stats().bytes_delivered, 517);
    assert_eq!(r.stats().buffered_now, 0);
    assert_eq!(r.stats().caps.buffer, 1);
}

/// Threads of this process named `capture-reader` (the read-ahead thread of capture files).
fn reader_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == "capture-reader")
        .count()
}

/// Found by fuzz target capture_file (LeakSanitizer, leak-408134e2): the read-ahead thread of a
/// capture is detached, so right after the source is dropped its closure is still alive. Not a
/// leak, as long as the thread really ends on its own: this checks that it does, even when the
/// source is dropped after damage, in the middle of the file.
#[test]
fn capture_reader_thread_ends_after_the_source_is_dropped() {
    use mqttscope::capture::{open_reader, FileOptions, FrameSource};
    let mut bytes = std::fs::read("captures/crafted/truncated-last-record.pcap").unwrap();
    bytes.extend(std::iter::repeat_n(0xee, 1 << 20));
    for stop_after in [0usize, 1, 100] {
        let mut src = open_reader(
            Box::new(std::io::Cursor::new(bytes.clone())),
            "cut",
            None,
            &FileOptions {
                buffer_size: 4096,
                ..FileOptions::default()
            },
        )
        .unwrap();
        for _ in 0..stop_after {
            if !matches!(src.next_frame(), Ok(Some(_))) {
                break;
            }
        }
        // The file is much larger than the read-ahead: the thread is still there, waiting.
        assert!(
            reader_threads() >= 1,
            "the reader thread is seen while reading"
        );
        drop(src);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while reader_threads() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(reader_threads(), 0, "reader threads must end once dropped");
}
