//! Help overlay, generated from the key table the app uses.

use super::{cell, style};
use crate::tui::action::{FILTER_KEYS, KEYS};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

/// Every (keys, help) entry: the key table, the mouse, then the filter-editing keys.
pub fn entries() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = KEYS
        .iter()
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(|k| k.label()).collect();
            (keys.join(" "), b.help.to_string())
        })
        .collect();
    out.push(("wheel".into(), "scroll".into()));
    for (k, h) in FILTER_KEYS {
        out.push((format!("/…{k}"), (*h).to_string()));
    }
    out
}

/// Filter syntax lines shown under the keys.
const SYNTAX: [&str; 3] = [
    "Filter terms, all must match (same as the command line):",
    "  type:PUBLISH,SUBACK client:sensor-* topic:home/+/temp rc:0x87",
    "  conn:10.0.0.1:1883 failed slow>100ms          any key closes",
];

/// Draws the overlay centred in `area`, in two columns when one does not fit.
pub fn draw(area: Rect, buf: &mut Buffer) {
    let all = entries();
    let w = area.width.min(84);
    let inner_h = usize::from(area.height.saturating_sub(2));
    let room = inner_h.saturating_sub(SYNTAX.len());
    let cols = if all.len() <= room || w < 60 { 1 } else { 2 };
    let per_col = all.len().div_ceil(cols);
    let h = area.height.min((per_col + SYNTAX.len() + 2) as u16);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(r, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::Cyan))
        .title(" Help: keys (?) ");
    let inner = block.inner(r);
    block.render(r, buf);
    let col_w = inner.width / cols as u16;
    let rows = usize::from(inner.height)
        .saturating_sub(SYNTAX.len())
        .min(per_col);
    for (i, (k, h)) in all.iter().enumerate() {
        let (c, row) = (i / per_col, i % per_col);
        if row >= rows {
            continue;
        }
        let line = Line::from(vec![
            Span::styled(
                cell(k, 13),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(h.clone()),
        ]);
        buf.set_line(
            inner.x + c as u16 * col_w,
            inner.y + row as u16,
            &line,
            col_w.saturating_sub(2),
        );
    }
    for (t, y) in SYNTAX
        .iter()
        .zip(inner.y + rows as u16..inner.y + inner.height)
    {
        buf.set_line(inner.x, y, &Line::styled(*t, style::dim()), inner.width);
    }
}
