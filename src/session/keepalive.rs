//! Keep-alive tracking of one connection (MQTT 5.0 §3.1.2.10, §3.2.2.3.14; 3.1.1 §3.1.2.10):
//! the client must send a control packet within the keep-alive; the server may close the
//! connection after 1.5 times that long without one.

use crate::capture::Ts;
use crate::event::Anomaly;

/// Nanoseconds in a second.
const NS: i64 = 1_000_000_000;

/// The client's packet times against the keep-alive in force.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeepAlive {
    /// Keep-alive from CONNECT, in seconds (0: off).
    pub requested: u16,
    /// Server Keep Alive from CONNACK, which replaces the requested value.
    pub server: Option<u16>,
    /// Time of the client's last packet (or of a gap in its bytes, after one).
    pub last_client: Option<Ts>,
}

impl KeepAlive {
    /// The keep-alive in force in seconds (0: off).
    pub fn effective(&self) -> u16 {
        self.server.unwrap_or(self.requested)
    }

    /// The silence since the last client packet when it is over 1.5 x keep-alive at `ts`:
    /// (silence ns, keep-alive s, last client packet).
    pub fn overdue(&self, ts: Ts) -> Option<(i64, u16, Ts)> {
        let ka = self.effective();
        let last = self.last_client?;
        let silence = ts.0.saturating_sub(last.0);
        // 1.5 x keep-alive, compared as 2 x silence > 3 x keep-alive to stay in integers.
        (ka > 0 && silence.saturating_mul(2) > i64::from(ka) * 3 * NS)
            .then_some((silence, ka, last))
    }

    /// A client packet at `ts`: a finding when it ends an overlong silence.
    pub fn client_packet(&mut self, ts: Ts) -> Option<Anomaly> {
        let found =
            self.overdue(ts).map(
                |(silence, keep_alive, last_client)| Anomaly::KeepAliveExpired {
                    silence_ms: ms(silence),
                    keep_alive,
                    last_client,
                },
            );
        self.last_client = Some(ts);
        found
    }

    /// Client bytes were lost, found at `ts`: they were sent by then, so the silence runs
    /// from `ts` at the earliest (a silence is only reported when it is certain). Before any
    /// client packet nothing is measured yet, and nothing changes.
    pub fn lost_client_bytes(&mut self, ts: Ts) {
        if let Some(last) = self.last_client {
            self.last_client = Some(last.max(ts));
        }
    }
}

/// Nanoseconds to whole milliseconds (negative as 0).
pub fn ms(ns: i64) -> u64 {
    (ns.max(0) / 1_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_and_a_half_times_the_keep_alive() {
        let mut k = KeepAlive {
            requested: 10,
            ..KeepAlive::default()
        };
        assert_eq!(k.client_packet(Ts(0)), None);
        // Exactly 15 s is still within 1.5 x 10 s.
        assert_eq!(k.client_packet(Ts(15 * NS)), None);
        assert_eq!(
            k.client_packet(Ts(30 * NS + 1_000_000)),
            Some(Anomaly::KeepAliveExpired {
                silence_ms: 15_001,
                keep_alive: 10,
                last_client: Ts(15 * NS),
            })
        );
        // The Server Keep Alive replaces the client's value.
        k.server = Some(100);
        assert_eq!(k.client_packet(Ts(100 * NS)), None);
        k.server = Some(0);
        assert_eq!(k.overdue(Ts(10_000 * NS)), None);
    }

    #[test]
    fn lost_client_bytes_restart_the_silence() {
        let mut k = KeepAlive {
            requested: 10,
            ..KeepAlive::default()
        };
        // Before any client packet, a gap measures nothing.
        k.lost_client_bytes(Ts(5 * NS));
        assert_eq!(k.last_client, None);
        assert_eq!(k.client_packet(Ts(6 * NS)), None);
        // 54 s without a packet, but bytes lost at 50 s: only 10 s of silence are certain.
        k.lost_client_bytes(Ts(50 * NS));
        assert_eq!(k.client_packet(Ts(60 * NS)), None);
        // A gap found before the last packet changes nothing; 16 s later is overdue.
        k.lost_client_bytes(Ts(55 * NS));
        assert_eq!(
            k.client_packet(Ts(76 * NS)),
            Some(Anomaly::KeepAliveExpired {
                silence_ms: 16_000,
                keep_alive: 10,
                last_client: Ts(60 * NS),
            })
        );
    }
}
