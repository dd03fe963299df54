//! Helpers shared by the cross-check and live tests: running the built binary and reading its
//! JSON Lines output into plain values.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The mqttscope binary Cargo built for this test run.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mqttscope")
}

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `packet` line of `--format jsonl`, reduced to what the tests compare.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketLine {
    /// Frame that completed the packet.
    pub frame: u64,
    /// Seconds since the epoch of that frame.
    pub ts: f64,
    /// "client-server" address pair.
    pub stream: String,
    /// "c2s" or "s2c".
    pub dir: String,
    /// Client id of the connection, when known.
    pub client_id: Option<String>,
    /// Packet type name ("CONNECT", ...).
    pub ptype: String,
    /// 4-bit packet type.
    pub type_num: u8,
    /// Connection protocol level, when known.
    pub version: Option<u8>,
    /// CONNECT protocol level.
    pub connect_level: Option<u8>,
    /// Packet identifier.
    pub packet_id: Option<u16>,
    /// PUBLISH QoS.
    pub qos: Option<u8>,
    /// PUBLISH topic as on the wire.
    pub topic: Option<String>,
    /// Topic Alias property.
    pub topic_alias: Option<u16>,
    /// Alias-resolved topic.
    pub topic_resolved: Option<String>,
    /// SUBSCRIBE / UNSUBSCRIBE filters.
    pub filters: Option<Vec<String>>,
    /// Reason codes in packet order.
    pub reason_codes: Vec<u8>,
    /// Why the packet is malformed, if it is.
    pub malformed: Option<String>,
    /// Request type this packet answers and the latency in ms.
    pub answers: Option<(String, f64)>,
    /// The whole line, for messages.
    pub raw: String,
}

/// Parses every line of JSON Lines output; panics with the offending line when one is not JSON.
pub fn parse_lines(out: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn opt_str(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn opt_u64(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

/// Converts a `packet` line; None for other kinds.
pub fn packet_line(v: &Value) -> Option<PacketLine> {
    if v.get("kind")?.as_str()? != "packet" {
        return None;
    }
    let small = |k: &str| opt_u64(v, k).and_then(|n| u8::try_from(n).ok());
    Some(PacketLine {
        frame: opt_u64(v, "frame")?,
        ts: v.get("ts")?.as_f64()?,
        stream: opt_str(v, "stream")?,
        dir: opt_str(v, "dir")?,
        client_id: opt_str(v, "client_id"),
        ptype: opt_str(v, "type")?,
        type_num: small("type_num")?,
        version: small("version"),
        connect_level: v
            .get("connect")
            .and_then(|c| c.get("level"))
            .and_then(Value::as_u64)
            .and_then(|n| u8::try_from(n).ok()),
        packet_id: opt_u64(v, "packet_id").and_then(|n| u16::try_from(n).ok()),
        qos: small("qos"),
        topic: opt_str(v, "topic"),
        topic_alias: opt_u64(v, "topic_alias").and_then(|n| u16::try_from(n).ok()),
        topic_resolved: opt_str(v, "topic_resolved"),
        filters: v.get("topics").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|t| t.get("topic").and_then(Value::as_str).map(str::to_string))
                .collect()
        }),
        reason_codes: v
            .get("reason_codes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_u64().and_then(|n| u8::try_from(n).ok()))
                    .collect()
            })
            .unwrap_or_default(),
        malformed: v
            .get("malformed")
            .and_then(Value::as_str)
            .map(str::to_string),
        answers: v.get("answers").and_then(|a| {
            Some((
                a.get("type")?.as_str()?.to_string(),
                a.get("latency_ms")?.as_f64()?,
            ))
        }),
        raw: v.to_string(),
    })
}

/// Runs `mqttscope --format jsonl FILE` and returns all its lines; panics if the output has no
/// header line (the binary did not run).
pub fn analyse_file(file: &Path, extra: &[&str]) -> Vec<Value> {
    let out = Command::new(bin())
        .arg("--format")
        .arg("jsonl")
        .args(extra)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = parse_lines(&stdout);
    assert!(
        lines
            .first()
            .is_some_and(|l| l.get("kind").and_then(Value::as_str) == Some("header")),
        "{} on {} printed no header line; status {:?}, stderr: {}",
        bin(),
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

/// The packet lines among `lines`, in order.
pub fn packets(lines: &[Value]) -> Vec<PacketLine> {
    lines.iter().filter_map(packet_line).collect()
}

/// The `summary` line (the last one), if present.
pub fn summary(lines: &[Value]) -> Option<&Value> {
    lines
        .iter()
        .rev()
        .find(|l| l.get("kind").and_then(Value::as_str) == Some("summary"))
}
