//! A small cache of per-connection values for the output side, found without hashing: the
//! events of a connection share one label, so a slot picked by connection id and checked by
//! label identity answers most lookups.

use crate::event::ConnLabel;
use std::sync::Arc;

/// Slots of a [`LabelCache`].
pub const SLOTS: usize = 1024;

/// Values made from a connection label, direct-mapped by connection id. A slot holds its
/// label, so the label's address cannot be reused by another one while cached; a label equal
/// in content to the cached one (rebuilt for the same connection) is a hit too.
#[derive(Clone, Debug)]
pub struct LabelCache<T> {
    slots: Vec<Option<(Arc<ConnLabel>, T)>>,
}

impl<T> Default for LabelCache<T> {
    fn default() -> Self {
        LabelCache { slots: Vec::new() }
    }
}

impl<T> LabelCache<T> {
    /// The value for `label`: the cached one, else `make(label, old)` stored in its slot, where
    /// `old` is the value it replaces (to reuse its buffers).
    pub fn get_or_make(
        &mut self,
        label: &Arc<ConnLabel>,
        make: impl FnOnce(&ConnLabel, Option<T>) -> T,
    ) -> Option<&T> {
        if self.slots.is_empty() {
            self.slots = std::iter::repeat_with(|| None).take(SLOTS).collect();
        }
        let i = (label.id.0 % SLOTS as u64) as usize;
        let slot = self.slots.get_mut(i)?;
        let hit = match slot {
            Some((l, _)) if Arc::ptr_eq(l, label) => true,
            Some((l, _)) if **l == **label => {
                *l = Arc::clone(label);
                true
            }
            _ => false,
        };
        if !hit {
            let old = slot.take().map(|(_, v)| v);
            *slot = Some((Arc::clone(label), make(label, old)));
        }
        slot.as_ref().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::ConnId;

    #[test]
    fn hits_by_identity_or_content_and_remakes_on_change_or_collision() {
        let mut c: LabelCache<String> = LabelCache::default();
        let mut made = 0;
        let mut get = |c: &mut LabelCache<String>, l: &Arc<ConnLabel>| {
            c.get_or_make(l, |l, old| {
                made += 1;
                let mut s = old.unwrap_or_default();
                s.clear();
                s.push_str(l.client_id.as_deref().unwrap_or("-"));
                s
            })
            .cloned()
        };
        let mut label = ConnLabel {
            id: ConnId(5),
            client: "10.0.0.2:4000".parse().unwrap(),
            server: "10.0.0.1:1883".parse().unwrap(),
            client_id: None,
            version: None,
        };
        let a = Arc::new(label.clone());
        assert_eq!(get(&mut c, &a).as_deref(), Some("-"));
        assert_eq!(get(&mut c, &a).as_deref(), Some("-"));
        // Same content, another Arc: still a hit.
        assert_eq!(get(&mut c, &Arc::new(label.clone())).as_deref(), Some("-"));
        label.client_id = Some("dev".into());
        assert_eq!(
            get(&mut c, &Arc::new(label.clone())).as_deref(),
            Some("dev")
        );
        // Another connection in the same slot replaces it.
        let other = ConnLabel {
            id: ConnId(5 + SLOTS as u64),
            client_id: Some("x".into()),
            ..label.clone()
        };
        assert_eq!(get(&mut c, &Arc::new(other)).as_deref(), Some("x"));
        assert_eq!(made, 3);
    }
}
