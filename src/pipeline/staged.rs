//! The `--threads` split at TCP reassembly: frames are read, decoded and reassembled on a
//! worker thread, while the MQTT sessions run on the calling thread and hand their events on
//! (to the totals and the summary on the same thread, or to an output thread for the
//! per-event formats). Stream events cross in capture order in bounded batches, so the
//! sessions see exactly what they would on one thread and the output is byte for byte the
//! same. A data event's bytes that lie in the frame's shared read-ahead chunk (in-order data
//! from a file) cross as a reference to the chunk, held by the batch; other bytes (reassembled
//! from out-of-order segments, live capture) are copied into the batch.

use super::{read_all, Lower, RunOptions, StopFlag};
use crate::capture::{CaptureError, Chunk, FrameSource, Ts};
use crate::event::Event;
use crate::session::Sessions;
use crate::tcp::{ConnId, Dir, StreamEvent};
use std::cell::RefCell;
use std::sync::mpsc;

/// Stream events per batch.
const BATCH_EVENTS: usize = 1024;
/// Copied stream bytes after which a batch is handed over (a single event may exceed it).
const BATCH_BYTES: usize = 256 << 10;
/// Batches queued between the two threads: bounds the memory between them.
const BATCHES_IN_FLIGHT: usize = 8;
/// Read-ahead chunks a batch may hold before it is handed over: with the batches in flight,
/// bounds the chunks kept from reuse (under `capture::MAX_CHUNKS`).
const BATCH_CHUNKS: usize = 2;

// The batches in flight, the one being filled and the one being read, plus the three chunks
// with the file parser, stay under the reader's bound: it never waits for a release.
const _: () = assert!((BATCHES_IN_FLIGHT + 2) * BATCH_CHUNKS + 3 < crate::capture::MAX_CHUNKS);

/// A stream event whose bytes, if any, live in its batch.
#[derive(Clone, Copy, Debug)]
enum Staged {
    /// Any event but data: it borrows nothing.
    Other(StreamEvent<'static>),
    /// Data whose bytes are `[start..end]` of the batch's own bytes (`src` 0) or of its chunk
    /// `src - 1`.
    Data {
        conn: ConnId,
        dir: Dir,
        ts: Ts,
        frame_no: u64,
        offset: u64,
        src: u32,
        start: usize,
        end: usize,
    },
}

/// Stream events handed from the reassembly thread to the session thread.
#[derive(Debug, Default)]
struct StreamBatch {
    events: Vec<Staged>,
    /// Copied bytes.
    bytes: Vec<u8>,
    /// Read-ahead chunks holding the other bytes.
    chunks: Vec<Chunk>,
}

impl StreamBatch {
    /// Appends one stream event: its bytes are referred to in `owner` (the chunk of the frame
    /// being decoded) when they lie there, else copied.
    fn push(&mut self, se: StreamEvent<'_>, owner: Option<&Chunk>) {
        let staged = match se {
            StreamEvent::Data {
                conn,
                dir,
                ts,
                frame_no,
                offset,
                bytes,
            } => {
                let (src, start) = match owner.and_then(|c| self.refer(c, bytes)) {
                    Some(at) => at,
                    None => {
                        let start = self.bytes.len();
                        self.bytes.extend_from_slice(bytes);
                        (0, start)
                    }
                };
                Staged::Data {
                    conn,
                    dir,
                    ts,
                    frame_no,
                    offset,
                    src,
                    start,
                    end: start + bytes.len(),
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

    /// Where `bytes` lie in `chunk` (source number, start), holding the chunk; None when they
    /// lie elsewhere (or are empty).
    fn refer(&mut self, chunk: &Chunk, bytes: &[u8]) -> Option<(u32, usize)> {
        let base = chunk.as_ptr() as usize;
        let at = (bytes.as_ptr() as usize).checked_sub(base)?;
        if bytes.is_empty() || at.checked_add(bytes.len())? > chunk.len() {
            return None;
        }
        if !self.chunks.last().is_some_and(|c| Chunk::ptr_eq(c, chunk)) {
            self.chunks.push(Chunk::clone(chunk));
        }
        Some((self.chunks.len() as u32, at))
    }

    /// True when the batch should be handed over.
    fn full(&self) -> bool {
        self.events.len() >= BATCH_EVENTS
            || self.bytes.len() >= BATCH_BYTES
            || self.chunks.len() >= BATCH_CHUNKS
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
                    src,
                    start,
                    end,
                } => {
                    let from = match src.checked_sub(1) {
                        None => &self.bytes[..],
                        Some(k) => self.chunks.get(k as usize).map_or(&[][..], |c| &c[..]),
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

    /// Empties the batch, releasing its chunks for reuse by the reader.
    fn clear(&mut self) {
        self.events.clear();
        self.bytes.clear();
        self.chunks.clear();
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
    let stop = StopFlag::default();
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
                    // Returned batches come back emptied (their chunks released at once).
                    let next = empty_rx.try_recv().unwrap_or_default();
                    if full_tx.send(std::mem::replace(&mut *b, next)).is_err() {
                        stop_w.raise();
                    }
                };
                let push = |se: StreamEvent<'_>, owner: Option<&Chunk>| {
                    let full = {
                        let mut b = batch.borrow_mut();
                        b.push(se, owner);
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
                    &mut |_| stop_w.raised(),
                    &mut |frame| {
                        let owner = frame.owner;
                        lower.borrow_mut().frame(frame, &mut |se| push(se, owner))
                    },
                    &mut || lower.borrow_mut().finish(&mut |se| push(se, None)),
                );
                hand_over();
                errors
            })?;
        for mut batch in full_rx.iter() {
            batch.replay(&mut |se| sessions.on_stream(se, &mut *emit));
            if stopped() {
                stop.raise();
            }
            batch.clear();
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
        let chunk: Chunk = Chunk::new((0..64u8).collect());
        let other: Chunk = Chunk::new(vec![9; 8]);
        let outside = [7u8, 8];
        let mut b = StreamBatch::default();
        let data = |bytes| StreamEvent::Data {
            conn: ConnId(3),
            dir: Dir::ToClient,
            ts: Ts(7),
            frame_no: 9,
            offset: 100,
            bytes,
        };
        b.push(data(&[1, 2, 3]), None);
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
            Some(&chunk),
        );
        // Bytes inside the frame's chunk are held by reference, others copied.
        b.push(data(&chunk[10..13]), Some(&chunk));
        b.push(data(&chunk[60..64]), Some(&chunk));
        b.push(data(&outside), Some(&chunk));
        b.push(data(&chunk[0..0]), Some(&chunk));
        b.push(data(&[4, 5]), None);
        b.push(
            StreamEvent::Close {
                conn: ConnId(3),
                ts: Ts(9),
                frame_no: 11,
                reason: CloseReason::Fin,
            },
            None,
        );
        assert_eq!(b.chunks.len(), 1, "one chunk, held once");
        assert_eq!(b.bytes, [1, 2, 3, 7, 8, 4, 5]);
        assert_eq!(Chunk::strong_count(&chunk), 2);
        assert!(!b.full());
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
                "data 100 [10, 11, 12]",
                "data 100 [60, 61, 62, 63]",
                "data 100 [7, 8]",
                "data 100 []",
                "data 100 [4, 5]",
                "close 11"
            ]
        );
        // A second chunk fills the batch; clearing releases both.
        b.push(data(&other[2..4]), Some(&other));
        assert!(b.full());
        b.clear();
        assert!(b.events.is_empty() && b.bytes.is_empty() && b.chunks.is_empty());
        assert_eq!(Chunk::strong_count(&chunk), 1);
        assert_eq!(Chunk::strong_count(&other), 1);
    }
}
