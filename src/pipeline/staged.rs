//! The `--threads` split for sinks that ignore individual events (the summary): frames are
//! read, decoded and reassembled on a worker thread, while the MQTT sessions, the totals and
//! the sink run on the calling thread. Stream events cross in capture order in bounded
//! batches, so the sessions see exactly what they would on one thread and the output is byte
//! for byte the same. Bytes that lie in a mapped window of the capture file (in-order data of
//! a memory-mapped file: nearly all of it) cross without a copy, the batch holding the window;
//! the others (reassembled out-of-order data, defragmented packets, read-ahead input) are
//! copied into the batch.

use super::{read_all, Lower, Output, RunOptions};
use crate::capture::{Backing, CaptureError, FrameSource, Ts};
use crate::session::Sessions;
use crate::tcp::{ConnId, Dir, StreamEvent};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Stream events per batch.
const BATCH_EVENTS: usize = 1024;
/// Stream bytes (copied or referenced) after which a batch is handed over (a single event
/// may exceed it).
const BATCH_BYTES: usize = 256 << 10;
/// Batches queued between the two threads: bounds the memory between them.
const BATCHES_IN_FLIGHT: usize = 8;

/// A stream event whose bytes, if any, live in its batch or in a window the batch holds.
#[derive(Clone, Copy, Debug)]
enum Staged {
    /// Any event but data: it borrows nothing.
    Other(StreamEvent<'static>),
    /// Data whose bytes are `start..end` of window `window` of the batch, or of the batch's
    /// own bytes when `window` is None.
    Data {
        conn: ConnId,
        dir: Dir,
        ts: Ts,
        frame_no: u64,
        offset: u64,
        window: Option<u32>,
        start: usize,
        end: usize,
    },
}

/// Stream events handed from the reassembly thread to the session thread.
#[derive(Debug, Default)]
struct StreamBatch {
    events: Vec<Staged>,
    bytes: Vec<u8>,
    /// Mapped windows the events' bytes lie in, kept alive until the batch is replayed.
    windows: Vec<Backing>,
    /// Bytes of the events that lie in `windows`.
    referenced: usize,
}

impl StreamBatch {
    /// Appends one stream event: its bytes by reference when they lie in `mapped`, else
    /// copied.
    fn push(&mut self, se: StreamEvent<'_>, mapped: Option<&Backing>) {
        let staged = match se {
            StreamEvent::Data {
                conn,
                dir,
                ts,
                frame_no,
                offset,
                bytes,
            } => {
                let found = mapped.and_then(|m| Some((m, m.locate(bytes)?)));
                let (window, start, end) = match found {
                    Some((m, (start, end))) => {
                        if !self.windows.last().is_some_and(|w| w.same(m)) {
                            self.windows.push(m.clone());
                        }
                        self.referenced += end - start;
                        (Some(self.windows.len() as u32 - 1), start, end)
                    }
                    None => {
                        let start = self.bytes.len();
                        self.bytes.extend_from_slice(bytes);
                        (None, start, self.bytes.len())
                    }
                };
                Staged::Data {
                    conn,
                    dir,
                    ts,
                    frame_no,
                    offset,
                    window,
                    start,
                    end,
                }
            }
            StreamEvent::Open(info) => Staged::Other(StreamEvent::Open(info)),
            StreamEvent::Gap {
                conn,
                dir,
                ts,
                frame_no,
                offset,
                len,
                reason,
            } => Staged::Other(StreamEvent::Gap {
                conn,
                dir,
                ts,
                frame_no,
                offset,
                len,
                reason,
            }),
            StreamEvent::Anomaly {
                conn,
                dir,
                ts,
                frame_no,
                kind,
            } => Staged::Other(StreamEvent::Anomaly {
                conn,
                dir,
                ts,
                frame_no,
                kind,
            }),
            StreamEvent::Close {
                conn,
                ts,
                frame_no,
                reason,
            } => Staged::Other(StreamEvent::Close {
                conn,
                ts,
                frame_no,
                reason,
            }),
        };
        self.events.push(staged);
    }

    /// True when the batch should be handed over.
    fn full(&self) -> bool {
        // Referenced bytes count too: the windows they keep mapped are memory.
        self.events.len() >= BATCH_EVENTS || self.bytes.len() + self.referenced >= BATCH_BYTES
    }

    /// Hands every event, in order, to `f`.
    fn replay(&self, f: &mut dyn FnMut(StreamEvent<'_>)) {
        for s in &self.events {
            match *s {
                Staged::Other(se) => f(se),
                Staged::Data {
                    conn,
                    dir,
                    ts,
                    frame_no,
                    offset,
                    window,
                    start,
                    end,
                } => {
                    let from = match window {
                        Some(i) => self.windows.get(i as usize).map_or(&[][..], Backing::bytes),
                        None => &self.bytes,
                    };
                    f(StreamEvent::Data {
                        conn,
                        dir,
                        ts,
                        frame_no,
                        offset,
                        bytes: from.get(start..end).unwrap_or(&[]),
                    })
                }
            }
        }
    }

    fn clear(&mut self) {
        self.events.clear();
        self.bytes.clear();
        self.windows.clear();
        self.referenced = 0;
    }
}

/// Runs `source` through `lower` on a worker thread and the stream events through `sessions`
/// into `out` on this thread. Err when no thread could be started (nothing was read then).
/// Batches are handed over only when full (and at the end), live capture included: the sink
/// ignores single events, so handing each frame over at once would show nothing earlier and
/// cost a channel send (often a thread wake-up) per frame on the capture thread.
pub(super) fn run_staged(
    source: &mut (dyn FrameSource + Send),
    lower: &mut Lower,
    sessions: &mut Sessions,
    out: &mut Output<'_, '_>,
    opts: &mut RunOptions<'_>,
) -> std::io::Result<Vec<CaptureError>> {
    let stop = AtomicBool::new(false);
    let (full_tx, full_rx) = mpsc::sync_channel::<StreamBatch>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<StreamBatch>();
    std::thread::scope(|scope| {
        let stop_w = &stop;
        let worker = std::thread::Builder::new()
            .name("reassembly".into())
            .spawn_scoped(scope, move || {
                let batch = RefCell::new(StreamBatch::default());
                // The window the current frame's bytes come from (known after the previous
                // frame: it changes once per window, and a frame from a new window is copied).
                let mapped: RefCell<Option<Backing>> = RefCell::new(None);
                let hand_over = || {
                    let mut b = batch.borrow_mut();
                    if b.events.is_empty() {
                        return;
                    }
                    let mut next = empty_rx.try_recv().unwrap_or_default();
                    next.clear();
                    if full_tx.send(std::mem::replace(&mut *b, next)).is_err() {
                        stop_w.store(true, Ordering::Relaxed);
                    }
                };
                let push = |se: StreamEvent<'_>| {
                    let full = {
                        let mut b = batch.borrow_mut();
                        b.push(se, mapped.borrow().as_ref());
                        b.full()
                    };
                    if full {
                        hand_over();
                    }
                };
                let lower = RefCell::new(lower);
                let errors = read_all(
                    source,
                    opts,
                    &mut |src| {
                        let now = src.backing();
                        let mut m = mapped.borrow_mut();
                        let same = match (m.as_ref(), now) {
                            (Some(a), Some(b)) => a.same(b),
                            (None, None) => true,
                            _ => false,
                        };
                        if !same {
                            *m = now.cloned();
                        }
                        stop_w.load(Ordering::Relaxed)
                    },
                    &mut |frame| lower.borrow_mut().frame(frame, &mut |se| push(se)),
                    &mut || lower.borrow_mut().finish(&mut |se| push(se)),
                );
                hand_over();
                errors
            })?;
        for batch in full_rx.iter() {
            batch.replay(&mut |se| sessions.on_stream(se, &mut |ev| out.event(ev)));
            if out.stop {
                stop.store(true, Ordering::Relaxed);
            }
            let _ = empty_tx.send(batch);
        }
        match worker.join() {
            Ok(errors) => Ok(errors),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{CloseReason, GapReason};

    #[test]
    fn a_batch_replays_its_events_in_order_with_their_bytes() {
        let mut b = StreamBatch::default();
        let data = |bytes| StreamEvent::Data {
            conn: ConnId(3),
            dir: Dir::ToClient,
            ts: Ts(7),
            frame_no: 9,
            offset: 100,
            bytes,
        };
        // Bytes inside a mapped window cross by reference; others are copied.
        let window = crate::capture::test_backing(&[10, 11, 12, 13, 14, 15]);
        let inside = window.bytes().get(2..5).unwrap();
        b.push(data(&[1, 2, 3]), Some(&window));
        b.push(
            StreamEvent::Gap {
                conn: ConnId(3),
                dir: Dir::ToServer,
                ts: Ts(8),
                frame_no: 10,
                offset: 5,
                len: 6,
                reason: GapReason::Timeout,
            },
            None,
        );
        b.push(data(inside), Some(&window));
        b.push(data(&[4, 5]), None);
        b.push(data(window.bytes().get(5..6).unwrap()), Some(&window));
        b.push(
            StreamEvent::Close {
                conn: ConnId(3),
                ts: Ts(9),
                frame_no: 11,
                reason: CloseReason::Fin,
            },
            None,
        );
        assert_eq!(b.bytes, [1, 2, 3, 4, 5]);
        assert_eq!(b.windows.len(), 1);
        let mut seen = Vec::new();
        b.replay(&mut |se| {
            seen.push(match se {
                StreamEvent::Data { bytes, offset, .. } => format!("data {offset} {bytes:?}"),
                StreamEvent::Gap { len, .. } => format!("gap {len}"),
                StreamEvent::Close { frame_no, .. } => format!("close {frame_no}"),
                other => format!("{other:?}"),
            })
        });
        assert_eq!(
            seen,
            [
                "data 100 [1, 2, 3]",
                "gap 6",
                "data 100 [12, 13, 14]",
                "data 100 [4, 5]",
                "data 100 [15]",
                "close 11"
            ]
        );
        assert!(!b.full());
        b.clear();
        assert!(b.events.is_empty() && b.bytes.is_empty() && b.windows.is_empty());
    }
}
