//! Summary view: counts per reason code with names (failures first), per type, anomalies,
//! latency, from the same `Totals` as `--format summary`.

use super::style;
use crate::mqtt::reason::Severity;
use crate::report::code_rows::{code_rows, name_width};
use crate::timefmt::latency;
use crate::tui::state::AppState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// The summary as styled lines.
pub fn lines(s: &AppState) -> Vec<Line<'static>> {
    let t = &s.totals;
    let mut out = Vec::new();
    let h = |text: &str| Line::styled(text.to_string(), style::heading());
    out.push(h("MQTT"));
    out.push(Line::raw(format!(
        "  {} packets, {} failures, {} notices, {} malformed, {} unanswered requests, {} connections",
        t.packets, t.failures, t.notices, t.malformed, t.unanswered, s.conns.list.len()
    )));
    out.push(h("Reason codes (failures first)"));
    let codes = code_rows(t, &s.catalogue);
    let width = name_width(&codes);
    for r in codes {
        let st = match r.severity {
            Severity::Failure => style::failure(),
            Severity::Notice => style::notice(),
            Severity::Success => Style::new().fg(Color::Green),
        };
        out.push(Line::from(vec![
            Span::styled(format!("  {:<4} ", r.mark()), st),
            Span::raw(format!("{:<11} {:<5} ", r.ptype.name(), r.version)),
            Span::styled(format!("{} {:<width$}", r.code, r.name), st),
            Span::raw(format!(" {:>8}", r.count)),
        ]));
    }
    out.push(h("Packets by type              to server  to client"));
    for (pt, v) in &t.by_type {
        out.push(Line::raw(format!(
            "  {:<26} {:>9} {:>10}",
            pt.name(),
            v[0],
            v[1]
        )));
    }
    if !t.anomalies.is_empty() {
        out.push(h("Anomalies"));
        for (a, n) in &t.anomalies {
            out.push(Line::styled(format!("  ⚠ {a:<32} {n:>8}"), style::notice()));
        }
    }
    if !t.latency.is_empty() {
        out.push(h(
            "Latency                      count      p50      p95      max",
        ));
        for (k, l) in &t.latency {
            out.push(Line::raw(format!(
                "  {k:<24} {:>8} {:>8} {:>8} {:>8}",
                l.count(),
                latency(l.percentile(50.0)),
                latency(l.percentile(95.0)),
                latency(l.max())
            )));
        }
    }
    let g = t.gaps;
    if g.0 + t.skipped_bytes + t.oversize + t.encrypted > 0 {
        out.push(h("Stream"));
        out.push(Line::styled(
            format!(
                "  {} gaps ({} bytes), {} bytes skipped, {} packets over the size cap, {} TLS connections",
                g.0, g.1, t.skipped_bytes, t.oversize, t.encrypted
            ),
            style::malformed(),
        ));
    }
    out
}

/// Draws the view.
pub fn draw(s: &AppState, area: Rect, buf: &mut Buffer) {
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::Cyan))
        .title(" Summary ");
    let inner = block.inner(area);
    block.render(area, buf);
    let all = lines(s);
    let max = all.len().saturating_sub(usize::from(inner.height));
    for (l, y) in all
        .iter()
        .skip(s.summary_scroll.min(max))
        .zip(inner.y..inner.y + inner.height)
    {
        buf.set_line(inner.x, y, l, inner.width);
    }
}
