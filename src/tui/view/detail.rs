//! Detail pane: every decoded field, codes with meaning and hint, pairing, anomalies, and a
//! hex view of the kept bytes with the selected field highlighted.

use super::style;
use crate::tui::action::ViewId;
use crate::tui::detail::DetailModel;
use crate::tui::state::{AppState, Pane};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// Draws the detail of the selected row.
pub fn draw(s: &AppState, area: Rect, buf: &mut Buffer) {
    let focused = s.view == ViewId::Detail || s.focus == Pane::Detail;
    let border = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        style::dim()
    };
    let title = s
        .detail
        .as_ref()
        .map_or(" Detail ".to_string(), |d| format!(" {} ", d.title));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(d) = &s.detail else {
        buf.set_line(
            inner.x,
            inner.y,
            &Line::styled(" nothing selected", style::dim()),
            inner.width,
        );
        return;
    };
    let text = text_lines(d);
    let bytes = byte_lines(d, s.field_sel);
    if inner.width >= 150 {
        let lw = inner.width - 76;
        let left = Rect { width: lw, ..inner };
        let right = Rect {
            x: inner.x + lw + 1,
            width: 75,
            ..inner
        };
        put(&text, s.detail_scroll, left, buf);
        put(&bytes, 0, right, buf);
    } else {
        let mut all = text;
        all.push(Line::raw(""));
        all.extend(bytes);
        put(&all, s.detail_scroll, inner, buf);
    }
}

fn put(lines: &[Line<'_>], scroll: usize, area: Rect, buf: &mut Buffer) {
    let max = lines.len().saturating_sub(usize::from(area.height));
    for (l, y) in lines
        .iter()
        .skip(scroll.min(max))
        .zip(area.y..area.y + area.height)
    {
        buf.set_line(area.x, y, l, area.width);
    }
}

/// The decoded fields as lines.
pub fn text_lines(d: &DetailModel) -> Vec<Line<'_>> {
    d.lines
        .iter()
        .map(|l| {
            if l.label.is_empty() {
                Line::styled(l.value.as_str(), style::tone(l.tone))
            } else {
                Line::from(vec![
                    Span::styled(format!("  {:<18} ", l.label), style::dim()),
                    Span::styled(l.value.as_str(), style::tone(l.tone)),
                ])
            }
        })
        .collect()
}

/// The field list and the hex dump with field `sel` highlighted.
pub fn byte_lines(d: &DetailModel, sel: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if d.raw.is_empty() {
        return out;
    }
    let kept = if d.raw.len() < d.total {
        format!(
            "Bytes (first {} of {})  j/k select a field",
            d.raw.len(),
            d.total
        )
    } else {
        format!("Bytes ({})  j/k select a field", d.total)
    };
    out.push(Line::styled(kept, style::heading()));
    let sel = sel.min(d.fields.len().saturating_sub(1));
    for (i, f) in d.fields.iter().enumerate() {
        let mark = if i == sel { "▶" } else { " " };
        let st = if i == sel {
            style::highlight()
        } else {
            Style::new()
        };
        out.push(Line::from(vec![
            Span::raw(format!(" {mark} ")),
            Span::styled(format!("{:<36}", f.label), st),
            Span::styled(format!(" bytes {}..{}", f.start, f.end), style::dim()),
        ]));
    }
    let range = d.fields.get(sel).map_or(0..0, |f| f.start..f.end);
    for (n, chunk) in d.raw.chunks(16).enumerate() {
        let base = n * 16;
        let mut spans = vec![Span::styled(format!("{base:04x}  "), style::dim())];
        for (j, b) in chunk.iter().enumerate() {
            let st = if range.contains(&(base + j)) {
                style::highlight()
            } else {
                Style::new()
            };
            spans.push(Span::styled(format!("{b:02x}"), st));
            spans.push(Span::raw(if j == 7 { "  " } else { " " }));
        }
        let pad = 16 - chunk.len();
        spans.push(Span::raw(" ".repeat(pad * 3 + usize::from(pad > 8) + 1)));
        for (j, b) in chunk.iter().enumerate() {
            let c = if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '.'
            };
            let st = if range.contains(&(base + j)) {
                style::highlight()
            } else {
                style::dim()
            };
            spans.push(Span::styled(c.to_string(), st));
        }
        out.push(Line::from(spans));
    }
    if d.raw.len() < d.total {
        out.push(Line::styled(
            format!("      … {} more bytes not kept", d.total - d.raw.len()),
            style::dim().add_modifier(Modifier::ITALIC),
        ));
    }
    out
}
