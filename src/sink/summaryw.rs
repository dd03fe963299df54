//! A hand-written writer of the JSON summary (the last line of JSON Lines output): the same
//! bytes as serialising [`summary_json`](super::summary::summary_json) with serde_json (keys
//! in byte order at every level), written one client at a time into a reused buffer, without
//! building a `serde_json::Value` per client (which made the summary line cost as much as a
//! third of all the packet lines).

use super::jsonw::{push_f64, push_str, push_u64};
use super::summary::OTHER_CLIENTS;
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::Version;
use crate::report::latency::Latency;
use crate::report::{ClientTotals, LatencyKinds, Totals};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Bytes gathered before a write to the output.
const FLUSH_AT: usize = 64 * 1024;

/// One top-level member of the summary object.
enum Member<'a> {
    /// A member of the totals, written by [`write_member`].
    Own(&'static str),
    /// An extra member given by the caller.
    Extra(&'a Value),
}

/// The totals' own top-level keys (the `clients` array included).
const OWN_KEYS: [&str; 12] = [
    "anomalies",
    "by_type",
    "capture",
    "clients",
    "failures",
    "latency",
    "malformed",
    "notices",
    "packets",
    "reason_codes",
    "stream",
    "unanswered",
];

/// Writes the summary object plus `extra` members (an extra key replaces an own one, as a
/// map insert would), byte for byte as serde_json writes the value form.
pub fn write_summary(
    out: &mut dyn Write,
    t: &Totals,
    cat: &Catalogue,
    extra: &[(&str, Value)],
) -> io::Result<()> {
    let mut members: BTreeMap<&str, Member<'_>> =
        OWN_KEYS.iter().map(|k| (*k, Member::Own(k))).collect();
    for (k, v) in extra {
        members.insert(k, Member::Extra(v));
    }
    let mut b = Vec::with_capacity(FLUSH_AT + 4096);
    b.push(b'{');
    for (i, (k, m)) in members.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        push_str(&mut b, k);
        b.push(b':');
        match m {
            Member::Extra(v) => serde_json::to_writer(&mut b, v)?,
            Member::Own("clients") => write_clients(out, &mut b, t)?,
            Member::Own(k) => write_member(&mut b, k, t, cat),
        }
    }
    b.push(b'}');
    out.write_all(&b)
}

/// Appends `"key":` (the key needs no escape).
fn key(b: &mut Vec<u8>, k: &str) {
    b.push(b'"');
    b.extend_from_slice(k.as_bytes());
    b.extend_from_slice(b"\":");
}

/// Appends a map of names to counts as a JSON object (its keys already in byte order).
fn counts_object<'a>(b: &mut Vec<u8>, m: impl Iterator<Item = (&'a str, u64)>) {
    b.push(b'{');
    for (i, (k, n)) in m.enumerate() {
        if i > 0 {
            b.push(b',');
        }
        push_str(b, k);
        b.push(b':');
        push_u64(b, n);
    }
    b.push(b'}');
}

/// Appends a latency distribution: `{"count":..,"max_ms":..,"p50_ms":..,"p95_ms":..}`.
fn latency(b: &mut Vec<u8>, l: &Latency) {
    key_first(b, "count");
    push_u64(b, l.count());
    b.extend_from_slice(b",\"max_ms\":");
    push_f64(b, l.max() as f64 / 1e6);
    b.extend_from_slice(b",\"p50_ms\":");
    push_f64(b, l.percentile(50.0) as f64 / 1e6);
    b.extend_from_slice(b",\"p95_ms\":");
    push_f64(b, l.percentile(95.0) as f64 / 1e6);
    b.push(b'}');
}

/// Appends `{"key":`.
fn key_first(b: &mut Vec<u8>, k: &str) {
    b.push(b'{');
    key(b, k);
}

/// Appends latencies per kind as an object (kinds in name order).
fn latency_kinds(b: &mut Vec<u8>, l: &LatencyKinds) {
    b.push(b'{');
    for (i, (k, l)) in l.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        push_str(b, k);
        b.push(b':');
        latency(b, l);
    }
    b.push(b'}');
}

/// Appends an optional count (null when absent).
fn opt_u64(b: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(n) => push_u64(b, n),
        None => b.extend_from_slice(b"null"),
    }
}

/// Appends the value of own member `k`.
fn write_member(b: &mut Vec<u8>, k: &str, t: &Totals, cat: &Catalogue) {
    match k {
        "anomalies" => counts_object(b, t.anomalies.iter().map(|(k, n)| (*k, *n))),
        "by_type" => {
            // Keyed by name: a later type of the same name replaces an earlier one.
            let by_name: BTreeMap<&str, [u64; 2]> =
                t.by_type.iter().map(|(k, v)| (k.name(), *v)).collect();
            b.push(b'{');
            for (i, (name, v)) in by_name.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                push_str(b, name);
                b.extend_from_slice(b":{\"c2s\":");
                push_u64(b, v[0]);
                b.extend_from_slice(b",\"s2c\":");
                push_u64(b, v[1]);
                b.push(b'}');
            }
            b.push(b'}');
        }
        "capture" => {
            let c = &t.capture;
            key_first(b, "bytes");
            push_u64(b, c.bytes);
            b.extend_from_slice(b",\"caps_hit\":");
            counts_object(b, c.caps_hit.iter().map(|(k, n)| (k.as_str(), *n)));
            b.extend_from_slice(b",\"damage\":");
            match &c.damage {
                Some(d) => push_str(b, d),
                None => b.extend_from_slice(b"null"),
            }
            b.extend_from_slice(b",\"filtered\":");
            push_u64(b, c.filtered);
            b.extend_from_slice(b",\"frames\":");
            push_u64(b, c.frames);
            b.extend_from_slice(b",\"kernel_drops\":");
            opt_u64(b, c.kernel_drops);
            b.extend_from_slice(b",\"link_types\":");
            counts_object(b, c.link_types.iter().map(|(k, n)| (k.as_str(), *n)));
            b.extend_from_slice(b",\"mqtt_connections\":");
            push_u64(b, c.mqtt_connections);
            b.extend_from_slice(b",\"not_tcp\":");
            counts_object(b, c.not_tcp.iter().map(|(k, n)| (k.as_str(), *n)));
            b.extend_from_slice(b",\"tcp_connections\":");
            push_u64(b, c.tcp_connections);
            b.push(b'}');
        }
        "failures" => push_u64(b, t.failures),
        "latency" => latency_kinds(b, &t.latency),
        "malformed" => push_u64(b, t.malformed),
        "notices" => push_u64(b, t.notices),
        "packets" => push_u64(b, t.packets),
        "reason_codes" => {
            b.push(b'[');
            for (i, ((pt, v, c), n)) in t.codes.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                let ex = cat.explain(*c, *pt, v.unwrap_or(Version::V5));
                key_first(b, "code");
                push_u64(b, u64::from(c.0));
                b.extend_from_slice(b",\"count\":");
                push_u64(b, *n);
                b.extend_from_slice(b",\"name\":");
                push_str(b, ex.name);
                b.extend_from_slice(if ex.severity != Severity::Failure {
                    b",\"success\":true,\"type\":"
                } else {
                    b",\"success\":false,\"type\":"
                });
                push_str(b, pt.name());
                b.extend_from_slice(b",\"version\":");
                opt_u64(b, v.map(|v| u64::from(v.0)));
                b.push(b'}');
            }
            b.push(b']');
        }
        "stream" => {
            key_first(b, "encrypted");
            push_u64(b, t.encrypted);
            b.extend_from_slice(b",\"gap_bytes\":");
            push_u64(b, t.gaps.1);
            b.extend_from_slice(b",\"gaps\":");
            push_u64(b, t.gaps.0);
            b.extend_from_slice(b",\"oversize\":");
            push_u64(b, t.oversize);
            b.extend_from_slice(b",\"skipped_bytes\":");
            push_u64(b, t.skipped_bytes);
            b.push(b'}');
        }
        "unanswered" => push_u64(b, t.unanswered),
        _ => b.extend_from_slice(b"null"),
    }
}

/// Appends the `clients` array, handing the buffer to `out` whenever it grows past
/// [`FLUSH_AT`], so memory does not follow the number of clients.
fn write_clients(out: &mut dyn Write, b: &mut Vec<u8>, t: &Totals) -> io::Result<()> {
    let other = (t.other_clients.packets > 0).then_some((OTHER_CLIENTS, &t.other_clients));
    b.push(b'[');
    for (i, (id, c)) in t.clients.iter().chain(other).enumerate() {
        if i > 0 {
            b.push(b',');
        }
        client(b, id, c);
        if b.len() >= FLUSH_AT {
            out.write_all(b)?;
            b.clear();
        }
    }
    b.push(b']');
    Ok(())
}

/// Appends one client's entry.
fn client(b: &mut Vec<u8>, id: &str, c: &ClientTotals) {
    key_first(b, "client_id");
    push_str(b, id);
    b.extend_from_slice(b",\"connections\":");
    push_u64(b, c.connections);
    b.extend_from_slice(b",\"failures\":[");
    for (i, ((pt, code), n)) in c.failures.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        key_first(b, "code");
        push_u64(b, u64::from(code.0));
        b.extend_from_slice(b",\"count\":");
        push_u64(b, *n);
        b.extend_from_slice(b",\"type\":");
        push_str(b, pt.name());
        b.push(b'}');
    }
    b.extend_from_slice(b"],\"latency\":");
    latency_kinds(b, &c.latency);
    b.extend_from_slice(b",\"packets\":");
    push_u64(b, c.packets);
    b.extend_from_slice(b",\"reconnect_storms\":");
    push_u64(b, c.storms);
    b.extend_from_slice(b",\"reconnects\":");
    push_u64(b, c.connections.saturating_sub(1));
    b.extend_from_slice(b",\"refused\":");
    push_u64(b, c.refused);
    b.extend_from_slice(b",\"storm_peak_per_minute\":");
    push_u64(b, u64::from(c.storm_peak_per_minute));
    b.extend_from_slice(b",\"unanswered\":");
    push_u64(b, c.unanswered);
    b.push(b'}');
}
