//! Timeline: one row per MQTT packet (and stream notice) in capture order; only the rows on
//! screen are formatted.

use super::layout::table_rows;
use super::{cell, style};
use crate::capture::Ts;
use crate::event::Outcome;
use crate::mqtt::reason::Severity;
use crate::mqtt::types::{PacketType, Version};
use crate::timefmt;
use crate::tui::state::{AppState, Pane};
use crate::tui::store::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};
use std::fmt::Write as _;

/// Column widths: (time, client) for a pane this wide.
fn widths(width: u16) -> (usize, usize) {
    if width >= 110 {
        (15, 20)
    } else {
        (12, 12)
    }
}

/// Draws the timeline pane.
pub fn draw(s: &AppState, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Pane::Timeline;
    let shown = s.shown();
    let pos = s.sel_index().map_or(0, |i| i + 1);
    let mut title = format!(" Timeline {pos}/{shown} ");
    if !s.filter_text.is_empty() {
        let _ = write!(title, "[{}] ", s.filter_text);
    }
    let border = if focused {
        Style::new().fg(ratatui::style::Color::Cyan)
    } else {
        style::dim()
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let (tw, cw) = widths(inner.width);
    let head = format!(
        "{} {}   {} {:>7}  Fields · reason code: meaning",
        cell("Time", tw),
        cell("Client", cw),
        cell("Type", 11),
        "Latency",
    );
    buf.set_line(
        inner.x,
        inner.y,
        &Line::styled(head, Style::new().add_modifier(Modifier::BOLD)),
        inner.width,
    );
    let rows = table_rows(area);
    if shown == 0 {
        let msg = if s.store.is_empty() {
            " waiting for MQTT packets…"
        } else {
            " no row matches the filter"
        };
        buf.set_line(
            inner.x,
            inner.y + 1,
            &Line::styled(msg, style::dim()),
            inner.width,
        );
        return;
    }
    let offset = s.offset.min(shown.saturating_sub(1));
    for (i, line_y) in (offset..shown.min(offset + rows)).zip(inner.y + 1..) {
        let Some(seq) = s.visible.get(i) else {
            break;
        };
        let Some(row) = s.store.get(seq) else {
            continue;
        };
        let mut line = row_line(s, row, inner.width);
        if s.selected == Some(seq) {
            line = line.patch_style(style::selected());
            let blank = Rect {
                x: inner.x,
                y: line_y,
                width: inner.width,
                height: 1,
            };
            buf.set_style(blank, style::selected());
        }
        buf.set_line(inner.x, line_y, &line, inner.width);
    }
}

/// The spans of one timeline row.
pub fn row_line<'a>(s: &'a AppState, row: &'a Row, width: u16) -> Line<'a> {
    let (tw, cw) = widths(width);
    let mut t = String::with_capacity(16);
    timefmt::time_of_day(Ts(row.ts), &mut t);
    t.truncate(tw);
    let who = if row.client != Sym::NONE {
        s.store.strings.get(row.client).to_string()
    } else {
        s.conns
            .list
            .get(row.conn as usize)
            .map_or(String::new(), |c| c.client.to_string())
    };
    let arrow = match (row.has(F_DIR), row.has(F_TO_CLIENT)) {
        (true, false) => "→",
        (true, true) => "←",
        _ => "·",
    };
    let mut v = vec![
        Span::styled(t, style::dim()),
        Span::raw(" "),
        Span::raw(cell(&who, cw)),
        Span::raw(format!(" {arrow} ")),
    ];
    let extra = row.extra.as_deref();
    match row.kind {
        RowKind::Packet => packet(s, row, extra, &mut v),
        RowKind::Close => {
            let c = extra.and_then(|e| e.close());
            let reason = c.map_or(String::new(), |c| format!("{:?}", c.reason));
            v.push(Span::styled(
                format!("{:<11} {:>7}  {reason}", "CLOSE", ""),
                style::dim(),
            ));
            if let Some(c) = c.filter(|c| !c.unanswered.is_empty()) {
                let list: Vec<String> = c
                    .unanswered
                    .iter()
                    .map(|(t, id, _)| match id {
                        Some(id) => format!("{t} id={id}"),
                        None => t.to_string(),
                    })
                    .collect();
                v.push(Span::styled(
                    format!(" unanswered: {}", list.join(", ")),
                    style::notice(),
                ));
            }
        }
        RowKind::Encrypted => v.push(Span::styled(
            format!(
                "{:<11} {:>7}  encrypted MQTT (TLS): contents not visible",
                "TLS", ""
            ),
            style::notice(),
        )),
        RowKind::Anomaly => v.push(Span::styled(format!("{:<11}", "ANOMALY"), style::notice())),
        k => {
            let name = match k {
                RowKind::Gap => "GAP",
                RowKind::Skipped => "SKIPPED",
                _ => "OVERSIZE",
            };
            let text = extra
                .and_then(|e| e.notice())
                .map_or("", |(_, t)| t.as_str());
            v.push(Span::styled(
                format!("{name:<11} {:>8}  {text}", ""),
                style::malformed(),
            ));
        }
    }
    if let Some(e) = extra.filter(|e| !e.anomalies().is_empty()) {
        let more = if e.anomalies().len() > 1 {
            format!(" (+{})", e.anomalies().len() - 1)
        } else {
            String::new()
        };
        if let Some(a) = e.anomalies().first() {
            v.push(Span::styled(
                format!("  ⚠ {}{more}", a.describe()),
                style::notice(),
            ));
        }
    }
    Line::from(v)
}

fn packet<'a>(s: &'a AppState, row: &'a Row, extra: Option<&'a Extra>, v: &mut Vec<Span<'a>>) {
    let name_style = match row.outcome {
        Outcome::Success => Style::new().add_modifier(Modifier::BOLD),
        o => style::outcome(o).add_modifier(Modifier::BOLD),
    };
    v.push(Span::styled(
        format!("{:<11}", row.ptype.name()),
        name_style,
    ));
    let lat = if row.has(F_ANSWER) {
        timefmt::latency(row.latency_ns())
    } else {
        String::new()
    };
    v.push(Span::styled(format!(" {lat:>7} "), style::dim()));
    let mut f = String::new();
    if let Some(c) = extra.and_then(|e| e.connect()) {
        let _ = write!(
            f,
            " {:?} v{} ka={}",
            c.client_id,
            Version(c.level),
            c.keep_alive
        );
        if c.clean_start {
            f.push_str(" clean");
        }
        if let Some(u) = &c.username {
            let _ = write!(f, " user={u:?}");
        }
    }
    if row.ptype == PacketType::PUBLISH {
        let _ = write!(f, " {:?}", s.store.strings.get(row.topic));
        if let Some((a, _)) = extra.and_then(|e| e.alias()) {
            let _ = write!(f, " alias={a}");
        }
        let _ = write!(f, " q{}", row.qos);
    }
    if row.has(F_PID) {
        let _ = write!(f, " id={}", row.packet_id);
    }
    if row.has(F_RETAIN) {
        f.push_str(" retain");
    }
    if row.has(F_DUP) {
        f.push_str(" dup");
    }
    if let Some(e) = extra {
        for t in e.topics().iter().take(3) {
            match t.qos {
                Some(q) => {
                    let _ = write!(f, " {:?}@{q}", t.topic);
                }
                None => {
                    let _ = write!(f, " {:?}", t.topic);
                }
            }
        }
        if e.topics().len() > 3 {
            let _ = write!(f, " +{} more", e.topics().len() - 3);
        }
        if let Some(sp) = e.session_present() {
            let _ = write!(f, " sp={}", u8::from(sp));
        }
    }
    if row.ptype == PacketType::PUBLISH {
        let _ = write!(f, " {}B", row.payload_len());
    }
    // A failure's code and meaning come before the fields, so narrow terminals still show why.
    if row.outcome >= Outcome::Notice {
        codes(s, row, extra, v);
        v.push(Span::raw(f));
    } else {
        v.push(Span::raw(f));
        codes(s, row, extra, v);
    }
    if let Some(m) = extra.and_then(|e| e.malformed()) {
        v.push(Span::styled(format!(" malformed: {m}"), style::malformed()));
    }
}

fn codes<'a>(s: &'a AppState, row: &'a Row, extra: Option<&'a Extra>, v: &mut Vec<Span<'a>>) {
    if row.ncodes == 0 {
        return;
    }
    let ver = Version(if row.version == 0 { 5 } else { row.version });
    let all: &[crate::mqtt::types::ReasonCode] = match extra {
        Some(e) if !e.codes().is_empty() => e.codes(),
        _ => std::slice::from_ref(&row.code),
    };
    let mut meaning = None;
    for (i, c) in all.iter().enumerate() {
        let ex = s.catalogue.explain(*c, row.ptype, ver);
        match ex.severity {
            Severity::Success => {
                if all.len() > 1 {
                    v.push(Span::styled(
                        format!(" {c}"),
                        Style::new().fg(ratatui::style::Color::Green),
                    ));
                } else if !row.has(F_IMPLIED) {
                    v.push(Span::styled(format!(" {c} {}", ex.name), style::dim()));
                }
            }
            sev => {
                let st = if sev == Severity::Failure {
                    style::failure()
                } else {
                    style::notice()
                };
                let topic = extra
                    .and_then(|e| e.sub_outcomes().get(i))
                    .map(|o| format!(" {:?}", o.topic))
                    .unwrap_or_default();
                v.push(Span::styled(
                    format!(" {c} {}{topic}", ex.name),
                    st.add_modifier(Modifier::BOLD),
                ));
                if meaning.is_none() {
                    meaning = Some((ex.meaning, st));
                }
            }
        }
    }
    if let Some((m, st)) = meaning {
        v.push(Span::styled(format!(": {m}"), st));
    }
    if let Some(rs) = extra.and_then(|e| e.reason_string()) {
        v.push(Span::styled(
            format!(" “{rs}”"),
            style::outcome(row.outcome),
        ));
    }
}
