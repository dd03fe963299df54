//! A hand-written JSON Lines writer for the lines of non-packet events (connection open and
//! close, stream gaps, skips, oversize packets, TLS, lone anomalies): the same bytes as
//! serialising [`other_json`](super::jsonl::other_json) with serde_json, without building a
//! `serde_json::Map` of details per event.

use super::jsonw::{push_bool, push_f64, push_opt_u64, push_str, push_u64};
use crate::event::{Event, EventKind};

/// Appends `,"key":` (the key needs no escape).
fn key(out: &mut Vec<u8>, k: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends the line of a non-packet event `ev` of stream `stream` (no newline); the same
/// bytes as `serde_json::to_writer(out, &other_json(ev, stream))`.
pub fn other_line(out: &mut Vec<u8>, ev: &Event, stream: &str) {
    let (kind, event) = match &ev.kind {
        EventKind::Packet(_) => ("packet", "packet"),
        EventKind::ConnOpen => ("conn_open", "open"),
        EventKind::ConnClose(_) => ("conn_close", "close"),
        EventKind::Gap { .. } => ("stream", "gap"),
        EventKind::Skipped { .. } => ("stream", "skipped"),
        EventKind::Oversize { .. } => ("stream", "oversize"),
        EventKind::Encrypted => ("stream", "tls"),
        EventKind::Anomaly => ("stream", "anomaly"),
    };
    out.extend_from_slice(b"{\"kind\":");
    push_str(out, kind);
    key(out, "id");
    push_u64(out, ev.id);
    key(out, "ts");
    push_f64(out, ev.ts.as_secs_f64());
    key(out, "frame");
    push_u64(out, ev.frame_no);
    key(out, "stream");
    push_str(out, stream);
    key(out, "dir");
    match ev.dir {
        Some(d) => push_str(out, d.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    key(out, "client_id");
    match ev.conn.client_id.as_deref() {
        Some(id) => push_str(out, id),
        None => out.extend_from_slice(b"null"),
    }
    key(out, "event");
    push_str(out, event);
    details(out, ev);
    key(out, "anomalies");
    out.push(b'[');
    for (i, a) in ev.anomalies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, a.name());
    }
    out.push(b']');
    if !ev.anomalies.is_empty() {
        key(out, "anomaly_details");
        out.push(b'[');
        for (i, a) in ev.anomalies.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, &a.describe());
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// Appends the details of `ev`, keys in byte order (a flattened map's order).
fn details(out: &mut Vec<u8>, ev: &Event) {
    match &ev.kind {
        EventKind::ConnOpen => {
            key(out, "client");
            push_str(out, &ev.conn.client.to_string());
            key(out, "server");
            push_str(out, &ev.conn.server.to_string());
        }
        EventKind::ConnClose(c) => {
            key(out, "client_disconnected");
            push_bool(out, c.client_disconnected);
            key(out, "connack");
            push_opt_u64(out, c.connack.map(|r| u64::from(r.0)));
            key(out, "connect_seen");
            push_bool(out, c.connect_seen);
            key(out, "packets_c2s");
            push_u64(out, c.packets[0]);
            key(out, "packets_s2c");
            push_u64(out, c.packets[1]);
            key(out, "reason");
            push_str(out, &format!("{:?}", c.reason).to_lowercase());
            key(out, "unanswered");
            out.push(b'[');
            for (i, (t, id, evid)) in c.unanswered.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"id\":");
                push_u64(out, *evid);
                key(out, "packet_id");
                push_opt_u64(out, id.map(u64::from));
                key(out, "type");
                push_str(out, t.name());
                out.push(b'}');
            }
            out.push(b']');
            key(out, "version");
            push_opt_u64(out, c.version.map(|v| u64::from(v.0)));
            key(out, "version_evidence");
            match c.version_evidence {
                Some(e) => push_str(out, e),
                None => out.extend_from_slice(b"null"),
            }
            key(out, "will_expected");
            push_bool(out, c.will_expected);
        }
        EventKind::Gap {
            offset,
            len,
            reason,
        } => {
            key(out, "len");
            push_u64(out, *len);
            key(out, "offset");
            push_u64(out, *offset);
            key(out, "reason");
            push_str(out, &format!("{reason:?}").to_lowercase());
        }
        EventKind::Skipped {
            offset,
            len,
            reason,
        } => {
            key(out, "len");
            push_u64(out, *len);
            key(out, "offset");
            push_u64(out, *offset);
            key(out, "reason");
            push_str(out, reason);
        }
        EventKind::Oversize {
            offset,
            ptype,
            size,
        } => {
            key(out, "offset");
            push_u64(out, *offset);
            key(out, "size");
            push_u64(out, *size);
            key(out, "type");
            push_str(out, ptype.name());
        }
        EventKind::Packet(_) | EventKind::Encrypted | EventKind::Anomaly => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Ts;
    use crate::event::{Anomaly, ConnClose, ConnLabel};
    use crate::mqtt::types::{PacketType, ReasonCode, Version};
    use crate::tcp::{CloseReason, ConnId, Dir, GapReason};
    use std::sync::Arc;

    fn event(
        kind: EventKind,
        dir: Option<Dir>,
        id: Option<&str>,
        anomalies: Vec<Anomaly>,
    ) -> Event {
        Event {
            id: 41,
            ts: Ts(1_704_067_200_005_267_900),
            frame_no: 77,
            conn: Arc::new(ConnLabel {
                id: ConnId(3),
                client: "[fd00::2]:40000".parse().expect("addr"),
                server: "10.0.0.1:1883".parse().expect("addr"),
                client_id: id.map(str::to_string),
                version: None,
            }),
            dir,
            kind,
            anomalies,
        }
    }

    #[test]
    fn every_kind_of_line_equals_serde_json() {
        let close = |unanswered, version_evidence| {
            EventKind::ConnClose(Box::new(ConnClose {
                reason: CloseReason::EndOfCapture,
                unanswered,
                packets: [3, 9],
                client_disconnected: true,
                connect_seen: false,
                connack: Some(ReasonCode(0x87)),
                will_expected: true,
                version: Some(Version(5)),
                version_evidence,
            }))
        };
        let kinds = vec![
            EventKind::ConnOpen,
            close(Vec::new(), None),
            close(
                vec![
                    (PacketType::PUBLISH, Some(7), 12),
                    (PacketType::PINGREQ, None, 13),
                ],
                Some("stated \"by\" the CONNECT"),
            ),
            EventKind::Gap {
                offset: 10,
                len: 20,
                reason: GapReason::AckedUnseen,
            },
            EventKind::Skipped {
                offset: 5,
                len: 6,
                reason: "bad\nlength".into(),
            },
            EventKind::Oversize {
                offset: 1,
                ptype: PacketType::PUBLISH,
                size: 1 << 30,
            },
            EventKind::Encrypted,
            EventKind::Anomaly,
        ];
        let anomalies = [
            vec![],
            vec![Anomaly::CapHit("TCP holes"), Anomaly::TcpOverlapMismatch],
        ];
        for kind in kinds {
            for (dir, id) in [(None, None), (Some(Dir::ToClient), Some("é\u{1}\"x"))] {
                for a in &anomalies {
                    let ev = event(kind.clone(), dir, id, a.clone());
                    let stream = ev.conn.stream();
                    let want = serde_json::to_string(&crate::sink::jsonl::other_json(&ev, &stream))
                        .expect("serialises");
                    let mut got = Vec::new();
                    other_line(&mut got, &ev, &stream);
                    assert_eq!(String::from_utf8(got).expect("utf-8"), want);
                }
            }
        }
    }
}
