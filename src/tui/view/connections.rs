//! Connections view: one row per connection with version, state, outcome, counts, latency
//! and reconnects; Enter filters the timeline to the selected one.

use super::{cell, style};
use crate::event::Outcome;
use crate::mqtt::types::PacketType;
use crate::mqtt::types::Version;
use crate::tcp::CloseReason;
use crate::timefmt::latency;
use crate::tui::state::AppState;
use crate::tui::store::Sym;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// Column widths for one terminal width.
#[derive(Clone, Copy)]
struct Widths {
    client: usize,
    outcome: usize,
    address: usize,
    anomalies: bool,
}

const WIDE: Widths = Widths {
    client: 22,
    outcome: 30,
    address: 21,
    anomalies: true,
};
const MEDIUM: Widths = Widths {
    client: 22,
    outcome: 28,
    address: 0,
    anomalies: true,
};
const NARROW: Widths = Widths {
    client: 14,
    outcome: 16,
    address: 0,
    anomalies: false,
};

/// Draws the view.
pub fn draw(s: &AppState, area: Rect, buf: &mut Buffer) {
    let n = s.conns.list.len();
    let title = format!(
        " Connections {}/{n}  (Enter: show its packets) ",
        (s.conn_sel + 1).min(n)
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::Cyan))
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let w = if inner.width >= 130 {
        WIDE
    } else if inner.width >= 100 {
        MEDIUM
    } else {
        NARROW
    };
    let mut head = format!(
        "{} {} {} {} ",
        cell("Client", w.client),
        cell("Ver", 5),
        cell("State", 6),
        cell("Outcome", w.outcome)
    );
    if w.address > 0 {
        head.push_str(&format!("{} ", cell("Address", w.address)));
    }
    head.push_str(&format!("{:>5} {:>4} ", "Pkts", "Fail"));
    if w.anomalies {
        head.push_str(&format!("{:>5} ", "Anom"));
    }
    head.push_str(&format!("{:>8} {:>8} {:>3}", "p50", "p95", "Rec"));
    buf.set_line(
        inner.x,
        inner.y,
        &Line::styled(head, Style::new().add_modifier(Modifier::BOLD)),
        inner.width,
    );
    let rows = usize::from(inner.height.saturating_sub(1));
    let offset = (s.conn_sel + 1).saturating_sub(rows);
    for (i, y) in (offset..n.min(offset + rows)).zip(inner.y + 1..) {
        let Some(c) = s.conns.list.get(i) else { break };
        let id = match s.store.strings.get(c.client_id) {
            "" if c.client_id == Sym::NONE => "(no CONNECT)".to_string(),
            "" => c.client.to_string(),
            id => id.to_string(),
        };
        let ver = c.version.map_or("?".into(), |v: Version| v.to_string());
        let state = match c.closed {
            None => "open".to_string(),
            Some(CloseReason::Fin) => "fin".into(),
            Some(CloseReason::Rst) => "reset".into(),
            Some(CloseReason::Idle) => "idle".into(),
            Some(CloseReason::Evicted) => "evict".into(),
            Some(CloseReason::EndOfCapture) => "open".into(),
        };
        let (outcome, st) = match c.connack {
            None => ("no CONNACK".to_string(), style::dim()),
            Some((code, o)) => {
                let ex = s.catalogue.explain(
                    code,
                    PacketType::CONNACK,
                    c.version.unwrap_or(Version::V5),
                );
                let st = if o >= Outcome::Failure {
                    style::failure()
                } else {
                    Style::new().fg(Color::Green)
                };
                (format!("{code} {}", ex.name), st)
            }
        };
        let (p50, p95) = if c.latency.count() > 0 {
            (
                latency(c.latency.percentile(50.0)),
                latency(c.latency.percentile(95.0)),
            )
        } else {
            ("-".into(), "-".into())
        };
        let fail_st = if c.failures > 0 {
            style::failure()
        } else {
            Style::new()
        };
        let mut v = vec![
            Span::raw(format!("{} ", cell(&id, w.client))),
            Span::raw(format!("{} ", cell(&ver, 5))),
            Span::raw(format!("{} ", cell(&state, 6))),
            Span::styled(format!("{} ", cell(&outcome, w.outcome)), st),
        ];
        if w.address > 0 {
            v.push(Span::styled(
                format!("{} ", cell(&c.client.to_string(), w.address)),
                style::dim(),
            ));
        }
        v.push(Span::raw(format!("{:>5} ", c.packets)));
        v.push(Span::styled(format!("{:>4} ", c.failures), fail_st));
        if w.anomalies {
            v.push(Span::raw(format!("{:>5} ", c.anomalies)));
        }
        v.push(Span::raw(format!("{p50:>8} {p95:>8} {:>3}", c.reconnects)));
        let line = Line::from(v);
        let line = if i == s.conn_sel {
            line.patch_style(style::selected())
        } else {
            line
        };
        if i == s.conn_sel {
            buf.set_style(
                Rect {
                    x: inner.x,
                    y,
                    width: inner.width,
                    height: 1,
                },
                style::selected(),
            );
        }
        buf.set_line(inner.x, y, &line, inner.width);
    }
}
