//! Fuzz target: MQTT framing and decoding of one direction of a stream, cut into arbitrary
//! chunks with gaps; every framed packet is decoded and converted as every output would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttscope::mqtt::framer::{FrameEvent, Framer};
use mqttscope::mqtt::packet::decode;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::session::convert::{malformed_info, packet_info, ConvertOptions};
use mqttscope_fuzz::{stream_input, Step};

/// An owned copy of a framer event, for the split-invariance check.
#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Packet(u64, Vec<u8>),
    Other(String),
}

/// The built-in catalogue, built once.
fn catalogue() -> &'static Catalogue {
    static CAT: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    CAT.get_or_init(Catalogue::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = stream_input(data) else {
        return;
    };
    let cat = catalogue();
    let opts = ConvertOptions {
        show_secrets: data.len() % 2 == 0,
        preview: 64,
        properties: true,
        raw: 4096,
    };
    let handle = |fe: FrameEvent<'_>, evs: &mut Vec<Ev>| match fe {
        FrameEvent::Packet(raw) => {
            assert_eq!(raw.bytes.len() as u64, raw.header.total_len());
            assert!(raw.bytes.len() <= input.max_packet, "packet over the cap");
            match decode(&raw, input.version) {
                Ok(p) => {
                    let info = packet_info(&raw, &p, input.version, cat, &opts);
                    assert!(info.raw.len() <= opts.raw);
                }
                Err(e) => {
                    let info = malformed_info(&raw, &e, Some(input.version), &opts);
                    assert!(info.malformed.is_some_and(|m| !m.is_empty()));
                }
            }
            evs.push(Ev::Packet(raw.offset, raw.bytes.to_vec()));
        }
        other => evs.push(Ev::Other(format!("{other:?}"))),
    };
    let mut chunked = Vec::new();
    let mut f = Framer::new(input.max_packet);
    if input.resync {
        f.resync();
    }
    let mut has_gap = false;
    for step in &input.steps {
        match *step {
            Step::Bytes(b) => f.feed(b, &mut |fe| handle(fe, &mut chunked)),
            Step::Gap(n) => {
                has_gap = true;
                f.gap(n);
            }
        }
        let _ = f.pending().to_string();
    }
    f.finish(&mut |fe| handle(fe, &mut chunked));
    assert_eq!(
        f.offset(),
        input.stream.len() as u64,
        "offset must count every byte"
    );
    if !has_gap {
        // Framing does not depend on how the stream was cut.
        let mut whole = Vec::new();
        let mut g = Framer::new(input.max_packet);
        if input.resync {
            g.resync();
        }
        g.feed(input.stream, &mut |fe| handle(fe, &mut whole));
        g.finish(&mut |fe| handle(fe, &mut whole));
        assert_eq!(chunked, whole, "chunking changed the framing");
    }
});
