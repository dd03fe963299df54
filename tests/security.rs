//! Security: secrets masked in every output unless --show-secrets, privileges dropped after
//! opening a live device, the panic hook's short message and report file.

use mqttscope::app::session_config;
use mqttscope::capture::{open_file, FileOptions};
use mqttscope::cli::{Format, RunArgs};
use mqttscope::event::Event;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::pipeline::{run, Analyzer, RunOptions};
use mqttscope::report::Totals;
use mqttscope::sink::{Flow, Sink};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AUTH: &str = "captures/crafted/auth-exchange-v5.pcap";
const REFUSALS: &str = "captures/connack-refusals-v5.pcap";
/// The secrets of the two captures: CONNECT passwords and Authentication Data (0x16) values.
const AUTH_SECRETS: [&str; 2] = ["n,,n=user,r=abc", "r=abcdef,s=c2FsdA==,i=4096"];
const PASSWORDS: [&str; 2] = ["alicepw", "wrong"];

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mqttscope"))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A sink that keeps the debug form of every event: everything any output could show.
struct Collect(Vec<String>);

impl Sink for Collect {
    fn event(&mut self, ev: &Event) -> std::io::Result<Flow> {
        self.0.push(format!("{ev:?}"));
        Ok(Flow::Continue)
    }
    fn finish(&mut self, _: &Totals) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every event of `path` as the TUI gets them (properties and 4 KiB of raw bytes kept).
fn tui_events(path: &str, show_secrets: bool) -> String {
    let args = RunArgs {
        show_secrets,
        ..RunArgs::default()
    };
    let mut cfg = session_config(&args, Format::Tui).unwrap();
    assert!(cfg.convert.raw > 0, "the TUI keeps raw bytes");
    // Keep whole packets so every secret byte would show if it were not masked.
    cfg.convert.raw = 4096;
    let cat = Arc::new(Catalogue::builtin());
    let mut an = Analyzer::new(&args.limits(), cfg, cat);
    let mut src = open_file(path, &FileOptions::default()).unwrap();
    let mut sink = Collect(Vec::new());
    let mut totals = Totals::default();
    let end = run(
        &mut src,
        &mut an,
        &mut sink,
        &mut totals,
        RunOptions {
            count: None,
            keep_going: false,
            writer: None,
            filter: Default::default(),
        },
    );
    assert!(end.errors.is_empty(), "{:?}", end.errors);
    sink.0.join("\n")
}

/// Bytes of `s` as they appear in the debug form of a `Vec<u8>` ("110, 44, 44").
fn debug_bytes(s: &str) -> String {
    format!("{:?}", s.as_bytes())
        .trim_matches(|c| c == '[' || c == ']')
        .to_string()
}

#[test]
fn tui_events_mask_auth_data_and_passwords_in_properties_and_raw_bytes() {
    for (path, secrets) in [(AUTH, &AUTH_SECRETS[..]), (REFUSALS, &PASSWORDS[..1])] {
        let masked = tui_events(path, false);
        let shown = tui_events(path, true);
        assert!(masked.contains("********"), "{path}: no mask shown");
        for s in secrets {
            for form in [s.to_string(), hex(s), debug_bytes(s)] {
                assert!(!masked.contains(&form), "{path}: {s:?} leaked as {form:?}");
            }
            assert!(
                shown.contains(s) || shown.contains(&hex(s)),
                "{path}: --show-secrets must show {s:?}"
            );
            assert!(
                shown.contains(&debug_bytes(s)),
                "{path}: raw bytes keep {s:?} with --show-secrets"
            );
        }
    }
}

fn output(format: &str, path: &str, show: bool) -> String {
    let mut c = bin();
    c.args(["--format", format, "--color", "never", path]);
    if show {
        c.arg("--show-secrets");
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{format} {path}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn every_output_format_masks_passwords_and_auth_data() {
    for format in ["text", "jsonl", "csv", "summary"] {
        for path in [AUTH, REFUSALS] {
            let out = output(format, path, false);
            for s in PASSWORDS.iter().chain(&AUTH_SECRETS) {
                assert!(!out.contains(s), "{format} {path}: {s:?} leaked");
                assert!(
                    !out.contains(&hex(s)),
                    "{format} {path}: {s:?} leaked as hex"
                );
            }
        }
    }
    for format in ["text", "jsonl"] {
        let masked = output(format, REFUSALS, false);
        assert!(masked.contains("********"), "{format}: the mask is shown");
        let shown = output(format, REFUSALS, true);
        assert!(
            shown.contains("alicepw"),
            "{format}: --show-secrets shows it"
        );
        assert!(shown.contains("wrong"), "{format}: --show-secrets shows it");
    }
}

/// The uid of process `pid` (real uid, from /proc), or None once it is gone.
fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn nobody_uid() -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("nobody:"))?;
    line.split(':').nth(2)?.parse().ok()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Sends a few TCP segments over loopback to a listener of our own.
fn loopback_traffic(rounds: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let _ = listener.accept();
    });
    if let Ok(mut s) = TcpStream::connect(addr) {
        for _ in 0..rounds {
            let _ = s.write_all(b"mqttscope privilege test");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = t.join();
}

/// Runs `mqttscope -i lo -c 20 EXTRA` and returns the uids seen while it captured.
fn uids_while_capturing(extra: &[&str]) -> (Vec<u32>, std::process::Output) {
    let mut child = bin()
        .args(["-i", "lo", "-c", "20", "--format", "summary"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut seen = Vec::new();
    let start = Instant::now();
    // The device opens within a moment; watch the uid for half a second before sending.
    while start.elapsed() < Duration::from_millis(500) {
        if let Some(u) = uid_of(pid) {
            if seen.last() != Some(&u) {
                seen.push(u);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        loopback_traffic(10);
        if let Some(u) = uid_of(pid) {
            if seen.last() != Some(&u) {
                seen.push(u);
            }
        }
    }
    let _ = child.kill();
    (seen, child.wait_with_output().unwrap())
}

fn skip_unless_root(what: &str) -> bool {
    if is_root() {
        return false;
    }
    if std::env::var("MQTTSCOPE_SKIP_LIVE").as_deref() == Ok("1") {
        eprintln!("{what} skipped (not root, MQTTSCOPE_SKIP_LIVE=1)");
        return true;
    }
    panic!("{what} needs root; run as root or set MQTTSCOPE_SKIP_LIVE=1");
}

#[test]
fn live_capture_as_root_drops_to_nobody_after_opening_the_device() {
    if skip_unless_root("privilege drop test") {
        return;
    }
    let nobody = nobody_uid().expect("this machine has a nobody user");
    let (uids, out) = uids_while_capturing(&[]);
    assert!(out.status.success(), "{out:?}");
    assert!(uids.contains(&nobody), "uid never became nobody: {uids:?}");
    assert_eq!(uids.last(), Some(&nobody), "{uids:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("frames"), "the capture was analysed: {text}");
}

#[test]
fn no_drop_keeps_root_during_live_capture() {
    if skip_unless_root("--no-drop test") {
        return;
    }
    let (uids, out) = uids_while_capturing(&["--no-drop"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(uids, [0], "uid must stay 0 with --no-drop");
}

#[test]
fn z_with_an_unknown_user_is_a_clear_error_with_exit_code_2() {
    if skip_unless_root("-Z test") {
        return;
    }
    let out = bin()
        .args(["-i", "lo", "-c", "1", "-Z", "no-such-user-mqttscope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("-Z no-such-user-mqttscope: no such user"),
        "stderr: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one line, no backtrace: {err}");
}

#[test]
fn z_names_the_user_to_switch_to() {
    if skip_unless_root("-Z daemon test") {
        return;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let Some(daemon) = passwd
        .lines()
        .find(|l| l.starts_with("daemon:"))
        .and_then(|l| l.split(':').nth(2)?.parse::<u32>().ok())
    else {
        panic!("this machine has no daemon user");
    };
    let (uids, out) = uids_while_capturing(&["-Z", "daemon"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(uids.last(), Some(&daemon), "{uids:?}");
}

#[test]
fn malformed_connect_keeps_only_its_fixed_header_in_the_raw_bytes() {
    use mqttscope::mqtt::framer::{FrameEvent, Framer};
    use mqttscope::mqtt::packet::decode;
    use mqttscope::mqtt::types::Version;
    use mqttscope::session::convert::{malformed_info, ConvertOptions};
    // CONNECT with a password flag, then a password field cut short: "hunter2" is in the bytes.
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0xc2, 0, 60, 0, 1, b'c'];
    body.extend_from_slice(&[0, 1, b'u', 0, 9]);
    body.extend_from_slice(b"hunter2");
    let mut pkt = vec![0x10, body.len() as u8];
    pkt.extend_from_slice(&body);
    let mut f = Framer::new(1 << 20);
    let mut seen = 0;
    f.feed(&pkt, &mut |fe| {
        let FrameEvent::Packet(raw) = fe else {
            panic!("expected a framed packet, got {fe:?}");
        };
        let err = decode(&raw, Version::V3_1_1).expect_err("the password is cut short");
        for show in [false, true] {
            let opts = ConvertOptions {
                show_secrets: show,
                raw: 4096,
                ..ConvertOptions::default()
            };
            let info = malformed_info(&raw, &err, Some(Version::V3_1_1), &opts);
            if show {
                assert_eq!(info.raw, pkt, "--show-secrets keeps every byte");
            } else {
                assert_eq!(info.raw, pkt[..2], "only the fixed header is kept");
            }
        }
        seen += 1;
    });
    assert_eq!(seen, 1);
}
