//! One reusable read buffer over any `io::Read`, handing out borrowed windows of the input.
//!
//! The buffer starts at [`INITIAL_BUFFER`] bytes and grows only when a single record needs more,
//! never beyond [`MAX_RECORD`]. Bytes are copied only when the unread tail is moved to the front
//! (compaction), which happens at most once per buffer refill.

use std::io::{self, Read};

/// Size of the read buffer at start: large reads keep the per-frame cost low.
pub const INITIAL_BUFFER: usize = 4 << 20;

/// Largest single record or block the reader accepts; a larger claimed length is damage.
pub const MAX_RECORD: usize = 16 << 20;

/// A reusable input buffer: `buf[start..end]` holds bytes read but not yet consumed.
pub(crate) struct Input {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl Input {
    /// Wraps a reader; nothing is read yet.
    pub(crate) fn new(reader: Box<dyn Read + Send>, initial: usize) -> Input {
        Input {
            reader,
            buf: vec![0; initial.clamp(64, MAX_RECORD)],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// File offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// The unconsumed bytes currently buffered.
    pub(crate) fn window(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Bytes `from..to` of the unconsumed window (empty when out of range).
    pub(crate) fn slice(&self, from: usize, to: usize) -> &[u8] {
        let (a, b) = (
            self.start.saturating_add(from),
            self.start.saturating_add(to),
        );
        if b > self.end {
            return &[];
        }
        self.buf.get(a..b).unwrap_or(&[])
    }

    /// Number of unconsumed bytes buffered.
    pub(crate) fn available(&self) -> usize {
        self.end - self.start
    }

    /// Marks `n` bytes (at most what is buffered) as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n.min(self.available());
    }

    /// Consumes a record of `len` bytes and returns its bytes `from..to` (the frame data),
    /// still borrowed from the buffer (empty when out of range).
    pub(crate) fn take(&mut self, len: usize, from: usize, to: usize) -> &[u8] {
        let (a, b) = (
            self.start.saturating_add(from),
            self.start.saturating_add(to),
        );
        let valid = b <= self.end;
        self.consume(len);
        if !valid {
            return &[];
        }
        self.buf.get(a..b).unwrap_or(&[])
    }

    /// Makes at least `n` unconsumed bytes available; returns false when the input ends first
    /// (then everything that remained is buffered). `n` is capped at [`MAX_RECORD`] plus a header.
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.available() >= n {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        let n = n.min(MAX_RECORD + 64);
        if self.start + n > self.buf.len() {
            self.compact();
            if n > self.buf.len() {
                let grown = n.max(self.buf.len() * 2).min(MAX_RECORD + 64);
                self.buf.resize(grown, 0);
            }
        }
        while self.available() < n {
            let Some(space) = self.buf.get_mut(self.end..) else {
                return Ok(false);
            };
            match self.reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Moves the unread tail to the front of the buffer (the only copy the reader makes).
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        self.end -= self.start;
        self.start = 0;
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
    fn fill_consume_and_compact_track_offsets() {
        let data: Vec<u8> = (0..200u8).collect();
        let mut input = Input::new(Box::new(Trickle(data, 0)), 64);
        assert!(input.fill(10).unwrap());
        assert_eq!(&input.window()[..10], &(0..10u8).collect::<Vec<_>>()[..]);
        // Consuming more than is buffered consumes what is there.
        let have = input.available();
        input.consume(1000);
        assert_eq!(input.offset(), have as u64);
        assert!(input.fill(60 - have).unwrap());
        input.consume(60 - have);
        assert_eq!(input.offset(), 60);
        assert!(input.fill(30).unwrap());
        assert_eq!(input.slice(0, 3), &[60, 61, 62]);
        // A record larger than the buffer makes it grow.
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
    }
}
