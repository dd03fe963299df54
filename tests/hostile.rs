//! Hostile and damaged captures through the real binary: no panic, the output up to the damage
//! intact, the caps that were hit reported, and peak memory (measured, not guessed) under the
//! memory budget.
//!
//! Own harness (Cargo.toml: harness = false): each measured run goes through a fresh copy of
//! this program (`hostile --measure CMD...`) that runs the command, waits for it and reads
//! getrusage(RUSAGE_CHILDREN).ru_maxrss, so the peak belongs to exactly that one run.

#[path = "hostile_support/gen.rs"]
mod gen;

use nix::sys::resource::{getrusage, UsageWho};
use std::path::PathBuf;
use std::process::Command;

const MIB: u64 = 1 << 20;
/// The default memory budget.
const DEFAULT_BUDGET: u64 = 256 * MIB;

/// One measured run of the binary.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss: u64,
}

fn measure_main(args: &[String]) -> ! {
    let Some((bin, rest)) = args.split_first() else {
        eprintln!("usage: hostile --measure BIN ARGS...");
        std::process::exit(2);
    };
    let out = match Command::new(bin).args(rest).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cannot run {bin}: {e}");
            std::process::exit(2);
        }
    };
    let maxrss_kib = getrusage(UsageWho::RUSAGE_CHILDREN).map_or(-1, |u| u.max_rss());
    println!(
        "MAXRSS_KIB {maxrss_kib} EXIT {}",
        out.status.code().unwrap_or(-1)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    std::process::exit(0);
}

/// Runs mqttscope with `args` in a fresh wrapper and returns its output and peak RSS.
fn run(args: &[&str]) -> Run {
    let me = std::env::current_exe().unwrap();
    let out = Command::new(me)
        .arg("--measure")
        .arg(env!("CARGO_BIN_EXE_mqttscope"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (first, stdout) = text.split_once('\n').unwrap_or((&text, ""));
    let f: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(f.first(), Some(&"MAXRSS_KIB"), "wrapper output: {text}");
    let kib: i64 = f[1].parse().unwrap();
    assert!(kib > 0, "no peak RSS measured");
    let code: i32 = f[3].parse().unwrap();
    Run {
        code: (code >= 0).then_some(code),
        stdout: stdout.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        peak_rss: kib as u64 * 1024,
    }
}

/// Summary line of the survivor client: (connections, reconnects, packets, failures).
fn survivor(summary: &str) -> (u64, u64, u64, u64) {
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with(gen::CLIENT_ID))
        .unwrap_or_else(|| panic!("no {} line in the summary:\n{summary}", gen::CLIENT_ID));
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    // Columns: conns, reconnects, refused, packets, failures, unanswered.
    (n[0], n[1], n[3], n[4])
}

fn assert_cap(summary: &str, cap: &str) {
    assert!(
        summary
            .lines()
            .any(|l| l.trim_start().starts_with("cap hit:") && l.contains(cap)),
        "cap {cap:?} not reported:\n{summary}"
    );
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / MIB as f64)
}

/// Context of every check: where the captures are and the program's own footprint.
struct Ctx {
    dir: PathBuf,
    /// Peak RSS of the binary on a plain 8 MiB capture: code, libraries, read-ahead buffers.
    baseline: u64,
}

impl Ctx {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A summary run that must succeed, show the survivor intact and stay under `budget`
    /// (plus the program's baseline when the budget is smaller than the default).
    fn summary(&self, name: &str, budget_mib: Option<u64>, packets: u64) -> Run {
        let r = self.summary_any(name, budget_mib);
        assert_eq!(survivor(&r.stdout).2, packets, "{name}:\n{}", r.stdout);
        r
    }

    /// `summary` without the survivor check.
    fn summary_any(&self, name: &str, budget_mib: Option<u64>) -> Run {
        let path = self.path(name);
        let b = budget_mib.map(|m| m.to_string());
        let mut args = vec!["--format", "summary", path.as_str()];
        if let Some(b) = &b {
            args.extend(["--memory-budget", b.as_str()]);
        }
        let r = run(&args);
        assert_eq!(r.code, Some(0), "{name}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        let limit = match budget_mib {
            None => DEFAULT_BUDGET,
            Some(m) => m * MIB + self.baseline,
        };
        println!(
            "    {name} (budget {}): peak RSS {} (limit {})",
            budget_mib.map_or("default".into(), |m| format!("{m} MiB")),
            mib(r.peak_rss),
            mib(limit)
        );
        assert!(
            r.peak_rss < limit,
            "{name}: peak RSS {} over {}",
            mib(r.peak_rss),
            mib(limit)
        );
        r
    }
}

fn huge_publish(c: &Ctx) {
    let r = c.summary("huge-publish.pcap", None, 2 * 23);
    assert!(
        r.stdout.contains("1 packets over the size cap"),
        "{}",
        r.stdout
    );
    assert_eq!(survivor(&r.stdout).0, 2);
}

/// Packet types and topics of the JSON Lines output, for comparing runs.
fn packets(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .filter(|l| l.contains("\"kind\":\"packet\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {}", v["dir"], v["type"], v["topic"])
        })
        .collect()
}

fn one_byte_segments(c: &Ctx) {
    c.summary("one-byte-segments.pcap", None, 23);
    let mut whole = gen::Pcap::new();
    gen::normal_session(&mut whole, ([192, 0, 2, 10], 40_000), 1460);
    let whole_path = c.dir.join("whole-segments.pcap");
    std::fs::write(&whole_path, &whole.bytes).unwrap();
    let a = run(&["--format", "jsonl", &c.path("one-byte-segments.pcap")]);
    let b = run(&["--format", "jsonl", &whole_path.to_string_lossy()]);
    let (pa, pb) = (packets(&a.stdout), packets(&b.stdout));
    assert_eq!(pa.len(), 23);
    assert_eq!(
        pa, pb,
        "1-byte segments must decode exactly like whole ones"
    );
}

fn half_open(c: &Ctx) {
    let r = c.summary("half-open-100k.pcap", None, 23);
    assert_cap(&r.stdout, "TCP connections tracked");
    assert!(r.stdout.contains("100001 TCP connections"), "{}", r.stdout);
    let small = c.summary("half-open-100k.pcap", Some(32), 23);
    assert_cap(&small.stdout, "TCP connections tracked");
}

fn seq_jumps(c: &Ctx) {
    let r = c.summary("seq-jumps.pcap", None, 23);
    let gaps: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Stream: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(gaps >= 1, "the jumps are reported as gaps:\n{}", r.stdout);
}

fn fragment_flood(c: &Ctx) {
    let r = c.summary("fragment-flood.pcap", None, 23);
    assert_cap(&r.stdout, "IP fragment buffer");
    let small = c.summary("fragment-flood.pcap", Some(16), 23);
    assert_cap(&small.stdout, "IP fragment buffer");
}

fn holes(c: &Ctx) {
    let r = c.summary("holes-10k.pcap", None, 23);
    assert_cap(&r.stdout, "TCP holes per direction");
    assert!(r.stdout.contains("Stream: 10000 gaps"), "{}", r.stdout);
}

/// A budget run and an unconstrained run of the same capture: the budget is what keeps the
/// first one small (so this check can fail).
fn budget_matters(c: &Ctx, name: &str, cap: &str) {
    let tight = c.summary(name, Some(16), 23);
    assert_cap(&tight.stdout, cap);
    let loose = run(&[
        "--format",
        "summary",
        "--memory-budget",
        "1024",
        &c.path(name),
    ]);
    assert_eq!(loose.code, Some(0));
    assert!(!loose.stdout.contains(cap), "{}", loose.stdout);
    println!(
        "    {name} (budget 1024 MiB): peak RSS {}",
        mib(loose.peak_rss)
    );
    assert!(
        loose.peak_rss > 16 * MIB + c.baseline,
        "without the budget this capture must need more memory ({})",
        mib(loose.peak_rss)
    );
}

fn out_of_order_flood(c: &Ctx) {
    budget_matters(
        c,
        "out-of-order-flood.pcap",
        "memory budget: TCP reassembly",
    );
}

fn framer_tails(c: &Ctx) {
    budget_matters(c, "framer-tails.pcap", "memory budget: MQTT framers");
}

/// The same tails as PUBLISH packets: the summary shows no payload, so the framers keep only
/// each packet's head, and memory stays low without any budget.
fn publish_tails(c: &Ctx) {
    let r = c.summary("publish-tails.pcap", Some(1024), 23);
    assert!(!r.stdout.contains("memory budget"), "{}", r.stdout);
    println!(
        "    publish-tails.pcap (budget 1024 MiB): peak RSS {}",
        mib(r.peak_rss)
    );
    assert!(
        r.peak_rss < 16 * MIB + c.baseline,
        "PUBLISH payloads are held ({})",
        mib(r.peak_rss)
    );
}

fn many_client_ids(c: &Ctx) {
    let r = c.summary_any("many-client-ids.pcap", None);
    let other = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("(other clients"))
        .unwrap_or_else(|| panic!("clients past the cap are counted together:\n{}", r.stdout));
    // 2000 connections past the 10 000th id, then the survivor: 2 packets each, and 23.
    // Columns: conns, reconnects, refused, packets, failures, unanswered.
    let n: Vec<u64> = other
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!((n[0], n[1], n[3]), (2001, 2000, 4023), "{other}");
    let longest = r.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(
        longest < 400,
        "client ids are cut: a line of {longest} chars"
    );
}

/// A damaged file: every frame before the damage shown, a clear error with the offset, exit
/// code 2; with --keep-going, what follows where the format allows.
fn damaged(c: &Ctx, name: &str, offset: u64, before: usize, keep_going: usize) {
    let path = c.path(name);
    let r = run(&["--format", "jsonl", &path]);
    assert_eq!(r.code, Some(2), "{name}: {}", r.stderr);
    let msg = format!("{path} is damaged at byte offset {offset}: ");
    assert!(r.stderr.contains(&msg), "{name}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let shown = packets(&r.stdout);
    assert_eq!(shown.len(), before, "{name}: {shown:?}");
    assert!(shown[0].contains("CONNECT"), "{shown:?}");
    let k = run(&["--format", "jsonl", "--keep-going", &path]);
    assert_eq!(k.code, Some(0), "{name}: {}", k.stderr);
    assert!(k.stderr.contains(&msg), "the damage is still reported");
    assert_eq!(packets(&k.stdout).len(), keep_going, "{name}");
    let s = run(&["--format", "summary", &path]);
    assert!(s.stdout.contains(&format!("damage: {msg}")), "{}", s.stdout);
}

fn absurd_block(c: &Ctx) {
    let (_, at) = gen::pcapng_absurd_block();
    // The damage comes after the handshake, CONNECT and CONNACK; --keep-going finds the rest.
    damaged(c, "absurd-block.pcapng", at, 2, 23);
}

fn cut_last_record(c: &Ctx) {
    let (_, at) = gen::pcap_cut_last_record();
    // Nothing follows the cut record: --keep-going ends there without an error code.
    damaged(c, "cut-last-record.pcap", at, 23, 23);
}

/// A named check of the suite.
type Check = (&'static str, fn(&Ctx));

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure") {
        measure_main(&args[1..]);
    }
    // `cargo test -- --list` and similar: nothing to list beyond the one suite.
    if args.iter().any(|a| a == "--list") {
        println!("hostile: test");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mqttscope-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in gen::all() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let base = run(&[
        "--format",
        "summary",
        &dir.join("baseline.pcap").to_string_lossy(),
    ]);
    assert_eq!(base.code, Some(0));
    let ctx = Ctx {
        dir: dir.clone(),
        baseline: base.peak_rss,
    };
    println!("hostile: program baseline peak RSS {}", mib(ctx.baseline));
    let checks: [Check; 12] = [
        ("publish_claiming_256_mb", huge_publish),
        ("stream_of_one_byte_segments", one_byte_segments),
        ("half_open_connections_100k", half_open),
        ("sequence_number_jumps", seq_jumps),
        ("ipv4_fragments_that_never_complete", fragment_flood),
        ("ten_thousand_holes_in_one_stream", holes),
        ("out_of_order_bytes_over_the_budget", out_of_order_flood),
        ("framer_tails_over_the_budget", framer_tails),
        ("publish_payloads_are_passed_over", publish_tails),
        ("connections_with_distinct_long_client_ids", many_client_ids),
        ("pcapng_with_an_absurd_block_length", absurd_block),
        ("pcap_whose_last_record_is_cut", cut_last_record),
    ];
    // Test names given on the command line select checks; values of libtest's options do not.
    let mut filter: Vec<&String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if [
            "--test-threads",
            "--skip",
            "--logfile",
            "--color",
            "--format",
            "-Z",
        ]
        .contains(&a.as_str())
        {
            it.next();
        } else if !a.starts_with('-') {
            filter.push(a);
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, check) in checks {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let ok = std::panic::catch_unwind(|| check(&ctx)).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out"
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
