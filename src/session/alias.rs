//! Topic alias bindings of one direction of a connection (MQTT 5.0 §3.3.2.3.4).

use std::collections::HashMap;

/// What resolving a PUBLISH's topic through its alias gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// No alias: the topic as on the wire.
    Plain,
    /// The alias was bound (or re-bound) to the PUBLISH's non-empty topic.
    Bound,
    /// The empty topic was resolved through an existing binding.
    Used(String),
    /// The alias was used with an empty topic before any binding.
    Unbound,
    /// The alias is above the receiver's Topic Alias Maximum (or 0).
    AboveMaximum,
}

/// Alias to topic bindings for one direction, bounded by the negotiated maximum.
#[derive(Clone, Debug, Default)]
pub struct AliasSpace {
    map: HashMap<u16, String>,
}

impl AliasSpace {
    /// Applies one PUBLISH: `maximum` is the receiver's Topic Alias Maximum (0 when none).
    pub fn apply(&mut self, topic: &str, alias: Option<u16>, maximum: u16) -> Resolved {
        let Some(a) = alias else {
            return Resolved::Plain;
        };
        if a == 0 || a > maximum {
            return Resolved::AboveMaximum;
        }
        if topic.is_empty() {
            return match self.map.get(&a) {
                Some(t) => Resolved::Used(t.clone()),
                None => Resolved::Unbound,
            };
        }
        match self.map.get_mut(&a) {
            Some(t) if t == topic => {}
            Some(t) => {
                t.clear();
                t.push_str(topic);
            }
            None => {
                self.map.insert(a, topic.to_string());
            }
        }
        Resolved::Bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_use_rebind_and_limits() {
        let mut s = AliasSpace::default();
        assert_eq!(s.apply("", Some(1), 10), Resolved::Unbound);
        assert_eq!(s.apply("a/b", Some(1), 10), Resolved::Bound);
        assert_eq!(s.apply("", Some(1), 10), Resolved::Used("a/b".into()));
        assert_eq!(s.apply("c", Some(1), 10), Resolved::Bound);
        assert_eq!(s.apply("", Some(1), 10), Resolved::Used("c".into()));
        assert_eq!(s.apply("x", Some(11), 10), Resolved::AboveMaximum);
        assert_eq!(s.apply("x", Some(0), 10), Resolved::AboveMaximum);
        assert_eq!(s.apply("x", None, 0), Resolved::Plain);
    }
}
