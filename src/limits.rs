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
        }
    }
}
