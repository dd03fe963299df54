//! Fuzz target: the whole pipeline (capture file -> link/IP -> TCP -> MQTT -> session -> sink)
//! on arbitrary capture-file bytes, with and without --keep-going.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttscope::capture::{open_reader, FileOptions};
use mqttscope::cli::TimeFormat;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::pipeline::{run, Analyzer, RunOptions};
use mqttscope::report::Totals;
use mqttscope::session::convert::ConvertOptions;
use mqttscope::session::SessionConfig;
use mqttscope::sink::jsonl::JsonlSink;
use mqttscope::sink::text::TextSink;
use mqttscope::sink::Sink;
use mqttscope_fuzz::small_limits;
use std::io::Cursor;
use std::sync::Arc;

/// The built-in catalogue, built once.
fn catalogue() -> &'static Arc<Catalogue> {
    static CAT: std::sync::OnceLock<Arc<Catalogue>> = std::sync::OnceLock::new();
    CAT.get_or_init(|| Arc::new(Catalogue::builtin()))
}

fuzz_target!(|data: &[u8]| {
    let keep_going = data.len() % 2 == 1;
    let opts = FileOptions {
        keep_going,
        buffer_size: 4096,
        ..FileOptions::default()
    };
    let Ok(mut src) = open_reader(
        Box::new(Cursor::new(data.to_vec())),
        "fuzz",
        Some(data.len() as u64),
        &opts,
    ) else {
        return;
    };
    let cat = Arc::clone(catalogue());
    let limits = small_limits();
    let cfg = SessionConfig {
        convert: ConvertOptions {
            show_secrets: false,
            preview: 64,
            properties: true,
            raw: 4096,
        },
        max_packet: limits.max_packet,
        max_inflight: limits.max_inflight_per_conn,
        ..SessionConfig::default()
    };
    let mut an = Analyzer::new(&limits, cfg, Arc::clone(&cat));
    let mut sink: Box<dyn Sink> = if data.len() % 4 < 2 {
        Box::new(JsonlSink::new(std::io::sink(), cat))
    } else {
        Box::new(TextSink::new(std::io::sink(), cat, true, TimeFormat::Delta))
    };
    let mut totals = Totals::default();
    let end = run(
        &mut src,
        &mut an,
        sink.as_mut(),
        &mut totals,
        RunOptions {
            count: None,
            keep_going,
            writer: None,
            filter: Default::default(),
        },
    );
    let _ = sink.finish(&totals);
    for e in &end.errors {
        let _ = e.to_string();
    }
});
