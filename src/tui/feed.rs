//! The analysis thread: reads frames through the `Analyzer` and sends the events in batches
//! (with reading progress) to the UI thread as `Action`s.

use super::action::{Action, Finished, Progress};
use crate::capture::{CaptureError, FrameSource, PcapngWriter};
use crate::event::Event;
use crate::filter::Filter;
use crate::pipeline::{analyse_all, Analyzer, RunOptions};
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events per batch at most: with the 16 batches the channel holds, at most ~18 K events
/// (~11 MiB) wait between the threads when the UI falls behind (8192 held ~80 MiB).
pub const BATCH: usize = 1024;
/// A partial batch is sent after this long.
pub const FLUSH_EVERY: Duration = Duration::from_millis(40);

/// What the analysis thread needs.
pub struct Feed {
    /// The frames.
    pub source: Box<dyn FrameSource + Send>,
    /// The analysis.
    pub analyzer: Analyzer,
    /// Where actions go.
    pub tx: SyncSender<Action>,
    /// Set by the UI to stop reading.
    pub cancel: Arc<AtomicBool>,
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Go on after resumable damage.
    pub keep_going: bool,
    /// Save frames here as they are read.
    pub writer: Option<PcapngWriter<Box<dyn Write + Send>>>,
}

struct Batcher {
    tx: SyncSender<Action>,
    batch: Vec<Event>,
    last: Instant,
    gone: bool,
}

impl Batcher {
    fn flush(&mut self, progress: Progress) {
        if !self.batch.is_empty() {
            let b = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            self.gone |= self.tx.send(Action::Events(b)).is_err();
        }
        self.gone |= self.tx.send(Action::Progress(progress)).is_err();
        self.last = Instant::now();
    }
}

fn progress(source: &dyn FrameSource) -> Progress {
    let s = source.stats();
    Progress {
        frames: s.frames,
        bytes: s.bytes,
        file: source.progress(),
        kernel_drops: s.kernel_drops,
    }
}

impl Feed {
    /// Reads until the end, an error, the frame count or cancellation; sends `Finished` last.
    /// Returns the -w writer's error, if finishing it failed.
    pub fn run(mut self) -> Option<String> {
        let b = RefCell::new(Batcher {
            tx: self.tx.clone(),
            batch: Vec::with_capacity(BATCH),
            last: Instant::now(),
            gone: false,
        });
        b.borrow_mut().flush(progress(self.source.as_ref()));
        let cancel = Arc::clone(&self.cancel);
        let mut opts = RunOptions {
            count: self.count,
            keep_going: self.keep_going,
            writer: self.writer.as_mut(),
            filter: Filter::default(),
        };
        let errors: Vec<CaptureError> = analyse_all(
            self.source.as_mut(),
            &mut self.analyzer,
            &mut opts,
            &mut |src| {
                let mut b = b.borrow_mut();
                if b.batch.len() >= BATCH || b.last.elapsed() >= FLUSH_EVERY {
                    b.flush(progress(src));
                }
                cancel.load(Ordering::Relaxed) || b.gone
            },
            &mut |ev| b.borrow_mut().batch.push(ev),
            &mut || {},
        );
        b.borrow_mut().flush(progress(self.source.as_ref()));
        let mut capture = self.analyzer.capture_totals();
        let s = self.source.stats();
        capture.kernel_drops = s.kernel_drops;
        capture.filtered = s.filtered;
        capture.damage = errors.first().map(|e| e.to_string());
        let mut werr = None;
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finish() {
                werr = Some(format!("cannot finish the -w file: {e}"));
            }
        }
        let mut errs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        errs.extend(werr.clone());
        let _ = self.tx.send(Action::Finished(Finished {
            capture,
            errors: errs,
        }));
        werr
    }
}
