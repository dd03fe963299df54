//! Fuzz target: the TCP reassembler fed arbitrary segments of up to 8 connections, with small
//! caps; checks that every direction's stream is delivered contiguously and memory stays capped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttscope::tcp::{ConnId, Dir, Reassembler, StreamEvent};
use mqttscope_fuzz::{segments, small_limits};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct Check {
    open: HashSet<ConnId>,
    closed: HashSet<ConnId>,
    next: HashMap<(ConnId, Dir), u64>,
    delivered: u64,
}

impl Check {
    fn ev(&mut self, e: StreamEvent<'_>) {
        match e {
            StreamEvent::Open(i) => {
                assert!(self.open.insert(i.id), "connection opened twice");
                assert!(!self.closed.contains(&i.id));
            }
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
                ..
            } => {
                assert!(self.open.contains(&conn), "data for a connection not open");
                assert!(!bytes.is_empty());
                let n = self.next.entry((conn, dir)).or_insert(0);
                assert_eq!(*n, offset, "stream must be contiguous");
                *n += bytes.len() as u64;
                self.delivered += bytes.len() as u64;
            }
            StreamEvent::Gap {
                conn,
                dir,
                offset,
                len,
                ..
            } => {
                assert!(self.open.contains(&conn), "gap for a connection not open");
                assert!(len > 0);
                let n = self.next.entry((conn, dir)).or_insert(0);
                assert_eq!(*n, offset, "gap must continue the stream");
                *n += len;
            }
            StreamEvent::Anomaly { conn, .. } => {
                assert!(
                    self.open.contains(&conn),
                    "anomaly for a connection not open"
                );
            }
            StreamEvent::Close { conn, .. } => {
                assert!(self.open.remove(&conn), "close of a connection not open");
                self.closed.insert(conn);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut limits = small_limits();
    limits.memory_budget = 2048;
    let mut r = Reassembler::new(&limits, &[1883]);
    let mut c = Check::default();
    for seg in segments(data) {
        r.segment(&seg, &mut |e| c.ev(e));
        assert!(r.open_connections() <= limits.max_flows);
        assert!(
            r.stats().buffered_now <= r.budget() as u64,
            "buffered bytes over the budget"
        );
    }
    r.finish(&mut |e| c.ev(e));
    assert!(c.open.is_empty(), "finish must close every connection");
    assert_eq!(r.stats().bytes_delivered, c.delivered);
    assert_eq!(r.stats().buffered_now, 0);
});
