//! The per-client table of the totals: one hashed lookup per event, listed in client-id order.

use super::ClientTotals;
use std::collections::HashMap;

/// Hasher of the run's string-keyed tables: fast, seeded per table (ids come from the capture).
pub type FastState = foldhash::fast::RandomState;

/// Totals per client id: a hash index for the per-packet lookups (a sorted map compared the
/// long, shared-prefix ids byte by byte dozens of times per packet) into a vector of totals;
/// sorted only when listed.
#[derive(Clone, Debug, Default)]
pub struct ClientTable {
    index: HashMap<String, u32, FastState>,
    totals: Vec<ClientTotals>,
}

impl ClientTable {
    /// Number of client ids tracked.
    pub fn len(&self) -> usize {
        self.totals.len()
    }

    /// True when no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// The slot of client `id`, when tracked: one hashed lookup.
    pub fn slot(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The totals in slot `slot` (from [`ClientTable::slot`] or [`ClientTable::insert`]).
    pub fn at_mut(&mut self, slot: u32) -> Option<&mut ClientTotals> {
        self.totals.get_mut(slot as usize)
    }

    /// The slot of client `id`, created with empty totals when new.
    pub fn insert(&mut self, id: String) -> u32 {
        if let Some(s) = self.slot(&id) {
            return s;
        }
        let s = self.totals.len() as u32;
        self.totals.push(ClientTotals::default());
        self.index.insert(id, s);
        s
    }

    /// The totals of client `id`, when tracked.
    pub fn get(&self, id: &str) -> Option<&ClientTotals> {
        self.totals.get(self.slot(id)? as usize)
    }

    /// The totals of client `id` to update, when tracked.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut ClientTotals> {
        let s = self.slot(id)?;
        self.at_mut(s)
    }

    /// The totals of client `id`, created empty when new.
    pub fn get_or_insert(&mut self, id: String) -> &mut ClientTotals {
        let s = self.insert(id) as usize;
        if s >= self.totals.len() {
            self.totals.resize_with(s + 1, ClientTotals::default);
        }
        &mut self.totals[s]
    }

    /// Every client in id order (byte order of the ids, as a sorted map would list them).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ClientTotals)> {
        let mut v: Vec<(&str, &ClientTotals)> = self
            .index
            .iter()
            .filter_map(|(k, s)| Some((k.as_str(), self.totals.get(*s as usize)?)))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v.into_iter()
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
