//! Colours shared by the views, so a failure looks the same everywhere.

use crate::event::Outcome;
use crate::tui::detail::Tone;
use ratatui::style::{Color, Modifier, Style};

/// Failures (non-success codes).
pub fn failure() -> Style {
    Style::new().fg(Color::Red)
}
/// Notices (notable successes, stream notices).
pub fn notice() -> Style {
    Style::new().fg(Color::Yellow)
}
/// Malformed packets and stream damage.
pub fn malformed() -> Style {
    Style::new().fg(Color::Magenta)
}
/// Secondary text.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}
/// Headings and titles.
pub fn heading() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}
/// The selected row.
pub fn selected() -> Style {
    Style::new()
        .bg(Color::Indexed(236))
        .add_modifier(Modifier::BOLD)
}
/// The highlighted field in the hex view.
pub fn highlight() -> Style {
    Style::new().fg(Color::Black).bg(Color::Cyan)
}

/// The style of a packet with this outcome.
pub fn outcome(o: Outcome) -> Style {
    match o {
        Outcome::Success => Style::new(),
        Outcome::Notice => notice(),
        Outcome::Failure => failure(),
        Outcome::Malformed => malformed(),
    }
}

/// The style of a detail line.
pub fn tone(t: Tone) -> Style {
    match t {
        Tone::Heading => heading(),
        Tone::Normal => Style::new(),
        Tone::Dim => dim(),
        Tone::Success => Style::new().fg(Color::Green),
        Tone::Failure => failure(),
        Tone::Notice => notice(),
        Tone::Malformed => malformed(),
        Tone::Anomaly => notice(),
    }
}
