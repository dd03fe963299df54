//! Packet-event boxes handed back by the output stage for the sessions to fill again.
//!
//! With the per-event formats on two threads, the output thread returns each batch of events
//! to the analysis thread, which frees them where they were allocated. Freeing a batch of
//! same-sized boxes at once overflows glibc's per-thread cache (seven chunks per size), so
//! every box took the allocator's slow paths twice, on free and on the next allocation
//! (malloc and free were a fifth of the analysis thread's time on the 1 GiB capture). The
//! boxes are kept here instead, reset, and reused for the next packets.

// The boxes themselves are what is reused: `Vec<Box<_>>` is the point here.
#![allow(clippy::vec_box)]

use crate::event::{Event, EventKind, PacketInfo};
use std::sync::{Arc, Mutex};

/// Boxes kept at most (more are freed): a few batches' worth, about 1.4 MB.
pub const POOL_CAP: usize = 4096;

/// A pool of reset `PacketInfo` boxes shared by the thread that recycles events and the
/// sessions that fill them; each side locks once per batch, not per event.
#[derive(Clone, Debug, Default)]
pub struct InfoPool(Arc<Mutex<Vec<Box<PacketInfo>>>>);

impl InfoPool {
    /// Empties `events`, keeping the boxes of packet events (reset to the default) up to
    /// [`POOL_CAP`]; everything else is dropped as usual.
    pub fn recycle(&self, events: &mut Vec<Event>) {
        let Ok(mut kept) = self.0.lock() else {
            events.clear();
            return;
        };
        for ev in events.drain(..) {
            if let EventKind::Packet(mut b) = ev.kind {
                if kept.len() < POOL_CAP {
                    *b = PacketInfo::default();
                    kept.push(b);
                }
            }
        }
    }

    /// Moves every kept box into `spare` (which the caller has emptied).
    fn refill(&self, spare: &mut Vec<Box<PacketInfo>>) {
        if let Ok(mut kept) = self.0.lock() {
            std::mem::swap(&mut *kept, spare);
        }
    }
}

/// The sessions' side: boxes taken from the pool a batch at a time.
#[derive(Debug, Default)]
pub struct Spare {
    local: Vec<Box<PacketInfo>>,
    pool: Option<InfoPool>,
}

impl Spare {
    /// Boxes come from `pool` from now on.
    pub fn set_pool(&mut self, pool: InfoPool) {
        self.pool = Some(pool);
    }

    /// A box holding the default `PacketInfo`: a recycled one when there is one.
    pub fn take(&mut self) -> Box<PacketInfo> {
        if self.local.is_empty() {
            if let Some(p) = &self.pool {
                p.refill(&mut self.local);
            }
        }
        self.local.pop().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Ts;
    use crate::event::{ConnLabel, Outcome};
    use crate::mqtt::types::PacketType;
    use crate::tcp::ConnId;

    fn event(kind: EventKind) -> Event {
        Event {
            id: 0,
            ts: Ts(0),
            frame_no: 1,
            conn: Arc::new(ConnLabel {
                id: ConnId(0),
                client: "10.0.0.2:4000".parse().unwrap(),
                server: "10.0.0.1:1883".parse().unwrap(),
                client_id: None,
                version: None,
            }),
            dir: None,
            kind,
            anomalies: Vec::new(),
        }
    }

    #[test]
    fn recycled_boxes_come_back_reset_and_the_pool_is_bounded() {
        let pool = InfoPool::default();
        let mut spare = Spare::default();
        spare.set_pool(pool.clone());
        let mut used = spare.take();
        used.ptype = PacketType::PUBLISH;
        used.outcome = Outcome::Failure;
        used.topic = Some("a/b".into());
        let addr: *const PacketInfo = &*used;
        let mut batch = vec![event(EventKind::Packet(used)), event(EventKind::ConnOpen)];
        pool.recycle(&mut batch);
        assert!(batch.is_empty());
        let again = spare.take();
        assert_eq!(&*again as *const PacketInfo, addr, "the same box is reused");
        assert_eq!(again.ptype, PacketInfo::default().ptype);
        assert_eq!(again.outcome, Outcome::Success);
        assert!(again.topic.is_none());
        // Past the cap, boxes are freed, not kept.
        let mut many: Vec<Event> = (0..POOL_CAP + 10)
            .map(|_| event(EventKind::Packet(Box::default())))
            .collect();
        pool.recycle(&mut many);
        let mut local = Vec::new();
        pool.refill(&mut local);
        assert_eq!(local.len(), POOL_CAP);
        // Without a pool, boxes are simply new.
        assert!(Spare::default().take().topic.is_none());
    }
}
