//! The terminal UI: terminal setup and restore (quit, error, panic, Ctrl-C), the threads
//! (analysis, input) and the loop that turns everything into `Action`s for the one state.
//!
//! The loop (`run_loop`) takes any ratatui `Backend` and any iterator of actions, so tests
//! drive the app on a capture with scripted keys into a `TestBackend`, without a terminal
//! and without sleeping.

pub mod action;
pub mod conns;
pub mod detail;
pub mod feed;
pub mod fields;
mod ingest;
pub mod rowfilter;
pub mod state;
pub mod store;
pub mod view;
pub mod visible;

use action::{Action, Key, Mouse};
use crossterm::event::{
    self as ct, DisableMouseCapture, EnableMouseCapture, Event as CtEvent, KeyCode, KeyEventKind,
    KeyModifiers, MouseEventKind,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;
use state::AppState;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Time between ticks (rate, stop-flag checks).
pub const TICK: Duration = Duration::from_millis(100);
/// Longest wait between two redraws while data streams in.
const REDRAW: Duration = Duration::from_millis(33);

/// Draws the state once.
pub fn render<B: Backend>(terminal: &mut Terminal<B>, state: &AppState) -> Result<(), B::Error> {
    terminal
        .draw(|f| view::draw(state, f.area(), f.buffer_mut()))
        .map(|_| ())
}

/// Applies every action to the state and redraws (at once after input, at most every 33 ms
/// while data streams in, and at the end); stops at Quit.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut AppState,
    inputs: impl IntoIterator<Item = Action>,
) -> Result<(), B::Error> {
    let size = terminal.size()?;
    state.update(Action::Resize(size.width, size.height));
    render(terminal, state)?;
    let mut last = Instant::now();
    for a in inputs {
        let urgent = !matches!(a, Action::Events(_) | Action::Progress(_) | Action::Tick(_));
        state.update(a);
        if state.quit {
            break;
        }
        if urgent || last.elapsed() >= REDRAW {
            render(terminal, state)?;
            last = Instant::now();
        }
    }
    render(terminal, state)
}

/// Converts a terminal event into an action.
pub fn from_crossterm(ev: CtEvent) -> Option<Action> {
    match ev {
        CtEvent::Key(k) if k.kind != KeyEventKind::Release => {
            let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
            let key = match k.code {
                KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
                KeyCode::Char(c) => Key::Char(c),
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                KeyCode::PageUp => Key::PageUp,
                KeyCode::PageDown => Key::PageDown,
                KeyCode::Home => Key::Home,
                KeyCode::End => Key::End,
                KeyCode::Tab => Key::Tab,
                KeyCode::BackTab => Key::BackTab,
                KeyCode::Enter => Key::Enter,
                KeyCode::Esc => Key::Esc,
                KeyCode::Backspace => Key::Backspace,
                _ => return None,
            };
            Some(Action::Key(key))
        }
        CtEvent::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => Some(Action::Mouse(Mouse::ScrollUp)),
            MouseEventKind::ScrollDown => Some(Action::Mouse(Mouse::ScrollDown)),
            _ => None,
        },
        CtEvent::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// Actions from the channel, with a tick whenever nothing came for `TICK`, and an
/// `Interrupt` once the stop flag (SIGINT) is set.
pub struct ChannelInputs {
    rx: Receiver<Action>,
    stop: Arc<AtomicBool>,
    start: Instant,
    next_tick: Instant,
    interrupted: bool,
}

impl ChannelInputs {
    /// Inputs from `rx`, watching `stop`.
    pub fn new(rx: Receiver<Action>, stop: Arc<AtomicBool>) -> Self {
        let now = Instant::now();
        ChannelInputs {
            rx,
            stop,
            start: now,
            next_tick: now + TICK,
            interrupted: false,
        }
    }
}

impl Iterator for ChannelInputs {
    type Item = Action;
    fn next(&mut self) -> Option<Action> {
        if self.stop.load(Ordering::Relaxed) && !self.interrupted {
            self.interrupted = true;
            return Some(Action::Interrupt);
        }
        let now = Instant::now();
        if now >= self.next_tick {
            self.next_tick = now + TICK;
            return Some(Action::Tick(
                now.duration_since(self.start).as_millis() as u64
            ));
        }
        match self.rx.recv_timeout(self.next_tick - now) {
            Ok(a) => Some(a),
            Err(RecvTimeoutError::Timeout) => self.next(),
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }
}

/// Puts the terminal back: raw mode off, main screen, mouse off, cursor shown.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped (quit, error or unwinding panic).
pub struct TerminalGuard;

impl TerminalGuard {
    /// Raw mode, alternate screen, mouse capture; and a panic hook that restores the terminal
    /// first, then writes the report file and prints one sentence with its path.
    pub fn enter() -> io::Result<TerminalGuard> {
        crate::panic::install_panic_hook(Some(Box::new(restore_terminal)));
        enable_raw_mode()?;
        let guard = TerminalGuard;
        crossterm::execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Reads terminal events on its own thread and sends them as actions.
pub fn spawn_input(tx: std::sync::mpsc::SyncSender<Action>) {
    std::thread::spawn(move || loop {
        match ct::read() {
            Ok(ev) => {
                if let Some(a) = from_crossterm(ev) {
                    if tx.send(a).is_err() {
                        return;
                    }
                }
            }
            Err(_) => return,
        }
    });
}

/// Runs the TUI over `feed` until the user quits; returns the final state.
pub fn run(
    feed: feed::Feed,
    mut state: AppState,
    rx: Receiver<Action>,
    stop: Arc<AtomicBool>,
) -> io::Result<AppState> {
    let cancel = Arc::clone(&feed.cancel);
    let input_tx = feed.tx.clone();
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let worker = std::thread::spawn(move || feed.run());
    spawn_input(input_tx);
    if std::env::var_os("MQTTSCOPE_TEST_PANIC").is_some() {
        // Lets the end-to-end test check the terminal is restored on a panic.
        panic!("test panic requested by MQTTSCOPE_TEST_PANIC");
    }
    let r = run_loop(
        &mut terminal,
        &mut state,
        ChannelInputs::new(rx, Arc::clone(&stop)),
    );
    cancel.store(true, Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    drop(terminal);
    drop(guard);
    // Let the worker finish the -w file, but never hang on it.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !worker.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    crate::panic::install_panic_hook(None);
    r?;
    Ok(state)
}
