//! The per-client table of the totals: one hashed lookup per event, listed in client-id order.

use super::ClientTotals;
use std::collections::HashMap;

/// Hasher of the run's string-keyed tables: fast, seeded per table (ids come from the capture).
pub type FastState = foldhash::fast::RandomState;

/// Totals per client id: a hash table for the per-packet lookups (a sorted map compared the
/// long, shared-prefix ids byte by byte dozens of times per packet); sorted only when listed.
#[derive(Clone, Debug, Default)]
pub struct ClientTable {
    map: HashMap<String, ClientTotals, FastState>,
}

impl ClientTable {
    /// Number of client ids tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The totals of client `id`, when tracked.
    pub fn get(&self, id: &str) -> Option<&ClientTotals> {
        self.map.get(id)
    }

    /// The totals of client `id` to update, when tracked.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut ClientTotals> {
        self.map.get_mut(id)
    }

    /// The totals of client `id`, created empty when new.
    pub fn get_or_insert(&mut self, id: String) -> &mut ClientTotals {
        self.map.entry(id).or_default()
    }

    /// Every client in id order (byte order of the ids, as a sorted map would list them).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ClientTotals)> {
        let mut v: Vec<(&str, &ClientTotals)> =
            self.map.iter().map(|(k, c)| (k.as_str(), c)).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v.into_iter()
    }
}

/// `table["id"]` like a map; panics when `id` is not tracked (tests and known keys only).
impl std::ops::Index<&str> for ClientTable {
    type Output = ClientTotals;
    fn index(&self, id: &str) -> &ClientTotals {
        match self.map.get(id) {
            Some(c) => c,
            None => panic!("client id {id:?} is not in the table"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_id_order_and_counts_in_place() {
        let mut t = ClientTable::default();
        for id in ["b", "a", "c", "a"] {
            t.get_or_insert(id.to_string()).packets += 1;
        }
        let ids: Vec<(&str, u64)> = t.iter().map(|(k, c)| (k, c.packets)).collect();
        assert_eq!(ids, vec![("a", 2), ("b", 1), ("c", 1)]);
        assert_eq!(t.len(), 3);
        assert!(t.get("d").is_none());
        if let Some(c) = t.get_mut("c") {
            c.refused = 7;
        }
        assert_eq!(t.get("c").map(|c| c.refused), Some(7));
    }
}
