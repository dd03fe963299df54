//! MQTT 3.1 / 3.1.1 return codes and the built-in vendor codes, as data.
//!
//! CONNACK return codes 0 to 5 are the same in MQTT 3.1 (level 3) and 3.1.1 (level 4); names
//! follow 3.1.1 §3.2.2.3 Table 3.1. SUBACK: 3.1.1 §3.9.3 defines 0x00/0x01/0x02 "Success -
//! Maximum QoS n" and 0x80 "Failure"; MQTT 3.1 §3.9 only returns granted QoS values 0 to 2, so
//! 0x80 is outside the 3.1 standard. Meanings and hints are our own words.

use super::{CodeEntry, PacketSet, Severity, VersionSet};
use crate::mqtt::types::{PacketType as P, ReasonCode};

/// Shorthand constructor used only by the tables below.
const fn row(
    code: u8,
    versions: VersionSet,
    packet: P,
    name: &'static str,
    severity: Severity,
    meaning: &'static str,
    hint: Option<&'static str>,
) -> CodeEntry {
    let spec = if versions.0 == VersionSet::V3_1.0 {
        SUBACK_31_SPEC
    } else if packet.0 == P::CONNACK.0 {
        CONNACK_SPEC
    } else {
        SUBACK_SPEC
    };
    CodeEntry {
        code: ReasonCode(code),
        name,
        meaning,
        hint,
        packets: PacketSet::of(&[packet]),
        versions,
        severity,
        spec,
    }
}

use Severity::{Failure as F, Success as S};
const V3X: VersionSet = VersionSet::V3_ANY;
const V31: VersionSet = VersionSet::V3_1;
const V311: VersionSet = VersionSet::V3_1_1;
const CONNACK_SPEC: &str = "MQTT 3.1.1 §3.2.2.3 Table 3.1";
const SUBACK_SPEC: &str = "MQTT 3.1.1 §3.9.3";
const SUBACK_31_SPEC: &str = "MQTT 3.1 §3.9 (granted QoS)";
const ADAFRUIT_SPEC: &str = "Adafruit IO blog, \"Extending the MQTT Protocol\", 2016-06-28";

/// Number of 3.x rows.
pub(super) const V3_ROWS: usize = 13;

/// The 3.x return codes, sorted by code.
#[rustfmt::skip]
pub(super) const V3_TABLE: [CodeEntry; V3_ROWS] = [
    row(0x00, V3X, P::CONNACK, "Connection Accepted", S,
        "The server accepted the connection.", None),
    row(0x00, V311, P::SUBACK, "Success - Maximum QoS 0", S,
        "The subscription was accepted with QoS 0 as the highest delivery level.", None),
    row(0x00, V31, P::SUBACK, "Granted QoS 0", S,
        "The subscription was granted at QoS 0.", None),
    row(0x01, V3X, P::CONNACK, "Connection Refused, unacceptable protocol version", F,
        "The server does not support the protocol level the client asked for.",
        Some("connect with a protocol level the broker supports (3.1 is level 3, 3.1.1 is level 4)")),
    row(0x01, V311, P::SUBACK, "Success - Maximum QoS 1", S,
        "The subscription was accepted with QoS 1 as the highest delivery level.", None),
    row(0x01, V31, P::SUBACK, "Granted QoS 1", S,
        "The subscription was granted at QoS 1.", None),
    row(0x02, V3X, P::CONNACK, "Connection Refused, identifier rejected", F,
        "The client identifier is valid UTF-8 but the server does not allow it.",
        Some("check the client id: length (3.1 allows at most 23 characters), characters, uniqueness")),
    row(0x02, V311, P::SUBACK, "Success - Maximum QoS 2", S,
        "The subscription was accepted with QoS 2 as the highest delivery level.", None),
    row(0x02, V31, P::SUBACK, "Granted QoS 2", S,
        "The subscription was granted at QoS 2.", None),
    row(0x03, V3X, P::CONNACK, "Connection Refused, Server unavailable", F,
        "The network connection works but the MQTT service is not available.",
        Some("check that the broker is up and healthy, then retry")),
    row(0x04, V3X, P::CONNACK, "Connection Refused, bad user name or password", F,
        "The server rejected the user name or password.",
        Some("check the user name and password")),
    row(0x05, V3X, P::CONNACK, "Connection Refused, not authorized", F,
        "The client is not allowed to connect.",
        Some("check the broker's access rules for this client and user")),
    row(0x80, V311, P::SUBACK, "Failure", F,
        "The server refused this subscription.",
        Some("check the ACL for this client/topic and the topic filter syntax")),
];

/// One built-in vendor code (same shape as a line of a vendor TOML file).
pub(super) struct BuiltinVendorCode {
    /// Vendor (service or broker) name.
    pub vendor: &'static str,
    /// The code's data.
    pub entry: CodeEntry,
}

/// Adafruit IO's 3.1.1 CONNACK extensions, announced on the Adafruit IO blog
/// ("Extending the MQTT Protocol", 2016-06-28): 6 throttled, 7 banned.
#[rustfmt::skip]
pub(super) const BUILTIN_VENDOR: [BuiltinVendorCode; 2] = [
    BuiltinVendorCode { vendor: "Adafruit IO", entry: CodeEntry { spec: ADAFRUIT_SPEC, ..row(0x06, V311, P::CONNACK,
        "Connection Refused, throttled", F,
        "The client exceeded Adafruit IO's connection rate limit.",
        Some("try again later, and reconnect less often")) } },
    BuiltinVendorCode { vendor: "Adafruit IO", entry: CodeEntry { spec: ADAFRUIT_SPEC, ..row(0x07, V311, P::CONNACK,
        "Connection Refused, banned", F,
        "The server administrator has banned this client.",
        Some("contact Adafruit IO support; repeated throttling can lead to a ban")) } },
];
