//! Session layer tests: the transition function over scripted packet sequences, pairing and
//! latency, topic aliases, keep-alive, AUTH, reconnect storms, per-client totals, and golden
//! `--format summary` outputs of real captures.

mod mqtt_support;

#[path = "session/flows.rs"]
mod flows;
#[path = "session/golden.rs"]
mod golden;
#[path = "session/harness.rs"]
mod harness;
#[path = "session/stream.rs"]
mod stream;
#[path = "session/transitions.rs"]
mod transitions;
