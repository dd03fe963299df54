//! Micro-benchmarks of the hot path on a generated capture (the same generator as
//! `scripts/bench`): file reading, net + TCP reassembly, MQTT framing + decoding, the whole
//! analyzer, and each output writer. Run with `cargo bench --bench pipeline`.

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

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mqttscope::capture::{open_reader, FileOptions, Frame, FrameSource, LinkType, Ts};
use mqttscope::cli::TimeFormat;
use mqttscope::event::Event;
use mqttscope::limits::Limits;
use mqttscope::mqtt::framer::{FrameEvent, Framer};
use mqttscope::mqtt::packet::decode;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::mqtt::types::Version;
use mqttscope::mqtt::version::infer;
use mqttscope::net::{NetDecoder, NetOutcome};
use mqttscope::pipeline::Analyzer;
use mqttscope::report::Totals;
use mqttscope::session::SessionConfig;
use mqttscope::sink::Sink;
use mqttscope::sink::{csv::CsvSink, jsonl::JsonlSink, summary::SummarySink, text::TextSink};
use mqttscope::tcp::{ConnId, Dir, Reassembler, StreamEvent};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::io;
use std::sync::Arc;

/// Size of the generated capture the benchmarks run on.
const CAPTURE_BYTES: u64 = 8 << 20;

struct OwnedFrame {
    ts: Ts,
    frame_no: u64,
    data: Vec<u8>,
}

impl OwnedFrame {
    fn frame(&self) -> Frame<'_> {
        Frame {
            ts: self.ts,
            linktype: LinkType::ETHERNET,
            frame_no: self.frame_no,
            caplen: self.data.len() as u32,
            orig_len: self.data.len() as u32,
            data: &self.data,
            owner: None,
        }
    }
}

fn capture() -> Vec<u8> {
    let mut v = Vec::new();
    let o = gen::GenOptions {
        target_bytes: CAPTURE_BYTES,
        seed: 1,
        concurrency: 256,
    };
    gen::generate(&mut v, &o).expect("generate into memory");
    v
}

fn frames(cap: &[u8]) -> Vec<OwnedFrame> {
    let mut src = open_reader(
        Box::new(io::Cursor::new(cap.to_vec())),
        "bench",
        None,
        &FileOptions::default(),
    )
    .expect("open");
    let mut out = Vec::new();
    while let Some(f) = src.next_frame().expect("read") {
        out.push(OwnedFrame {
            ts: f.ts,
            frame_no: f.frame_no,
            data: f.data.to_vec(),
        });
    }
    out
}

fn config() -> SessionConfig {
    SessionConfig {
        ports: vec![1883, 1884],
        ..SessionConfig::default()
    }
}

/// Every direction's reassembled bytes with the connection's version.
fn streams(fr: &[OwnedFrame]) -> Vec<(Version, Vec<u8>)> {
    let limits = Limits::default();
    let mut net = NetDecoder::new(&limits);
    let mut tcp = Reassembler::new(&limits, &[1883, 1884]);
    let mut map: BTreeMap<(ConnId, Dir), Vec<u8>> = BTreeMap::new();
    let mut keep = |se: StreamEvent<'_>| {
        if let StreamEvent::Data {
            conn, dir, bytes, ..
        } = se
        {
            map.entry((conn, dir)).or_default().extend_from_slice(bytes);
        }
    };
    for f in fr {
        if let NetOutcome::Tcp(seg) = net.decode(&f.frame()) {
            tcp.segment(&seg, &mut keep);
        }
    }
    tcp.finish(&mut keep);
    let mut versions: BTreeMap<ConnId, Version> = BTreeMap::new();
    for ((conn, dir), bytes) in &map {
        if *dir == Dir::ToServer {
            let mut fr = Framer::new(1 << 20);
            fr.feed(bytes, &mut |fe| {
                if let FrameEvent::Packet(raw) = fe {
                    if let Some((v, _)) = infer(&raw) {
                        versions.entry(*conn).or_insert(v);
                    }
                }
            });
        }
    }
    map.into_iter()
        .map(|((c, _), b)| (versions.get(&c).copied().unwrap_or(Version::V3_1_1), b))
        .collect()
}

fn events(fr: &[OwnedFrame]) -> Vec<Event> {
    let mut an = Analyzer::new(&Limits::default(), config(), Arc::new(Catalogue::builtin()));
    let mut out = Vec::new();
    for f in fr {
        an.frame(&f.frame(), &mut |e| out.push(e));
    }
    an.finish(&mut |e| out.push(e));
    out
}

fn benches(c: &mut Criterion) {
    let cap = capture();
    let fr = frames(&cap);
    let st = streams(&fr);
    let evs = events(&fr);
    let stream_bytes: u64 = st.iter().map(|(_, b)| b.len() as u64).sum();
    let cat = Arc::new(Catalogue::builtin());

    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Bytes(cap.len() as u64));
    g.bench_function("read pcap", |b| {
        b.iter(|| {
            let mut src = open_reader(
                Box::new(io::Cursor::new(cap.clone())),
                "bench",
                None,
                &FileOptions::default(),
            )
            .expect("open");
            let mut n = 0u64;
            while let Ok(Some(f)) = src.next_frame() {
                n += u64::from(f.caplen);
            }
            black_box(n)
        })
    });
    g.bench_function("net + tcp reassembly", |b| {
        b.iter(|| {
            let limits = Limits::default();
            let mut net = NetDecoder::new(&limits);
            let mut tcp = Reassembler::new(&limits, &[1883, 1884]);
            let mut n = 0usize;
            let mut count = |se: StreamEvent<'_>| {
                if let StreamEvent::Data { bytes, .. } = se {
                    n += bytes.len();
                }
            };
            for f in &fr {
                if let NetOutcome::Tcp(seg) = net.decode(&f.frame()) {
                    tcp.segment(&seg, &mut count);
                }
            }
            tcp.finish(&mut count);
            black_box(n)
        })
    });
    g.bench_function("analyzer (frames to events)", |b| {
        b.iter(|| {
            let mut an = Analyzer::new(&Limits::default(), config(), Arc::clone(&cat));
            let mut n = 0u64;
            for f in &fr {
                an.frame(&f.frame(), &mut |e| n += e.id);
            }
            an.finish(&mut |e| n += e.id);
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("mqtt");
    g.throughput(Throughput::Bytes(stream_bytes));
    g.bench_function("frame", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (_, bytes) in &st {
                let mut fr = Framer::new(1 << 20);
                fr.feed(bytes, &mut |fe| {
                    n += matches!(fe, FrameEvent::Packet(_)) as usize
                });
            }
            black_box(n)
        })
    });
    g.bench_function("frame + decode", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (v, bytes) in &st {
                let mut fr = Framer::new(1 << 20);
                fr.feed(bytes, &mut |fe| {
                    if let FrameEvent::Packet(raw) = fe {
                        n += decode(&raw, *v).is_ok() as usize;
                    }
                });
            }
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("sinks");
    g.throughput(Throughput::Elements(evs.len() as u64));
    let mut run_sink = |name: &str, make: &dyn Fn() -> Box<dyn Sink>| {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = make();
                let mut t = Totals::default();
                for e in &evs {
                    t.add(e);
                    let _ = s.event(e);
                }
                s.finish(&t).expect("write to io::sink");
            })
        });
    };
    run_sink("totals only", &|| Box::new(NullSink));
    run_sink("summary", &|| {
        Box::new(SummarySink::new(io::sink(), Arc::clone(&cat)))
    });
    run_sink("jsonl", &|| {
        Box::new(JsonlSink::new(io::sink(), Arc::clone(&cat)))
    });
    run_sink("csv", &|| {
        Box::new(CsvSink::new(io::sink(), Arc::clone(&cat)))
    });
    run_sink("text", &|| {
        Box::new(TextSink::new(
            io::sink(),
            Arc::clone(&cat),
            false,
            TimeFormat::Abs,
        ))
    });
    g.finish();
}

/// Counts nothing: isolates the cost of `Totals::add`.
struct NullSink;

impl Sink for NullSink {
    fn event(&mut self, _: &Event) -> io::Result<mqttscope::sink::Flow> {
        Ok(mqttscope::sink::Flow::Continue)
    }
    fn finish(&mut self, _: &Totals) -> io::Result<()> {
        Ok(())
    }
}

criterion_group! {
    name = pipeline;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(pipeline);
