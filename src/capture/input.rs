//! Read-ahead input over any `io::Read`, handing out borrowed windows of the bytes.
//!
//! A reader thread fills a few reusable chunks (each `headroom + chunk` bytes, data read after
//! the headroom) while the parser works on the current one, so the kernel's copy overlaps the
//! parsing. When a record crosses the end of a chunk, its first part (less than one record) is
//! copied into the headroom of the next chunk, just before the new data, and the window stays
//! contiguous. A record longer than the headroom is stitched by appending the next chunk to the
//! current buffer instead (rare: records above 256 KiB). Nothing is allocated per frame, and
//! a single record may never exceed [`MAX_RECORD`].
//!
//! Chunks are shared ([`Chunk`]): a frame names the chunk holding it, so a consumer on another
//! thread (the `--threads` hand-over after reassembly) can keep a reference to its bytes
//! instead of copying them. The reader thread reuses a chunk only once nobody else holds it,
//! and allocates another meanwhile (at most [`MAX_CHUNKS`] in all).
//!
//! [`Input::here`] reads on the parser's own thread instead, when it needs more bytes, with
//! the same chunks: for a run whose other threads keep every core busy, where a reader thread
//! only adds a hand-over and leaves the bytes in another core's cache.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// A buffer of read-ahead bytes, shared with whoever keeps a frame's bytes beyond the next
/// read (the thread hand-over); the reader refills it once it is the only holder.
pub type Chunk = Arc<Vec<u8>>;

/// Default data bytes per chunk read ahead (1 MiB: JSON Lines on the 1 GiB benchmark capture
/// ran 1.01-1.07 s against 1.12-1.16 s with 256 KiB; 2 and 4 MiB were no faster).
pub const INITIAL_BUFFER: usize = 1 << 20;

/// Largest single record or block the reader accepts; a larger claimed length is damage.
pub const MAX_RECORD: usize = 16 << 20;

/// Largest headroom kept in front of each chunk (a 262144-byte snaplen record plus headers).
const MAX_HEADROOM: usize = (256 << 10) + 64;

/// Chunks handed to the parser at a time: one parsed, one ready, one being read.
const CHUNKS: usize = 3;

/// Most chunks allocated, counting those still held by consumers: a bound on memory whatever
/// holds them (30 MiB with 1 MiB chunks; past this the reader waits). The hand-over between
/// threads holds at most 20: 10 batches (8 in flight, one filling, one being read) of at most
/// 2 chunks each.
pub const MAX_CHUNKS: usize = 24;

/// What the reader thread sends: a chunk and the bytes read into it (0: end of input).
type Filled = io::Result<(Chunk, usize)>;

/// A read-ahead input: `cur[start..end]` holds bytes read but not yet consumed.
pub(crate) struct Input {
    cur: Chunk,
    start: usize,
    end: usize,
    /// File offset of `cur[start]`.
    off: u64,
    headroom: usize,
    eof: bool,
    feed: Feed,
}

/// Where an [`Input`]'s chunks come from.
enum Feed {
    /// A reader thread fills them ahead; the parser hands each back when done with it.
    Thread {
        filled: Receiver<Filled>,
        recycle: Sender<Chunk>,
    },
    /// The parser's thread reads each when it needs more bytes.
    Here {
        reader: Box<dyn Read + Send>,
        pool: Pool,
        size: usize,
    },
}

impl Input {
    /// Starts the reader thread; `chunk` is the number of data bytes per read.
    pub(crate) fn new(reader: Box<dyn Read + Send>, chunk: usize) -> Input {
        Input::with_feed(reader, chunk, true)
    }

    /// Reads on the caller's thread, when more bytes are needed, instead of a reader thread
    /// (for a caller whose cores are busy anyway: the bytes land in its own core's cache).
    pub(crate) fn here(reader: Box<dyn Read + Send>, chunk: usize) -> Input {
        Input::with_feed(reader, chunk, false)
    }

    fn with_feed(reader: Box<dyn Read + Send>, chunk: usize, ahead: bool) -> Input {
        let chunk = chunk.clamp(16, MAX_RECORD);
        let headroom = chunk.min(MAX_HEADROOM);
        let size = headroom + chunk;
        let feed = if ahead {
            let (filled_tx, filled) = mpsc::sync_channel(CHUNKS);
            let (recycle, recycle_rx) = mpsc::channel();
            let spawned = thread::Builder::new()
                .name("capture-reader".into())
                .spawn(move || read_ahead(reader, size, headroom, filled_tx, recycle_rx));
            let filled = match spawned {
                Ok(_) => filled,
                Err(e) => {
                    // No thread: report the failure as the first read error.
                    let (tx, rx) = mpsc::sync_channel(1);
                    let _ = tx.send(Err(e));
                    rx
                }
            };
            Feed::Thread { filled, recycle }
        } else {
            Feed::Here {
                reader,
                pool: Pool::default(),
                size,
            }
        };
        Input {
            cur: Chunk::default(),
            start: 0,
            end: 0,
            off: 0,
            headroom,
            eof: false,
            feed,
        }
    }

    /// The next chunk read and its byte count (0 at the end of the input).
    fn next_chunk(&mut self) -> Filled {
        match &mut self.feed {
            Feed::Thread { filled, .. } => filled.recv().unwrap_or(Ok((Chunk::default(), 0))),
            Feed::Here { reader, pool, size } => {
                read_one(&mut **reader, pool, *size, self.headroom)
            }
        }
    }

    /// Hands a chunk the parser is done with back for refilling.
    fn give_back(&mut self, chunk: Chunk) {
        match &mut self.feed {
            Feed::Thread { recycle, .. } => {
                let _ = recycle.send(chunk);
            }
            Feed::Here { pool, .. } => pool.returned(chunk),
        }
    }

    /// File offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.off
    }

    /// The unconsumed bytes currently buffered.
    pub(crate) fn window(&self) -> &[u8] {
        self.cur.get(self.start..self.end).unwrap_or(&[])
    }

    /// Bytes `from..to` of the unconsumed window (empty when out of range).
    pub(crate) fn slice(&self, from: usize, to: usize) -> &[u8] {
        self.window().get(from..to).unwrap_or(&[])
    }

    /// Number of unconsumed bytes buffered.
    pub(crate) fn available(&self) -> usize {
        self.end - self.start
    }

    /// Marks `n` bytes (at most what is buffered) as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.available());
        self.start += n;
        self.off += n as u64;
    }

    /// Consumes a record of `len` bytes and returns its bytes `from..to` (the frame data),
    /// still borrowed from the buffer (empty when out of range), and the chunk holding them.
    pub(crate) fn take(&mut self, len: usize, from: usize, to: usize) -> (&[u8], &Chunk) {
        let (a, b) = (
            self.start.saturating_add(from),
            self.start.saturating_add(to),
        );
        let valid = b <= self.end && a <= b;
        self.consume(len);
        if !valid {
            return (&[], &self.cur);
        }
        (self.cur.get(a..b).unwrap_or(&[]), &self.cur)
    }

    /// Makes at least `n` unconsumed bytes available; returns false when the input ends first
    /// (then everything that remained is buffered).
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.available() < n {
            if self.eof {
                return Ok(false);
            }
            let (mut next, got) = match self.next_chunk() {
                Ok(x) => x,
                Err(e) => {
                    self.eof = true;
                    return Err(e);
                }
            };
            if got == 0 {
                self.eof = true;
                self.give_back(next);
                continue;
            }
            let m = self.available();
            let data = self.headroom..self.headroom + got;
            if m <= self.headroom && next.len() >= data.end {
                // Usual case: the unread tail goes into the headroom of the next chunk.
                // The reader hands each chunk over as its only holder: no copy is made here.
                let at = self.headroom - m;
                if let (Some(dst), Some(src)) = (
                    Arc::make_mut(&mut next).get_mut(at..self.headroom),
                    self.cur.get(self.start..self.end),
                ) {
                    dst.copy_from_slice(src);
                }
                let old = std::mem::replace(&mut self.cur, next);
                if !old.is_empty() {
                    // Every chunk received goes back once (the first, empty `cur` was not one).
                    self.give_back(old);
                }
                (self.start, self.end) = (at, data.end);
            } else {
                // A long record: append the new data to the current buffer (copied first if a
                // consumer still holds it).
                let cur = Arc::make_mut(&mut self.cur);
                if self.start > 0 {
                    cur.copy_within(self.start..self.end, 0);
                }
                cur.truncate(m);
                cur.extend_from_slice(next.get(data).unwrap_or(&[]));
                self.give_back(next);
                (self.start, self.end) = (0, self.cur.len());
            }
        }
        Ok(true)
    }
}

/// The reader thread: fills chunks after their headroom, one `read` call each (so a pipe's
/// data is handed on as soon as it arrives), until the end of input or an error. At most
/// [`CHUNKS`] are with the parser at a time (it hands each back when done with it).
fn read_ahead(
    mut reader: Box<dyn Read + Send>,
    size: usize,
    headroom: usize,
    filled: SyncSender<Filled>,
    recycle: Receiver<Chunk>,
) {
    let mut pool = Pool::default();
    loop {
        // Wait for the parser to hand a chunk back when it holds all but the one to read.
        while pool.with_parser + 1 >= CHUNKS {
            match recycle.recv() {
                Ok(c) => pool.returned(c),
                Err(_) => return,
            }
        }
        while let Ok(c) = recycle.try_recv() {
            pool.returned(c);
        }
        let got = read_one(&mut *reader, &mut pool, size, headroom);
        let done = !matches!(got, Ok((_, n)) if n > 0);
        if filled.send(got).is_err() || done {
            return;
        }
    }
}

/// Reads once into a free chunk of `size` bytes, after its headroom; the chunk counts as
/// with the parser from then on.
fn read_one(reader: &mut dyn Read, pool: &mut Pool, size: usize, headroom: usize) -> Filled {
    let mut chunk = pool.free_chunk(size);
    // Nobody else holds it (no copy is made).
    let buf = Arc::make_mut(&mut chunk);
    if buf.len() < size {
        *buf = vec![0; size]; // zeroed by the allocator, not byte by byte
    }
    buf.truncate(size);
    let got = loop {
        match reader.read(buf.get_mut(headroom..).unwrap_or(&mut [])) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    pool.with_parser += 1;
    got.map(|n| (chunk, n))
}

/// The reader's chunks (on the reader thread, or on the parser's own with [`Input::here`]):
/// those handed back by the parser, some maybe still held by consumers, and how many the
/// parser has.
#[derive(Default)]
struct Pool {
    /// Chunks handed back by the parser.
    back: Vec<Chunk>,
    /// Chunks sent to the parser and not handed back yet.
    with_parser: usize,
}

impl Pool {
    /// Takes in a chunk the parser handed back.
    fn returned(&mut self, c: Chunk) {
        self.with_parser = self.with_parser.saturating_sub(1);
        self.back.push(c);
    }

    /// A chunk nobody else holds: a handed-back one, else a new one while fewer than
    /// [`MAX_CHUNKS`] exist, else the first to be released (polled: its holders do not
    /// signal).
    fn free_chunk(&mut self, size: usize) -> Chunk {
        loop {
            if let Some(c) = self.try_free_chunk(size) {
                return c;
            }
            thread::sleep(Duration::from_micros(200));
        }
    }

    /// A chunk nobody else holds, if one is free or may still be allocated.
    fn try_free_chunk(&mut self, size: usize) -> Option<Chunk> {
        if let Some(i) = self.back.iter_mut().position(|c| Arc::get_mut(c).is_some()) {
            return Some(self.back.swap_remove(i));
        }
        (self.back.len() + self.with_parser < MAX_CHUNKS)
            .then(|| Arc::new(Vec::with_capacity(size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out at most 3 bytes per call, to exercise partial reads.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let rest = self.0.get(self.1..).unwrap_or(&[]);
            let k = rest.len().min(3).min(out.len());
            out[..k].copy_from_slice(&rest[..k]);
            self.1 += k;
            Ok(k)
        }
    }

    /// Both ways of reading: on a reader thread, and on the caller's thread.
    fn both(reader: impl Fn() -> Box<dyn Read + Send>, chunk: usize) -> [Input; 2] {
        [Input::new(reader(), chunk), Input::here(reader(), chunk)]
    }

    #[test]
    fn fill_consume_and_stitch_track_offsets() {
        let data: Vec<u8> = (0..200u8).collect();
        for input in both(|| Box::new(Trickle(data.clone(), 0)), 16) {
            fill_consume_and_stitch(input);
        }
    }

    fn fill_consume_and_stitch(mut input: Input) {
        assert!(input.fill(10).unwrap());
        assert_eq!(&input.window()[..10], &(0..10u8).collect::<Vec<_>>()[..]);
        // Consuming more than is buffered consumes what is there.
        let have = input.available();
        input.consume(1000);
        assert_eq!(input.offset(), have as u64);
        assert!(input.fill(60 - have).unwrap());
        input.consume(60 - have);
        assert!(input.fill(30).unwrap());
        assert_eq!(input.slice(0, 3), &[60, 61, 62]);
        // A record longer than the headroom is stitched.
        assert!(input.fill(100).unwrap());
        assert_eq!(input.slice(99, 100), &[159]);
        input.consume(100);
        assert_eq!(input.offset(), 160);
        assert!(!input.fill(50).unwrap());
        assert_eq!(input.available(), 40);
        assert_eq!(input.slice(39, 40), &[199]);
        assert_eq!(input.slice(0, 41), &[] as &[u8]);
        assert_eq!(input.take(40, 1, 3).0, &[161, 162]);
        assert_eq!(input.offset(), 200);
        assert!(!input.fill(1).unwrap());
    }

    #[test]
    fn chunks_held_by_a_consumer_are_not_refilled() {
        // 32 records of 8 bytes, 16-byte chunks: each record is taken whole, its chunk kept.
        // (Whole reads: 16 data bytes per chunk, 16 chunks in all, fewer than MAX_CHUNKS.)
        let data: Vec<u8> = (0..256u32).map(|i| (i / 8) as u8).collect();
        for input in both(|| Box::new(io::Cursor::new(data.clone())), 16) {
            held_chunks_stay(input);
        }
    }

    fn held_chunks_stay(mut input: Input) {
        let mut held = Vec::new();
        while input.fill(8).unwrap() {
            let (bytes, chunk) = input.take(8, 0, 8);
            let at = bytes.as_ptr() as usize - chunk.as_ptr() as usize;
            let record = bytes.to_vec();
            held.push((Chunk::clone(chunk), at, record));
        }
        assert_eq!(held.len(), 32);
        // Every record still reads the same through its chunk: none was refilled.
        for (n, (chunk, at, record)) in held.iter().enumerate() {
            assert_eq!(record, &[n as u8; 8]);
            assert_eq!(chunk.get(*at..at + 8), Some(&record[..]), "record {n}");
        }
        let distinct = held
            .windows(2)
            .filter(|w| !Chunk::ptr_eq(&w[0].0, &w[1].0))
            .count();
        assert!(distinct >= 12, "{distinct}");
    }

    #[test]
    fn released_chunks_are_reused() {
        // Nothing held: the reader cycles through a few chunks, the same ones again.
        let data: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
        for input in both(|| Box::new(Trickle(data.clone(), 0)), 16) {
            chunks_cycle(input);
        }
    }

    fn chunks_cycle(mut input: Input) {
        let mut seen: Vec<*const u8> = Vec::new();
        while input.fill(8).unwrap() {
            let (_, chunk) = input.take(8, 0, 8);
            let p = chunk.as_ptr();
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        assert!(seen.len() <= CHUNKS + 1, "{} chunks", seen.len());
    }

    #[test]
    fn chunks_stop_at_the_bound_until_one_is_released() {
        let mut pool = Pool::default();
        let mut held = Vec::new();
        while let Some(c) = pool.try_free_chunk(8) {
            held.push(Chunk::clone(&c));
            pool.with_parser += 1;
            pool.returned(c);
        }
        // Every chunk is still held by a consumer: no more may be made.
        assert_eq!(pool.back.len(), MAX_CHUNKS);
        assert!(pool.try_free_chunk(8).is_none());
        let released = Chunk::as_ptr(&held.swap_remove(7));
        let again = pool.try_free_chunk(8).map(|c| Chunk::as_ptr(&c));
        assert_eq!(again, Some(released));
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn read_errors_are_reported() {
        for mut input in both(|| Box::new(Failing), 64) {
            let e = input.fill(1).unwrap_err();
            assert_eq!(e.to_string(), "disk on fire");
            assert!(!input.fill(1).unwrap());
        }
    }
}
