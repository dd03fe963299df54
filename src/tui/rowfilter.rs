//! The command-line filter (`filter::Filter`, same syntax) applied to stored rows, with the
//! per-string answers memoised so filtering 0.8 M rows stays fast.

use super::conns::ConnTable;
use super::store::{Row, RowKind, Store, Sym, F_ANSWER};
use crate::filter::{glob_match, topic_matches, Filter, Term};

/// A filter ready to test rows, remembering its answer per client id, topic and connection.
pub struct RowMatcher {
    filter: Filter,
    client: Vec<u8>,
    topic: Vec<u8>,
    conn: Vec<u8>,
}

fn memo(cache: &mut Vec<u8>, i: usize, f: impl FnOnce() -> bool) -> bool {
    if cache.len() <= i {
        cache.resize(i + 1, 0);
    }
    match cache.get(i).copied() {
        Some(1) => false,
        Some(2) => true,
        _ => {
            let v = f();
            if let Some(slot) = cache.get_mut(i) {
                *slot = if v { 2 } else { 1 };
            }
            v
        }
    }
}

impl RowMatcher {
    /// A matcher for `filter`.
    pub fn new(filter: Filter) -> Self {
        RowMatcher {
            filter,
            client: Vec::new(),
            topic: Vec::new(),
            conn: Vec::new(),
        }
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// True when every term matches the row (as `Filter::matches` does for events).
    pub fn matches(&mut self, row: &Row, store: &Store, conns: &ConnTable) -> bool {
        let RowMatcher {
            filter,
            client,
            topic,
            conn,
        } = self;
        filter.terms.iter().all(|t| {
            let packet = row.kind == RowKind::Packet;
            match t {
                Term::Failed => row.is_failure(),
                Term::Type(types) => packet && types.contains(&row.ptype),
                Term::Client(g) => {
                    row.client != Sym::NONE
                        && memo(client, row.client.0 as usize, || {
                            glob_match(g, store.strings.get(row.client))
                        })
                }
                Term::Topic(f) => {
                    packet
                        && (row.topic != Sym::NONE
                            && row.ptype == crate::mqtt::types::PacketType::PUBLISH
                            && memo(topic, row.topic.0 as usize, || {
                                topic_matches(f, store.strings.get(row.topic))
                            })
                            || row.extra.as_ref().is_some_and(|e| {
                                e.topics()
                                    .iter()
                                    .any(|x| topic_matches(f, &x.topic) || x.topic == *f)
                            }))
                }
                Term::Rc(c) => {
                    packet
                        && match &row.extra {
                            Some(e) if !e.codes().is_empty() => e.codes().contains(c),
                            _ => row.ncodes > 0 && row.code == *c,
                        }
                }
                Term::Conn(a) => memo(conn, row.conn as usize, || {
                    conns.list.get(row.conn as usize).is_some_and(|c| {
                        c.client.to_string() == *a
                            || c.server.to_string() == *a
                            || c.client.ip().to_string() == *a
                            || c.server.ip().to_string() == *a
                    })
                }),
                Term::Slow(ns) => packet && row.has(F_ANSWER) && row.latency_ns() > *ns,
            }
        })
    }
}
