//! Bottom bar: the filter being edited (green when valid, red with the reason when not), the
//! applied filter, messages and key hints.

use super::style;
use crate::filter::Filter;
use crate::tui::state::AppState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Draws the bar.
pub fn draw(s: &AppState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let line = if let Some(text) = &s.editing {
        let (st, note) = match Filter::parse(text) {
            Ok(_) => (
                Style::new().fg(Color::Green),
                "  Enter applies, Esc cancels".to_string(),
            ),
            Err(e) => (Style::new().fg(Color::Red), format!("  {e}")),
        };
        Line::from(vec![
            Span::styled(" / ", Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(text.clone(), st.add_modifier(Modifier::BOLD)),
            Span::styled("▏", st),
            Span::styled(note, st),
        ])
    } else if let Some(m) = &s.message {
        let st = if m.error {
            style::failure()
        } else {
            style::notice()
        };
        Line::styled(format!(" {}", m.text), st)
    } else {
        let mut v = Vec::new();
        if !s.filter_text.is_empty() {
            v.push(Span::styled(" filter: ", style::dim()));
            v.push(Span::styled(
                s.filter_text.clone(),
                Style::new().fg(Color::Green),
            ));
            v.push(Span::styled(
                format!(" ({} rows) ", s.shown()),
                style::dim(),
            ));
        }
        v.push(Span::styled(
            " ?:help /:filter n/N:failures Enter:detail a:pair 1-4:views q:quit",
            style::dim(),
        ));
        Line::from(v)
    };
    buf.set_line(area.x, area.y, &line, area.width);
}
