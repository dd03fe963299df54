//! The one owner of the TUI's state; `update` applies one `Action` at a time.

use super::action::{command_for, Action, Cmd, Finished, Key, Mouse, Progress, ViewId};
use super::conns::ConnTable;
use super::detail::{self, DetailModel};
use super::rowfilter::RowMatcher;
use super::store::{Store, F_ANSWER};
use super::view::layout::{areas, table_rows};
use super::visible::Visible;
use crate::filter::Filter;
use crate::mqtt::reason::Catalogue;
use crate::report::Totals;
use ratatui::layout::Rect;
use std::sync::Arc;

/// Which pane of the timeline view has the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pane {
    /// The timeline.
    #[default]
    Timeline,
    /// The detail pane.
    Detail,
}

/// Where the input comes from, for the header.
#[derive(Clone, Debug, Default)]
pub struct SourceInfo {
    /// "file captures/x.pcap" or "interface lo".
    pub describe: String,
    /// True for live capture.
    pub live: bool,
}

/// A message in the bottom bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Shown in red.
    pub error: bool,
}

/// Everything the views draw.
pub struct AppState {
    /// Input description.
    pub source: SourceInfo,
    /// Stored rows.
    pub store: Store,
    /// Per-connection data.
    pub conns: ConnTable,
    /// Run totals (the summary view).
    pub totals: Totals,
    /// Reason-code catalogue.
    pub catalogue: Arc<Catalogue>,
    /// Sequence numbers of the rows matching the filter, in order.
    pub visible: Visible,
    pub(crate) matcher: RowMatcher,
    /// The applied filter's text.
    pub filter_text: String,
    /// The filter being edited, when editing.
    pub editing: Option<String>,
    /// The current view.
    pub view: ViewId,
    /// Focused pane of the timeline view.
    pub focus: Pane,
    /// Help overlay shown.
    pub help: bool,
    /// Selected row (sequence number).
    pub selected: Option<u64>,
    /// Index into the shown rows of the first row on screen.
    pub offset: usize,
    /// Follow mode.
    pub follow: bool,
    /// Live display paused: rows from this sequence number on are not shown yet.
    pub paused_at: Option<u64>,
    /// Reading progress.
    pub progress: Progress,
    /// Set when the analysis ended.
    pub finished: Option<Finished>,
    /// Rows dropped by the `--max-events` cap.
    pub dropped: u64,
    /// Terminal size.
    pub size: (u16, u16),
    /// Packets per second (live).
    pub rate: u64,
    rate_mark: (u64, u64),
    /// Selected connection row.
    pub conn_sel: usize,
    /// Summary scroll.
    pub summary_scroll: usize,
    /// Detail of the selected row.
    pub detail: Option<DetailModel>,
    /// Selected field in the hex view.
    pub field_sel: usize,
    /// Detail scroll.
    pub detail_scroll: usize,
    /// Bottom-bar message.
    pub message: Option<Message>,
    /// Set by Quit.
    pub quit: bool,
}

impl AppState {
    /// An empty state.
    pub fn new(source: SourceInfo, catalogue: Arc<Catalogue>, max_events: usize) -> Self {
        let follow = source.live;
        AppState {
            source,
            store: Store::new(max_events),
            conns: ConnTable::default(),
            totals: Totals::default(),
            catalogue,
            visible: Visible::new(true, 0),
            matcher: RowMatcher::new(Filter::default()),
            filter_text: String::new(),
            editing: None,
            view: ViewId::Timeline,
            focus: Pane::Timeline,
            help: false,
            selected: None,
            offset: 0,
            follow,
            paused_at: None,
            progress: Progress::default(),
            finished: None,
            dropped: 0,
            size: (80, 24),
            rate: 0,
            rate_mark: (0, 0),
            conn_sel: 0,
            summary_scroll: 0,
            detail: None,
            field_sel: 0,
            detail_scroll: 0,
            message: None,
            quit: false,
        }
    }

    /// Applies a filter expression (command-line syntax); on error nothing changes.
    pub fn set_filter(&mut self, text: &str) -> Result<(), crate::filter::FilterError> {
        let f = Filter::parse(text)?;
        self.filter_text = text.trim().to_string();
        self.matcher = RowMatcher::new(f);
        self.refilter();
        Ok(())
    }

    fn refilter(&mut self) {
        let (store, conns, m) = (&self.store, &self.conns, &mut self.matcher);
        let mut v = Visible::new(m.filter().terms.is_empty(), store.base());
        for (seq, r) in store.iter_from(store.base()) {
            if r.kind != super::store::RowKind::Open && m.matches(r, store, conns) {
                v.push(seq);
            }
        }
        self.visible = v;
        let keep = self.selected;
        self.selected = None;
        if let Some(s) = keep {
            let i = self.visible.count_below(s);
            self.select_index(i.min(self.shown().saturating_sub(1)));
        }
        if self.follow {
            self.select_index(self.shown().saturating_sub(1));
        }
    }

    /// Number of rows shown (the visible rows, up to the pause point).
    pub fn shown(&self) -> usize {
        match self.paused_at {
            Some(p) => self.visible.count_below(p),
            None => self.visible.len(),
        }
    }

    /// Index of the selection among the shown rows.
    pub fn sel_index(&self) -> Option<usize> {
        let s = self.selected?;
        let i = self.visible.count_below(s);
        (i < self.shown()).then_some(i)
    }

    /// Rows of data the timeline shows at the current size.
    pub fn page(&self) -> usize {
        let a = areas(Rect::new(0, 0, self.size.0, self.size.1), self.view);
        table_rows(a.main).max(1)
    }

    fn select_index(&mut self, i: usize) {
        let n = self.shown();
        if n == 0 {
            self.selected = None;
            return;
        }
        let i = i.min(n - 1);
        self.selected = self.visible.get(i);
        let page = self.page();
        if i < self.offset {
            self.offset = i;
        } else if i >= self.offset + page {
            self.offset = i + 1 - page;
        }
        self.offset = self.offset.min(n.saturating_sub(page));
    }

    fn move_by(&mut self, d: isize) {
        let cur = self.sel_index().unwrap_or(0) as isize;
        self.select_index((cur + d).max(0) as usize);
        if d < 0 || self.sel_index().is_some_and(|i| i + 1 < self.shown()) {
            self.follow = false;
        }
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some(Message {
            text: text.into(),
            error,
        });
    }

    /// Applies one action.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Key(k) => self.key(k),
            Action::Cmd(c) => self.cmd(c),
            Action::Mouse(Mouse::ScrollUp) => self.scroll(-3),
            Action::Mouse(Mouse::ScrollDown) => self.scroll(3),
            Action::Resize(w, h) => {
                self.size = (w, h);
                if let Some(i) = self.sel_index() {
                    self.select_index(i);
                }
            }
            Action::Tick(ms) => {
                let (t0, p0) = self.rate_mark;
                if ms >= t0 + 1000 {
                    self.rate = (self.totals.packets - p0) * 1000 / (ms - t0);
                    self.rate_mark = (ms, self.totals.packets);
                }
            }
            Action::Events(batch) => {
                for ev in batch {
                    self.ingest(ev);
                }
                self.after_ingest();
            }
            Action::Progress(p) => self.progress = p,
            Action::Finished(f) => {
                self.progress.frames = f.capture.frames;
                self.progress.bytes = f.capture.bytes;
                self.totals.capture = f.capture.clone();
                if let Some(e) = f.errors.first() {
                    self.say(e.clone(), true);
                }
                self.finished = Some(f);
            }
            Action::Interrupt => self.quit = true,
        }
        self.sync_detail();
    }

    fn after_ingest(&mut self) {
        let n = self.store.enforce_cap();
        if n > 0 {
            self.dropped += n;
            let base = self.store.base();
            let popped = self.visible.pop_below(base);
            self.offset = self.offset.saturating_sub(popped);
            if self.selected.is_some_and(|s| s < base) {
                self.selected = self.visible.front();
            }
        }
        if self.follow && self.paused_at.is_none() {
            self.select_index(self.shown().saturating_sub(1));
        } else if self.selected.is_none() && self.shown() > 0 {
            self.select_index(0);
        }
    }

    fn scroll(&mut self, d: isize) {
        match self.view {
            ViewId::Timeline if self.focus == Pane::Timeline => self.move_by(d),
            ViewId::Connections => self.conn_move(d),
            ViewId::Summary => {
                self.summary_scroll = (self.summary_scroll as isize + d).max(0) as usize
            }
            _ => self.detail_scroll = (self.detail_scroll as isize + d).max(0) as usize,
        }
    }

    fn conn_move(&mut self, d: isize) {
        let n = self.conns.list.len();
        self.conn_sel = ((self.conn_sel as isize + d).max(0) as usize).min(n.saturating_sub(1));
    }

    fn key(&mut self, k: Key) {
        if let Some(text) = self.editing.as_mut() {
            match k {
                Key::Char(c) => text.push(c),
                Key::Backspace => {
                    text.pop();
                }
                Key::Ctrl('u') => text.clear(),
                Key::Ctrl('c') => self.quit = true,
                Key::Esc => self.editing = None,
                Key::Enter => {
                    let t = text.clone();
                    match self.set_filter(&t) {
                        Ok(()) => {
                            self.editing = None;
                            self.message = None;
                        }
                        Err(e) => self.say(e.to_string(), true),
                    }
                }
                _ => {}
            }
            return;
        }
        if self.help {
            self.help = false;
            if matches!(command_for(k), Some(Cmd::Quit)) {
                self.quit = true;
            }
            return;
        }
        if let Some(c) = command_for(k) {
            self.cmd(c);
        }
    }

    fn cmd(&mut self, c: Cmd) {
        self.message = None;
        let page = self.page() as isize;
        let detail_keys = self.view == ViewId::Detail
            || self.view == ViewId::Timeline && self.focus == Pane::Detail;
        match c {
            Cmd::Quit => self.quit = true,
            Cmd::Help => self.help = !self.help,
            Cmd::Filter => self.editing = Some(self.filter_text.clone()),
            Cmd::View(v) => {
                self.view = v;
                self.detail_scroll = 0;
            }
            Cmd::Follow => {
                self.follow = !self.follow;
                if self.follow {
                    self.paused_at = None;
                    self.select_index(self.shown().saturating_sub(1));
                }
                self.say(
                    if self.follow {
                        "follow on"
                    } else {
                        "follow off"
                    },
                    false,
                );
            }
            Cmd::Pause => {
                self.paused_at = match self.paused_at {
                    Some(_) => None,
                    None => Some(self.store.end()),
                };
                if self.paused_at.is_none() && self.follow {
                    self.select_index(self.shown().saturating_sub(1));
                }
            }
            Cmd::NextPane | Cmd::PrevPane => {
                self.focus = match self.focus {
                    Pane::Timeline => Pane::Detail,
                    Pane::Detail => Pane::Timeline,
                };
            }
            Cmd::Back => {
                self.view = ViewId::Timeline;
                self.focus = Pane::Timeline;
            }
            Cmd::Open => match self.view {
                ViewId::Connections => self.open_connection(),
                ViewId::Timeline if self.focus == Pane::Timeline => {
                    self.view = ViewId::Detail;
                    self.detail_scroll = 0;
                }
                _ => {}
            },
            Cmd::NextFailure => self.find_failure(true),
            Cmd::PrevFailure => self.find_failure(false),
            Cmd::Pair => self.jump_pair(),
            Cmd::Up | Cmd::Down if detail_keys => {
                let n = self.detail.as_ref().map_or(0, |d| d.fields.len());
                self.field_sel = if c == Cmd::Up {
                    self.field_sel.saturating_sub(1)
                } else {
                    (self.field_sel + 1).min(n.saturating_sub(1))
                };
            }
            Cmd::PageUp | Cmd::PageDown | Cmd::HalfUp | Cmd::HalfDown if detail_keys => {
                let d = match c {
                    Cmd::PageUp => -page,
                    Cmd::PageDown => page,
                    Cmd::HalfUp => -page / 2,
                    _ => page / 2,
                };
                self.scroll(d);
            }
            Cmd::Top | Cmd::Bottom if detail_keys => {
                self.detail_scroll = if c == Cmd::Top { 0 } else { usize::MAX / 2 };
            }
            _ => {
                let d = match c {
                    Cmd::Up => -1,
                    Cmd::Down => 1,
                    Cmd::PageUp => -page,
                    Cmd::PageDown => page,
                    Cmd::HalfUp => -page / 2,
                    Cmd::HalfDown => page / 2,
                    Cmd::Top => isize::MIN / 2,
                    _ => isize::MAX / 2,
                };
                if self.view == ViewId::Timeline && c == Cmd::Bottom {
                    self.select_index(self.shown().saturating_sub(1));
                } else {
                    self.scroll(d);
                }
            }
        }
    }

    fn open_connection(&mut self) {
        let Some(c) = self.conns.list.get(self.conn_sel) else {
            return;
        };
        let f = format!("conn:{}", c.client);
        if self.set_filter(&f).is_ok() {
            self.view = ViewId::Timeline;
            self.focus = Pane::Timeline;
            self.follow = false;
            self.select_index(0);
        }
    }

    fn find_failure(&mut self, forward: bool) {
        let n = self.shown();
        let cur = self.sel_index();
        let hit = if forward {
            let from = cur.map_or(0, |i| i + 1);
            (from..n).find(|&i| self.is_failure_at(i))
        } else {
            let to = cur.unwrap_or(n);
            (0..to).rev().find(|&i| self.is_failure_at(i))
        };
        match hit {
            Some(i) => {
                self.follow = false;
                self.view = if self.view == ViewId::Detail {
                    ViewId::Detail
                } else {
                    ViewId::Timeline
                };
                self.select_index(i);
            }
            None => self.say(
                if forward {
                    "no failure after this row"
                } else {
                    "no failure before this row"
                },
                false,
            ),
        }
    }

    fn is_failure_at(&self, i: usize) -> bool {
        self.visible
            .get(i)
            .and_then(|s| self.store.get(s))
            .is_some_and(|r| r.is_failure())
    }

    fn jump_pair(&mut self) {
        let Some((cur, row)) = self.selected.and_then(|s| Some((s, self.store.get(s)?))) else {
            return;
        };
        let Some(pair) = self.store.pair_of(cur) else {
            self.say("this packet pairs with no request or answer", false);
            return;
        };
        let what = if row.has(F_ANSWER) {
            "request"
        } else {
            "answer"
        };
        let Some(seq) = self.store.seq_of_event(pair) else {
            self.say(format!("the {what} is no longer kept (--max-events)"), true);
            return;
        };
        let i = self.visible.count_below(seq);
        if self.visible.get(i) == Some(seq) && i < self.shown() {
            self.follow = false;
            self.select_index(i);
        } else {
            self.say(
                format!("the {what} is hidden by the filter (press / to change it)"),
                true,
            );
        }
    }

    fn sync_detail(&mut self) {
        let want = self.selected;
        if self.detail.as_ref().map(|d| d.seq) != want || want.is_some() {
            let old = self.detail.as_ref().map(|d| d.seq);
            self.detail =
                want.and_then(|s| detail::build(&self.store, &self.conns, &self.catalogue, s));
            if old != want {
                self.field_sel = 0;
                self.detail_scroll = 0;
            }
        }
    }
}
