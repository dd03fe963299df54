//! The `--threads` split at TCP reassembly: frames are read, decoded and reassembled on a
//! worker thread, while the MQTT sessions run on the calling thread and hand their events on
//! (to the totals and the summary on the same thread, or to an output thread for the
//! per-event formats). Stream events cross in capture order in bounded batches, their bytes
//! copied into the batch, so the sessions see exactly what they would on one thread and the
//! output is byte for byte the same.

use super::{read_all, Lower, RunOptions};
use crate::capture::{CaptureError, FrameSource, Ts};
use crate::event::Event;
use crate::session::Sessions;
use crate::tcp::{ConnId, Dir, StreamEvent};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Stream events per batch.
const BATCH_EVENTS: usize = 1024;
/// Copied stream bytes after which a batch is handed over (a single event may exceed it).
const BATCH_BYTES: usize = 256 << 10;
/// Batches queued between the two threads: bounds the memory between them.
const BATCHES_IN_FLIGHT: usize = 8;

/// A stream event whose bytes, if any, live in its batch.
#[derive(Clone, Copy, Debug)]
enum Staged {
    /// Any event but data: it borrows nothing.
    Other(StreamEvent<'static>),
    /// Data whose bytes are `bytes[start..end]` of the batch.
    Data {
        conn: ConnId,
        dir: Dir,
        ts: Ts,
        frame_no: u64,
        offset: u64,
        start: usize,
        end: usize,
    },
}

/// Stream events handed from the reassembly thread to the session thread.
#[derive(Debug, Default)]
struct StreamBatch {
    events: Vec<Staged>,
    bytes: Vec<u8>,
}

impl StreamBatch {
    /// Appends one stream event, copying its bytes.
    fn push(&mut self, se: StreamEvent<'_>) {
        let staged = match se {
            StreamEvent::Data {
                conn,
                dir,
                ts,
                frame_no,
                offset,
                bytes,
            } => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(bytes);
                Staged::Data {
                    conn,
                    dir,
                    ts,
                    frame_no,
                    offset,
                    start,
                    end: self.bytes.len(),
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
        self.events.len() >= BATCH_EVENTS || self.bytes.len() >= BATCH_BYTES
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
                    start,
                    end,
                } => f(StreamEvent::Data {
                    conn,
                    dir,
                    ts,
                    frame_no,
                    offset,
                    bytes: self.bytes.get(start..end).unwrap_or(&[]),
                }),
            }
        }
    }

    fn clear(&mut self) {
        self.events.clear();
        self.bytes.clear();
    }
}

/// Runs `source` through `lower` on a worker thread and the stream events through `sessions`
/// on this thread, each event to `emit`; reading stops once `stopped` says so. Err when no
/// thread could be started (nothing was read then). Batches are handed over only when full
/// (and at the end), live capture included: handing each frame over at once would cost a
/// channel send (often a thread wake-up) per frame on the reading thread; the callers that
/// must show events as frames arrive (live capture with per-event formats) do not use it.
pub(super) fn run_staged(
    source: &mut (dyn FrameSource + Send),
    lower: &mut Lower,
    sessions: &mut Sessions,
    emit: &mut dyn FnMut(Event),
    stopped: &dyn Fn() -> bool,
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
                        b.push(se);
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
                    &mut |_| stop_w.load(Ordering::Relaxed),
                    &mut |frame| lower.borrow_mut().frame(frame, &mut |se| push(se)),
                    &mut || lower.borrow_mut().finish(&mut |se| push(se)),
                );
                hand_over();
                errors
            })?;
        for batch in full_rx.iter() {
            batch.replay(&mut |se| sessions.on_stream(se, &mut *emit));
            if stopped() {
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
        b.push(data(&[1, 2, 3]));
        b.push(StreamEvent::Gap {
            conn: ConnId(3),
            dir: Dir::ToServer,
            ts: Ts(8),
            frame_no: 10,
            offset: 5,
            len: 6,
            reason: GapReason::Timeout,
        });
        b.push(data(&[4, 5]));
        b.push(StreamEvent::Close {
            conn: ConnId(3),
            ts: Ts(9),
            frame_no: 11,
            reason: CloseReason::Fin,
        });
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
            ["data 100 [1, 2, 3]", "gap 6", "data 100 [4, 5]", "close 11"]
        );
        assert!(!b.full());
        b.clear();
        assert!(b.events.is_empty() && b.bytes.is_empty());
    }
}
