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
        let mut row = Row {
            id,
            ts: ts.0,
            frame_no,
            latency_ns: 0,
            pair: u64::MAX,
            raw_at: 0,
            conn: ci,
            client,
            topic: Sym::NONE,
            size: 0,
            payload_len: 0,
            packet_id: 0,
            flags,
            raw_len: 0,
            kind: RowKind::Packet,
            ptype: PacketType::RESERVED,
            outcome: Outcome::Success,
            code: ReasonCode(0),
            ncodes: 0,
            qos: 0,
            version: conn.version.map_or(0, |v| v.0),
            extra: None,
        };
        let mut extra = Extra::default();
        let mut need_extra = false;
        match kind {
            EventKind::Packet(p) => {
                need_extra = self.packet_row(&mut row, &mut extra, *p, ci);
            }
            EventKind::ConnOpen => row.kind = RowKind::Open,
            EventKind::ConnClose(c) => {
                row.kind = RowKind::Close;
                if !c.unanswered.is_empty() {
                    row.flags |= F_UNANSWERED;
                }
                self.conns.close(ci, c.reason);
                extra.close = Some(c);
                need_extra = true;
            }
            EventKind::Gap {
                offset,
                len,
                reason,
            } => {
                row.kind = RowKind::Gap;
                row.size = u32::try_from(len).unwrap_or(u32::MAX);
                extra.notice = Some((offset, format!("{len} bytes never captured")));
                extra.gap = Some(reason);
                need_extra = true;
            }
            EventKind::Skipped {
                offset,
                len,
                reason,
            } => {
                row.kind = RowKind::Skipped;
                row.size = u32::try_from(len).unwrap_or(u32::MAX);
                extra.notice = Some((offset, format!("{len} bytes skipped: {reason}")));
                need_extra = true;
            }
            EventKind::Oversize {
                offset,
                ptype,
                size,
            } => {
                row.kind = RowKind::Oversize;
                row.ptype = ptype;
                row.size = u32::try_from(size).unwrap_or(u32::MAX);
                extra.notice = Some((
                    offset,
                    format!("{ptype} of {size} bytes is over --max-packet: skipped, not decoded"),
                ));
                need_extra = true;
            }
            EventKind::Encrypted => row.kind = RowKind::Encrypted,
            EventKind::Anomaly => row.kind = RowKind::Anomaly,
        }
        if !anomalies.is_empty() {
            row.flags |= F_ANOMALY;
            self.conns.anomalies(ci, anomalies.len());
            extra.anomalies = anomalies;
            need_extra = true;
        }
        if need_extra {
            row.extra = Some(Box::new(extra));
        }
        let answers = row.has(F_ANSWER).then_some(row.pair);
        let seq = self.store.push(row);
        if let Some(req) = answers {
            if let Some(rs) = self.store.seq_of_event(req) {
                if let Some(r) = self.store.get_mut(rs) {
                    r.pair = id;
                }
            }
        }
        let shown = self.store.get(seq).is_some_and(|r| r.kind != RowKind::Open);
        if shown {
            let (store, conns) = (&self.store, &self.conns);
            if let Some(r) = store.get(seq) {
                if self.matcher.matches(r, store, conns) {
                    self.visible.push_back(seq);
                }
            }
        }
    }

    /// Fills a packet row; returns whether `extra` holds anything.
    fn packet_row(&mut self, row: &mut Row, extra: &mut Extra, p: PacketInfo, ci: u32) -> bool {
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
        row.payload_len = payload_len.unwrap_or(0);
        let shown_topic = topic_resolved
            .as_deref()
            .or(topic.as_deref())
            .or(topics.first().map(|t| t.topic.as_str()));
        if let Some(t) = shown_topic {
            row.topic = self.store.strings.intern(t);
        }
        if let (Some(a), Some(t)) = (topic_alias, topic) {
            extra.alias = Some((a, t));
        }
        if let Some(a) = answers {
            row.flags |= F_ANSWER;
            row.pair = a.request;
            row.latency_ns = a.latency_ns;
        }
        row.raw_len = raw.len().min(RAW_KEEP) as u8;
        row.raw_at = self.store.raw.push(&raw);
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
            extra.codes = reason_codes;
        }
        extra.topics = topics;
        extra.sub_outcomes = sub_outcomes;
        extra.properties = properties;
        extra.reason_string = reason_string;
        extra.connect = connect;
        extra.malformed = malformed;
        if ptype == PacketType::CONNACK {
            extra.session_present = session_present;
        }
        !(extra.codes.is_empty()
            && extra.topics.is_empty()
            && extra.sub_outcomes.is_empty()
            && extra.properties.is_empty()
            && extra.reason_string.is_none()
            && extra.connect.is_none()
            && extra.malformed.is_none()
            && extra.alias.is_none()
            && extra.session_present.is_none())
    }
}
