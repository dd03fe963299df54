//! Shared topic texts: a PUBLISH topic that a connection direction used recently is handed to
//! its event as another reference to the same `Arc<str>` instead of a fresh copy. Most
//! connections publish to a few topics again and again; a topic not among the recent ones
//! costs one allocation, as a copy would.

use std::sync::Arc;

/// Topics remembered per connection direction.
const RECENT: usize = 8;

/// The topics a connection direction used last, found by a length and byte compare.
#[derive(Clone, Debug, Default)]
pub struct Recent {
    slots: [Option<Arc<str>>; RECENT],
    next: usize,
}

impl Recent {
    /// The shared text equal to `s`: a recent one, else a new one remembered in place of the
    /// oldest.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        let found = self
            .slots
            .iter()
            .flatten()
            .find(|t| t.len() == s.len() && t.as_bytes() == s.as_bytes());
        if let Some(t) = found {
            return Arc::clone(t);
        }
        let t: Arc<str> = Arc::from(s);
        if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = Some(Arc::clone(&t));
        }
        self.next = (self.next + 1) % RECENT;
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
}
