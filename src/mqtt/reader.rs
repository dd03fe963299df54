//! Bounds-checked readers for the MQTT data representations (5.0 §1.5, 3.1.1 §1.5).

use super::error::{DecodeError, DecodeErrorKind};
use super::types::PacketType;

/// A cursor over one packet's body; every read is bounded by the body and errors carry the
/// packet type, the offset within the whole packet and the field name.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    ptype: PacketType,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte sits at offset `base` of a packet of type `ptype`.
    pub fn new(buf: &'a [u8], base: usize, ptype: PacketType) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            ptype,
        }
    }

    /// Offset of the next byte within the whole packet.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The packet type this reader reports in errors.
    pub fn ptype(&self) -> PacketType {
        self.ptype
    }

    /// An error at the current offset.
    pub fn err(&self, field: &'static str, kind: DecodeErrorKind) -> DecodeError {
        self.err_at(self.offset(), field, kind)
    }

    /// An error at a given packet offset.
    pub fn err_at(&self, offset: usize, field: &'static str, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            ptype: self.ptype,
            offset,
            field,
            kind,
        }
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        match rest.get(..n) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(
                field,
                DecodeErrorKind::Truncated {
                    needed: n,
                    available: rest.len(),
                },
            )),
        }
    }

    /// Takes every byte left.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        rest
    }

    /// A one-byte integer.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let s = self.take(1, field)?;
        Ok(s.first().copied().unwrap_or(0))
    }

    /// A Two Byte Integer, big-endian (5.0 §1.5.2).
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let s = self.take(2, field)?;
        match s {
            [a, b] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(self.err(field, DecodeErrorKind::Invalid("internal length mismatch"))),
        }
    }

    /// A Four Byte Integer, big-endian (5.0 §1.5.3).
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let s = self.take(4, field)?;
        match s {
            [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => Err(self.err(field, DecodeErrorKind::Invalid("internal length mismatch"))),
        }
    }

    /// A Variable Byte Integer of 1 to 4 bytes (5.0 §1.5.5).
    pub fn varint(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let start = self.offset();
        let mut value: u32 = 0;
        for i in 0..4u32 {
            let b = match self.u8(field) {
                Ok(b) => b,
                Err(mut e) => {
                    e.offset = start;
                    if let DecodeErrorKind::Truncated { needed, available } = &mut e.kind {
                        *needed = i as usize + 1;
                        *available = i as usize;
                    }
                    return Err(e);
                }
            };
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.err_at(start, field, DecodeErrorKind::BadVarint))
    }

    /// Binary Data: a two-byte length then that many bytes (5.0 §1.5.6).
    pub fn binary(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// A UTF-8 Encoded String: length-prefixed, valid UTF-8, no U+0000 (5.0 §1.5.4, 3.1.1
    /// §1.5.3). Surrogates cannot occur in valid UTF-8, so `str` validation covers them.
    pub fn string(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let len = self.u16(field)?;
        let at = self.offset();
        let bytes = self.take(usize::from(len), field)?;
        check_str(bytes).map_err(|kind| self.err_at(at, field, kind))
    }
}

/// Validates the bytes of an MQTT string (5.0 §1.5.4): UTF-8 and no U+0000.
pub fn check_str(bytes: &[u8]) -> Result<&str, DecodeErrorKind> {
    let s = std::str::from_utf8(bytes).map_err(|e| DecodeErrorKind::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    // Topics and ids are short: the word-at-a-time scan of `contains` beats the set-up of a
    // vectorised search.
    if bytes.len() <= 64 && !bytes.contains(&0) {
        return Ok(s);
    }
    match memchr::memchr(0, bytes) {
        Some(at) => Err(DecodeErrorKind::NullChar { at }),
        None => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_and_truncation() {
        let mut r = Reader::new(&[0x80, 0x01, 0xff], 2, PacketType::PUBLISH);
        assert_eq!(r.varint("x").ok(), Some(128));
        let e = r.varint("property length").unwrap_err();
        assert_eq!(e.offset, 4);
        assert_eq!(
            e.kind,
            DecodeErrorKind::Truncated {
                needed: 2,
                available: 1
            }
        );
    }

    #[test]
    fn string_rules() {
        let mut r = Reader::new(&[0, 2, b'a', 0], 0, PacketType::PUBLISH);
        assert_eq!(
            r.string("topic name").unwrap_err().kind,
            DecodeErrorKind::NullChar { at: 1 }
        );
        let mut r = Reader::new(&[0, 2, 0xc3, 0x28], 0, PacketType::PUBLISH);
        let e = r.string("topic name").unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8 { valid_up_to: 0 });
        assert_eq!(e.offset, 2);
        let mut r = Reader::new(&[0, 5, b'a'], 0, PacketType::PUBLISH);
        assert_eq!(
            r.string("topic name").unwrap_err().kind,
            DecodeErrorKind::Truncated {
                needed: 5,
                available: 1
            }
        );
    }
}
