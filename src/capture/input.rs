//! Read-ahead input over any `io::Read`, handing out borrowed windows of the bytes.
//!
//! A reader thread fills a few reusable chunks (each `headroom + chunk` bytes, data read after
//! the headroom) while the parser works on the current one, so the kernel's copy overlaps the
//! parsing. When a record crosses the end of a chunk, its first part (less than one record) is
//! copied into the headroom of the next chunk, just before the new data, and the window stays
//! contiguous. A record longer than the headroom is stitched by appending the next chunk to the
//! current buffer instead (rare: records above 256 KiB). Nothing is allocated per frame, and
//! a single record may never exceed [`MAX_RECORD`].

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

/// Default data bytes per chunk read ahead (1 MiB: JSON Lines on the 1 GiB benchmark capture
/// ran 1.01-1.07 s against 1.12-1.16 s with 256 KiB; 2 and 4 MiB were no faster).
pub const INITIAL_BUFFER: usize = 1 << 20;

/// Largest single record or block the reader accepts; a larger claimed length is damage.
pub const MAX_RECORD: usize = 16 << 20;

/// Largest headroom kept in front of each chunk (a 262144-byte snaplen record plus headers).
const MAX_HEADROOM: usize = (256 << 10) + 64;

/// Chunks in circulation: one parsed, one ready, one being read.
const CHUNKS: usize = 3;

/// What the reader thread sends: a chunk and the bytes read into it (0: end of input).
type Filled = io::Result<(Vec<u8>, usize)>;

/// A read-ahead input: `cur[start..end]` holds bytes read but not yet consumed.
pub(crate) struct Input {
    cur: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `cur[start]`.
    off: u64,
    headroom: usize,
    eof: bool,
    filled: Receiver<Filled>,
    recycle: Sender<Vec<u8>>,
}

impl Input {
    /// Starts the reader thread; `chunk` is the number of data bytes per read.
    pub(crate) fn new(reader: Box<dyn Read + Send>, chunk: usize) -> Input {
        let chunk = chunk.clamp(16, MAX_RECORD);
        let headroom = chunk.min(MAX_HEADROOM);
        let (filled_tx, filled) = mpsc::sync_channel(CHUNKS);
        let (recycle, recycle_rx) = mpsc::channel();
        for _ in 0..CHUNKS {
            // Cannot fail: the receiver is alive.
            let _ = recycle.send(Vec::new());
        }
        let spawned = thread::Builder::new()
            .name("capture-reader".into())
            .spawn(move || read_ahead(reader, headroom + chunk, headroom, filled_tx, recycle_rx));
        let mut input = Input {
            cur: Vec::new(),
            start: 0,
            end: 0,
            off: 0,
            headroom,
            eof: false,
            filled,
            recycle,
        };
        if let Err(e) = spawned {
            // No thread: report the failure as the first read error.
            let (tx, rx) = mpsc::sync_channel(1);
            let _ = tx.send(Err(e));
            input.filled = rx;
        }
        input
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
    /// still borrowed from the buffer (empty when out of range).
    pub(crate) fn take(&mut self, len: usize, from: usize, to: usize) -> &[u8] {
        let (a, b) = (
            self.start.saturating_add(from),
            self.start.saturating_add(to),
        );
        let valid = b <= self.end && a <= b;
        self.consume(len);
        if !valid {
            return &[];
        }
        self.cur.get(a..b).unwrap_or(&[])
    }

    /// Makes at least `n` unconsumed bytes available; returns false when the input ends first
    /// (then everything that remained is buffered).
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.available() < n {
            if self.eof {
                return Ok(false);
            }
            let (mut next, got) = match self.filled.recv() {
                Ok(Ok(x)) => x,
                Ok(Err(e)) => {
                    self.eof = true;
                    return Err(e);
                }
                Err(_) => (Vec::new(), 0),
            };
            if got == 0 {
                self.eof = true;
                let _ = self.recycle.send(next);
                continue;
            }
            let m = self.available();
            let data = self.headroom..self.headroom + got;
            if m <= self.headroom && next.len() >= data.end {
                // Usual case: the unread tail goes into the headroom of the next chunk.
                let at = self.headroom - m;
                if let (Some(dst), Some(src)) = (
                    next.get_mut(at..self.headroom),
                    self.cur.get(self.start..self.end),
                ) {
                    dst.copy_from_slice(src);
                }
                let old = std::mem::replace(&mut self.cur, next);
                let _ = self.recycle.send(old);
                (self.start, self.end) = (at, data.end);
            } else {
                // A long record: append the new data to the current buffer.
                if self.start > 0 {
                    self.cur.copy_within(self.start..self.end, 0);
                }
                self.cur.truncate(m);
                self.cur.extend_from_slice(next.get(data).unwrap_or(&[]));
                let _ = self.recycle.send(next);
                (self.start, self.end) = (0, self.cur.len());
            }
        }
        Ok(true)
    }
}

/// The reader thread: fills recycled chunks after their headroom, one `read` call each (so
/// a pipe's data is handed on as soon as it arrives), until the end of input or an error.
fn read_ahead(
    mut reader: Box<dyn Read + Send>,
    size: usize,
    headroom: usize,
    filled: SyncSender<Filled>,
    recycle: Receiver<Vec<u8>>,
) {
    while let Ok(mut buf) = recycle.recv() {
        if buf.len() < size {
            buf = vec![0; size]; // zeroed by the allocator, not byte by byte
        }
        buf.truncate(size);
        let got = loop {
            match reader.read(buf.get_mut(headroom..).unwrap_or(&mut [])) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let done = !matches!(got, Ok(n) if n > 0);
        if filled.send(got.map(|n| (buf, n))).is_err() || done {
            return;
        }
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

    #[test]
    fn fill_consume_and_stitch_track_offsets() {
        let data: Vec<u8> = (0..200u8).collect();
        let mut input = Input::new(Box::new(Trickle(data, 0)), 16);
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
        assert_eq!(input.take(40, 1, 3), &[161, 162]);
        assert_eq!(input.offset(), 200);
        assert!(!input.fill(1).unwrap());
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn read_errors_are_reported() {
        let mut input = Input::new(Box::new(Failing), 64);
        let e = input.fill(1).unwrap_err();
        assert_eq!(e.to_string(), "disk on fire");
        assert!(!input.fill(1).unwrap());
    }
}
