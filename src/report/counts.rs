//! The per-packet counters of the totals, indexed instead of looked up in sorted maps: packets
//! per type, reason codes per (type, version, code) and latencies per pair kind. Each lists
//! its entries in the order (and with the presence rule) of the sorted map it replaces.

use super::latency::Latency;
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use std::collections::BTreeMap;

/// Packet types with a slot of their own (the fixed header's 4 bits).
const TYPE_SLOTS: usize = 16;

/// Packets per type and direction (0: to server, 1: to client): one array slot per type.
#[derive(Clone, Debug)]
pub struct TypeCounts {
    slots: [(PacketType, [u64; 2]); TYPE_SLOTS],
    /// Bit `t` set once type `t` has an entry.
    present: u16,
    /// Types above 15 (no 4-bit header gives one; kept so nothing is lost).
    rest: BTreeMap<PacketType, [u64; 2]>,
}

impl Default for TypeCounts {
    fn default() -> Self {
        let mut slots = [(PacketType(0), [0; 2]); TYPE_SLOTS];
        for (i, s) in slots.iter_mut().enumerate() {
            s.0 = PacketType(i as u8);
        }
        TypeCounts {
            slots,
            present: 0,
            rest: BTreeMap::new(),
        }
    }
}

impl TypeCounts {
    /// The counts of type `t`, created as zeros when new.
    pub fn entry(&mut self, t: PacketType) -> &mut [u64; 2] {
        let i = usize::from(t.0);
        match self.slots.get_mut(i) {
            Some(s) => {
                self.present |= 1 << i;
                &mut s.1
            }
            None => self.rest.entry(t).or_default(),
        }
    }

    /// Counts one packet of type `t` in direction `dir` (0 or 1; others are ignored).
    pub fn add(&mut self, t: PacketType, dir: usize) {
        if let Some(n) = self.entry(t).get_mut(dir) {
            *n += 1;
        }
    }

    /// Sets the counts of type `t`.
    pub fn insert(&mut self, t: PacketType, counts: [u64; 2]) {
        *self.entry(t) = counts;
    }

    /// The counts of type `t`, when it has an entry.
    pub fn get(&self, t: PacketType) -> Option<&[u64; 2]> {
        self.iter().find(|(k, _)| **k == t).map(|(_, v)| v)
    }

    /// True when no packet was counted.
    pub fn is_empty(&self) -> bool {
        self.present == 0 && self.rest.is_empty()
    }

    /// Every type with an entry, in type order.
    pub fn iter(&self) -> impl Iterator<Item = (&PacketType, &[u64; 2])> {
        let present = self.present;
        self.slots
            .iter()
            .enumerate()
            .filter(move |(i, _)| present & (1 << i) != 0)
            .map(|(_, (k, v))| (k, v))
            .chain(self.rest.iter())
    }
}

impl<'a> IntoIterator for &'a TypeCounts {
    type Item = (&'a PacketType, &'a [u64; 2]);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// A reason-code key: (packet type, version, code).
pub type CodeKey = (PacketType, Option<Version>, ReasonCode);

/// Slots of the direct map of [`CodeCounts`]: (type & 15, code).
const CODE_SLOTS: usize = 16 * 256;

/// Counts per (packet type, version, code), listed in key order: the entries in order of
/// first sight (never moved), found through a direct map from (type, code) to the entry last
/// used for them; sorted only when listed.
#[derive(Clone, Debug, Default)]
pub struct CodeCounts {
    entries: Vec<(CodeKey, u64)>,
    /// (type & 15) * 256 + code -> entry index + 1 (0: none yet); allocated on first use.
    direct: Vec<u16>,
}

fn code_slot(t: PacketType, c: ReasonCode) -> usize {
    usize::from(t.0 & 15) << 8 | usize::from(c.0)
}

impl CodeCounts {
    /// The index of `key`'s entry, created with count 0 when new.
    fn index_of(&mut self, key: CodeKey) -> usize {
        let slot = code_slot(key.0, key.2);
        let hit = self
            .direct
            .get(slot)
            .and_then(|&i| usize::from(i).checked_sub(1))
            .filter(|&i| self.entries.get(i).is_some_and(|e| e.0 == key));
        match hit {
            Some(i) => i,
            None => self.find_or_insert(key, slot),
        }
    }

    /// The slow path of [`CodeCounts::index_of`]: a scan (the keys are few), an append when
    /// new.
    #[cold]
    fn find_or_insert(&mut self, key: CodeKey, slot: usize) -> usize {
        let i = match self.entries.iter().position(|e| e.0 == key) {
            Some(i) => i,
            None => {
                self.entries.push((key, 0));
                self.entries.len() - 1
            }
        };
        if self.direct.is_empty() {
            self.direct.resize(CODE_SLOTS, 0);
        }
        if let (Some(d), Ok(v)) = (self.direct.get_mut(slot), u16::try_from(i + 1)) {
            *d = v;
        }
        i
    }

    /// Counts one code.
    pub fn add(&mut self, key: CodeKey) {
        let i = self.index_of(key);
        if let Some(e) = self.entries.get_mut(i) {
            e.1 += 1;
        }
    }

    /// Sets the count of `key`.
    pub fn insert(&mut self, key: CodeKey, n: u64) {
        let i = self.index_of(key);
        if let Some(e) = self.entries.get_mut(i) {
            e.1 = n;
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no code was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every key with its count, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&CodeKey, &u64)> {
        let mut v: Vec<(&CodeKey, &u64)> = self.entries.iter().map(|(k, n)| (k, n)).collect();
        v.sort_unstable_by_key(|e| *e.0);
        v.into_iter()
    }
}

/// Names of the request/answer pair kinds, indexed by [`PairKind`]; in byte order, so the
/// index order is the name order a sorted map would list.
pub const KIND_NAMES: [&str; 11] = [
    "AUTH-AUTH",
    "CONNECT-AUTH",
    "CONNECT-CONNACK",
    "PINGREQ-PINGRESP",
    "PUBLISH-PUBACK",
    "PUBLISH-PUBREC",
    "PUBREC-PUBREL",
    "PUBREL-PUBCOMP",
    "SUBSCRIBE-SUBACK",
    "UNSUBSCRIBE-UNSUBACK",
    "other",
];

/// A request/answer pair kind: an index into [`KIND_NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PairKind(pub u8);

impl PairKind {
    /// The kind of a pair, from the request's and the answer's types.
    pub fn of(request: PacketType, answer: PacketType) -> PairKind {
        if (request, answer) == (PacketType::CONNECT, PacketType::AUTH) {
            return PairKind(1);
        }
        PairKind(match answer {
            PacketType::CONNACK => 2,
            PacketType::PUBACK => 4,
            PacketType::PUBREC => 5,
            PacketType::PUBREL => 6,
            PacketType::PUBCOMP => 7,
            PacketType::SUBACK => 8,
            PacketType::UNSUBACK => 9,
            PacketType::PINGRESP => 3,
            PacketType::AUTH => 0,
            _ => 10,
        })
    }

    /// The kind called `name`, when it is one.
    pub fn named(name: &str) -> Option<PairKind> {
        let i = KIND_NAMES.iter().position(|n| *n == name)?;
        Some(PairKind(i as u8))
    }

    /// The kind's name ("PUBLISH-PUBACK").
    pub fn name(self) -> &'static str {
        KIND_NAMES
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("other")
    }
}

/// Latencies per pair kind, listed in name order: the kinds in order of first sample, found
/// through a small index by kind (a client rarely has more than a few kinds, and a scan or
/// a map would cost more than the sample).
#[derive(Clone, Debug, Default)]
pub struct LatencyKinds {
    entries: Vec<(PairKind, Latency)>,
    /// Kind -> entry index + 1 (0: no sample yet).
    index: [u8; KIND_NAMES.len()],
}

impl PartialEq for LatencyKinds {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for LatencyKinds {}

impl LatencyKinds {
    /// Adds one sample of `kind`.
    #[inline(always)]
    pub fn add(&mut self, kind: PairKind, ns: i64) {
        let Some(at) = self.index.get_mut(usize::from(kind.0)) else {
            return;
        };
        let i = match usize::from(*at).checked_sub(1) {
            Some(i) => i,
            None => {
                if self.entries.is_empty() {
                    // Room for the usual kinds of one client at once.
                    self.entries.reserve_exact(4);
                }
                self.entries.push((kind, Latency::default()));
                *at = self.entries.len() as u8;
                self.entries.len() - 1
            }
        };
        if let Some(e) = self.entries.get_mut(i) {
            e.1.add(ns);
        }
    }

    /// The latency of `kind`, when it has samples.
    fn of(&self, kind: PairKind) -> Option<&Latency> {
        let i = usize::from(*self.index.get(usize::from(kind.0))?).checked_sub(1)?;
        self.entries.get(i).map(|e| &e.1)
    }

    /// The latency of the kind called `name`, when it has samples.
    pub fn get(&self, name: &str) -> Option<&Latency> {
        self.of(PairKind::named(name)?)
    }

    /// Number of kinds with samples.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no kind has samples.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every kind with its latency, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Latency)> {
        (0..KIND_NAMES.len() as u8)
            .filter_map(|k| Some((PairKind(k).name(), self.of(PairKind(k))?)))
    }
}

impl<'a> IntoIterator for &'a LatencyKinds {
    type Item = (&'static str, &'a Latency);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_in_byte_order_and_match_the_pairs() {
        let mut sorted = KIND_NAMES;
        sorted.sort_unstable();
        assert_eq!(sorted, KIND_NAMES);
        let k = |a: u8, b: u8| PairKind::of(PacketType(a), PacketType(b)).name();
        assert_eq!(k(1, 15), "CONNECT-AUTH");
        assert_eq!(k(15, 15), "AUTH-AUTH");
        assert_eq!(k(1, 2), "CONNECT-CONNACK");
        assert_eq!(k(3, 4), "PUBLISH-PUBACK");
        assert_eq!(k(3, 5), "PUBLISH-PUBREC");
        assert_eq!(k(5, 6), "PUBREC-PUBREL");
        assert_eq!(k(6, 7), "PUBREL-PUBCOMP");
        assert_eq!(k(8, 9), "SUBSCRIBE-SUBACK");
        assert_eq!(k(10, 11), "UNSUBSCRIBE-UNSUBACK");
        assert_eq!(k(12, 13), "PINGREQ-PINGRESP");
        assert_eq!(k(3, 3), "other");
    }

    #[test]
    fn type_counts_list_like_a_sorted_map() {
        let mut t = TypeCounts::default();
        let mut want: BTreeMap<PacketType, [u64; 2]> = BTreeMap::new();
        for (ty, d) in [(3u8, 0usize), (1, 0), (3, 1), (200, 1), (13, 1), (0, 0)] {
            t.add(PacketType(ty), d);
            want.entry(PacketType(ty)).or_default()[d] += 1;
        }
        let got: Vec<_> = t.iter().map(|(k, v)| (*k, *v)).collect();
        let want: Vec<_> = want.into_iter().collect();
        assert_eq!(got, want);
        assert_eq!(t.get(PacketType(3)), Some(&[1, 1]));
        assert_eq!(t.get(PacketType(4)), None);
        assert!(!t.is_empty());
        assert!(TypeCounts::default().is_empty());
    }

    #[test]
    fn code_counts_list_like_a_sorted_map() {
        let mut c = CodeCounts::default();
        let mut want: BTreeMap<CodeKey, u64> = BTreeMap::new();
        // Same (type, code) under several versions, types past 15, many insertions.
        let mut x = 7u32;
        for _ in 0..5000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let t = PacketType(((x >> 8) % 20) as u8);
            let v = match (x >> 16) % 4 {
                0 => None,
                n => Some(Version(n as u8 + 2)),
            };
            let code = ReasonCode(((x >> 20) % 4) as u8 * 0x40);
            c.add((t, v, code));
            *want.entry((t, v, code)).or_default() += 1;
        }
        let got: Vec<_> = c.iter().map(|(k, n)| (*k, *n)).collect();
        let want: Vec<_> = want.into_iter().collect();
        assert_eq!(got, want);
        assert_eq!(c.len(), got.len());
    }

    #[test]
    fn latency_kinds_list_in_name_order() {
        let mut l = LatencyKinds::default();
        for k in [10u8, 4, 2, 4, 0] {
            l.add(PairKind(k), i64::from(k));
        }
        let names: Vec<_> = l.iter().map(|(n, l)| (n, l.count())).collect();
        assert_eq!(
            names,
            vec![
                ("AUTH-AUTH", 1),
                ("CONNECT-CONNACK", 1),
                ("PUBLISH-PUBACK", 2),
                ("other", 1)
            ]
        );
        assert_eq!(l.get("PUBLISH-PUBACK").map(|x| x.max()), Some(4));
        assert!(l.get("PUBREC-PUBREL").is_none());
    }
}
