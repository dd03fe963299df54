//! Header: source, counts, rate, drops, and the loading bar.

use super::style;
use crate::tui::state::AppState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Bytes for people: 512 B, 1.5 KiB, 3.2 MiB, 1.0 GiB.
pub fn bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if f < 1024.0 * 1024.0 {
        format!("{:.1} KiB", f / 1024.0)
    } else if f < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", f / 1048576.0)
    } else {
        format!("{:.2} GiB", f / 1073741824.0)
    }
}

fn count<'a>(label: &'static str, n: u64, bad: Style) -> [Span<'a>; 2] {
    let st = if n > 0 {
        bad.add_modifier(Modifier::BOLD)
    } else {
        style::dim()
    };
    [
        Span::styled(format!("{n} "), st),
        Span::styled(format!("{label}  "), style::dim()),
    ]
}

/// Draws the header.
pub fn draw(s: &AppState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let status = if s.finished.is_some() {
        ("DONE", Color::Green)
    } else if s.paused_at.is_some() {
        ("PAUSED", Color::Yellow)
    } else if s.source.live {
        ("LIVE", Color::Red)
    } else {
        ("LOADING", Color::Cyan)
    };
    let mut l1 = vec![
        Span::styled(
            " mqttscope ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::styled(
            s.source.describe.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw("  "),
        Span::styled(
            format!("[{}]", status.0),
            Style::new().fg(status.1).add_modifier(Modifier::BOLD),
        ),
    ];
    if s.follow {
        l1.push(Span::styled(" [FOLLOW]", style::notice()));
    }
    if let Some(p) = s.paused_at {
        let waiting = s.visible.len() - s.visible.count_below(p);
        l1.push(Span::styled(
            format!("  {waiting} new rows waiting (p resumes)"),
            style::notice(),
        ));
    }
    buf.set_line(area.x, area.y, &Line::from(l1), area.width);
    if area.height < 2 {
        return;
    }
    let t = &s.totals;
    let wide = area.width >= 110;
    let name = |long: &'static str, short: &'static str| if wide { long } else { short };
    let mut l2 = vec![
        Span::styled(
            format!(" {} ", t.packets),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{}  ", name("packets", "pkts")), style::dim()),
        Span::styled(
            format!("{} ", bytes(s.progress.bytes)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ];
    if wide {
        l2.push(Span::styled(
            format!("in {} frames  ", s.progress.frames),
            style::dim(),
        ));
    } else {
        l2.push(Span::raw(" "));
    }
    if s.source.live {
        l2.push(Span::styled(
            format!("{}/s  ", s.rate),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    l2.extend(count(
        name("connections", "conns"),
        s.conns.list.len() as u64,
        Style::new(),
    ));
    l2.extend(count(
        name("failures", "failed"),
        t.failures,
        style::failure(),
    ));
    l2.extend(count("notices", t.notices, style::notice()));
    l2.extend(count("malformed", t.malformed, style::malformed()));
    l2.extend(count(
        name("anomalies", "anom."),
        t.anomaly_count(),
        style::notice(),
    ));
    if let Some(d) = s.progress.kernel_drops {
        l2.extend(count(name("kernel drops", "drops"), d, style::failure()));
    }
    buf.set_line(area.x, area.y + 1, &Line::from(l2), area.width);
    if area.height < 3 {
        return;
    }
    let y = area.y + 2;
    if let (None, Some((pos, total))) = (&s.finished, s.progress.file) {
        let pct = (pos.min(total) * 100).checked_div(total).unwrap_or(100) as u16;
        let label = format!(" loading {pct:>3}% ({} of {}) ", bytes(pos), bytes(total));
        let w = area.width.saturating_sub(label.len() as u16 + 1);
        let filled = w * pct / 100;
        let bar = format!(
            "{}{}",
            "█".repeat(filled as usize),
            "░".repeat((w - filled) as usize)
        );
        let line = Line::from(vec![
            Span::raw(label),
            Span::styled(bar, Style::new().fg(Color::Cyan)),
        ]);
        buf.set_line(area.x, y, &line, area.width);
    } else if s.dropped > 0 {
        let text = format!(
            " ⚠ {} oldest events dropped to stay within --max-events; counts still include them",
            s.dropped
        );
        buf.set_line(area.x, y, &Line::styled(text, style::notice()), area.width);
    } else if let Some(e) = s.finished.as_ref().and_then(|f| f.errors.first()) {
        buf.set_line(
            area.x,
            y,
            &Line::styled(format!(" {e}"), style::failure()),
            area.width,
        );
    }
}
