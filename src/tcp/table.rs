//! Connection table: 4-tuple -> slot, with least-recently-used lists for expiry and eviction.
//!
//! Slots live in one vector and are linked into one of two LRU lists (open connections, and
//! closed ones kept to absorb stragglers), so touching, expiring and evicting are O(1) and
//! allocate nothing once the table has grown.

use super::conn::{Conn, Tomb};
use crate::capture::Ts;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;

/// A small, fast, deterministic hasher in the style of rustc's FxHash (not DoS-resistant).
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// One end of a connection packed into words: the address (IPv4 in the low word), then the
/// port, the family, and for IPv6 the flow label and scope id, so that two ends are equal
/// exactly when their `SocketAddr`s are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct End {
    /// High 64 bits of an IPv6 address; 0 for IPv4.
    hi: u64,
    /// Low 64 bits of an IPv6 address, or the IPv4 address.
    lo: u64,
    /// Port, bit 16 set for IPv6, IPv6 flow info in bits 32..64.
    port: u64,
    /// IPv6 scope id; 0 for IPv4.
    scope: u32,
}

impl End {
    /// The packed form of `a`.
    #[inline]
    fn of(a: SocketAddr) -> End {
        match a {
            SocketAddr::V4(v4) => End {
                hi: 0,
                lo: u64::from(v4.ip().to_bits()),
                port: u64::from(v4.port()),
                scope: 0,
            },
            SocketAddr::V6(v6) => {
                let bits = v6.ip().to_bits();
                End {
                    hi: (bits >> 64) as u64,
                    lo: bits as u64,
                    port: u64::from(v6.port()) | 1 << 16 | u64::from(v6.flowinfo()) << 32,
                    scope: v6.scope_id(),
                }
            }
        }
    }
}

/// The 4-tuple with its two ends in a fixed order, so both directions find one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    /// The lower end.
    a: End,
    /// The higher end.
    b: End,
}

impl std::hash::Hash for Key {
    /// Folds the words that tell connections apart into one well-mixed word (bucket index
    /// bits depend on every address and port bit), then writes it once.
    fn hash<H: Hasher>(&self, state: &mut H) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let (a, b) = (&self.a, &self.b);
        let w1 = a.lo.rotate_left(20) ^ a.port ^ b.hi;
        let w2 = b.lo.rotate_left(20) ^ b.port ^ a.hi.rotate_left(32);
        let mut m = w1.wrapping_mul(K) ^ w2;
        if (a.port | b.port) & 1 << 16 != 0 {
            m ^= u64::from(a.scope) | u64::from(b.scope) << 32;
        }
        m = (m ^ m >> 32).wrapping_mul(K);
        state.write_u64(m ^ m >> 29);
    }
}

/// The key of a segment from `a` to `b` (or from `b` to `a`).
pub(crate) fn key(a: SocketAddr, b: SocketAddr) -> Key {
    let (a, b) = (End::of(a), End::of(b));
    if a <= b {
        Key { a, b }
    } else {
        Key { a: b, b: a }
    }
}

/// What a slot holds.
#[derive(Debug)]
pub(crate) enum State {
    /// An open connection.
    Live(Box<Conn>),
    /// A closed connection remembered to absorb late segments.
    Tomb(Tomb),
    /// Unused slot.
    Free,
}

/// Which LRU list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum List {
    /// Open connections.
    Live = 0,
    /// Closed connections.
    Tomb = 1,
}

const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Slot {
    key: Key,
    last: Ts,
    prev: u32,
    next: u32,
    state: State,
}

#[derive(Clone, Copy, Debug)]
struct Ends {
    head: u32,
    tail: u32,
    len: usize,
}

/// The table of tracked (and recently closed) connections.
#[derive(Debug)]
pub(crate) struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    map: HashMap<Key, u32, BuildHasherDefault<FxHasher>>,
    lists: [Ends; 2],
    /// The last IPv4 entry found: its two ends packed by `v4_end` (in the order it was found
    /// by) and its slot (`NIL`: none). Consecutive segments mostly belong to one connection,
    /// so this spares building and hashing the key.
    last: (u64, u64, u32),
}

/// An IPv4 end packed into one word (address above the port); None for IPv6.
#[inline]
fn v4_end(a: &SocketAddr) -> Option<u64> {
    match a {
        SocketAddr::V4(v4) => Some(u64::from(v4.ip().to_bits()) << 16 | u64::from(v4.port())),
        SocketAddr::V6(_) => None,
    }
}

fn list_of(state: &State) -> Option<List> {
    match state {
        State::Live(_) => Some(List::Live),
        State::Tomb(_) => Some(List::Tomb),
        State::Free => None,
    }
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        let empty = Ends {
            head: NIL,
            tail: NIL,
            len: 0,
        };
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            map: HashMap::default(),
            lists: [empty; 2],
            last: (0, 0, NIL),
        }
    }

    /// Slot of the entry for `key`.
    pub fn get(&self, key: &Key) -> Option<u32> {
        self.map.get(key).copied()
    }

    /// Slot of the entry for the connection between `a` and `b` (either direction); the last
    /// IPv4 one found is checked first.
    #[inline]
    pub fn find(&mut self, a: &SocketAddr, b: &SocketAddr) -> Option<u32> {
        let (Some(x), Some(y)) = (v4_end(a), v4_end(b)) else {
            return self.get(&key(*a, *b));
        };
        let (lx, ly, idx) = self.last;
        if idx != NIL && ((x == lx && y == ly) || (x == ly && y == lx)) {
            return Some(idx);
        }
        let idx = self.get(&key(*a, *b))?;
        self.last = (x, y, idx);
        Some(idx)
    }

    /// The state of slot `idx`.
    pub fn state_mut(&mut self, idx: u32) -> Option<&mut State> {
        self.slots.get_mut(idx as usize).map(|s| &mut s.state)
    }

    /// Number of entries in `list`.
    pub fn len(&self, list: List) -> usize {
        self.lists[list as usize].len
    }

    /// The least recently used entry of `list` and when it was last touched.
    pub fn oldest(&self, list: List) -> Option<(u32, Ts)> {
        let t = self.lists[list as usize].tail;
        self.slots.get(t as usize).map(|s| (t, s.last))
    }

    /// Slots of every open connection (in slot order).
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, State::Live(_)))
            .map(|(i, _)| i as u32)
    }

    fn unlink(&mut self, idx: u32) {
        let Some(s) = self.slots.get(idx as usize) else {
            return;
        };
        let Some(list) = list_of(&s.state) else {
            return;
        };
        let (prev, next) = (s.prev, s.next);
        let ends = &mut self.lists[list as usize];
        if prev == NIL {
            ends.head = next;
        } else if let Some(p) = self.slots.get_mut(prev as usize) {
            p.next = next;
        }
        let ends = &mut self.lists[list as usize];
        if next == NIL {
            ends.tail = prev;
        } else if let Some(n) = self.slots.get_mut(next as usize) {
            n.prev = prev;
        }
        self.lists[list as usize].len -= 1;
    }

    fn link_front(&mut self, idx: u32) {
        let Some(list) = self.slots.get(idx as usize).and_then(|s| list_of(&s.state)) else {
            return;
        };
        let old_head = self.lists[list as usize].head;
        if let Some(s) = self.slots.get_mut(idx as usize) {
            s.prev = NIL;
            s.next = old_head;
        }
        if let Some(h) = self.slots.get_mut(old_head as usize) {
            h.prev = idx;
        }
        let ends = &mut self.lists[list as usize];
        ends.head = idx;
        if ends.tail == NIL {
            ends.tail = idx;
        }
        ends.len += 1;
    }

    /// Adds an entry (most recently used of its list) and returns its slot.
    pub fn insert(&mut self, key: Key, state: State, now: Ts) -> u32 {
        let slot = Slot {
            key,
            last: now,
            prev: NIL,
            next: NIL,
            state,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = slot;
                }
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        self.link_front(idx);
        idx
    }

    /// Marks slot `idx` used at `now`.
    pub fn touch(&mut self, idx: u32, now: Ts) {
        let Some(s) = self.slots.get_mut(idx as usize) else {
            return;
        };
        let head = list_of(&s.state).map(|l| self.lists[l as usize].head);
        if head == Some(idx) {
            // Already the most recently used: only the time moves.
            s.last = s.last.max(now);
            return;
        }
        self.unlink(idx);
        if let Some(s) = self.slots.get_mut(idx as usize) {
            s.last = s.last.max(now);
        }
        self.link_front(idx);
    }

    /// Replaces the state of slot `idx` (moving it between lists as needed) at `now`.
    pub fn set_state(&mut self, idx: u32, state: State, now: Ts) -> State {
        self.unlink(idx);
        let old = match self.slots.get_mut(idx as usize) {
            Some(s) => {
                s.last = s.last.max(now);
                std::mem::replace(&mut s.state, state)
            }
            None => return State::Free,
        };
        self.link_front(idx);
        old
    }

    /// Removes slot `idx` and returns what it held.
    pub fn remove(&mut self, idx: u32) -> State {
        self.unlink(idx);
        let Some(s) = self.slots.get_mut(idx as usize) else {
            return State::Free;
        };
        let state = std::mem::replace(&mut s.state, State::Free);
        let key = s.key;
        self.map.remove(&key);
        if self.last.2 == idx {
            self.last.2 = NIL;
        }
        self.free.push(idx);
        state
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        *self = Table::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn tomb_of(client: SocketAddr) -> State {
        State::Tomb(Tomb::for_test(client))
    }

    #[test]
    fn find_checks_the_last_hit_and_forgets_removed_slots() {
        let (a, b, c) = (
            addr("10.0.0.1:1000"),
            addr("10.0.0.2:1883"),
            addr("[::1]:5"),
        );
        let mut t = Table::new();
        assert_eq!(t.find(&a, &b), None);
        let i = t.insert(key(a, b), tomb_of(a), Ts(1));
        assert_eq!(t.find(&a, &b), Some(i));
        assert_eq!(t.find(&b, &a), Some(i), "either direction");
        assert_eq!(t.find(&a, &c), None);
        assert_eq!(t.find(&a, &addr("10.0.0.2:1884")), None);
        assert_eq!(t.find(&a, &addr("10.0.0.3:1883")), None);
        t.remove(i);
        let gone = t.find(&a, &b);
        assert_eq!(gone, None, "a removed slot is not found through the cache");
        // The slot is reused for another connection: the old addresses must not find it.
        let j = t.insert(key(a, c), tomb_of(a), Ts(2));
        assert_eq!(j, i);
        assert_eq!(t.find(&b, &a), None);
        assert_eq!(t.find(&c, &a), Some(j));
        let d = addr("10.0.0.9:7");
        let k = t.insert(key(a, d), tomb_of(a), Ts(3));
        assert_eq!(t.find(&d, &a), Some(k));
        t.clear();
        assert_eq!(t.find(&c, &a), None);
        assert_eq!(t.find(&d, &a), None);
    }
}
