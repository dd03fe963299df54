//! Capture files: our own zero-copy reader of pcap and pcapng from a path, stdin or any reader.
//!
//! The format comes from the magic number, never from the file name. Frames borrow the
//! read-ahead buffers (see `input.rs`: a reader thread overlaps the kernel's copy with the
//! parsing); nothing is allocated per frame.
//!
//! Damage: a record or block that cannot be right (truncated, absurd or inconsistent length,
//! unknown interface) gives [`CaptureError::Damaged`] with its byte offset, after every frame
//! before it was returned. With [`FileOptions::keep_going`] the next call resumes: after a block
//! whose extent is trustworthy (unknown interface, caplen larger than its block) right after
//! that block; otherwise by scanning forward byte by byte for a plausible record (the heuristics
//! are documented on the pcap and pcapng probes: sane lengths, a timestamp near the last good
//! one and a plausible following header for pcap; a known block type with equal leading and
//! trailing lengths for pcapng).

use std::fs::File;
use std::io::Read;

use super::filter::BpfFilter;
use super::input::{Input, INITIAL_BUFFER};
use super::pcap::{self as classic, PcapParser};
use super::pcapng::{PcapngParser, SHB};
use super::record::{Probe, Record, Step};
use super::{CaptureError, Frame, FrameSource, SourceStats};

/// How to read a capture file.
#[derive(Clone, Debug)]
pub struct FileOptions {
    /// After resumable damage, skip to the next plausible record instead of stopping.
    pub keep_going: bool,
    /// BPF filter applied to every frame (empty or None: no filter).
    pub filter: Option<String>,
    /// Bytes per read-ahead chunk (records longer than a chunk are stitched, up to 16 MiB).
    pub buffer_size: usize,
    /// Read on a thread of its own, ahead of the parser (the default); false: read on the
    /// parser's thread when it needs more bytes, for a run whose other threads keep the
    /// cores busy anyway (the bytes then land in the parser's own cache).
    pub read_ahead: bool,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            keep_going: false,
            filter: None,
            buffer_size: INITIAL_BUFFER,
            read_ahead: true,
        }
    }
}

/// The file format found from the magic number, with its parser state.
#[derive(Debug)]
enum Format {
    /// Classic pcap.
    Pcap(PcapParser),
    /// pcapng.
    Pcapng(PcapngParser),
    /// A zero-byte input: a valid, empty capture.
    Empty,
}

impl Format {
    fn step(&mut self, w: &[u8]) -> Step {
        match self {
            Format::Pcap(p) => p.step(w),
            Format::Pcapng(p) => p.step(w),
            Format::Empty => Step::Need(1),
        }
    }

    fn probe(&self, w: &[u8], eof: bool) -> Probe {
        match self {
            Format::Pcap(p) => p.probe(w, eof),
            Format::Pcapng(p) => p.probe(w, eof),
            Format::Empty => Probe::No,
        }
    }
}

/// Where the reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading records.
    Reading,
    /// The record at the current position is damaged (error already returned).
    Damaged {
        resumable: bool,
        skip: Option<usize>,
    },
    /// Nothing more will be returned.
    Done,
}

/// A pcap or pcapng capture read from a file, stdin or any reader (on cache lines of its
/// own: the reading thread updates it per frame while another thread works next to it).
#[repr(align(128))]
pub struct FileSource {
    path: String,
    input: Input,
    format: Format,
    filter: Option<BpfFilter>,
    keep_going: bool,
    state: State,
    frame_no: u64,
    stats: SourceStats,
    size: Option<u64>,
    skipped: u64,
}

/// Opens a capture file by path ("-" reads stdin) and detects its format.
pub fn open_file(path: &str, opts: &FileOptions) -> Result<FileSource, CaptureError> {
    let io_err = |source| CaptureError::Io {
        path: path.to_string(),
        source,
    };
    if path == "-" {
        return open_reader(Box::new(std::io::stdin()), "-", None, opts);
    }
    let file = File::open(path).map_err(io_err)?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    open_reader(Box::new(file), path, size, opts)
}

/// Reads a capture from any reader; `name` is used in messages, `size` for progress.
pub fn open_reader(
    reader: Box<dyn Read + Send>,
    name: &str,
    size: Option<u64>,
    opts: &FileOptions,
) -> Result<FileSource, CaptureError> {
    let filter = match &opts.filter {
        Some(f) => BpfFilter::new(f)?,
        None => None,
    };
    let mut input = if opts.read_ahead {
        Input::new(reader, opts.buffer_size)
    } else {
        Input::here(reader, opts.buffer_size)
    };
    let complete = input.fill(4).map_err(|source| CaptureError::Io {
        path: name.to_string(),
        source,
    })?;
    let format = match input.window() {
        [] => Format::Empty,
        _ if !complete => {
            return Err(CaptureError::Damaged {
                path: name.to_string(),
                offset: 0,
                reason: format!(
                    "the file has only {} bytes, too few for a magic number",
                    input.available()
                ),
                resumable: false,
            })
        }
        [a, b, c, d, ..] => {
            let magic = [*a, *b, *c, *d];
            if classic::is_magic(magic) {
                Format::Pcap(PcapParser::new())
            } else if magic == SHB.to_le_bytes() {
                Format::Pcapng(PcapngParser::new())
            } else {
                return Err(CaptureError::UnknownFormat {
                    path: name.to_string(),
                    magic,
                });
            }
        }
        _ => Format::Empty,
    };
    Ok(FileSource {
        path: name.to_string(),
        input,
        format,
        filter,
        keep_going: opts.keep_going,
        state: State::Reading,
        frame_no: 0,
        stats: SourceStats::default(),
        size,
        skipped: 0,
    })
}

impl FileSource {
    /// Bytes skipped while resynchronising after damage (`--keep-going`).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// "pcap", "pcapng" or "empty": the format found from the magic number.
    pub fn format_name(&self) -> &'static str {
        match self.format {
            Format::Pcap(_) => "pcap",
            Format::Pcapng(_) => "pcapng",
            Format::Empty => "empty",
        }
    }

    fn io_error(&self, source: std::io::Error) -> CaptureError {
        CaptureError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Counts record `rec` (already numbered) and hands out its frame, borrowed from the input.
    #[inline]
    fn deliver(&mut self, rec: &Record) -> Frame<'_> {
        self.stats.frames += 1;
        self.stats.bytes += u64::from(rec.caplen);
        let data_end = rec.data_off + rec.caplen as usize;
        let (data, owner) = self.input.take(rec.len, rec.data_off, data_end);
        Frame {
            ts: rec.ts,
            linktype: rec.linktype,
            frame_no: self.frame_no,
            caplen: data.len() as u32,
            orig_len: rec.orig_len,
            data,
            owner: Some(owner),
        }
    }

    fn damaged(&mut self, reason: String, resumable: bool, skip: Option<usize>) -> CaptureError {
        self.state = State::Damaged { resumable, skip };
        CaptureError::Damaged {
            path: self.path.clone(),
            offset: self.input.offset(),
            reason,
            resumable,
        }
    }

    /// Leaves the damaged record: skips it when its extent is known, else scans forward.
    /// Returns false when the input ended first.
    fn resume(&mut self, skip: Option<usize>) -> Result<bool, CaptureError> {
        let from = self.input.offset();
        let found = match skip {
            Some(n) => {
                self.input.consume(n);
                true
            }
            None => self.scan()?,
        };
        self.skipped += self.input.offset() - from;
        Ok(found)
    }

    /// Moves forward one byte at a time until the format's probe accepts a position.
    fn scan(&mut self) -> Result<bool, CaptureError> {
        self.input.consume(1);
        loop {
            // `eof` is only known once a fill falls short; until then the probe may ask for more.
            let mut eof = !self.input.fill(1).map_err(|e| self.io_error(e))?;
            if eof && self.input.available() == 0 {
                return Ok(false);
            }
            loop {
                match self.format.probe(self.input.window(), eof) {
                    Probe::Yes => return Ok(true),
                    Probe::Need(n) if !eof && n > self.input.available() => {
                        eof = !self.input.fill(n).map_err(|e| self.io_error(e))?;
                    }
                    _ => break,
                }
            }
            self.input.consume(1);
        }
    }
}

impl FrameSource for FileSource {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        // Fast path: a whole, sane pcap record in the window and no filter.
        if let (State::Reading, Format::Pcap(p), None) =
            (self.state, &mut self.format, &self.filter)
        {
            if let Some(rec) = p.packet(self.input.window()) {
                self.frame_no += 1;
                return Ok(Some(self.deliver(&rec)));
            }
        }
        loop {
            match self.state {
                State::Reading => {}
                State::Done => return Ok(None),
                State::Damaged { resumable, skip } => {
                    if !(self.keep_going && resumable && self.resume(skip)?) {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    self.state = State::Reading;
                }
            }
            match self.format.step(self.input.window()) {
                Step::Need(n) => {
                    let filled = self.input.fill(n).map_err(|e| {
                        self.state = State::Done;
                        self.io_error(e)
                    })?;
                    if !filled {
                        let have = self.input.available();
                        if have == 0 {
                            self.state = State::Done;
                            return Ok(None);
                        }
                        let reason = format!(
                            "the file ends inside a record: {n} bytes are needed from here, \
                             only {have} remain"
                        );
                        return Err(self.damaged(reason, false, None));
                    }
                }
                Step::Skip(n) => self.input.consume(n),
                Step::Damaged {
                    reason,
                    resumable,
                    skip,
                } => return Err(self.damaged(reason, resumable, skip)),
                Step::Packet(rec) => {
                    self.frame_no += 1;
                    let data_end = rec.data_off + rec.caplen as usize;
                    if let Some(f) = &mut self.filter {
                        let data = self.input.slice(rec.data_off, data_end);
                        if !f.matches(rec.linktype, data).inspect_err(|_| {
                            self.state = State::Done;
                        })? {
                            self.stats.filtered += 1;
                            self.input.consume(rec.len);
                            continue;
                        }
                    }
                    return Ok(Some(self.deliver(&rec)));
                }
            }
        }
    }

    fn stats(&self) -> SourceStats {
        self.stats
    }

    fn describe(&self) -> String {
        if self.path == "-" {
            "standard input".to_string()
        } else {
            format!("file {}", self.path)
        }
    }

    fn progress(&self) -> Option<(u64, u64)> {
        self.size.map(|s| (self.input.offset().min(s), s))
    }
}
