//! Actions (every key, mouse event, tick and analysis result becomes one) and the key table
//! that both the key mapping and the help overlay are generated from.

use crate::event::Event;
use crate::report::CaptureTotals;

/// A key as the app understands it, independent of the terminal library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// A character with Ctrl held.
    Ctrl(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
}

impl Key {
    /// How the key is written in the help overlay.
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "Space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{c}"),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::Tab => "Tab".into(),
            Key::BackTab => "Shift-Tab".into(),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Backspace => "Backspace".into(),
        }
    }
}

/// The screens switched with `1`..`4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ViewId {
    /// Timeline with the detail pane.
    #[default]
    Timeline,
    /// The selected packet's detail, full screen.
    Detail,
    /// One row per connection.
    Connections,
    /// Counts per reason code, type, anomaly and latency.
    Summary,
}

/// What a bound key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Selection up one row (or field in the detail pane).
    Up,
    /// Selection down one row.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// Up half a page.
    HalfUp,
    /// Down half a page.
    HalfDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Open the selection (detail, or filter the timeline to a connection).
    Open,
    /// Back to the timeline / close the overlay.
    Back,
    /// Next failure, malformed packet or anomaly.
    NextFailure,
    /// Previous failure, malformed packet or anomaly.
    PrevFailure,
    /// Edit the filter.
    Filter,
    /// Jump to the request/answer the selected packet pairs with.
    Pair,
    /// Follow mode on/off (stick to the newest packet).
    Follow,
    /// Pause/resume the live display (analysis goes on).
    Pause,
    /// Switch to a view.
    View(ViewId),
    /// Show/hide the help overlay.
    Help,
    /// Quit.
    Quit,
}

/// One row of the key table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// The keys that trigger it.
    pub keys: &'static [Key],
    /// What they do.
    pub cmd: Cmd,
    /// The help text.
    pub help: &'static str,
}

/// Every key of the normal mode; the help overlay lists exactly this table.
#[rustfmt::skip]
pub const KEYS: &[Binding] = &[
    Binding { keys: &[Key::Down, Key::Char('j')], cmd: Cmd::Down, help: "next row / next field" },
    Binding { keys: &[Key::Up, Key::Char('k')], cmd: Cmd::Up, help: "previous row / field" },
    Binding { keys: &[Key::PageDown, Key::Char(' ')], cmd: Cmd::PageDown, help: "page down" },
    Binding { keys: &[Key::PageUp], cmd: Cmd::PageUp, help: "page up" },
    Binding { keys: &[Key::Ctrl('d')], cmd: Cmd::HalfDown, help: "half a page down" },
    Binding { keys: &[Key::Ctrl('u')], cmd: Cmd::HalfUp, help: "half a page up" },
    Binding { keys: &[Key::Home, Key::Char('g')], cmd: Cmd::Top, help: "first row" },
    Binding { keys: &[Key::End, Key::Char('G')], cmd: Cmd::Bottom, help: "last row" },
    Binding { keys: &[Key::Tab], cmd: Cmd::NextPane, help: "next pane" },
    Binding { keys: &[Key::BackTab], cmd: Cmd::PrevPane, help: "previous pane" },
    Binding { keys: &[Key::Enter], cmd: Cmd::Open, help: "open detail / connection" },
    Binding { keys: &[Key::Esc], cmd: Cmd::Back, help: "back to the timeline" },
    Binding { keys: &[Key::Char('n')], cmd: Cmd::NextFailure, help: "next failure or anomaly" },
    Binding { keys: &[Key::Char('N')], cmd: Cmd::PrevFailure, help: "previous failure" },
    Binding { keys: &[Key::Char('/')], cmd: Cmd::Filter, help: "edit the filter" },
    Binding { keys: &[Key::Char('a')], cmd: Cmd::Pair, help: "jump to request/answer" },
    Binding { keys: &[Key::Char('f')], cmd: Cmd::Follow, help: "follow newest on/off" },
    Binding { keys: &[Key::Char('p')], cmd: Cmd::Pause, help: "pause live display" },
    Binding { keys: &[Key::Char('1')], cmd: Cmd::View(ViewId::Timeline), help: "timeline view" },
    Binding { keys: &[Key::Char('2')], cmd: Cmd::View(ViewId::Detail), help: "detail view" },
    Binding { keys: &[Key::Char('3')], cmd: Cmd::View(ViewId::Connections), help: "connections view" },
    Binding { keys: &[Key::Char('4')], cmd: Cmd::View(ViewId::Summary), help: "summary view" },
    Binding { keys: &[Key::Char('?')], cmd: Cmd::Help, help: "this help" },
    Binding { keys: &[Key::Char('q'), Key::Ctrl('c')], cmd: Cmd::Quit, help: "quit" },
];

/// Keys while the filter is being edited (listed in the help overlay too).
pub const FILTER_KEYS: &[(&str, &str)] = &[
    ("Enter", "apply (when green)"),
    ("Esc", "cancel editing"),
    ("Backspace", "delete a character"),
    ("Ctrl-u", "clear the text"),
    ("Ctrl-c", "quit"),
];

/// The command bound to `key` in the normal mode.
pub fn command_for(key: Key) -> Option<Cmd> {
    KEYS.iter().find(|b| b.keys.contains(&key)).map(|b| b.cmd)
}

/// Mouse input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mouse {
    /// Wheel up.
    ScrollUp,
    /// Wheel down.
    ScrollDown,
}

/// Frames and bytes read so far, sent by the analysis thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Frames read.
    pub frames: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// File bytes consumed and total (files of known size).
    pub file: Option<(u64, u64)>,
    /// Kernel drops (live).
    pub kernel_drops: Option<u64>,
}

/// The end of the analysis.
#[derive(Clone, Debug, Default)]
pub struct Finished {
    /// Statistics below MQTT.
    pub capture: CaptureTotals,
    /// Read errors, as sentences.
    pub errors: Vec<String>,
}

/// Everything that changes the state.
#[derive(Clone, Debug)]
pub enum Action {
    /// A key from the terminal; mapped through the key table by the state (mode dependent).
    Key(Key),
    /// A bound command (tests and the key table).
    Cmd(Cmd),
    /// Mouse wheel.
    Mouse(Mouse),
    /// The terminal size changed (columns, rows).
    Resize(u16, u16),
    /// Time passed: milliseconds since the start (virtual in tests).
    Tick(u64),
    /// A batch of analysed events in capture order.
    Events(Vec<Event>),
    /// Reading progress.
    Progress(Progress),
    /// The analysis ended.
    Finished(Finished),
    /// An interrupt from outside (SIGINT): quit.
    Interrupt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_maps_to_one_command() {
        for b in KEYS {
            for k in b.keys {
                assert_eq!(command_for(*k), Some(b.cmd), "{k:?}");
            }
        }
        assert_eq!(command_for(Key::Ctrl('c')), Some(Cmd::Quit));
        assert_eq!(command_for(Key::Char('z')), None);
    }
}
