//! mqttscope: a packet-capture protocol analyzer for MQTT 3.1, 3.1.1 and 5.0.
//!
//! Data flows down this list; each module depends only on the ones above it, and only
//! `capture` (and later `tui`) touch the operating system. Time always comes from capture
//! timestamps, so a run over a file is deterministic.
//!
//! ```text
//! capture  -> Frame<'a>        ts, linktype, frame_no, caplen, orig_len, data
//! net      -> TcpSegment<'a>   addresses, seq/ack, flags, payload, bytes cut by snaplen
//! tcp      -> StreamEvent<'a>  in-order bytes of one direction, or a gap of n bytes
//! mqtt     -> frames and packets, or malformed (header, error, raw bytes)
//! session  -> Event            first owned copy: pairing, latency, anomalies
//! sinks    <- &Event           text, jsonl, csv, summary; tui (stores compact rows)
//! ```

pub mod app;
pub mod capture;
pub mod cli;
pub mod event;
pub mod filter;
pub mod label_cache;
pub mod limits;
pub mod mqtt;
pub mod net;
pub mod panic;
pub mod pipeline;
pub mod privs;
pub mod report;
pub mod session;
pub mod sink;
pub mod tcp;
pub mod timefmt;
pub mod tui;
pub mod verify;
