//! MQTT framing and decoding (pure: bytes in, values or typed errors out).

pub mod detect;
pub mod error;
pub mod framer;
pub mod header;
pub mod packet;
pub mod payload;
pub mod property;
pub mod reader;
pub mod reason;
pub mod resync;
pub mod types;
pub mod version;

pub use error::{DecodeError, DecodeErrorKind, FrameError};
pub use framer::{FrameEvent, Framer, Pending, RawPacket, Sender, SkipReason};
pub use header::FixedHeader;
pub use packet::{decode, decode_parts, Packet};
