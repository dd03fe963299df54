//! Byte ranges of the fields of a packet's kept raw bytes, for the hex view's highlighting.
//!
//! Layouts: MQTT 5.0 §2.1 (fixed header), §3.1-3.15 (variable headers and payloads) and
//! MQTT 3.1.1 §3.1-3.14. Pure and bounded: it only reads inside `raw`; a field that starts
//! beyond the kept bytes ends the list with one "not kept" range.

use crate::mqtt::types::PacketType;

/// One field and its byte range within the packet (`end` exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpan {
    /// What the field is.
    pub label: String,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

struct Walk<'a> {
    raw: &'a [u8],
    total: usize,
    pos: usize,
    out: Vec<FieldSpan>,
    stopped: bool,
}

impl Walk<'_> {
    fn add(&mut self, label: impl Into<String>, len: usize) {
        if self.stopped || len == 0 {
            return;
        }
        let end = (self.pos + len).min(self.total);
        if self.pos >= self.raw.len() {
            self.rest("not kept");
            return;
        }
        self.out.push(FieldSpan {
            label: label.into(),
            start: self.pos,
            end,
        });
        self.pos = end;
    }
    fn u8_at(&self, i: usize) -> Option<u8> {
        self.raw.get(i).copied()
    }
    fn u16_here(&self) -> Option<usize> {
        let hi = self.u8_at(self.pos)?;
        let lo = self.u8_at(self.pos + 1)?;
        Some(usize::from(u16::from_be_bytes([hi, lo])))
    }
    /// Variable byte integer at the cursor: (value, its length).
    fn varint_here(&self) -> Option<(usize, usize)> {
        let mut v = 0usize;
        for i in 0..4 {
            let b = self.u8_at(self.pos + i)?;
            v |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some((v, i + 1));
            }
        }
        None
    }
    fn string(&mut self, label: &str) {
        match self.u16_here() {
            Some(n) => self.add(label, 2 + n),
            None => self.rest("not kept"),
        }
    }
    fn properties(&mut self) {
        match self.varint_here() {
            Some((n, l)) => self.add("Properties", l + n),
            None => self.rest("not kept"),
        }
    }
    fn left(&self) -> usize {
        self.total.saturating_sub(self.pos)
    }
    fn rest(&mut self, label: &str) {
        if self.stopped || self.pos >= self.total {
            return;
        }
        let label = if self.pos >= self.raw.len() {
            "Rest (not kept)"
        } else {
            label
        };
        self.out.push(FieldSpan {
            label: label.into(),
            start: self.pos,
            end: self.total,
        });
        self.pos = self.total;
        self.stopped = true;
    }
}

/// The fields of a packet of type `ptype` on a connection at protocol level `level` (0 when
/// unknown), whose first bytes are `raw` and whole size `total`.
pub fn field_spans(raw: &[u8], total: usize, ptype: PacketType, level: u8) -> Vec<FieldSpan> {
    let mut w = Walk {
        raw,
        total: total.max(raw.len()),
        pos: 0,
        out: Vec::new(),
        stopped: false,
    };
    if raw.is_empty() {
        return w.out;
    }
    let qos = raw.first().map_or(0, |b| (b >> 1) & 3);
    w.add("Fixed header: type and flags", 1);
    match w.varint_here() {
        Some((_, l)) => w.add("Remaining Length", l),
        None => {
            w.rest("Remaining Length (bad)");
            return w.out;
        }
    }
    let v5 = level == 5;
    match ptype {
        PacketType::CONNECT => {
            w.string("Protocol Name");
            let lvl = w.u8_at(w.pos).unwrap_or(level);
            w.add("Protocol Level", 1);
            w.add("Connect Flags", 1);
            w.add("Keep Alive", 2);
            if lvl == 5 {
                w.properties();
            }
            w.string("Client Identifier");
            w.rest("Will, User Name, Password");
        }
        PacketType::CONNACK => {
            w.add("Acknowledge Flags (Session Present)", 1);
            w.add(if v5 { "Reason Code" } else { "Return Code" }, 1);
            if v5 && w.left() > 0 {
                w.properties();
            }
        }
        PacketType::PUBLISH => {
            w.string("Topic Name");
            if qos > 0 {
                w.add("Packet Identifier", 2);
            }
            if v5 {
                w.properties();
            }
            w.rest("Payload");
        }
        PacketType::PUBACK | PacketType::PUBREC | PacketType::PUBREL | PacketType::PUBCOMP => {
            w.add("Packet Identifier", 2);
            if w.left() > 0 {
                w.add("Reason Code", 1);
            }
            if w.left() > 0 {
                w.properties();
            }
        }
        PacketType::SUBSCRIBE | PacketType::UNSUBSCRIBE => {
            w.add("Packet Identifier", 2);
            if v5 {
                w.properties();
            }
            let mut i = 1;
            while w.left() > 0 && !w.stopped {
                w.string(&format!("Topic Filter {i}"));
                if ptype == PacketType::SUBSCRIBE {
                    w.add(format!("Subscription Options {i}"), 1);
                }
                i += 1;
            }
        }
        PacketType::SUBACK | PacketType::UNSUBACK => {
            w.add("Packet Identifier", 2);
            if v5 {
                w.properties();
            }
            let mut i = 1;
            let name = if v5 { "Reason Code" } else { "Return Code" };
            while w.left() > 0 && !w.stopped {
                w.add(format!("{name} {i}"), 1);
                i += 1;
            }
        }
        PacketType::DISCONNECT | PacketType::AUTH => {
            if w.left() > 0 {
                w.add("Reason Code", 1);
            }
            if w.left() > 0 {
                w.properties();
            }
        }
        _ => {}
    }
    w.rest("Rest");
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_qos1_fields() {
        // 0x32: PUBLISH QoS 1; remaining 9; topic "a/b"; packet id 7; payload "hi".
        let raw = [0x32, 9, 0, 3, b'a', b'/', b'b', 0, 7, b'h', b'i'];
        let f = field_spans(&raw, raw.len(), PacketType::PUBLISH, 4);
        let labels: Vec<_> = f
            .iter()
            .map(|s| (s.label.as_str(), s.start, s.end))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("Fixed header: type and flags", 0, 1),
                ("Remaining Length", 1, 2),
                ("Topic Name", 2, 7),
                ("Packet Identifier", 7, 9),
                ("Payload", 9, 11)
            ]
        );
    }

    #[test]
    fn suback_v5_codes_and_cut_bytes() {
        // SUBACK v5: id 1, no properties, codes 00 01 87 02.
        let raw = [0x90, 7, 0, 1, 0, 0x00, 0x01, 0x87, 0x02];
        let f = field_spans(&raw, raw.len(), PacketType::SUBACK, 5);
        assert_eq!(f.len(), 8);
        assert_eq!(f[6].label, "Reason Code 3");
        assert_eq!((f[6].start, f[6].end), (7, 8));
        // Only 4 bytes kept of 9: the rest is one "not kept" range.
        let g = field_spans(&raw[..4], raw.len(), PacketType::SUBACK, 5);
        assert_eq!(g.last().map(|s| s.label.as_str()), Some("Rest (not kept)"));
        assert!(g.iter().all(|s| s.end <= raw.len()));
    }
}
