//! `--threads`: the two-thread run writes exactly the bytes of the single-threaded run (event
//! ids and order included), on the corpus and on generated captures with many connections.

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

use mqttscope::capture::{open_reader, FileOptions};
use mqttscope::event::Event;
use mqttscope::limits::Limits;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::pipeline::{run, run_threaded, Analyzer, RunOptions};
use mqttscope::report::Totals;
use mqttscope::session::SessionConfig;
use mqttscope::sink::jsonl::JsonlSink;
use mqttscope::sink::summary::SummarySink;
use mqttscope::sink::{Flow, Sink};
use std::io::{self, Cursor};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Single,
    Threaded { flush_each_frame: bool },
}

fn analyse(bytes: &[u8], mode: Mode, sink: &mut dyn Sink) -> Totals {
    let mut src = open_reader(
        Box::new(Cursor::new(bytes.to_vec())),
        "t",
        None,
        &FileOptions::default(),
    )
    .expect("capture opens");
    let cfg = SessionConfig {
        ports: vec![1883, 1884],
        ..SessionConfig::default()
    };
    let cat = Arc::new(Catalogue::builtin());
    let mut an = Analyzer::new(&Limits::default(), cfg, cat);
    let mut totals = Totals::default();
    let opts = RunOptions {
        count: None,
        keep_going: true,
        writer: None,
        filter: Default::default(),
    };
    let end = match mode {
        Mode::Single => run(&mut src, &mut an, sink, &mut totals, opts),
        Mode::Threaded { flush_each_frame } => {
            run_threaded(&mut src, &mut an, sink, &mut totals, opts, flush_each_frame)
        }
    };
    if !end.stopped_by_sink {
        sink.finish(&totals).expect("write to memory");
    }
    totals
}

fn jsonl(bytes: &[u8], mode: Mode) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut sink = JsonlSink::new(&mut out, Arc::new(Catalogue::builtin()));
        analyse(bytes, mode, &mut sink);
    }
    out
}

/// The summary output: with two threads it takes the split where the sessions run next to
/// the totals (the sink ignores single events).
fn summary(bytes: &[u8], mode: Mode) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut sink = SummarySink::new(&mut out, Arc::new(Catalogue::builtin()));
        assert!(sink.ignores_events());
        analyse(bytes, mode, &mut sink);
    }
    out
}

fn generated(seed: u64, size: u64, concurrency: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let o = gen::GenOptions {
        target_bytes: size,
        seed,
        concurrency,
    };
    gen::generate(&mut v, &o).expect("generate");
    v
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["captures", "captures/crafted", "captures/public"] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                if let Ok(b) = std::fs::read(&p) {
                    out.push((p.display().to_string(), b));
                }
            }
        }
    }
    out
}

#[test]
fn threaded_jsonl_is_byte_identical_on_generated_captures() {
    for (seed, size, conc) in [(1, 3 << 20, 200), (2, 1 << 20, 8), (3, 2 << 20, 64)] {
        let cap = generated(seed, size, conc);
        let one = jsonl(&cap, Mode::Single);
        assert!(one.len() > 100_000, "seed {seed}: real output");
        for flush_each_frame in [false, true] {
            let two = jsonl(&cap, Mode::Threaded { flush_each_frame });
            assert!(
                one == two,
                "seed {seed}, flush {flush_each_frame}: outputs differ"
            );
        }
    }
}

#[test]
fn threaded_jsonl_is_byte_identical_on_the_corpus() {
    let caps = corpus();
    assert!(caps.len() > 10, "the corpus is found");
    for (name, bytes) in caps {
        let one = jsonl(&bytes, Mode::Single);
        let two = jsonl(
            &bytes,
            Mode::Threaded {
                flush_each_frame: false,
            },
        );
        assert!(one == two, "{name}: outputs differ");
    }
}

#[test]
fn threaded_summary_is_byte_identical_on_generated_captures_and_the_corpus() {
    let mut caps = corpus();
    for (seed, size, conc) in [(4, 3 << 20, 200), (5, 1 << 20, 8)] {
        caps.push((format!("seed {seed}"), generated(seed, size, conc)));
    }
    for (name, bytes) in caps {
        let one = summary(&bytes, Mode::Single);
        assert!(one.len() > 100, "{name}: real output");
        for flush_each_frame in [false, true] {
            let two = summary(&bytes, Mode::Threaded { flush_each_frame });
            assert!(
                one == two,
                "{name}, flush {flush_each_frame}: summaries differ:\n{}\n---\n{}",
                String::from_utf8_lossy(&one),
                String::from_utf8_lossy(&two)
            );
        }
    }
}

/// Takes `limit` events, then asks to stop.
struct StopAfter {
    seen: Vec<u64>,
    limit: usize,
}

impl Sink for StopAfter {
    fn event(&mut self, ev: &Event) -> io::Result<Flow> {
        self.seen.push(ev.id);
        Ok(if self.seen.len() >= self.limit {
            Flow::Stop
        } else {
            Flow::Continue
        })
    }
    fn finish(&mut self, _: &Totals) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_sink_that_stops_sees_the_same_events_in_both_modes() {
    let cap = generated(5, 1 << 20, 32);
    let mut a = StopAfter {
        seen: Vec::new(),
        limit: 700,
    };
    let mut b = StopAfter {
        seen: Vec::new(),
        limit: 700,
    };
    analyse(&cap, Mode::Single, &mut a);
    analyse(
        &cap,
        Mode::Threaded {
            flush_each_frame: false,
        },
        &mut b,
    );
    assert_eq!(a.seen.len(), 700);
    assert_eq!(a.seen, b.seen);
    assert_eq!(a.seen, (0..700).collect::<Vec<u64>>());
}

#[test]
fn thread_count_rejects_zero_and_defaults_to_the_cores() {
    use mqttscope::cli::RunArgs;
    let mut a = RunArgs {
        threads: Some(0),
        ..RunArgs::default()
    };
    let e = mqttscope::app::thread_count(&a).unwrap_err();
    assert!(e.to_string().contains("--threads 0"), "{e}");
    a.threads = Some(3);
    assert_eq!(mqttscope::app::thread_count(&a).unwrap(), 3);
    a.threads = None;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(mqttscope::app::thread_count(&a).unwrap(), cores);
}
