//! Every memory cap of the pipeline in one place; hitting a cap is counted and reported.

/// Caps on every buffer and table of the pipeline, with command-line overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest MQTT packet (whole, header included) that is buffered and decoded.
    pub max_packet: usize,
    /// Out-of-order bytes buffered per TCP direction before holes are given up.
    pub max_buffered_per_dir: usize,
    /// Holes tracked per TCP direction.
    pub max_holes_per_dir: usize,
    /// Concurrent TCP connections tracked; the least recently used is evicted past it.
    pub max_flows: usize,
    /// Seconds (capture time) after which a silent connection is expired.
    pub flow_idle_secs: u64,
    /// Seconds (capture time) after which a hole that does not fill is given up.
    pub hole_timeout_secs: u64,
    /// Bytes held in incomplete IPv4 fragment sets.
    pub max_frag_bytes: usize,
    /// Incomplete IPv4 fragment sets held at once.
    pub max_frag_sets: usize,
    /// Seconds (capture time) after which an incomplete fragment set is dropped.
    pub frag_timeout_secs: u64,
    /// MQTT requests awaiting an answer tracked per connection.
    pub max_inflight_per_conn: usize,
    /// Events kept by the TUI timeline (oldest dropped past it).
    pub max_events: usize,
    /// Bytes the whole analysis may hold in its buffers and tables (`--memory-budget MiB`):
    /// shared out between TCP reassembly, IP fragments, MQTT framers and connection state by
    /// the `*_budget` methods below. Hitting a share is counted as a cap hit.
    pub memory_budget: usize,
}

/// Default of `Limits::memory_budget`: 256 MiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

/// Estimated bytes of one tracked connection with no data buffered: reassembly and session
/// state, both framers, the labels, the table entries and the closed-connection record kept
/// after it (measured on the half-open flood of tests/hostile.rs, rounded up).
pub const FLOW_COST: usize = 4096;

impl Limits {
    /// Out-of-order bytes buffered by TCP reassembly across all connections: 3/8 of the budget.
    pub fn tcp_budget(&self) -> usize {
        self.memory_budget / 8 * 3
    }

    /// Bytes held by incomplete IPv4 fragment sets: `max_frag_bytes`, at most 1/16 of the
    /// budget.
    pub fn frag_budget(&self) -> usize {
        self.max_frag_bytes.min(self.memory_budget / 16)
    }

    /// Bytes held by MQTT framers (incomplete packets) and by connections awaiting content
    /// detection, across all connections: a quarter of the budget.
    pub fn framer_budget(&self) -> usize {
        self.memory_budget / 4
    }

    /// Connections tracked at once: `max_flows`, lowered so that their fixed cost
    /// (`FLOW_COST` each) fits in a quarter of the budget (16 384 with the default budget).
    /// The remaining 1/16 of the budget is for the read-ahead buffers and the program itself.
    pub fn flow_budget(&self) -> usize {
        self.max_flows
            .min(self.memory_budget / 4 / FLOW_COST)
            .max(1)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet: 1 << 20,
            max_buffered_per_dir: 4 << 20,
            max_holes_per_dir: 64,
            max_flows: 65_536,
            flow_idle_secs: 600,
            hole_timeout_secs: 30,
            max_frag_bytes: 16 << 20,
            max_frag_sets: 4096,
            frag_timeout_secs: 30,
            max_inflight_per_conn: 65_535,
            max_events: 2_000_000,
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_of_the_budget_leave_room_for_the_program() {
        for mib in [1usize, 16, 256, 4096] {
            let l = Limits {
                memory_budget: mib << 20,
                max_frag_bytes: usize::MAX,
                max_flows: usize::MAX,
                ..Limits::default()
            };
            let flows = l.flow_budget() * FLOW_COST;
            let total = l.tcp_budget() + l.frag_budget() + l.framer_budget() + flows;
            assert!(total <= l.memory_budget / 16 * 15, "{mib} MiB: {total}");
        }
    }

    #[test]
    fn default_budget_tracks_16384_flows_and_keeps_explicit_lower_caps() {
        let l = Limits::default();
        assert_eq!(l.memory_budget, 256 << 20);
        assert_eq!(l.flow_budget(), 16_384);
        assert_eq!(l.frag_budget(), 16 << 20);
        assert_eq!(l.tcp_budget(), 96 << 20);
        let small = Limits {
            max_flows: 10,
            ..Limits::default()
        };
        assert_eq!(small.flow_budget(), 10);
    }
}
