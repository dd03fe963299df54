//! Drives capture -> net -> tcp -> session -> sinks, with the run's totals and filters.

use crate::capture::{CaptureError, Frame, FrameSource, PcapngWriter};
use crate::event::Event;
use crate::filter::Filter;
use crate::limits::Limits;
use crate::mqtt::reason::Catalogue;
use crate::net::{NetDecoder, NetOutcome};
use crate::report::{CaptureTotals, Totals};
use crate::session::pool::InfoPool;
use crate::session::{SessionConfig, Sessions};
use crate::sink::{Flow, Sink};
use crate::tcp::{Reassembler, StreamEvent};
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::sync::{mpsc, Arc};

mod staged;
mod stop_flag;

use stop_flag::StopFlag;

/// The layers below MQTT: link/IP decoding and TCP reassembly, with frame counts.
// Aligned to two cache lines: the reassembly thread writes it per frame while the session
// thread writes its neighbour in `Analyzer` per event (false sharing cost 5 % of the run).
#[repr(align(128))]
pub(crate) struct Lower {
    net: NetDecoder,
    tcp: Reassembler,
    frames: u64,
    bytes: u64,
}

impl Lower {
    /// Decodes and reassembles one frame, handing stream events to `out`.
    fn frame(&mut self, frame: &Frame<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        self.frames += 1;
        self.bytes += u64::from(frame.caplen);
        if let NetOutcome::Tcp(seg) = self.net.decode(frame) {
            self.tcp.segment(&seg, out);
        }
    }

    /// Ends the capture: gives up open holes and closes every connection.
    fn finish(&mut self, out: &mut dyn FnMut(StreamEvent<'_>)) {
        self.net.finish();
        self.tcp.finish(out);
    }
}

/// The analysis from frames to events, without I/O.
pub struct Analyzer {
    lower: Lower,
    sessions: Sessions,
}

impl Analyzer {
    /// An analyzer with these limits, session settings and catalogue.
    pub fn new(limits: &Limits, cfg: SessionConfig, catalogue: Arc<Catalogue>) -> Self {
        Analyzer {
            lower: Lower {
                net: NetDecoder::new(limits),
                tcp: Reassembler::new(limits, &cfg.ports),
                frames: 0,
                bytes: 0,
            },
            sessions: Sessions::new(cfg, catalogue),
        }
    }

    /// Analyses one frame.
    pub fn frame(&mut self, frame: &Frame<'_>, emit: &mut dyn FnMut(Event)) {
        let Analyzer { lower, sessions } = self;
        lower.frame(frame, &mut |se| sessions.on_stream(se, emit));
    }

    /// Ends the capture: gives up open holes and closes every connection.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Event)) {
        let Analyzer { lower, sessions } = self;
        lower.finish(&mut |se| sessions.on_stream(se, emit));
    }

    /// Statistics of the layers below MQTT.
    pub fn capture_totals(&self) -> CaptureTotals {
        let mut c = CaptureTotals {
            frames: self.lower.frames,
            bytes: self.lower.bytes,
            ..CaptureTotals::default()
        };
        let n = self.lower.net.stats();
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
        let t = self.lower.tcp.stats();
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

/// Options of one run (read per frame by the reading thread: kept off the lines of the
/// other thread's locals, like `Lower`).
#[repr(align(128))]
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
    let filter = std::mem::take(&mut opts.filter);
    let mut out = Output::new(sink, totals, filter);
    let errors = analyse_here(source, analyzer, &mut out, &mut opts);
    out.end(errors, analyzer, source)
}

/// The whole run on the calling thread: every event straight to `out`, reading stops once
/// the sink asks to. Used by [`run`], and by [`run_threaded`] when no thread can be started.
fn analyse_here(
    source: &mut dyn FrameSource,
    analyzer: &mut Analyzer,
    out: &mut Output<'_, '_>,
    opts: &mut RunOptions<'_>,
) -> Vec<CaptureError> {
    let stop = Cell::new(false);
    let mut emit = |ev: Event| {
        out.event(ev);
        stop.set(out.stop);
    };
    analyse_all(
        source,
        analyzer,
        opts,
        &mut |_| stop.get(),
        &mut emit,
        &mut || {},
    )
}

/// Events handed from the analysis thread to the output thread at once.
const BATCH: usize = 256;
/// Batches queued between the two threads: bounds the memory between them.
const BATCHES_IN_FLIGHT: usize = 8;

/// [`run`] on several threads: frames are read and analysed on worker threads while this
/// thread counts the totals and writes the outputs. For a file, one worker reads and
/// reassembles TCP and another runs the MQTT sessions; for live capture one worker does both.
/// For a sink that ignores single events (the summary) the worker stops at TCP reassembly and
/// this thread runs the MQTT sessions too. Events cross in capture order in bounded batches,
/// so the output is byte for byte that of [`run`] (event ids are given by the analysis, which
/// stays on one thread). With `flush_each_frame` (live capture), a frame's events are handed
/// over at once instead of waiting for a full batch, except for the summary, which shows
/// nothing before the end.
pub fn run_threaded(
    source: &mut (dyn FrameSource + Send),
    analyzer: &mut Analyzer,
    sink: &mut dyn Sink,
    totals: &mut Totals,
    mut opts: RunOptions<'_>,
    flush_each_frame: bool,
) -> RunEnd {
    let filter = std::mem::take(&mut opts.filter);
    let staged = sink.ignores_events();
    let mut out = Output::new(sink, totals, filter);
    if staged {
        // The sink only reads the totals: the sessions move to this thread, next to the
        // totals, so the two threads get similar shares of the work.
        let Analyzer { lower, sessions } = &mut *analyzer;
        let stop = Cell::new(false);
        let mut emit = |ev: Event| {
            out.event(ev);
            stop.set(out.stop);
        };
        let r = staged::run_staged(
            source,
            lower,
            sessions,
            &mut emit,
            &|| stop.get(),
            &mut opts,
        );
        let errors = match r {
            Ok(errors) => errors,
            // No thread could be started: do the work on this one.
            Err(_) => analyse_here(source, analyzer, &mut out, &mut opts),
        };
        return out.end(errors, analyzer, source);
    }
    // Three stages for files (reading and TCP reassembly | MQTT sessions | totals and output:
    // 12 % faster than two for JSON Lines on two cores); live capture keeps two, so that a
    // frame's events are handed over at once.
    let three_stages = !flush_each_frame;
    let stop = StopFlag::default();
    // Returned batches give their packet boxes back to the sessions (see session::pool).
    let pool = InfoPool::default();
    analyzer.sessions.set_info_pool(pool.clone());
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Event>>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<Event>>();
    let errors = std::thread::scope(|scope| {
        let (stop_w, src, an, op) = (&stop, &mut *source, &mut *analyzer, &mut opts);
        let worker = std::thread::Builder::new()
            .name("analysis".into())
            .spawn_scoped(scope, move || {
                let batch = RefCell::new(Vec::with_capacity(BATCH));
                let hand_over = || {
                    let mut b = batch.borrow_mut();
                    if b.is_empty() {
                        return;
                    }
                    // Returned batches still hold their events: they are dropped here, on
                    // the thread that allocated them (a free from another thread costs the
                    // allocator far more), and their packet boxes go back to the pool.
                    let mut next = empty_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    pool.recycle(&mut next);
                    if full_tx.send(std::mem::replace(&mut *b, next)).is_err() {
                        stop_w.raise();
                    }
                };
                let mut emit = |ev: Event| {
                    let full = {
                        let mut b = batch.borrow_mut();
                        b.push(ev);
                        b.len() >= BATCH
                    };
                    if full {
                        hand_over();
                    }
                };
                let errors = if three_stages {
                    // Reading and TCP reassembly move to a third thread.
                    let Analyzer { lower, sessions } = &mut *an;
                    let stopped = || stop_w.raised();
                    staged::run_staged(&mut *src, lower, sessions, &mut emit, &stopped, op).ok()
                } else {
                    None
                };
                let errors = errors.unwrap_or_else(|| {
                    analyse_all(
                        src,
                        an,
                        op,
                        &mut |_| stop_w.raised(),
                        &mut emit,
                        &mut || {
                            if flush_each_frame {
                                hand_over();
                            }
                        },
                    )
                });
                hand_over();
                errors
            });
        let worker = match worker {
            Ok(w) => w,
            Err(e) => return Err(e),
        };
        for batch in full_rx.iter() {
            for ev in &batch {
                out.event_ref(ev);
            }
            if out.stop {
                stop.raise();
            }
            let _ = empty_tx.send(batch);
        }
        match worker.join() {
            Ok(errors) => Ok(errors),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let errors = match errors {
        Ok(e) => e,
        // No thread could be started: do the work on this one.
        Err(_) => analyse_here(source, analyzer, &mut out, &mut opts),
    };
    out.end(errors, analyzer, source)
}

/// The output side of a run: totals, filter and sink, with the sink's wish to stop.
struct Output<'s, 't> {
    sink: &'s mut dyn Sink,
    totals: &'t mut Totals,
    filter: Filter,
    stop: bool,
    output_error: Option<io::Error>,
}

impl<'s, 't> Output<'s, 't> {
    fn new(sink: &'s mut dyn Sink, totals: &'t mut Totals, filter: Filter) -> Self {
        Output {
            sink,
            totals,
            filter,
            stop: false,
            output_error: None,
        }
    }

    /// Counts an event and, unless stopped or filtered out, writes it.
    fn event(&mut self, ev: Event) {
        self.event_ref(&ev);
    }

    /// [`Output::event`] on a borrowed event.
    fn event_ref(&mut self, ev: &Event) {
        self.totals.add(ev);
        if self.stop || !self.filter.matches(ev) {
            return;
        }
        match self.sink.event(ev) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => self.stop = true,
            Err(e) => {
                self.stop = true;
                self.output_error = Some(e);
            }
        }
    }

    /// Fills in the capture totals and says how the run ended.
    fn end(
        self,
        errors: Vec<CaptureError>,
        analyzer: &Analyzer,
        source: &dyn FrameSource,
    ) -> RunEnd {
        let mut ct = analyzer.capture_totals();
        let s = source.stats();
        ct.kernel_drops = s.kernel_drops;
        ct.filtered = s.filtered;
        ct.damage = errors.first().map(|e| e.to_string());
        self.totals.capture = ct;
        RunEnd {
            errors,
            stopped_by_sink: self.stop && self.output_error.is_none(),
            output_error: self.output_error,
        }
    }
}

/// The reading loop shared by [`run`] and [`run_threaded`]: frames to `on_frame` until the
/// end, the frame count, an error that cannot be skipped, or `stop` (asked after each frame,
/// with the source for its counters); then `on_end`.
pub(crate) fn read_all(
    source: &mut dyn FrameSource,
    opts: &mut RunOptions<'_>,
    stop: &mut dyn FnMut(&dyn FrameSource) -> bool,
    on_frame: &mut dyn FnMut(&Frame<'_>),
    on_end: &mut dyn FnMut(),
) -> Vec<CaptureError> {
    let mut errors = Vec::new();
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
                        errors.push(CaptureError::Io {
                            path: "-w output".into(),
                            source: e,
                        });
                        break;
                    }
                }
                on_frame(&frame);
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
                errors.push(e);
                if !(opts.keep_going && resumable) {
                    break;
                }
            }
        }
        if stop(&*source) {
            break;
        }
    }
    on_end();
    errors
}

/// [`read_all`] through the whole analyzer, events to `emit`, `frame_done` after each frame.
pub(crate) fn analyse_all(
    source: &mut dyn FrameSource,
    analyzer: &mut Analyzer,
    opts: &mut RunOptions<'_>,
    stop: &mut dyn FnMut(&dyn FrameSource) -> bool,
    emit: &mut dyn FnMut(Event),
    frame_done: &mut dyn FnMut(),
) -> Vec<CaptureError> {
    let an = RefCell::new(analyzer);
    let emit = RefCell::new(emit);
    read_all(
        source,
        opts,
        stop,
        &mut |frame| {
            an.borrow_mut().frame(frame, &mut *emit.borrow_mut());
            frame_done();
        },
        &mut || an.borrow_mut().finish(&mut *emit.borrow_mut()),
    )
}
