//! Wrapping TCP sequence numbers (RFC 9293 section 3.4, serial-number order in the style of RFC 1982).

use std::fmt;

/// A 32-bit TCP sequence number; order and distance wrap past 2^32.
///
/// Two sequence numbers compare by the sign of their wrapping difference, so the order is only
/// meaningful for numbers less than 2^31 apart (which every live TCP window is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The sequence number `n` bytes after this one, with `n` taken modulo 2^32.
    #[inline]
    pub fn add_u64(self, n: u64) -> SeqNum {
        SeqNum(self.0.wrapping_add(n as u32))
    }

    /// Signed distance from `other` to `self`: positive when `self` is after `other`.
    #[inline]
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// True when `self` comes strictly before `other` in wrapping order.
    #[inline]
    pub fn before(self, other: SeqNum) -> bool {
        self.diff(other) < 0
    }

    /// True when `self` comes strictly after `other` in wrapping order.
    #[inline]
    pub fn after(self, other: SeqNum) -> bool {
        self.diff(other) > 0
    }
}

impl std::ops::Add<u32> for SeqNum {
    type Output = SeqNum;
    /// The sequence number `n` bytes after this one (wrapping).
    #[inline]
    fn add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_wraps_past_u32_max() {
        assert_eq!(SeqNum(u32::MAX) + 1, SeqNum(0));
        assert_eq!(SeqNum(u32::MAX - 2) + 10, SeqNum(7));
        assert_eq!(SeqNum(5).add_u64((1u64 << 32) + 3), SeqNum(8));
    }

    #[test]
    fn diff_is_signed_and_wraps() {
        assert_eq!(SeqNum(10).diff(SeqNum(3)), 7);
        assert_eq!(SeqNum(3).diff(SeqNum(10)), -7);
        assert_eq!(SeqNum(2).diff(SeqNum(u32::MAX - 1)), 4);
        assert_eq!(SeqNum(u32::MAX - 1).diff(SeqNum(2)), -4);
        assert_eq!(SeqNum(7).diff(SeqNum(7)), 0);
    }

    #[test]
    fn order_across_the_wrap() {
        let a = SeqNum(u32::MAX - 100);
        let b = SeqNum(50);
        assert!(a.before(b));
        assert!(b.after(a));
        assert!(!a.after(b));
        assert!(!b.before(a));
        assert!(!a.before(a) && !a.after(a));
    }

    #[test]
    fn half_space_boundary() {
        // Exactly 2^31 apart the sign bit decides: the distance reads as negative both ways.
        let a = SeqNum(0);
        let b = SeqNum(1 << 31);
        assert_eq!(b.diff(a), i32::MIN);
        assert_eq!(a.diff(b), i32::MIN);
        assert!(SeqNum((1 << 31) - 1).after(a));
    }
}
