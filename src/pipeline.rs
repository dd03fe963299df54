//! Drives capture -> net -> tcp -> session -> sinks, with the run's totals and filters.

use crate::capture::{CaptureError, Frame, FrameSource, PcapngWriter};
use crate::event::Event;
use crate::filter::Filter;
use crate::limits::Limits;
use crate::mqtt::reason::Catalogue;
use crate::net::{NetDecoder, NetOutcome};
use crate::report::{CaptureTotals, Totals};
use crate::session::{SessionConfig, Sessions};
use crate::sink::{Flow, Sink};
use crate::tcp::Reassembler;
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::sync::Arc;

/// The analysis from frames to events, without I/O.
pub struct Analyzer {
    net: NetDecoder,
    tcp: Reassembler,
    sessions: Sessions,
    frames: u64,
    bytes: u64,
}

impl Analyzer {
    /// An analyzer with these limits, session settings and catalogue.
    pub fn new(limits: &Limits, cfg: SessionConfig, catalogue: Arc<Catalogue>) -> Self {
        Analyzer {
            net: NetDecoder::new(limits),
            tcp: Reassembler::new(limits, &cfg.ports),
            sessions: Sessions::new(cfg, catalogue),
            frames: 0,
            bytes: 0,
        }
    }

    /// Analyses one frame.
    pub fn frame(&mut self, frame: &Frame<'_>, emit: &mut dyn FnMut(Event)) {
        self.frames += 1;
        self.bytes += u64::from(frame.caplen);
        let Analyzer {
            net, tcp, sessions, ..
        } = self;
        if let NetOutcome::Tcp(seg) = net.decode(frame) {
            tcp.segment(&seg, &mut |se| sessions.on_stream(se, emit));
        }
    }

    /// Ends the capture: gives up open holes and closes every connection.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Event)) {
        self.net.finish();
        let Analyzer { tcp, sessions, .. } = self;
        tcp.finish(&mut |se| sessions.on_stream(se, emit));
    }

    /// Statistics of the layers below MQTT.
    pub fn capture_totals(&self) -> CaptureTotals {
        let mut c = CaptureTotals {
            frames: self.frames,
            bytes: self.bytes,
            ..CaptureTotals::default()
        };
        let n = self.net.stats();
        for (lt, count) in n.link_frames() {
            c.link_types.insert(lt.to_string(), count);
        }
        for (lt, count) in &n.unsupported_link {
            c.not_tcp
                .insert(format!("unsupported link type {lt}"), *count);
        }
        for (what, count) in &n.non_ip {
            c.not_tcp.insert(what.to_string(), *count);
        }
        for (proto, count) in n.non_tcp_protocols() {
            let name = match proto {
                1 => "ICMP".to_string(),
                17 => "UDP".to_string(),
                58 => "ICMPv6".to_string(),
                p => format!("IP protocol {p}"),
            };
            c.not_tcp.insert(name, count);
        }
        if n.malformed > 0 {
            c.not_tcp
                .insert("malformed link/IP/TCP headers".into(), n.malformed);
        }
        let f = &n.frag;
        let frag_caps = f.dropped_by_cap + f.sets_evicted;
        if frag_caps > 0 {
            c.caps_hit.insert("IP fragment buffer".into(), frag_caps);
        }
        let t = self.tcp.stats();
        c.tcp_connections = t.opened;
        for (name, v) in [
            ("TCP bytes buffered per direction", t.caps.buffer),
            ("TCP holes per direction", t.caps.holes),
            ("TCP connections tracked", t.caps.flows),
        ] {
            if v > 0 {
                c.caps_hit.insert(name.into(), v);
            }
        }
        for (name, v) in [
            (
                "memory budget: TCP reassembly (--memory-budget)",
                t.caps.budget,
            ),
            (
                "memory budget: MQTT framers and in-flight tables (--memory-budget)",
                self.sessions.budget_hits(),
            ),
        ] {
            if v > 0 {
                c.caps_hit.insert(name.into(), v);
            }
        }
        c.mqtt_connections = self.sessions.mqtt_connections();
        c
    }
}

/// How a run ends.
#[derive(Debug, Default)]
pub struct RunEnd {
    /// The damage or read error that stopped (or, with keep-going, interrupted) reading.
    pub errors: Vec<CaptureError>,
    /// A sink asked to stop (closed pipe).
    pub stopped_by_sink: bool,
    /// An output write error.
    pub output_error: Option<io::Error>,
}

/// Options of one run.
pub struct RunOptions<'w> {
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Go on after resumable damage.
    pub keep_going: bool,
    /// Save frames here as they are read.
    pub writer: Option<&'w mut PcapngWriter<Box<dyn Write + Send>>>,
    /// Only matching events reach the sink (totals see all).
    pub filter: Filter,
}

/// Reads every frame of `source` through `analyzer` into `sink`, counting into `totals`.
pub fn run(
    source: &mut dyn FrameSource,
    analyzer: &mut Analyzer,
    sink: &mut dyn Sink,
    totals: &mut Totals,
    mut opts: RunOptions<'_>,
) -> RunEnd {
    let mut end = RunEnd::default();
    let stop = Cell::new(false);
    let output_error = RefCell::new(None);
    let filter = std::mem::take(&mut opts.filter);
    let mut emit = |ev: Event| {
        totals.add(&ev);
        if stop.get() || !filter.matches(&ev) {
            return;
        }
        match sink.event(&ev) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => stop.set(true),
            Err(e) => {
                stop.set(true);
                *output_error.borrow_mut() = Some(e);
            }
        }
    };
    let mut read = 0u64;
    loop {
        if opts.count.is_some_and(|c| read >= c) {
            break;
        }
        match source.next_frame() {
            Ok(Some(frame)) => {
                read += 1;
                if let Some(w) = opts.writer.as_deref_mut() {
                    if let Err(e) = w.write_frame(&frame) {
                        end.errors.push(CaptureError::Io {
                            path: "-w output".into(),
                            source: e,
                        });
                        break;
                    }
                }
                analyzer.frame(&frame, &mut emit);
            }
            Ok(None) => break,
            Err(e) => {
                let resumable = matches!(
                    e,
                    CaptureError::Damaged {
                        resumable: true,
                        ..
                    }
                );
                end.errors.push(e);
                if !(opts.keep_going && resumable) {
                    break;
                }
            }
        }
        if stop.get() {
            break;
        }
    }
    analyzer.finish(&mut emit);
    end.output_error = output_error.into_inner();
    end.stopped_by_sink = stop.get() && end.output_error.is_none();
    let mut ct = analyzer.capture_totals();
    let s = source.stats();
    ct.kernel_drops = s.kernel_drops;
    ct.filtered = s.filtered;
    ct.damage = end.errors.first().map(|e| e.to_string());
    totals.capture = ct;
    end
}
