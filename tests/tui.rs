//! TUI tests: the app driven on real captures with scripted keys into a ratatui TestBackend
//! (no terminal, no sleeping), snapshots of every view, memory per stored event, and an
//! end-to-end run of the real binary in tmux.

use mqttscope::capture::{open_file, FileOptions, FrameSource};
use mqttscope::cli::Format;
use mqttscope::event::Event;
use mqttscope::limits::Limits;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::pipeline::Analyzer;
use mqttscope::tui::action::{Action, Cmd, Finished, Key, ViewId};
use mqttscope::tui::run_loop;
use mqttscope::tui::state::{AppState, SourceInfo};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use std::sync::Arc;

/// Every event of a capture, analysed with the TUI's session settings, and the capture totals.
fn analyse(path: &str) -> (Vec<Event>, Finished) {
    let args = mqttscope::cli::RunArgs::default();
    let cfg = mqttscope::app::session_config(&args, Format::Tui).expect("config");
    let mut an = Analyzer::new(&Limits::default(), cfg, Arc::new(Catalogue::builtin()));
    let mut src = open_file(path, &FileOptions::default()).expect("capture opens");
    let mut out = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        an.frame(&f, &mut |e| out.push(e));
    }
    an.finish(&mut |e| out.push(e));
    let capture = an.capture_totals();
    (
        out,
        Finished {
            capture,
            errors: Vec::new(),
        },
    )
}

fn state_for(path: &str) -> AppState {
    AppState::new(
        SourceInfo {
            describe: format!("file {path}"),
            live: false,
        },
        Arc::new(Catalogue::builtin()),
        Limits::default().max_events,
    )
}

/// Runs the app on `path` with `keys` at `w`x`h`; returns the final state and screen.
fn drive(path: &str, keys: &[Action], w: u16, h: u16) -> (AppState, Buffer) {
    let mut state = state_for(path);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let (evs, fin) = analyse(path);
    let mut inputs = vec![Action::Events(evs), Action::Finished(fin)];
    inputs.extend(keys.iter().cloned());
    run_loop(&mut term, &mut state, inputs).expect("draws");
    let buf = term.backend().buffer().clone();
    (state, buf)
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut s = String::new();
    for y in 0..a.height {
        for x in 0..a.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// The row of the screen containing `needle`, and the colour of its first character.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16, Color)> {
    let t = text(buf);
    for (y, line) in t.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count() as u16;
            return Some((x, y as u16, buf[(x, y as u16)].fg));
        }
    }
    None
}

/// Like `find`, but a missing needle fails the test showing the screen.
fn must(buf: &Buffer, needle: &str) -> (u16, u16, Color) {
    find(buf, needle).unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", text(buf)))
}

fn key(c: char) -> Action {
    Action::Key(Key::Char(c))
}

#[test]
fn timeline_shows_refusals_in_red_with_their_meaning() {
    let (_, buf) = drive("captures/connack-refusals-v5.pcap", &[], 120, 30);
    let (_, _, fg) = must(&buf, "0x87 Not authorized");
    assert_eq!(fg, Color::Red);
    let (_, _, fg) = must(&buf, ": The client is not permitted");
    assert_eq!(fg, Color::Red);
    insta::assert_snapshot!("timeline_connack_refusals_v5", text(&buf));
}

fn cmd(c: Cmd) -> Action {
    Action::Cmd(c)
}

/// Keys that select the first row whose text contains `needle` (through the filter syntax
/// would change the view; here we walk with `j`).
fn select_row(state: &AppState, pred: impl Fn(&mqttscope::tui::store::Row) -> bool) -> Vec<Action> {
    let i = state
        .visible
        .iter()
        .position(|s| state.store.get(s).is_some_and(&pred))
        .expect("row present");
    vec![key('g')]
        .into_iter()
        .chain(std::iter::repeat_n(key('j'), i))
        .collect()
}

fn keys_to(path: &str, pred: impl Fn(&mqttscope::tui::store::Row) -> bool) -> Vec<Action> {
    let (st, _) = drive(path, &[], 80, 24);
    select_row(&st, pred)
}

use mqttscope::mqtt::types::{PacketType, ReasonCode};

#[test]
fn timeline_at_80x24_fits_and_colours_failures() {
    let (st, buf) = drive("captures/suback-mixed-v5.pcap", &[], 80, 24);
    assert_eq!(st.totals.failures, 2);
    let (_, _, fg) = must(&buf, "SUBACK");
    assert_eq!(fg, Color::Red, "a SUBACK with a refused filter is red");
    let (_, _, fg) = must(&buf, "0x87 Not authorized");
    assert_eq!(fg, Color::Red);
    let (_, _, fg) = must(&buf, "0x11 No subscr");
    assert_eq!(
        fg,
        Color::Yellow,
        "a notice code is yellow even beside a failure"
    );
    insta::assert_snapshot!("timeline_suback_mixed_v5_80x24", text(&buf));
}

#[test]
fn detail_of_a_refused_connack() {
    let path = "captures/connack-refusals-v5.pcap";
    let mut keys = keys_to(path, |r| {
        r.ptype == PacketType::CONNACK && r.code == ReasonCode(0x87)
    });
    keys.push(Action::Key(Key::Enter));
    let (st, buf) = drive(path, &keys, 100, 40);
    assert_eq!(st.view, ViewId::Detail);
    let (_, _, fg) = must(&buf, "0x87 Not authorized (failure)");
    assert_eq!(fg, Color::Red);
    assert!(find(&buf, "The client is not permitted to do this.").is_some());
    assert!(find(&buf, "Check").is_some(), "a hint for a failure");
    assert!(
        find(&buf, "CONNECT frame").is_some(),
        "pairs with its CONNECT"
    );
    insta::assert_snapshot!("detail_connack_refused_v5", text(&buf));
}

#[test]
fn detail_of_a_suback_with_mixed_codes() {
    let path = "captures/suback-mixed-v5.pcap";
    let mut keys = keys_to(path, |r| r.ptype == PacketType::SUBACK);
    keys.push(Action::Key(Key::Enter));
    // Select the third reason code in the hex view.
    keys.extend(std::iter::repeat_n(key('j'), 6));
    let (st, buf) = drive(path, &keys, 100, 48);
    let d = st.detail.as_ref().expect("detail");
    assert_eq!(
        d.fields.get(st.field_sel).map(|f| f.label.as_str()),
        Some("Reason Code 3")
    );
    let (_, _, fg) = find(&buf, "\"secret/x\" QoS 2").expect("per-filter outcome");
    assert_eq!(fg, Color::DarkGray, "label column");
    let (_, _, fg) = must(&buf, "0x87 Not authorized (failure)");
    assert_eq!(fg, Color::Red);
    let (_, _, fg) = must(&buf, "0x01 Granted QoS 1 (success)");
    assert_eq!(fg, Color::Green);
    // The highlighted byte in the hex view is the 0x87.
    let t = text(&buf);
    let (hy, hline) = t
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("0000  "))
        .expect("hex row");
    let bx = hline.find("87").expect("0x87 byte in the hex dump");
    let x = hline[..bx].chars().count() as u16;
    assert_eq!(
        buf[(x, hy as u16)].bg,
        Color::Cyan,
        "selected field highlighted"
    );
    insta::assert_snapshot!("detail_suback_mixed_v5", t);
}

#[test]
fn detail_of_an_adafruit_0x06_connack() {
    let path = "captures/crafted/adafruit-connack-throttled-banned.pcap";
    let mut keys = keys_to(path, |r| {
        r.ptype == PacketType::CONNACK && r.code == ReasonCode(6)
    });
    keys.push(Action::Key(Key::Enter));
    let (_, buf) = drive(path, &keys, 100, 36);
    let (_, _, fg) = must(&buf, "0x06 Connection Refused, throttled");
    assert_eq!(fg, Color::Red);
    assert!(find(&buf, "[Adafruit IO]").is_some() || find(&buf, "Adafruit").is_some());
    insta::assert_snapshot!("detail_connack_adafruit_0x06", text(&buf));
}

#[test]
fn connections_view_and_enter_filters_the_timeline() {
    let path = "captures/connack-refusals-v5.pcap";
    let (st, buf) = drive(path, &[key('3')], 80, 24);
    assert_eq!(st.view, ViewId::Connections);
    let (_, _, fg) = must(&buf, "0x87 Not author");
    assert_eq!(fg, Color::Red);
    insta::assert_snapshot!("connections_connack_refusals_v5", text(&buf));
    let (st, _) = drive(path, &[key('3'), key('j'), Action::Key(Key::Enter)], 80, 24);
    assert_eq!(st.view, ViewId::Timeline);
    let c = &st.conns.list[1];
    assert_eq!(st.filter_text, format!("conn:{}", c.client));
    assert!(st.shown() >= 2);
    for s in st.visible.iter() {
        assert_eq!(st.store.get(s).map(|r| r.conn), Some(1));
    }
}

#[test]
fn summary_view_lists_failures_first() {
    let (_, buf) = drive("captures/suback-mixed-v5.pcap", &[key('4')], 100, 30);
    let t = text(&buf);
    let fail = t.find("FAIL").expect("a failure line");
    let ok = t.find(" ok ").expect("a success line");
    assert!(fail < ok, "failures first");
    let (_, _, fg) = must(&buf, "FAIL");
    assert_eq!(fg, Color::Red);
    insta::assert_snapshot!("summary_suback_mixed_v5", t);
}

#[test]
fn help_overlay_lists_every_key_of_the_table() {
    let (st, buf) = drive("captures/suback-mixed-v5.pcap", &[key('?')], 80, 24);
    assert!(st.help);
    let t = text(&buf);
    for b in mqttscope::tui::action::KEYS {
        let k = b.keys[0].label();
        assert!(t.contains(&k), "help shows {k}");
        assert!(t.contains(b.help), "help shows {:?}", b.help);
    }
    insta::assert_snapshot!("help_80x24", t);
    let (st, _) = drive(
        "captures/suback-mixed-v5.pcap",
        &[key('?'), key('x')],
        80,
        24,
    );
    assert!(!st.help, "any key closes the help");
}

#[test]
fn filter_bar_is_green_when_valid_red_when_not_and_filters() {
    let path = "captures/suback-mixed-v5.pcap";
    let mut keys = vec![key('/')];
    keys.extend("type:SUBACK".chars().map(key));
    let (_, buf) = drive(path, &keys, 80, 24);
    let (_, _, fg) = must(&buf, "type:SUBACK");
    assert_eq!(fg, Color::Green);
    let mut bad = vec![key('/')];
    bad.extend("topic:a/#/b".chars().map(key));
    bad.push(Action::Key(Key::Enter));
    let (st, buf) = drive(path, &bad, 80, 24);
    let (_, _, fg) = must(&buf, "topic:a/#/b");
    assert_eq!(fg, Color::Red);
    assert!(st.editing.is_some(), "an invalid filter is not applied");
    assert!(text(&buf).contains("'#' must be the last level"));
    keys.push(Action::Key(Key::Enter));
    let (st, buf) = drive(path, &keys, 80, 24);
    assert_eq!(st.shown(), 1);
    assert!(find(&buf, "SUBACK").is_some());
    assert!(find(&buf, "SUBSCRIBE").is_none());
    let mut f = vec![key('/')];
    f.extend("failed".chars().map(key));
    f.push(Action::Key(Key::Enter));
    let (st, _) = drive(path, &f, 80, 24);
    assert_eq!(st.shown(), 2, "SUBACK and UNSUBACK fail");
}

#[test]
fn next_failure_and_pair_jump() {
    let path = "captures/connack-refusals-v5.pcap";
    let (st, _) = drive(path, &[key('n')], 80, 24);
    let r = st
        .selected
        .and_then(|s| st.store.get(s))
        .expect("selection");
    assert_eq!((r.ptype, r.code), (PacketType::CONNACK, ReasonCode(0x87)));
    let (st, _) = drive(path, &[key('n'), key('a')], 80, 24);
    let r = st
        .selected
        .and_then(|s| st.store.get(s))
        .expect("selection");
    assert_eq!(r.ptype, PacketType::CONNECT, "a jumps to the request");
    let (st, _) = drive(path, &[key('n'), key('a'), key('a')], 80, 24);
    let r = st
        .selected
        .and_then(|s| st.store.get(s))
        .expect("selection");
    assert_eq!(r.ptype, PacketType::CONNACK, "and back to the answer");
    let (st2, _) = drive(path, &[key('n'), key('n'), key('N')], 80, 24);
    assert_eq!(st2.selected, drive(path, &[key('n')], 80, 24).0.selected);
    let (st, _) = drive(path, &[key('G'), key('n')], 80, 24);
    assert!(
        st.message.is_some(),
        "no failure after the last row is said"
    );
}

#[test]
fn quit_keys_and_vim_motion() {
    let path = "captures/qos-flows-v5.pcap";
    let (st, _) = drive(path, &[key('q')], 80, 24);
    assert!(st.quit);
    let (st, _) = drive(path, &[Action::Key(Key::Ctrl('c'))], 80, 24);
    assert!(st.quit, "Ctrl-C in raw mode quits");
    let (st, _) = drive(path, &[Action::Interrupt], 80, 24);
    assert!(st.quit, "SIGINT quits");
    let (st, _) = drive(path, &[key('G')], 80, 24);
    assert_eq!(st.sel_index(), Some(st.shown() - 1));
    let (st, _) = drive(
        path,
        &[key('G'), Action::Key(Key::Ctrl('u')), key('g')],
        80,
        24,
    );
    assert_eq!(st.sel_index(), Some(0));
    let (st, _) = drive(path, &[Action::Key(Key::Ctrl('d'))], 80, 24);
    assert_eq!(st.sel_index(), Some(st.page() / 2));
    let (st, _) = drive(
        path,
        &[Action::Mouse(mqttscope::tui::action::Mouse::ScrollDown)],
        80,
        24,
    );
    assert_eq!(st.sel_index(), Some(3));
}

#[test]
fn follow_pause_and_the_event_cap() {
    let path = "captures/qos-flows-v5.pcap";
    let (evs, _) = analyse(path);
    let mut st = AppState::new(
        SourceInfo {
            describe: "interface lo".into(),
            live: true,
        },
        Arc::new(Catalogue::builtin()),
        10,
    );
    assert!(st.follow, "live starts in follow mode");
    let (a, b) = evs.split_at(evs.len() / 2);
    st.update(Action::Events(a.to_vec()));
    assert_eq!(st.selected, st.visible.back(), "sticks to the newest");
    st.update(cmd(Cmd::Pause));
    let frozen = st.shown();
    st.update(Action::Events(b.to_vec()));
    assert_eq!(
        st.shown(),
        frozen.min(st.shown()),
        "paused display does not grow"
    );
    assert!(st.store.len() <= 10, "cap holds");
    assert!(st.dropped > 0, "oldest dropped");
    assert_eq!(
        st.totals.packets as usize,
        evs.iter()
            .filter(|e| matches!(e.kind, mqttscope::event::EventKind::Packet(_)))
            .count()
    );
    st.update(cmd(Cmd::Pause));
    assert_eq!(st.selected, st.visible.back());
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    mqttscope::tui::render(&mut term, &st).expect("draw");
    let t = text(term.backend().buffer());
    assert!(t.contains("oldest events dropped"), "visible notice:\n{t}");
    assert!(t.contains("[LIVE]") && t.contains("[FOLLOW]"));
    st.update(key_action('f'));
    assert!(!st.follow);
    st.update(Action::Tick(1000));
    assert_eq!(
        st.rate, st.totals.packets,
        "all packets came in the first second"
    );
    st.update(Action::Tick(2500));
    assert_eq!(st.rate, 0, "no new packets in the last window");
}

fn key_action(c: char) -> Action {
    key(c)
}

#[test]
fn every_view_draws_at_80x24_and_tiny_sizes_without_panic() {
    let path = "captures/crafted/malformed.pcap";
    for v in ['1', '2', '3', '4', '?'] {
        for (w, h) in [(80, 24), (20, 5), (1, 1), (200, 60)] {
            let (_, buf) = drive(path, &[key(v)], w, h);
            assert_eq!(buf.area.width, w);
        }
    }
}

#[test]
fn malformed_rows_are_magenta() {
    let (st, buf) = drive("captures/crafted/malformed.pcap", &[], 120, 40);
    assert!(st.totals.malformed > 0);
    let t = text(&buf);
    let y = t
        .lines()
        .position(|l| l.contains("malformed:"))
        .expect("malformed row");
    let line: String = t.lines().nth(y).unwrap_or_default().to_string();
    let x = line
        .find("malformed:")
        .map(|b| line[..b].chars().count())
        .unwrap_or(0) as u16;
    assert_eq!(buf[(x, y as u16)].fg, Color::Magenta);
}

/// Memory per stored event: 0.8 M packets must fit in 200 MiB, so at most ~262 bytes each,
/// measured on a stream of realistic PUBLISHes (QoS 1 with PUBACK, 1.2 KiB payloads).
#[test]
fn memory_per_stored_event_stays_within_budget() {
    let (evs, _) = analyse("captures/qos-flows-v5.pcap");
    let publish = evs
        .iter()
        .find(|e| matches!(&e.kind, mqttscope::event::EventKind::Packet(p) if p.ptype == PacketType::PUBLISH))
        .expect("a PUBLISH")
        .clone();
    let mut st = state_for("synthetic");
    let n = 100_000u64;
    let mut batch = Vec::with_capacity(8192);
    for i in 0..n {
        let mut e = publish.clone();
        e.id = i;
        if let mqttscope::event::EventKind::Packet(p) = &mut e.kind {
            p.size = 1200;
            p.payload_len = Some(1150);
            p.raw.resize(mqttscope::tui::store::RAW_KEEP, 0x41);
            p.topic_resolved = Some(format!("site/{}/sensor/{}", i % 50, i % 1000).into());
        }
        batch.push(e);
        if batch.len() == 8192 {
            st.update(Action::Events(std::mem::take(&mut batch)));
        }
    }
    st.update(Action::Events(batch));
    let per_event = (st.store.heap_bytes() + st.visible.heap_bytes()) as f64 / n as f64;
    let budget = 200.0 * 1024.0 * 1024.0 / 800_000.0;
    eprintln!("memory per stored event: {per_event:.0} bytes (budget {budget:.0})");
    assert!(
        per_event <= budget,
        "{per_event:.0} bytes per event, budget {budget:.0}"
    );
    assert!(st.store.strings.len() <= 1001 + 1, "topics interned once");
}

/// A tmux server of its own, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, cmd: &str) -> Option<Tmux> {
        let socket = format!("mqttscope-test-{}-{name}", std::process::id());
        let ok = std::process::Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
                cmd,
            ])
            .env("TERM", "xterm-256color")
            .status()
            .ok()?
            .success();
        ok.then_some(Tmux { socket })
    }
    fn keys(&self, k: &str) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "0", k])
            .status();
    }
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["-L", &self.socket, "capture-pane", "-p", "-t", "0"];
        if escapes {
            args.push("-e");
        }
        std::process::Command::new("tmux")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
    /// Polls the screen until `pred` holds (at most 10 s).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let s = self.screen(true);
            if pred(&s) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The SGR parameters in effect at the first occurrence of `needle` on a capture-pane line.
fn sgr_before(line: &str, needle: &str) -> Vec<String> {
    let at = line.find(needle).unwrap_or(0);
    let mut codes = Vec::new();
    for seq in line[..at].split("\x1b[").skip(1) {
        if let Some(params) = seq.split('m').next() {
            if params.is_empty() || params == "0" {
                codes.clear();
            } else {
                codes.push(params.to_string());
            }
        }
    }
    codes
}

#[test]
fn end_to_end_in_tmux_failure_row_and_meaning_are_red_and_the_terminal_is_restored() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        if std::env::var_os("MQTTSCOPE_SKIP_TMUX").is_some() {
            eprintln!("tmux is not installed and MQTTSCOPE_SKIP_TMUX is set: test skipped");
            return;
        }
        panic!("tmux is not installed: run `bash scripts/setup.sh --test` (or set MQTTSCOPE_SKIP_TMUX=1 to skip)");
    }
    let bin = env!("CARGO_BIN_EXE_mqttscope");
    let cmd = format!("{bin} captures/connack-refusals-v5.pcap; echo EXIT=$?; sleep 30");
    let t = Tmux::start("quit", &cmd).expect("tmux session starts");
    // Wait for a whole frame: [DONE] and a row drawn after the failure rows.
    let screen = t.wait_for("the loaded capture", |s| {
        s.contains("[DONE]") && s.contains("\"ok-am\"") && s.contains("Fields")
    });
    let line = screen
        .lines()
        .find(|l| l.contains("0x87 Not authorized"))
        .unwrap_or_else(|| panic!("no failure row:\n{screen}"));
    let red = |codes: &[String]| {
        codes.iter().any(|c| {
            c.split(';')
                .collect::<Vec<_>>()
                .ends_with(&["38", "5", "1"])
                || c == "31"
        })
    };
    assert!(
        red(&sgr_before(line, "0x87 Not authorized")),
        "code not red: {line:?}"
    );
    assert!(
        red(&sgr_before(line, ": The client is not permitted")),
        "meaning not red: {line:?}"
    );
    let ok_line = screen
        .lines()
        .find(|l| l.contains("CONNECT") && l.contains("\"ok-am\""))
        .unwrap_or_else(|| panic!("no CONNECT row:\n{screen}"));
    assert!(
        !red(&sgr_before(ok_line, "\"ok-am\"")),
        "a success row is not red: {ok_line:?}"
    );
    // n selects the first failure; Enter opens its detail with the hint.
    t.keys("n");
    t.keys("Enter");
    let detail = t.wait_for("the detail view", |s| s.contains("Check"));
    assert!(detail.contains("check the ACL"), "{detail}");
    t.keys("q");
    let after = t.wait_for("the program to exit", |s| s.contains("EXIT="));
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(
        !after.contains("Timeline"),
        "the alternate screen was left:\n{after}"
    );

    // Ctrl-C quits too, and restores the terminal.
    let t = Tmux::start("ctrlc", &cmd).expect("tmux session starts");
    t.wait_for("the loaded capture", |s| s.contains("[DONE]"));
    t.keys("C-c");
    let after = t.wait_for("the program to exit", |s| s.contains("EXIT="));
    assert!(
        after.contains("EXIT=0") && !after.contains("Timeline"),
        "{after}"
    );

    // A panic restores the terminal, then prints one sentence with the report's path.
    let cmd = format!(
        "MQTTSCOPE_TEST_PANIC=1 {bin} captures/connack-refusals-v5.pcap; echo EXIT=$?; sleep 30"
    );
    let t = Tmux::start("panic", &cmd).expect("tmux session starts");
    let after = t.wait_for("the program to exit", |s| s.contains("EXIT="));
    assert!(after.contains("EXIT=101"), "{after}");
    assert!(
        !after.contains("Timeline"),
        "terminal not restored:\n{after}"
    );
    assert!(
        after.contains("internal error") && after.contains("report written to"),
        "{after}"
    );
    assert!(
        !after.contains("stack backtrace"),
        "no raw backtrace: {after}"
    );
}
