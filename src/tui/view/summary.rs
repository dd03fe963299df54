//! Summary view: counts per reason code with names (failures first), per type, anomalies,
//! latency, from the same `Totals` as `--format summary`.

use super::style;
use crate::mqtt::reason::Severity;
use crate::mqtt::types::Version;
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
    let mut codes: Vec<_> = t.codes.iter().collect();
    codes.sort_by_key(|((pt, v, c), _)| {
        let sev = s
            .catalogue
            .explain(*c, *pt, v.unwrap_or(Version::V5))
            .severity;
        (std::cmp::Reverse(sev as u8), *pt, *c)
    });
    for ((pt, v, code), n) in codes {
        let ex = s.catalogue.explain(*code, *pt, v.unwrap_or(Version::V5));
        let (mark, st) = match ex.severity {
            Severity::Failure => ("FAIL", style::failure()),
            Severity::Notice => ("note", style::notice()),
            Severity::Success => ("ok", Style::new().fg(Color::Green)),
        };
        out.push(Line::from(vec![
            Span::styled(format!("  {mark:<4} "), st),
            Span::raw(format!("{:<11} ", pt.name())),
            Span::styled(format!("{code} {:<40}", ex.name), st),
            Span::raw(format!(" {n:>8}")),
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
