//! The hand-written JSON Lines writers give the same bytes as serde_json on every packet (and
//! every other event) of every capture in the corpus (and on a generated benchmark capture).

#[allow(dead_code, unused_imports)]
#[path = "../src/bin/mqttscope-gencap/gen.rs"]
mod gen;
#[allow(dead_code, unused_imports)]
#[path = "../src/bin/mqttscope-gencap/mqtt.rs"]
mod mqtt;
#[allow(dead_code, unused_imports)]
#[path = "../src/bin/mqttscope-gencap/script.rs"]
mod script;
#[allow(dead_code, unused_imports)]
#[path = "../src/bin/mqttscope-gencap/tcp.rs"]
mod tcp;

use mqttscope::capture::{open_reader, FileOptions, FrameSource};
use mqttscope::event::{Event, EventKind};
use mqttscope::limits::Limits;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::pipeline::Analyzer;
use mqttscope::session::SessionConfig;
use mqttscope::sink::jsonl::{other_json, packet_json};
use mqttscope::sink::jsonother::other_line;
use mqttscope::sink::jsonw::packet_line;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            out.push(p);
        }
    }
}

fn events(bytes: Vec<u8>) -> Vec<Event> {
    let Ok(mut src) = open_reader(
        Box::new(Cursor::new(bytes)),
        "t",
        None,
        &FileOptions::default(),
    ) else {
        return Vec::new();
    };
    let cfg = SessionConfig {
        ports: vec![1883, 1884],
        ..SessionConfig::default()
    };
    let mut an = Analyzer::new(&Limits::default(), cfg, Arc::new(Catalogue::builtin()));
    let mut evs = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        an.frame(&f, &mut |e| evs.push(e));
    }
    an.finish(&mut |e| evs.push(e));
    evs
}

#[test]
fn hand_written_packet_lines_equal_serde_json() {
    let mut files = Vec::new();
    captures(Path::new("captures"), &mut files);
    files.sort();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for f in &files {
        let mut b = Vec::new();
        if std::fs::File::open(f)
            .and_then(|mut h| h.read_to_end(&mut b))
            .is_ok()
        {
            inputs.push((f.display().to_string(), b));
        }
    }
    let mut generated = Vec::new();
    let o = gen::GenOptions {
        target_bytes: 1 << 20,
        seed: 11,
        concurrency: 16,
    };
    gen::generate(&mut generated, &o).unwrap();
    inputs.push(("generated".into(), generated));
    assert!(inputs.len() > 10, "the corpus is found");
    let cat = Catalogue::builtin();
    let mut packets = 0;
    let mut others = 0;
    for (name, bytes) in inputs {
        for ev in events(bytes) {
            let stream = ev.conn.stream();
            let EventKind::Packet(p) = &ev.kind else {
                let want = serde_json::to_string(&other_json(&ev, &stream)).unwrap();
                let mut got = Vec::new();
                other_line(&mut got, &ev, &stream);
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    want,
                    "{name} event {}",
                    ev.id
                );
                others += 1;
                continue;
            };
            let want = serde_json::to_string(&packet_json(&ev, p, &stream, &cat)).unwrap();
            let mut got = Vec::new();
            packet_line(&mut got, &ev, p, &stream, &cat);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                want,
                "{name} event {}",
                ev.id
            );
            packets += 1;
        }
    }
    assert!(packets > 1000, "{packets} packets compared");
    assert!(others > 100, "{others} other lines compared");
}

/// Lines gathered into batched writes are the same bytes, in the same order, as lines written
/// one at a time, whatever the batch size (a line longer than the batch, a batch boundary
/// inside the run, or one batch for the whole capture), and the summary line comes last.
#[test]
fn batched_lines_equal_lines_written_one_by_one() {
    use mqttscope::report::Totals;
    use mqttscope::sink::jsonl::JsonlSink;
    use mqttscope::sink::Sink;
    let mut files = Vec::new();
    captures(Path::new("captures"), &mut files);
    files.sort();
    let cat = Arc::new(Catalogue::builtin());
    let mut checked = 0;
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let evs = events(bytes);
        let mut totals = Totals::default();
        for e in &evs {
            totals.add(e);
        }
        let run = |sink: &mut dyn Sink| {
            for e in &evs {
                sink.event(e).expect("write to a Vec");
            }
            sink.finish(&totals).expect("write to a Vec");
        };
        let mut one = Vec::new();
        run(&mut JsonlSink::new(&mut one, Arc::clone(&cat)));
        for batch in [1, 700, 1 << 16, 1 << 30] {
            let mut many = Vec::new();
            run(&mut JsonlSink::batched(&mut many, Arc::clone(&cat), batch));
            assert_eq!(one, many, "{} with batches of {batch} bytes", f.display());
        }
        assert!(one.ends_with(b"\n") && one.starts_with(b"{\"kind\":\"header\""));
        checked += 1;
    }
    assert!(checked > 40, "only {checked} captures checked");
}
