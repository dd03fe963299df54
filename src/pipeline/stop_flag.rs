//! A stop flag shared between pipeline threads, alone on its cache lines.
//!
//! The reading thread checks it once per frame while the other thread keeps its stack busy.
//! A plain `AtomicBool` on that thread's stack shares a cache line with hot locals, so each
//! check pulls the line across cores and the owner takes a miss right after (perf on the
//! 1 GiB bench capture: 8 % of all samples landed on the check and on one stack compare).

use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that one thread raises and another polls; padded to two cache lines (adjacent-line
/// prefetch pairs lines) so that nothing else lives next to it.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(super) struct StopFlag(AtomicBool);

impl StopFlag {
    /// Asks the other thread to stop.
    pub(super) fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once raised.
    pub(super) fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_on_its_lines_and_raised_once_set() {
        assert_eq!(std::mem::align_of::<StopFlag>(), 128);
        assert_eq!(std::mem::size_of::<StopFlag>(), 128);
        let f = StopFlag::default();
        assert!(!f.raised());
        f.raise();
        assert!(f.raised());
    }

    #[test]
    fn state_of_each_thread_is_alone_on_its_lines() {
        // What the reading thread and the session thread each write per frame or per event.
        assert!(std::mem::align_of::<super::super::Lower>() >= 128);
        assert!(std::mem::align_of::<super::super::RunOptions<'_>>() >= 128);
        assert!(std::mem::align_of::<crate::capture::FileSource>() >= 128);
        assert!(std::mem::align_of::<crate::session::Sessions>() >= 128);
        assert!(std::mem::align_of::<crate::report::Totals>() >= 128);
    }
}
