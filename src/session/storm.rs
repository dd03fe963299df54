//! Reconnect storms: a client refused again and again in a short time (the issue's
//! "repeated CONNACK 0x06 throttled or 0x9F"), tracked per client id across connections.

use crate::capture::Ts;
use crate::event::Anomaly;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Refusals in a row, all within `STORM_WINDOW_NS`, that make a reconnect storm; a storm is
/// reported again after every further `STORM_REFUSALS` refusals.
const STORM_REFUSALS: usize = 5;
/// The window the storm's refusals must fall in: one minute.
const STORM_WINDOW_NS: i64 = 60_000_000_000;
/// Client ids remembered for reconnect-storm detection.
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// A client's run of refused connections.
#[derive(Clone, Debug, Default)]
pub struct Streak {
    /// Refusals in a row.
    refusals: u32,
    /// Times of the latest refusals, at most `STORM_REFUSALS`, oldest first.
    recent: VecDeque<Ts>,
    /// `refusals` when a storm was last reported (0: never).
    reported: u32,
}

/// Tracks runs of refused connections per client id (or per client address when the id is
/// empty) and calls out reconnect storms: `STORM_REFUSALS` refusals in a row within
/// `STORM_WINDOW_NS`, with the rate over those refusals.
pub fn on_connack(
    streaks: &mut HashMap<String, Streak, foldhash::fast::RandomState>,
    client_id: Option<&str>,
    client_ip: IpAddr,
    failed: bool,
    ts: Ts,
    out: &mut Vec<Anomaly>,
) {
    let key = match client_id {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("address {client_ip}"),
    };
    if !failed {
        streaks.remove(&key);
        return;
    }
    if streaks.len() >= MAX_TRACKED_CLIENTS && !streaks.contains_key(&key) {
        streaks.clear();
    }
    let s = streaks.entry(key).or_default();
    s.refusals = s.refusals.saturating_add(1);
    if s.recent.len() == STORM_REFUSALS {
        s.recent.pop_front();
    }
    s.recent.push_back(ts);
    let Some(&first) = s.recent.front() else {
        return;
    };
    let span = ts.0.saturating_sub(first.0);
    let due = s.reported == 0 || s.refusals - s.reported >= STORM_REFUSALS as u32;
    if s.recent.len() == STORM_REFUSALS && span <= STORM_WINDOW_NS && due {
        s.reported = s.refusals;
        // N refusals span N-1 intervals.
        let intervals = (STORM_REFUSALS - 1) as f64;
        let per_minute = intervals * 60e9 / span.max(1_000_000) as f64;
        out.push(Anomaly::ReconnectStorm {
            refusals: s.refusals,
            per_minute: per_minute.round().min(f64::from(u32::MAX)) as u32,
        });
    }
}
