//! Session layer: per-connection MQTT state, request/answer pairing, topic aliases, keep-alive
//! and anomalies, turning stream events into owned `Event`s.

pub mod alias;
pub mod convert;
pub mod intern;
pub mod keepalive;
pub mod pairing;
pub mod pool;
pub mod rules;
pub mod state;
pub mod storm;
pub mod table;

pub use table::{SessionConfig, Sessions};
