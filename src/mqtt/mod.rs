//! MQTT framing and decoding (pure: bytes in, values or typed errors out).

pub mod reason;
pub mod types;
