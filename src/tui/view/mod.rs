//! Views: pure functions of `&AppState` that draw into a ratatui `Buffer` (no decoding, no I/O).

pub mod connections;
pub mod detail;
pub mod filterbar;
pub mod header;
pub mod help;
pub mod layout;
pub mod style;
pub mod summary;
pub mod timeline;

use super::action::ViewId;
use super::state::AppState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Draws the whole screen for `state` into `buf`.
pub fn draw(state: &AppState, area: Rect, buf: &mut Buffer) {
    let a = layout::areas(area, state.view);
    header::draw(state, a.header, buf);
    match state.view {
        ViewId::Timeline => {
            timeline::draw(state, a.main, buf);
            if let Some(d) = a.detail {
                detail::draw(state, d, buf);
            }
        }
        ViewId::Detail => detail::draw(state, a.main, buf),
        ViewId::Connections => connections::draw(state, a.main, buf),
        ViewId::Summary => summary::draw(state, a.main, buf),
    }
    filterbar::draw(state, a.bar, buf);
    if state.help {
        help::draw(area, buf);
    }
}

/// Writes `text` truncated to `width` columns.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n + 1 >= width && text.chars().count() > width {
            out.push('…');
            return out;
        }
        out.push(c);
    }
    out
}

/// Pads or cuts `text` to exactly `width` columns.
pub(crate) fn cell(text: &str, width: usize) -> String {
    format!("{:<width$}", fit(text, width))
}
