//! Shared texts of recent topics: a PUBLISH topic that a connection direction used recently is
//! handed to its event as another reference to the same `Arc<str>` instead of a fresh copy
//! (most connections publish to a few topics again and again; a topic not among the recent
//! ones costs one allocation, as a copy would), and small per-topic memos such as the granted
//! QoS of `state/flows.rs` are kept the same way.

use std::sync::Arc;

/// Texts remembered.
pub const RECENT: usize = 8;

/// The last [`RECENT`] texts seen, each with a value, found by a byte compare; the oldest is
/// replaced first.
#[derive(Clone, Debug, Default)]
pub struct RecentTexts<V> {
    slots: [Option<(Arc<str>, V)>; RECENT],
    next: usize,
}

impl<V: Copy> RecentTexts<V> {
    /// The remembered text equal to `s`, with its value.
    pub fn find(&self, s: &str) -> Option<(&Arc<str>, V)> {
        self.slots
            .iter()
            .flatten()
            .find(|(t, _)| **t == *s)
            .map(|(t, v)| (t, *v))
    }

    /// Remembers `t` with `v` in place of the oldest.
    pub fn put(&mut self, t: Arc<str>, v: V) {
        if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = Some((t, v));
        }
        self.next = (self.next + 1) % RECENT;
    }

    /// Forgets every text.
    pub fn clear(&mut self) {
        self.slots = Default::default();
        self.next = 0;
    }
}

/// The topics a connection direction used last.
pub type Recent = RecentTexts<()>;

impl RecentTexts<()> {
    /// The shared text equal to `s`: a recent one, else a new one remembered in place of the
    /// oldest.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some((t, ())) = self.find(s) {
            return Arc::clone(t);
        }
        let t: Arc<str> = Arc::from(s);
        self.put(Arc::clone(&t), ());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_topics_share_one_text_and_the_oldest_is_replaced() {
        let mut r = Recent::default();
        let a = r.get("a/b");
        assert!(Arc::ptr_eq(&a, &r.get("a/b")));
        assert_eq!(&*r.get("a/c"), "a/c");
        for n in 0..RECENT - 1 {
            r.get(&format!("t{n}"));
        }
        // "a/b" was the oldest: a new text now, still equal.
        let b = r.get("a/b");
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&b, &r.get("a/b")));
    }

    #[test]
    fn values_are_found_by_text_the_oldest_forgotten_and_all_cleared() {
        let mut m: RecentTexts<u8> = RecentTexts::default();
        m.put(Arc::from("a/b"), 1);
        assert_eq!(m.find("a/b").map(|e| e.1), Some(1));
        assert_eq!(m.find("a/c"), None);
        for n in 0..RECENT {
            m.put(Arc::from(format!("t{n}")), 0);
        }
        assert_eq!(m.find("a/b"), None);
        assert_eq!(m.find("t0").map(|e| e.1), Some(0));
        m.clear();
        assert_eq!(m.find("t0"), None);
    }
}
