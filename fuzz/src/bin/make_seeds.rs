//! Writes the seed corpora of the three fuzz targets from the capture files under captures/:
//! `make_seeds CAPTURES_DIR CORPUS_DIR` (see fuzz/README.md).

use mqttscope::capture::{open_file, FileOptions, FrameSource};
use mqttscope::limits::Limits;
use mqttscope::net::{NetDecoder, NetOutcome, TcpFlags};
use mqttscope::tcp::{Dir, Reassembler, StreamEvent};
use mqttscope_fuzz::{encode_segment, SegSpec};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Largest seed written; bigger inputs are cut (a cut capture is a fine seed too).
const MAX_SEED: usize = 64 << 10;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        {
            out.push(p);
        }
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let _ = std::fs::create_dir_all(dir);
    let cut = &bytes[..bytes.len().min(MAX_SEED)];
    if let Err(e) = std::fs::write(dir.join(name), cut) {
        eprintln!("make_seeds: cannot write {name}: {e}");
    }
}

fn seeds_of(path: &Path, corpus: &Path) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Ok(bytes) = std::fs::read(path) {
        write(&corpus.join("capture_file"), &name, &bytes);
    }
    let Ok(mut src) = open_file(&path.to_string_lossy(), &FileOptions::default()) else {
        return;
    };
    let limits = Limits::default();
    let mut net = NetDecoder::new(&limits);
    let mut tcp = Reassembler::new(&limits, &[1883]);
    let mut conns: HashMap<(SocketAddr, SocketAddr), u8> = HashMap::new();
    let mut segs = Vec::new();
    let mut streams: HashMap<(u64, Dir), Vec<u8>> = HashMap::new();
    let mut last_secs = None;
    while let Ok(Some(frame)) = src.next_frame() {
        if let NetOutcome::Tcp(seg) = net.decode(&frame) {
            let key = if seg.src <= seg.dst {
                (seg.src, seg.dst)
            } else {
                (seg.dst, seg.src)
            };
            let n = conns.len() as u8;
            let conn = *conns.entry(key).or_insert(n);
            let client_first = seg.flags.has(TcpFlags::SYN) && !seg.flags.has(TcpFlags::ACK);
            let to_client = if client_first {
                false
            } else {
                seg.src.port() == 1883 || seg.src.port() == 8883
            };
            let secs = seg.ts.secs();
            let dt = last_secs.map_or(0, |l: i64| (secs - l).clamp(0, 15) as u8);
            last_secs = Some(secs);
            encode_segment(
                &mut segs,
                &SegSpec {
                    flags: seg.flags.0,
                    to_client,
                    conn: conn & 7,
                    dt_secs: dt,
                    seq: seg.seq,
                    ack: seg.ack,
                    payload: seg.payload,
                    missing: seg.missing.min(255) as u8,
                },
            );
            tcp.segment(&seg, &mut |e| {
                if let StreamEvent::Data {
                    conn, dir, bytes, ..
                } = e
                {
                    streams.entry((conn.0, dir)).or_default().extend(bytes);
                }
            });
        }
    }
    if !segs.is_empty() {
        write(&corpus.join("tcp_reassembler"), &name, &segs);
    }
    let mut keys: Vec<_> = streams.keys().copied().collect();
    keys.sort();
    for (i, k) in keys.iter().enumerate().take(8) {
        if let Some(bytes) = streams.get(k) {
            // Version 5, cap 16 << 10 bytes, in one chunk; then version 3.1.1 in small chunks.
            for (b0, b1) in [(2u8 | (10 << 3), 0u8), (1 | (12 << 3), 0x35)] {
                let mut seed = vec![b0, b1];
                seed.extend_from_slice(bytes);
                write(
                    &corpus.join("mqtt_stream"),
                    &format!("{name}-{i}-{}-{b1}", k.1.as_str()),
                    &seed,
                );
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cap_dir), Some(corpus)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: make_seeds CAPTURES_DIR CORPUS_DIR");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    captures(Path::new(cap_dir), &mut files);
    for f in &files {
        seeds_of(f, Path::new(corpus));
    }
    println!("make_seeds: {} captures read", files.len());
}
