//! JSON Lines wire types (schema version 1), kept apart from the domain types.
//!
//! Every line is one object with a `kind`: `header` (first line: `schema`), `packet`, `conn_open`,
//! `conn_close`, `stream` (gaps, skipped bytes, oversize packets, TLS) and `summary` (last line).
//! The README documents every key.

use serde::Serialize;

/// Schema version written in the header line.
pub const SCHEMA_VERSION: u32 = 1;

/// The first line.
#[derive(Serialize)]
pub struct Header {
    /// "header".
    pub kind: &'static str,
    /// Schema version.
    pub schema: u32,
    /// Tool name.
    pub tool: &'static str,
}

/// One {code, name, success} entry.
#[derive(Serialize)]
pub struct ReasonJson<'a> {
    /// The raw code.
    pub code: u8,
    /// Its name for this packet type and version.
    pub name: &'a str,
    /// True unless it is a failure.
    pub success: bool,
}

/// A SUBSCRIBE/UNSUBSCRIBE filter.
#[derive(Serialize)]
pub struct TopicJson<'a> {
    /// The filter.
    pub topic: &'a str,
    /// Requested QoS (null for UNSUBSCRIBE).
    pub qos: Option<u8>,
}

/// The request an answer pairs with.
#[derive(Serialize)]
pub struct AnswersJson {
    /// Event id of the request.
    pub id: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub ptype: &'static str,
    /// Its frame number.
    pub frame: u64,
    /// Latency in milliseconds.
    pub latency_ms: f64,
}

/// CONNECT details.
#[derive(Serialize)]
pub struct ConnectJson<'a> {
    /// Protocol name.
    pub protocol_name: &'a str,
    /// Protocol level.
    pub level: u8,
    /// Client id.
    pub client_id: &'a str,
    /// Clean start / clean session.
    pub clean_start: bool,
    /// Keep-alive seconds.
    pub keep_alive: u16,
    /// User name.
    pub username: Option<&'a str>,
    /// Password (masked unless --show-secrets).
    pub password: Option<&'a str>,
    /// Will topic.
    pub will_topic: Option<&'a str>,
}

/// A SUBACK filter outcome.
#[derive(Serialize)]
pub struct SubOutcomeJson<'a> {
    /// Filter.
    pub topic: &'a str,
    /// Requested QoS.
    pub requested_qos: u8,
    /// Code answered.
    pub code: u8,
    /// Its name.
    pub name: &'a str,
    /// Lower QoS than requested.
    pub downgraded: bool,
}

/// A `packet` line.
#[derive(Serialize)]
pub struct PacketJson<'a> {
    /// "packet".
    pub kind: &'static str,
    /// Event id.
    pub id: u64,
    /// Seconds since the epoch of the frame that completed the packet.
    pub ts: f64,
    /// That frame's number.
    pub frame: u64,
    /// "client_ip:port-server_ip:port".
    pub stream: &'a str,
    /// "c2s" or "s2c".
    pub dir: &'static str,
    /// Client id of the connection, when known.
    pub client_id: Option<&'a str>,
    /// Packet type name.
    #[serde(rename = "type")]
    pub ptype: &'static str,
    /// The 4-bit header type.
    pub type_num: u8,
    /// Protocol level (3, 4, 5) or null.
    pub version: Option<u8>,
    /// Packet identifier.
    pub packet_id: Option<u16>,
    /// PUBLISH QoS bits.
    pub qos: Option<u8>,
    /// PUBLISH DUP.
    pub dup: bool,
    /// PUBLISH RETAIN.
    pub retain: bool,
    /// PUBLISH topic as on the wire.
    pub topic: Option<&'a str>,
    /// Topic Alias property.
    pub topic_alias: Option<u16>,
    /// Alias-resolved topic.
    pub topic_resolved: Option<&'a str>,
    /// SUBSCRIBE/UNSUBSCRIBE filters.
    pub topics: Option<Vec<TopicJson<'a>>>,
    /// Codes in packet order.
    pub reason_codes: Vec<u8>,
    /// One entry per code.
    pub reason: Vec<ReasonJson<'a>>,
    /// Reason String property.
    pub reason_string: Option<&'a str>,
    /// User Property pairs as `[name, value]`, left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(&'a str, &'a str)>,
    /// false, or why the packet is malformed.
    pub malformed: serde_json::Value,
    /// Anomaly names.
    pub anomalies: Vec<&'static str>,
    /// Anomaly sentences.
    pub anomaly_details: Vec<String>,
    /// The request answered, with latency.
    pub answers: Option<AnswersJson>,
    /// SUBACK outcomes per filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_outcomes: Option<Vec<SubOutcomeJson<'a>>>,
    /// CONNECT details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectJson<'a>>,
    /// CONNACK Session Present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    /// Whole packet size.
    pub size: u32,
    /// Payload size.
    pub payload_len: Option<u32>,
}

/// A connection, stream or summary line.
#[derive(Serialize)]
pub struct OtherJson<'a> {
    /// "conn_open", "conn_close" or "stream".
    pub kind: &'static str,
    /// Event id.
    pub id: u64,
    /// Seconds since the epoch.
    pub ts: f64,
    /// Frame number (0 at end of capture).
    pub frame: u64,
    /// The stream.
    pub stream: &'a str,
    /// Direction, when there is one.
    pub dir: Option<&'static str>,
    /// Client id when known.
    pub client_id: Option<&'a str>,
    /// What happened ("open", "close", "gap", "skipped", "oversize", "tls").
    pub event: &'static str,
    /// Details.
    #[serde(flatten)]
    pub detail: serde_json::Map<String, serde_json::Value>,
    /// Anomaly names.
    pub anomalies: Vec<&'static str>,
    /// Anomaly sentences (keep-alive findings carry their times here); absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomaly_details: Vec<String>,
}
