//! Turning analysed events into stored rows: the only place the TUI reads an `Event`.

use super::state::AppState;
use super::store::*;
use crate::event::{Event, EventKind, Outcome, PacketInfo};
use crate::mqtt::reason::Severity;
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use crate::tcp::Dir;

/// The code a row shows: the first one as bad as the packet's outcome.
fn telling_code(st: &AppState, p: &PacketInfo) -> Option<ReasonCode> {
    let want = match p.outcome {
        Outcome::Failure => Severity::Failure,
        Outcome::Notice => Severity::Notice,
        _ => return p.reason_codes.first().copied(),
    };
    let v = p.version.unwrap_or(Version::V5);
    p.reason_codes
        .iter()
        .find(|c| st.catalogue.explain(**c, p.ptype, v).severity == want)
        .or(p.reason_codes.first())
        .copied()
}

impl AppState {
    /// Stores one event and, when it matches the filter, shows it.
    pub fn ingest(&mut self, ev: Event) {
        self.totals.add(&ev);
        let Event {
            id,
            ts,
            frame_no,
            conn,
            dir,
            kind,
            anomalies,
        } = ev;
        let ci = self.conns.index(conn.id, conn.client, conn.server, id);
        let client = match conn.client_id.as_deref() {
            Some(c) if !c.is_empty() => self.store.strings.intern(c),
            _ => Sym::NONE,
        };
        let mut flags = 0u16;
        match dir {
            Some(Dir::ToServer) => flags |= F_DIR,
            Some(Dir::ToClient) => flags |= F_DIR | F_TO_CLIENT,
            None => {}
        }
        let mut row = Row::new(ts.0, frame_no, ci);
        row.client = client;
        row.flags = flags;
        row.version = conn.version.map_or(0, |v| v.0);
        let mut parts = Vec::new();
        let mut answers = None;
        match kind {
            EventKind::Packet(p) => {
                answers = self.packet_row(&mut row, &mut parts, *p, (id, ci));
            }
            EventKind::ConnOpen => row.kind = RowKind::Open,
            EventKind::ConnClose(c) => {
                row.kind = RowKind::Close;
                if !c.unanswered.is_empty() {
                    row.flags |= F_UNANSWERED;
                }
                self.conns.close(ci, c.reason);
                parts.push(Part::Close(c));
            }
            EventKind::Gap {
                offset,
                len,
                reason,
            } => {
                row.kind = RowKind::Gap;
                row.size = u32::try_from(len).unwrap_or(u32::MAX);
                let text = format!("{len} bytes never captured");
                parts.push(Part::Notice(Box::new((offset, text))));
                parts.push(Part::Gap(reason));
            }
            EventKind::Skipped {
                offset,
                len,
                reason,
            } => {
                row.kind = RowKind::Skipped;
                row.size = u32::try_from(len).unwrap_or(u32::MAX);
                let text = format!("{len} bytes skipped: {reason}");
                parts.push(Part::Notice(Box::new((offset, text))));
            }
            EventKind::Oversize {
                offset,
                ptype,
                size,
            } => {
                row.kind = RowKind::Oversize;
                row.ptype = ptype;
                row.size = u32::try_from(size).unwrap_or(u32::MAX);
                let text =
                    format!("{ptype} of {size} bytes is over --max-packet: skipped, not decoded");
                parts.push(Part::Notice(Box::new((offset, text))));
            }
            EventKind::Encrypted => row.kind = RowKind::Encrypted,
            EventKind::Anomaly => row.kind = RowKind::Anomaly,
        }
        if !anomalies.is_empty() {
            row.flags |= F_ANOMALY;
            self.conns.anomalies(ci, anomalies.len());
            parts.push(Part::Anomalies(anomalies));
        }
        if !parts.is_empty() {
            row.extra = Some(Box::new(Extra::new(parts)));
        }
        let seq = self.store.push(row, id);
        if let Some(req) = answers {
            if let Some(rs) = self.store.seq_of_event(req) {
                self.store.set_answered_by(rs, id);
            }
        }
        let shown = self.store.get(seq).is_some_and(|r| r.kind != RowKind::Open);
        if shown {
            let (store, conns) = (&self.store, &self.conns);
            if let Some(r) = store.get(seq) {
                if self.matcher.matches(r, store, conns) {
                    self.visible.push(seq);
                }
            }
        }
    }

    /// Fills a packet row and its rich parts; returns the request it answers.
    fn packet_row(
        &mut self,
        row: &mut Row,
        parts: &mut Vec<Part>,
        p: PacketInfo,
        (id, ci): (u64, u32),
    ) -> Option<u64> {
        let code = telling_code(self, &p);
        let PacketInfo {
            ptype,
            flags: _,
            size,
            offset: _,
            version,
            packet_id,
            qos,
            dup,
            retain,
            topic,
            topic_alias,
            topic_resolved,
            topics,
            reason_codes,
            reason_implied,
            reason_string,
            user_properties: _,
            connect,
            session_present,
            payload_len,
            payload_preview: _,
            properties,
            malformed,
            outcome,
            answers,
            sub_outcomes,
            raw,
        } = p;
        row.ptype = ptype;
        row.size = size;
        row.outcome = outcome;
        if let Some(v) = version {
            row.version = v.0;
        }
        if let Some(id) = packet_id {
            row.packet_id = id;
            row.flags |= F_PID;
        }
        if let Some(q) = qos {
            row.qos = q;
            row.flags |= F_QOS;
        }
        if dup {
            row.flags |= F_DUP;
        }
        if retain {
            row.flags |= F_RETAIN;
        }
        if reason_implied {
            row.flags |= F_IMPLIED;
        }
        if let Some(c) = code {
            row.code = c;
            row.flags |= F_CODE;
        }
        row.ncodes = u8::try_from(reason_codes.len()).unwrap_or(u8::MAX);
        row.set_payload_len(payload_len.unwrap_or(0));
        let shown_topic = topic_resolved
            .as_deref()
            .or(topic.as_deref())
            .or(topics.first().map(|t| t.topic.as_str()));
        if let Some(t) = shown_topic {
            row.topic = self.store.strings.intern(t);
        }
        if let (Some(a), Some(t)) = (topic_alias, topic) {
            parts.push(Part::Alias(Box::new((a, t.to_string()))));
        }
        if let Some(a) = answers {
            row.set_answer(id.saturating_sub(a.request), a.latency_ns);
        }
        self.store.set_raw(row, &raw);
        let client_id = connect
            .as_ref()
            .map_or(Sym::NONE, |c| self.store.strings.intern(&c.client_id));
        self.conns.packet(
            ci,
            ptype,
            outcome,
            code,
            client_id,
            version,
            answers.map(|a| a.latency_ns),
        );
        if reason_codes.len() > 1 {
            parts.push(Part::Codes(reason_codes.into_vec()));
        }
        if !topics.is_empty() {
            parts.push(Part::Topics(topics));
        }
        if !sub_outcomes.is_empty() {
            parts.push(Part::SubOutcomes(sub_outcomes));
        }
        if !properties.is_empty() {
            parts.push(Part::Properties(properties));
        }
        parts.extend(reason_string.map(Part::ReasonString));
        parts.extend(connect.map(Part::Connect));
        parts.extend(malformed.map(Part::Malformed));
        if ptype == PacketType::CONNACK {
            parts.extend(session_present.map(Part::SessionPresent));
        }
        answers.map(|a| a.request)
    }
}
