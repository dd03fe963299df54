//! Where each pane goes for a terminal size and view; shared by the views and the state
//! (which needs page heights), so both always agree.

use crate::tui::action::ViewId;
use ratatui::layout::Rect;

/// Rows of the header.
pub const HEADER_ROWS: u16 = 3;
/// Columns from which the detail pane goes beside the timeline instead of below it.
pub const WIDE: u16 = 160;

/// The panes of one screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// Header.
    pub header: Rect,
    /// The main pane (timeline, connections, summary or full detail).
    pub main: Rect,
    /// The detail pane beside or below the timeline (timeline view only).
    pub detail: Option<Rect>,
    /// The bottom bar (filter, messages, key hints).
    pub bar: Rect,
}

/// Splits `area` for `view`.
pub fn areas(area: Rect, view: ViewId) -> Areas {
    let header_h = HEADER_ROWS.min(area.height);
    let bar_h = u16::from(area.height > header_h);
    let body_h = area.height.saturating_sub(header_h + bar_h);
    let header = Rect {
        height: header_h,
        ..area
    };
    let body = Rect {
        y: area.y + header_h,
        height: body_h,
        ..area
    };
    let bar = Rect {
        y: body.y + body_h,
        height: bar_h,
        ..area
    };
    if view != ViewId::Timeline || body_h < 8 {
        return Areas {
            header,
            main: body,
            detail: None,
            bar,
        };
    }
    let (main, detail) = if area.width >= WIDE {
        let w = area.width * 3 / 5;
        (
            Rect { width: w, ..body },
            Rect {
                x: body.x + w,
                width: body.width - w,
                ..body
            },
        )
    } else {
        let h = body_h * 11 / 20;
        (
            Rect { height: h, ..body },
            Rect {
                y: body.y + h,
                height: body_h - h,
                ..body
            },
        )
    };
    Areas {
        header,
        main,
        detail: Some(detail),
        bar,
    }
}

/// Rows of data in a bordered table with one column-title row.
pub fn table_rows(r: Rect) -> usize {
    usize::from(r.height.saturating_sub(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_tile_the_screen_at_80x24() {
        let a = areas(Rect::new(0, 0, 80, 24), ViewId::Timeline);
        let d = a.detail.unwrap_or_default();
        assert_eq!(
            a.header.height + a.main.height + d.height + a.bar.height,
            24
        );
        assert_eq!(a.bar.y, 23);
        assert!(table_rows(a.main) >= 6);
        let wide = areas(Rect::new(0, 0, 200, 50), ViewId::Timeline);
        assert_eq!(wide.detail.map(|d| d.height), Some(wide.main.height));
    }
}
