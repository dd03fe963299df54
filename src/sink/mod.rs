//! Output sinks: every event is pushed to each sink in capture order; a sink may ask to stop.

pub mod csv;
pub mod jsonl;
pub mod jsonother;
pub mod jsonw;
pub mod schema;
pub mod summary;
pub mod summaryw;
pub mod text;

use crate::event::Event;
use crate::report::Totals;
use std::io;

/// What a sink wants after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Stop the run (the reader went away).
    Stop,
}

/// A destination for events.
pub trait Sink {
    /// Handles one event.
    fn event(&mut self, ev: &Event) -> io::Result<Flow>;
    /// Called once at the end with the run's totals.
    fn finish(&mut self, totals: &Totals) -> io::Result<()>;
    /// True when the sink writes nothing per event (it reads only the totals): the pipeline
    /// may then split its threads differently. The output must not depend on it.
    fn ignores_events(&self) -> bool {
        false
    }
}

/// Maps a write error to a flow: a closed pipe ends the run quietly, anything else is an error.
pub fn pipe_ok(r: io::Result<()>) -> io::Result<Flow> {
    match r {
        Ok(()) => Ok(Flow::Continue),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::Stop),
        Err(e) => Err(e),
    }
}
