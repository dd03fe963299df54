//! Command-line behaviour of the real binary: formats, filters, exit codes, pipes, determinism.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mqttscope"));
    c.env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const REFUSALS: &str = "captures/connack-refusals-v5.pcap";
const SUBACK: &str = "captures/suback-mixed-v5.pcap";
const ADAFRUIT: &str = "captures/crafted/adafruit-connack-throttled-banned.pcap";
const TRUNCATED: &str = "captures/crafted/truncated-last-record.pcap";

#[test]
fn text_output_explains_refusals() {
    let o = run(&[REFUSALS, "--color", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("← CONNACK"), "{out}");
    assert!(out.contains("0x87 Not authorized: "), "{out}");
    assert!(out.contains("0x8C Bad authentication method"), "{out}");
    assert!(out.contains("password=********"), "{out}");
    assert!(!out.contains('\x1b'), "no colour with --color never");
}

#[test]
fn colour_marks_failures_red_and_respects_no_color() {
    let o = run(&[ADAFRUIT, "--color", "always"]);
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("0x06"))
        .expect("throttled line");
    assert!(
        line.contains("\x1b[31m 0x06 Connection Refused, throttled"),
        "{line:?}"
    );
    let o = bin()
        .args([ADAFRUIT])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&o).contains('\x1b'));
}

#[test]
fn jsonl_lines_carry_the_documented_keys() {
    let o = run(&[SUBACK, "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON"))
        .collect();
    assert_eq!(lines[0]["kind"], "header");
    assert_eq!(lines[0]["schema"], 1);
    assert_eq!(lines.last().unwrap()["kind"], "summary");
    let keys = [
        "ts",
        "stream",
        "dir",
        "type",
        "type_num",
        "version",
        "packet_id",
        "qos",
        "topic",
        "topic_resolved",
        "topics",
        "reason_codes",
        "reason",
        "reason_string",
        "malformed",
        "anomalies",
        "answers",
    ];
    let packets: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "packet").collect();
    assert!(packets.len() >= 6);
    for p in &packets {
        for k in keys {
            assert!(p.get(k).is_some(), "key {k} missing in {p}");
        }
        assert_eq!(p["stream"], "127.0.0.1:40347-127.0.0.1:18831");
    }
    let suback = packets.iter().find(|p| p["type"] == "SUBACK").unwrap();
    assert_eq!(suback["reason_codes"], serde_json::json!([0, 1, 135, 2]));
    assert_eq!(suback["reason"][2]["name"], "Not authorized");
    assert_eq!(suback["reason"][2]["success"], false);
    assert_eq!(suback["answers"]["type"], "SUBSCRIBE");
    let sub = packets.iter().find(|p| p["type"] == "SUBSCRIBE").unwrap();
    assert_eq!(
        sub["topics"][2],
        serde_json::json!({"topic": "secret/x", "qos": 2})
    );
    let unsub = packets.iter().find(|p| p["type"] == "UNSUBSCRIBE").unwrap();
    assert_eq!(unsub["topics"][0]["qos"], serde_json::Value::Null);
}

#[test]
fn csv_has_one_header_row_and_a_row_per_packet() {
    let o = run(&[SUBACK, "--format", "csv"]);
    let out = stdout(&o);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("id,ts,frame,stream,dir,client_id,type,"));
    let rows: Vec<&str> = lines.collect();
    let json = stdout(&run(&[SUBACK, "--format", "jsonl"]));
    let packets = json
        .lines()
        .filter(|l| l.contains("\"kind\":\"packet\""))
        .count();
    assert_eq!(rows.len(), packets);
    assert!(rows.iter().any(|r| r.contains("0x00;0x01;0x87;0x02")));
}

#[test]
fn summary_lists_failures_first_with_names() {
    let o = run(&[REFUSALS, "--format", "summary"]);
    let out = stdout(&o);
    let codes = out.split("Reason codes").nth(1).expect("reason code table");
    let first = codes.lines().nth(1).unwrap();
    assert!(first.trim_start().starts_with("FAIL"), "{first}");
    assert!(out.contains("CONNECT-CONNACK"), "latency table: {out}");
}

#[test]
fn fail_on_sets_exit_code_one() {
    assert_eq!(
        run(&[REFUSALS, "--format", "summary", "--fail-on", "failure"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&[
            "captures/qos-flows-v311.pcap",
            "--format",
            "summary",
            "--fail-on",
            "failure"
        ])
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        run(&[
            "captures/crafted/malformed.pcap",
            "--format",
            "summary",
            "--fail-on",
            "malformed"
        ])
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        run(&[
            "captures/crafted/malformed.pcap",
            "--format",
            "summary",
            "--fail-on",
            "any"
        ])
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        run(&[REFUSALS, "--format", "summary"]).status.code(),
        Some(0),
        "no --fail-on: 0"
    );
}

#[test]
fn usage_and_input_errors_exit_two_with_a_sentence() {
    let o = run(&["--format", "nonsense", REFUSALS]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/x.pcap"),
        "{}",
        stderr(&o)
    );
    let o = run(&["Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not a pcap or pcapng file"),
        "{}",
        stderr(&o)
    );
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no input"));
    let o = run(&[REFUSALS, "--topic", "a/#/b"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[REFUSALS, "--type", "PUBLISHX"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn damaged_file_shows_what_was_read_then_fails_unless_keep_going() {
    let o = run(&[TRUNCATED, "--format", "jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("damaged at byte offset"), "{err}");
    let out = stdout(&o);
    assert!(
        out.lines()
            .filter(|l| l.contains("\"kind\":\"packet\""))
            .count()
            > 0,
        "packets before the damage are shown"
    );
    assert!(
        out.lines().last().unwrap().contains("\"damage\":"),
        "summary carries the damage"
    );
    let o = run(&[TRUNCATED, "--format", "jsonl", "--keep-going"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("damaged at byte offset"));
}

#[test]
fn empty_capture_is_a_valid_empty_result() {
    let dir = std::env::temp_dir().join(format!("mqttscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("empty.pcap");
    std::fs::write(&p, b"").unwrap();
    let o = run(&[p.to_str().unwrap(), "--format", "summary"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Capture: 0 frames"));
}

#[test]
fn filters_select_packets() {
    let count = |args: &[&str]| {
        let mut a = vec![SUBACK, "--format", "jsonl"];
        a.extend_from_slice(args);
        stdout(&run(&a))
            .lines()
            .filter(|l| l.contains("\"kind\":\"packet\""))
            .count()
    };
    assert_eq!(count(&["--type", "SUBACK"]), 1);
    assert_eq!(count(&["--type", "suback,unsuback"]), 2);
    assert_eq!(count(&["--rc", "0x87"]), 2);
    assert_eq!(count(&["--rc", "17"]), 1);
    assert_eq!(count(&["--errors"]), 2);
    assert_eq!(count(&["--topic", "secret/+"]), 2);
    assert_eq!(count(&["--client", "mix*"]), count(&[]));
    assert_eq!(count(&["--client", "other"]), 0);
    assert_eq!(count(&["--conn", "127.0.0.1:40347"]), count(&[]));
    assert_eq!(count(&["--conn", "127.0.0.1:1"]), 0);
}

#[test]
fn time_formats() {
    let o = run(&[SUBACK, "--time", "rel", "--color", "never"]);
    assert!(stdout(&o).starts_with("0.000000 "), "{}", stdout(&o));
    let o = run(&[SUBACK, "--time", "delta", "--color", "never"]);
    let second = stdout(&o).lines().nth(1).unwrap().to_string();
    assert!(second.starts_with("0.000000 "), "{second}");
    let o = run(&[SUBACK, "--color", "never"]);
    assert!(stdout(&o).starts_with("23:27:34.017404 "), "{}", stdout(&o));
}

#[test]
fn output_is_deterministic() {
    for f in [REFUSALS, SUBACK, "captures/public/ndpi-coap_mqtt.pcap"] {
        let a = run(&[f, "--format", "jsonl"]).stdout;
        let b = run(&[f, "--format", "jsonl"]).stdout;
        assert_eq!(a, b, "{f}");
    }
}

#[test]
fn stdin_reads_a_capture() {
    let mut child = bin()
        .args(["-", "--format", "jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(SUBACK).unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), stdout(&run(&[SUBACK, "--format", "jsonl"])));
}

#[test]
fn closed_pipe_is_not_an_error() {
    let mut child = bin()
        .args([
            "captures/public/ndpi-coap_mqtt-2016.pcap",
            "--format",
            "jsonl",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn count_bpf_and_write_options() {
    let dir = std::env::temp_dir().join(format!("mqttscope-cliw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w = dir.join("copy.pcapng");
    let o = run(&[
        SUBACK,
        "-c",
        "8",
        "-w",
        w.to_str().unwrap(),
        "--format",
        "summary",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Capture: 8 frames"), "{}", stdout(&o));
    let again = run(&[w.to_str().unwrap(), "--format", "summary"]);
    assert!(stdout(&again).contains("Capture: 8 frames"));
    let o = run(&[SUBACK, "-f", "tcp port 9", "--format", "summary"]);
    assert!(stdout(&o).contains("MQTT: 0 packets"), "{}", stdout(&o));
    let o = run(&[SUBACK, "-f", "tcp port 18831", "--format", "summary"]);
    assert!(!stdout(&o).contains("MQTT: 0 packets"));
    let o = run(&[SUBACK, "-f", "tcp port", "--format", "summary"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid capture filter"));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let o = run(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("--fail-on"));
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(".TH mqttscope"));
    assert!(stdout(&o).contains("keep\\-going"));
}

#[test]
fn vendor_codes_file_names_vendor_codes() {
    let dir = std::env::temp_dir().join(format!("mqttscope-vendor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = run(&[
        ADAFRUIT,
        "--vendor-codes",
        "captures/vendor-codes.example.toml",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("throttled"));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "vendor = 3\n").unwrap();
    let o = run(&[ADAFRUIT, "--vendor-codes", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
}
