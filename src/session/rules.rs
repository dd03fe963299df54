//! Which side may send which packet types and reason codes (MQTT 5.0 §2.1.2 Table 2-1,
//! §3.14.2.1 Table 3-10, §3.15.2.1 Table 3-13; 3.1.1 §2.2.1 Table 2.1).

use crate::mqtt::types::{PacketType, ReasonCode};
use crate::tcp::Dir;

/// True when `ptype` may travel in direction `dir` (3.x allows DISCONNECT from the client only).
pub fn direction_allowed(ptype: PacketType, dir: Dir, v5: bool) -> bool {
    let to_server = dir == Dir::ToServer;
    match ptype {
        PacketType::CONNECT
        | PacketType::SUBSCRIBE
        | PacketType::UNSUBSCRIBE
        | PacketType::PINGREQ => to_server,
        PacketType::CONNACK | PacketType::SUBACK | PacketType::UNSUBACK | PacketType::PINGRESP => {
            !to_server
        }
        PacketType::DISCONNECT => v5 || to_server,
        _ => true,
    }
}

/// DISCONNECT codes only a client may send (5.0 Table 3-10): 0x04 Disconnect with Will Message.
const DISCONNECT_CLIENT_ONLY: [u8; 1] = [0x04];
/// DISCONNECT codes only a server may send (5.0 Table 3-10).
const DISCONNECT_SERVER_ONLY: [u8; 15] = [
    0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];

/// True when a 5.0 reason code in `ptype` may be sent in direction `dir`. Codes not in the
/// tables (unknown or vendor codes) are left to the catalogue's legality check.
pub fn code_side_allowed(ptype: PacketType, code: ReasonCode, dir: Dir) -> bool {
    let to_server = dir == Dir::ToServer;
    match ptype {
        PacketType::DISCONNECT if to_server => !DISCONNECT_SERVER_ONLY.contains(&code.0),
        PacketType::DISCONNECT => !DISCONNECT_CLIENT_ONLY.contains(&code.0),
        // AUTH: 0x00 Success is the server's, 0x19 Re-authenticate the client's.
        PacketType::AUTH => match code.0 {
            0x00 => !to_server,
            0x19 => to_server,
            _ => true,
        },
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_sides() {
        assert!(direction_allowed(PacketType::CONNECT, Dir::ToServer, true));
        assert!(!direction_allowed(PacketType::CONNECT, Dir::ToClient, true));
        assert!(!direction_allowed(PacketType::SUBACK, Dir::ToServer, false));
        assert!(direction_allowed(
            PacketType::DISCONNECT,
            Dir::ToClient,
            true
        ));
        assert!(!direction_allowed(
            PacketType::DISCONNECT,
            Dir::ToClient,
            false
        ));
        assert!(direction_allowed(PacketType::PUBLISH, Dir::ToClient, false));
        let d = PacketType::DISCONNECT;
        assert!(code_side_allowed(d, ReasonCode(0x04), Dir::ToServer));
        assert!(!code_side_allowed(d, ReasonCode(0x04), Dir::ToClient));
        assert!(!code_side_allowed(d, ReasonCode(0x8E), Dir::ToServer));
        assert!(code_side_allowed(d, ReasonCode(0x8E), Dir::ToClient));
        assert!(code_side_allowed(d, ReasonCode(0x94), Dir::ToServer));
        let a = PacketType::AUTH;
        assert!(!code_side_allowed(a, ReasonCode(0x19), Dir::ToClient));
        assert!(!code_side_allowed(a, ReasonCode(0x00), Dir::ToServer));
        assert!(code_side_allowed(a, ReasonCode(0x18), Dir::ToServer));
    }
}
