//! Memory-mapped input for regular capture files: no copy from the page cache at all.
//!
//! The whole file is mapped once, read-only. It is walked in regions of [`REGION`] bytes: a
//! helper thread fills the page tables of the next few regions ahead of the parser
//! (`MADV_POPULATE_READ`), and a region's pages are released (`MADV_DONTNEED`) when the last
//! handle on it goes: the parser's, or that of a batch of stream bytes still to be analysed on
//! another thread (see [`Backing`]). Memory thus follows the regions in use, never the file
//! size. Releasing pages of a private, never-written file mapping cannot change what is read:
//! a later read of a released page fetches it again from the file.
//!
//! Only advice calls touch the memory map: the mapping is never changed while the run goes
//! on (no `munmap` that would take the process's memory-map lock for writing and stall the
//! other threads' page faults).
//!
//! This module holds the crate's only `unsafe` calls: mapping the file, and releasing pages.
//! A mapping is only sound while nobody truncates the file: a capture file truncated *while*
//! it is read makes the kernel deliver SIGBUS on the missing pages (the documented limit of
//! every mapped reader; `--no-mmap` reads with `read` instead). Inputs that are not regular
//! files (stdin, pipes, devices) are always read with `read` (see `input.rs`).

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

/// Bytes per region: the unit of read-ahead and of release.
pub(crate) const REGION: usize = 1 << 20;

/// Regions whose page tables are filled ahead of the parser's.
const AHEAD: usize = 2;

/// Maps a whole file read-only.
#[allow(unsafe_code)]
fn map_file(file: &File) -> io::Result<Mmap> {
    // SAFETY: the mapping is read-only and private; its bytes are only read through `&[u8]`.
    // The remaining hazard, another process truncating the file while it is mapped (SIGBUS
    // on access), is documented in the module comment and the README.
    unsafe { MmapOptions::new().map(file) }
}

/// Drops the pages of `off..off + len` from the process (they stay in the page cache).
#[allow(unsafe_code)]
fn release(map: &Mmap, off: usize, len: usize) {
    // SAFETY: a private, read-only mapping of a file that is never written through: after
    // MADV_DONTNEED a read fetches the same bytes again from the file, so no live reference
    // can observe a change. A failure only leaves the pages resident.
    let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, off, len) };
}

/// One region of the mapping; its pages are released when the last handle goes.
struct Region {
    map: Arc<Mmap>,
    off: usize,
    len: usize,
}

impl Drop for Region {
    fn drop(&mut self) {
        release(&self.map, self.off, self.len);
    }
}

/// A handle that keeps one region of a mapped capture file resident, so the bytes of its
/// frames can be used after the source has moved on (handed to another thread without a copy).
#[derive(Clone)]
pub struct Backing(Arc<Region>);

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backing({}..+{})", self.0.off, self.0.len)
    }
}

impl Backing {
    /// The bytes of the whole mapped file (a frame may run past its region's end).
    pub fn bytes(&self) -> &[u8] {
        &self.0.map
    }

    /// True when both handles keep the same region.
    pub fn same(&self, other: &Backing) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Where `part` lies in the mapped file (`start..end` of [`Backing::bytes`]), when it is
    /// a non-empty slice of it.
    pub fn locate(&self, part: &[u8]) -> Option<(usize, usize)> {
        let base = self.bytes().as_ptr() as usize;
        let at = (part.as_ptr() as usize).checked_sub(base)?;
        let end = at.checked_add(part.len())?;
        (!part.is_empty() && end <= self.bytes().len()).then_some((at, end))
    }
}

/// The read-ahead thread: fills the page tables of the regions up to [`AHEAD`] past the one
/// the parser announces; a region the parser has already left is released again.
fn populate_ahead(map: Arc<Mmap>, parser_at: Arc<AtomicUsize>, wake: Receiver<usize>) {
    let regions = map.len().div_ceil(REGION);
    let mut next = 0;
    while let Ok(mut at) = wake.recv() {
        // Only the latest position matters.
        while let Ok(later) = wake.try_recv() {
            at = later;
        }
        next = next.max(at);
        while next < regions && next <= at + AHEAD {
            let off = next * REGION;
            let len = REGION.min(map.len() - off);
            // Old kernels lack MADV_POPULATE_READ: the parser's page faults do the work then.
            let _ = map.advise_range(Advice::PopulateRead, off, len);
            if parser_at.load(Ordering::Relaxed) > next {
                // The parser passed this region meanwhile: its handle may be gone already.
                release(&map, off, len);
            }
            next += 1;
        }
    }
}

/// A mapped input: the unconsumed bytes are `map[pos..]`.
pub(crate) struct MappedInput {
    map: Arc<Mmap>,
    pos: usize,
    /// The region `pos` lies in, and where it ends.
    region: Option<Backing>,
    region_end: usize,
    /// Tells the read-ahead thread which region the parser is in.
    parser_at: Arc<AtomicUsize>,
    wake: Option<Sender<usize>>,
}

impl MappedInput {
    /// Maps a regular file; Err when it cannot be mapped (the caller reads it instead).
    pub(crate) fn new(file: &File) -> io::Result<MappedInput> {
        let map = Arc::new(map_file(file)?);
        let parser_at = Arc::new(AtomicUsize::new(0));
        let (wake, rx) = mpsc::channel();
        let (m, p) = (Arc::clone(&map), Arc::clone(&parser_at));
        let spawned = thread::Builder::new()
            .name("capture-mapper".into())
            .spawn(move || populate_ahead(m, p, rx));
        let mut input = MappedInput {
            map,
            pos: 0,
            region: None,
            region_end: 0,
            parser_at,
            // Without the thread the parser faults the pages in itself.
            wake: spawned.ok().map(|_| wake),
        };
        input.enter_region();
        Ok(input)
    }

    /// Takes a handle on the region `pos` lies in (dropping the previous one) and wakes the
    /// read-ahead thread.
    fn enter_region(&mut self) {
        let k = self.pos / REGION;
        let off = k * REGION;
        if self.pos >= self.map.len() {
            self.region = None;
            self.region_end = usize::MAX;
            return;
        }
        let len = REGION.min(self.map.len() - off);
        self.region = Some(Backing(Arc::new(Region {
            map: Arc::clone(&self.map),
            off,
            len,
        })));
        self.region_end = off + len;
        self.parser_at.store(k, Ordering::Relaxed);
        if let Some(w) = &self.wake {
            let _ = w.send(k);
        }
    }

    /// File offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// The unconsumed bytes (the rest of the file).
    pub(crate) fn window(&self) -> &[u8] {
        self.map.get(self.pos..).unwrap_or(&[])
    }

    /// The region handle of the current position.
    pub(crate) fn current_window(&self) -> Option<&Backing> {
        self.region.as_ref()
    }

    /// Number of unconsumed bytes.
    pub(crate) fn available(&self) -> usize {
        self.map.len() - self.pos
    }

    /// Marks `n` bytes (at most what is left) as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos += n.min(self.available());
        if self.pos >= self.region_end {
            self.enter_region();
        }
    }

    /// Consumes a record of `len` bytes and returns its bytes `from..to` (the frame data),
    /// still borrowed from the mapping (empty when out of range).
    pub(crate) fn take(&mut self, len: usize, from: usize, to: usize) -> &[u8] {
        let (a, b) = (self.pos.saturating_add(from), self.pos.saturating_add(to));
        self.consume(len);
        if a > b {
            return &[];
        }
        self.map.get(a..b).unwrap_or(&[])
    }

    /// True when at least `n` unconsumed bytes are left (everything is always available).
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        Ok(self.available() >= n)
    }
}

/// A region handle over a temporary file holding `bytes` (for tests elsewhere in the crate).
#[cfg(test)]
pub(crate) fn test_backing(bytes: &[u8]) -> Backing {
    let (f, _) = tests::temp_file(bytes);
    let m = MappedInput::new(&f).expect("mapped");
    m.current_window().cloned().expect("a region")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(super) fn temp_file(data: &[u8]) -> (File, u64) {
        let dir = std::env::temp_dir().join(format!("mqttscope-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("f{n}"));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(data)
            .unwrap();
        let f = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (f, data.len() as u64)
    }

    #[test]
    fn walks_the_file_region_by_region() {
        let data: Vec<u8> = (0..3 * REGION + 5000).map(|i| (i % 251) as u8).collect();
        let (f, _) = temp_file(&data);
        let mut m = MappedInput::new(&f).unwrap();
        let mut pos = 0usize;
        let mut regions = Vec::new();
        while pos < data.len() {
            let step = 1000.min(data.len() - pos);
            assert!(m.fill(step).unwrap());
            assert_eq!(m.offset(), pos as u64);
            let r = m.current_window().unwrap().clone();
            if !regions.last().is_some_and(|l: &Backing| l.same(&r)) {
                regions.push(r);
            }
            let got = m.take(step, 0, step).to_vec();
            assert_eq!(got, &data[pos..pos + step], "at {pos}");
            pos += step;
        }
        assert_eq!(regions.len(), 4);
        assert!(!m.fill(1).unwrap());
        assert!(m.window().is_empty() && m.current_window().is_none());
        // Released regions still read the file's bytes.
        drop(m);
        let last = regions.pop().unwrap();
        let (a, b) = last.locate(&last.bytes()[5..9]).unwrap();
        assert_eq!((a, b), (5, 9));
        assert_eq!(&last.bytes()[3 * REGION..], &data[3 * REGION..]);
        assert_eq!(last.locate(&data[..4]), None);
        assert_eq!(last.locate(&[]), None);
    }
}
