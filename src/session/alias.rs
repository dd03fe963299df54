//! Topic alias bindings of one direction of a connection (MQTT 5.0 §3.3.2.3.4): each direction
//! has its own alias space, bounded by the receiver's Topic Alias Maximum, and starts empty on
//! every new network connection.

use std::collections::HashMap;
use std::sync::Arc;

/// Bytes of bound topic names kept per direction; bindings past it are not remembered.
pub const MAX_ALIAS_BYTES: usize = 1 << 20;

/// What resolving a PUBLISH's topic through its alias gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// No alias: the topic as on the wire.
    Plain,
    /// The alias was bound (or re-bound) to the PUBLISH's non-empty topic.
    Bound,
    /// The empty topic was resolved through an existing binding.
    Used(Arc<str>),
    /// The alias was used with an empty topic before any binding.
    Unbound,
    /// The alias is 0 or above the receiver's Topic Alias Maximum.
    AboveMaximum,
    /// The binding was not remembered: `MAX_ALIAS_BYTES` is reached.
    Cap,
}

/// Alias to topic bindings for one direction.
#[derive(Clone, Debug, Default)]
pub struct AliasSpace {
    map: HashMap<u16, Arc<str>, foldhash::fast::RandomState>,
    bytes: usize,
}

impl AliasSpace {
    /// Applies one PUBLISH: `maximum` is the receiver's Topic Alias Maximum (0 when it set none),
    /// or `None` when the handshake was not captured and the maximum is unknown.
    /// A binding keeps a reference to `topic`'s shared text.
    pub fn apply(
        &mut self,
        topic: &Arc<str>,
        alias: Option<u16>,
        maximum: Option<u16>,
    ) -> Resolved {
        let Some(a) = alias else {
            return Resolved::Plain;
        };
        if a == 0 || maximum.is_some_and(|m| a > m) {
            return Resolved::AboveMaximum;
        }
        if topic.is_empty() {
            return match self.map.get(&a) {
                Some(t) => Resolved::Used(t.clone()),
                None => Resolved::Unbound,
            };
        }
        if self.map.get(&a).is_some_and(|t| t == topic) {
            return Resolved::Bound;
        }
        let old = self.map.get(&a).map_or(0, |t| t.len());
        if self.bytes - old + topic.len() > MAX_ALIAS_BYTES {
            self.bytes -= old;
            self.map.remove(&a);
            return Resolved::Cap;
        }
        self.bytes = self.bytes - old + topic.len();
        self.map.insert(a, Arc::clone(topic));
        Resolved::Bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A topic text as events carry it.
    fn t(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn bind_use_rebind_and_limits() {
        let mut s = AliasSpace::default();
        let m = Some(10);
        assert_eq!(s.apply(&t(""), Some(1), m), Resolved::Unbound);
        assert_eq!(s.apply(&t("a/b"), Some(1), m), Resolved::Bound);
        assert_eq!(s.apply(&t(""), Some(1), m), Resolved::Used("a/b".into()));
        assert_eq!(s.apply(&t("c"), Some(1), m), Resolved::Bound);
        assert_eq!(s.apply(&t(""), Some(1), m), Resolved::Used("c".into()));
        assert_eq!(s.apply(&t("x"), Some(11), m), Resolved::AboveMaximum);
        assert_eq!(s.apply(&t("x"), Some(0), m), Resolved::AboveMaximum);
        assert_eq!(s.apply(&t("x"), Some(0), None), Resolved::AboveMaximum);
        assert_eq!(s.apply(&t("x"), Some(500), None), Resolved::Bound);
        assert_eq!(s.apply(&t("x"), None, Some(0)), Resolved::Plain);
        assert_eq!(s.bytes, 2);
    }

    #[test]
    fn bound_bytes_are_capped() {
        let mut s = AliasSpace::default();
        let big = "t".repeat(MAX_ALIAS_BYTES - 1);
        assert_eq!(s.apply(&t(&big), Some(1), None), Resolved::Bound);
        assert_eq!(s.apply(&t("ab"), Some(2), None), Resolved::Cap);
        assert_eq!(s.apply(&t(""), Some(2), None), Resolved::Unbound);
        // Re-binding alias 1 to a short topic frees its bytes.
        assert_eq!(s.apply(&t("a"), Some(1), None), Resolved::Bound);
        assert_eq!(s.apply(&t("ab"), Some(2), None), Resolved::Bound);
        assert_eq!(s.bytes, 3);
    }
}
