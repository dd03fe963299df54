//! Live capture end to end: a real mosquitto broker and real mosquitto_pub/mosquitto_sub clients
//! talk on loopback while `mqttscope -i lo --format jsonl -w FILE` captures them; the JSON lines
//! must hold the expected packets in order with their reason codes and pairing, no gaps and no
//! kernel drops, and analysing the saved file offline must give the same packet lines.
//!
//! Needs capture privileges (root, or cap_net_raw+cap_net_admin on the binary) and Debian's
//! mosquitto and mosquitto-clients (scripts/setup.sh --test). Without them the test fails with
//! the reason, unless MQTTSCOPE_SKIP_LIVE=1 is set. Every wait polls with a deadline.

mod common;

use common::{analyse_file, bin, packet_line, packets, summary, PacketLine};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// Longest any single wait may take.
const DEADLINE: Duration = Duration::from_secs(20);
/// Poll interval of the waits.
const POLL: Duration = Duration::from_millis(20);
const BROKER: &str = "/usr/sbin/mosquitto";

/// A child process killed (and reaped) when the test ends, whatever happens.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn skipping() -> bool {
    std::env::var("MQTTSCOPE_SKIP_LIVE").as_deref() == Ok("1")
}

/// Fails with `why` (or skips, saying so, under MQTTSCOPE_SKIP_LIVE=1).
fn cannot_run(why: &str) {
    if skipping() {
        eprintln!("live test skipped (MQTTSCOPE_SKIP_LIVE=1): {why}");
        return;
    }
    panic!("live test cannot run: {why}\nset MQTTSCOPE_SKIP_LIVE=1 to skip it explicitly");
}

/// A fresh temp directory readable by the broker (which drops to user mosquitto as root).
fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let d = std::env::temp_dir().join(format!("mqttscope-live-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    set_mode(&d, 0o755);
    d
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Polls `f` until it returns Some or the deadline passes.
fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        thread::sleep(POLL);
    }
}

/// Waits for a child to exit, with the deadline.
fn wait_exit(p: &mut Proc, what: &str) -> ExitStatus {
    wait_until(what, || p.0.try_wait().ok().flatten())
}

/// Runs a client to completion and returns its exit status.
fn client(args: &[&str]) -> ExitStatus {
    let mut p = Proc(
        Command::new(args[0])
            .args(&args[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", args[0])),
    );
    wait_exit(&mut p, args[0])
}

/// mqttscope's stdout, read line by line on a thread.
struct Lines {
    rx: Receiver<String>,
    all: Vec<Value>,
}

impl Lines {
    /// Takes in what has arrived so far.
    fn pump(&mut self) {
        while let Ok(l) = self.rx.try_recv() {
            let v = serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            self.all.push(v);
        }
    }

    /// Whether a packet line matching `f` has arrived.
    fn has(&mut self, f: impl Fn(&PacketLine) -> bool) -> bool {
        self.pump();
        self.all.iter().filter_map(packet_line).any(|p| f(&p))
    }
}

fn is(p: &PacketLine, client_id: &str, ptype: &str) -> bool {
    p.ptype == ptype && p.client_id.as_deref() == Some(client_id)
}

/// The packet lines of one client, as (type, dir, reason codes).
fn flow(pk: &[PacketLine], client_id: &str) -> Vec<(String, String, Vec<u8>)> {
    pk.iter()
        .filter(|p| p.client_id.as_deref() == Some(client_id))
        .map(|p| (p.ptype.clone(), p.dir.clone(), p.reason_codes.clone()))
        .collect()
}

fn step(t: &str, d: &str, codes: &[u8]) -> (String, String, Vec<u8>) {
    (t.to_string(), d.to_string(), codes.to_vec())
}

/// The answer line of `client_id` with type `ptype` (the first one).
fn answer<'a>(pk: &'a [PacketLine], client_id: &str, ptype: &str) -> &'a PacketLine {
    pk.iter()
        .find(|p| is(p, client_id, ptype))
        .unwrap_or_else(|| panic!("no {ptype} for {client_id}"))
}

fn assert_pairs(pk: &[PacketLine], client_id: &str, ptype: &str, request: &str) {
    let a = answer(pk, client_id, ptype);
    let (req, ms) = a
        .answers
        .clone()
        .unwrap_or_else(|| panic!("{ptype} of {client_id} pairs with nothing: {}", a.raw));
    assert_eq!(req, request, "{}", a.raw);
    assert!((0.0..5000.0).contains(&ms), "latency {ms} ms: {}", a.raw);
}

#[test]
fn live_broker_traffic_is_captured_decoded_paired_and_saved() {
    let tools = [BROKER, "/usr/bin/mosquitto_pub", "/usr/bin/mosquitto_sub"];
    if let Some(t) = tools.iter().find(|t| !Path::new(t).exists()) {
        cannot_run(&format!(
            "{t} is not installed: run scripts/setup.sh --test (Debian packages mosquitto, \
             mosquitto-clients)"
        ));
        return;
    }
    let dir = temp_dir();
    let port = free_port();
    let p = port.to_string();
    // Broker: a password file (alice) and an ACL denying secret/#, so there are refusals.
    let passwd = dir.join("passwd");
    std::fs::write(&passwd, "").unwrap();
    let st = Command::new("mosquitto_passwd")
        .args(["-b"])
        .arg(&passwd)
        .args(["alice", "secret"])
        .status()
        .expect("mosquitto_passwd runs");
    assert!(st.success(), "mosquitto_passwd failed: {st}");
    let acl = dir.join("acl");
    std::fs::write(
        &acl,
        "user alice\ntopic readwrite live/#\ntopic deny secret/#\n",
    )
    .unwrap();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n\
             acl_file {}\npersistence false\nlog_dest stderr\n",
            passwd.display(),
            acl.display()
        ),
    )
    .unwrap();
    for f in [&passwd, &acl, &conf] {
        set_mode(f, 0o644);
    }
    let broker_log = std::fs::File::create(dir.join("broker.log")).unwrap();
    let mut broker = Proc(
        Command::new(BROKER)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(broker_log)
            .spawn()
            .expect("mosquitto starts"),
    );
    wait_until("the broker to accept connections", || {
        if let Ok(Some(st)) = broker.0.try_wait() {
            let log = std::fs::read_to_string(dir.join("broker.log")).unwrap_or_default();
            panic!("mosquitto exited ({st}): {log}");
        }
        TcpStream::connect(("127.0.0.1", port)).ok()
    });

    // mqttscope, capturing.
    let out = dir.join("live.pcapng");
    let err_path = dir.join("mqttscope.err");
    let mut scope = Proc(
        Command::new(bin())
            .args([
                "-i",
                "lo",
                "-f",
                &format!("tcp port {port}"),
                "--format",
                "jsonl",
            ])
            .arg("-w")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("mqttscope starts"),
    );
    let stdout = scope.0.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut lines = Lines {
        rx,
        all: Vec::new(),
    };
    let pubc = |v: &'static str, id: &'static str, pw: &'static str| {
        let p = p.clone();
        move |extra: &[&str]| {
            let mut a = vec![
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-p",
                &p,
                "-V",
                v,
                "-i",
                id,
                "-u",
                "alice",
                "-P",
                pw,
                "-m",
                "hello",
            ];
            a.extend_from_slice(extra);
            client(&a)
        }
    };

    // Readiness: probe until the probe's CONNECT shows up (or mqttscope gives up).
    let probe = pubc("311", "probe", "secret");
    let ready = wait_until("mqttscope to show the probe's CONNECT", || {
        if let Ok(Some(st)) = scope.0.try_wait() {
            return Some(Err(st));
        }
        if lines.has(|p| is(p, "probe", "CONNECT")) {
            return Some(Ok(()));
        }
        probe(&["-t", "live/probe"]);
        None
    });
    if let Err(st) = ready {
        let why = std::fs::read_to_string(&err_path).unwrap_or_default();
        let why = why.trim();
        let privileged = nix::unistd::geteuid().is_root();
        if !privileged || why.to_lowercase().contains("permi") {
            cannot_run(&format!("mqttscope exited ({st}): {why}"));
            return;
        }
        panic!("mqttscope exited ({st}) although running as root: {why}");
    }

    // Refusals: a wrong password on 5.0 and on 3.1.1.
    assert!(!pubc("5", "bad-v5", "wrong")(&["-t", "live/x"]).success());
    assert!(!pubc("311", "bad-311", "wrong")(&["-t", "live/x"]).success());

    // A 5.0 subscriber for four messages, subscribed before anything is published.
    let mut sub = Proc(
        Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &p, "-V", "5", "-i", "sub-v5"])
            .args([
                "-u", "alice", "-P", "secret", "-q", "2", "-t", "live/#", "-C", "4",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub starts"),
    );
    wait_until("the subscriber's SUBACK", || {
        lines.has(|p| is(p, "sub-v5", "SUBACK")).then_some(())
    });
    assert!(pubc("5", "pub-q0", "secret")(&["-t", "live/q0", "-q", "0"]).success());
    assert!(pubc("5", "pub-q1", "secret")(&["-t", "live/q1", "-q", "1"]).success());
    assert!(pubc("5", "pub-q2", "secret")(&["-t", "live/q2", "-q", "2"]).success());
    assert!(pubc("311", "pub-311", "secret")(&["-t", "live/v311", "-q", "1"]).success());
    // Denied by the ACL: PUBACK 0x87 (mosquitto_pub still exits 0 on 2.0.11 or reports it).
    pubc("5", "pub-deny", "secret")(&["-t", "secret/x", "-q", "1"]);
    let st = wait_exit(&mut sub, "the subscriber to receive 4 messages");
    assert!(st.success(), "mosquitto_sub: {st}");
    wait_until("the subscriber's DISCONNECT and the denied PUBACK", || {
        (lines.has(|p| is(p, "sub-v5", "DISCONNECT"))
            && lines.has(|p| is(p, "pub-deny", "DISCONNECT")))
        .then_some(())
    });

    // Stop with SIGINT, as Ctrl-C would.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(scope.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT sent");
    let st = wait_exit(&mut scope, "mqttscope to stop on SIGINT");
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(st.success(), "mqttscope exited {st}: {stderr}");
    // Whatever was still in the pipe.
    wait_until("the summary line", || {
        lines.pump();
        summary(&lines.all).map(|_| ())
    });
    drop(broker);

    let pk = packets(&lines.all);
    let none: &[u8] = &[];
    assert_eq!(
        flow(&pk, "bad-v5"),
        vec![
            step("CONNECT", "c2s", none),
            step("CONNACK", "s2c", &[0x87])
        ]
    );
    assert_eq!(
        flow(&pk, "bad-311"),
        vec![step("CONNECT", "c2s", none), step("CONNACK", "s2c", &[5])]
    );
    assert_eq!(
        flow(&pk, "pub-q0"),
        vec![
            step("CONNECT", "c2s", none),
            step("CONNACK", "s2c", &[0]),
            step("PUBLISH", "c2s", none),
            step("DISCONNECT", "c2s", &[0]),
        ]
    );
    assert_eq!(
        flow(&pk, "pub-q1"),
        vec![
            step("CONNECT", "c2s", none),
            step("CONNACK", "s2c", &[0]),
            step("PUBLISH", "c2s", none),
            step("PUBACK", "s2c", &[0]),
            step("DISCONNECT", "c2s", &[0]),
        ]
    );
    assert_eq!(
        flow(&pk, "pub-q2"),
        vec![
            step("CONNECT", "c2s", none),
            step("CONNACK", "s2c", &[0]),
            step("PUBLISH", "c2s", none),
            step("PUBREC", "s2c", &[0]),
            step("PUBREL", "c2s", &[0]),
            step("PUBCOMP", "s2c", &[0]),
            step("DISCONNECT", "c2s", &[0]),
        ]
    );
    assert_eq!(
        flow(&pk, "pub-311"),
        vec![
            step("CONNECT", "c2s", none),
            step("CONNACK", "s2c", &[0]),
            step("PUBLISH", "c2s", none),
            step("PUBACK", "s2c", none),
            step("DISCONNECT", "c2s", none),
        ]
    );
    assert_eq!(answer(&pk, "pub-deny", "PUBACK").reason_codes, vec![0x87]);
    for (id, level) in [("bad-v5", 5), ("bad-311", 4), ("pub-q2", 5), ("pub-311", 4)] {
        assert_eq!(
            answer(&pk, id, "CONNECT").connect_level,
            Some(level),
            "{id}"
        );
        assert_pairs(&pk, id, "CONNACK", "CONNECT");
    }
    assert_pairs(&pk, "pub-q1", "PUBACK", "PUBLISH");
    assert_pairs(&pk, "pub-deny", "PUBACK", "PUBLISH");
    assert_pairs(&pk, "pub-q2", "PUBREC", "PUBLISH");
    assert_pairs(&pk, "pub-q2", "PUBREL", "PUBREC");
    assert_pairs(&pk, "pub-q2", "PUBCOMP", "PUBREL");
    assert_pairs(&pk, "sub-v5", "SUBACK", "SUBSCRIBE");
    assert_eq!(answer(&pk, "sub-v5", "SUBACK").reason_codes, vec![2]);
    let delivered: Vec<&str> = pk
        .iter()
        .filter(|p| is(p, "sub-v5", "PUBLISH") && p.dir == "s2c")
        .filter_map(|p| p.topic.as_deref())
        .collect();
    assert_eq!(delivered, ["live/q0", "live/q1", "live/q2", "live/v311"]);
    assert!(
        pk.iter().all(|p| p.malformed.is_none()),
        "malformed packets in live traffic"
    );

    // No gaps and no kernel drops.
    let sum = summary(&lines.all).expect("a summary line");
    assert_eq!(sum["stream"]["gaps"], 0, "{sum}");
    assert_eq!(sum["stream"]["gap_bytes"], 0, "{sum}");
    assert_eq!(sum["capture"]["kernel_drops"], 0, "{sum}");
    assert!(
        lines
            .all
            .iter()
            .all(|l| l.get("event").and_then(Value::as_str) != Some("gap")),
        "a gap line in live output"
    );

    // The saved file gives the same packet lines offline.
    let offline = analyse_file(&out, &[]);
    let live_pk: Vec<&Value> = lines
        .all
        .iter()
        .filter(|l| l.get("kind").and_then(Value::as_str) == Some("packet"))
        .collect();
    let off_pk: Vec<&Value> = offline
        .iter()
        .filter(|l| l.get("kind").and_then(Value::as_str) == Some("packet"))
        .collect();
    assert_eq!(live_pk.len(), off_pk.len(), "packet count live vs offline");
    for (a, b) in live_pk.iter().zip(&off_pk) {
        assert_eq!(a, b, "live and offline packet lines differ");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
