//! Formatting of capture timestamps (UTC, no time-zone database, deterministic).

use crate::capture::Ts;
use std::fmt::Write;

/// Converts days since 1970-01-01 into (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `HH:MM:SS.ffffff` (UTC time of day, microseconds).
pub fn time_of_day(ts: Ts, out: &mut String) {
    let secs = ts.secs();
    let sod = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ts.subsec_nanos() / 1000
    );
}

/// `YYYY-MM-DD HH:MM:SS.ffffff UTC`.
pub fn date_time(ts: Ts) -> String {
    let (y, m, d) = civil_from_days(ts.secs().div_euclid(86_400));
    let mut s = format!("{y:04}-{m:02}-{d:02} ");
    time_of_day(ts, &mut s);
    s.push_str(" UTC");
    s
}

/// Seconds with microseconds, signed: `12.345678`.
pub fn seconds(ns: i64, out: &mut String) {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    let _ = write!(
        out,
        "{sign}{}.{:06}",
        a / 1_000_000_000,
        (a % 1_000_000_000) / 1000
    );
}

/// A latency for people: `850 us`, `12.3 ms`, `2.41 s`.
pub fn latency(ns: i64) -> String {
    let a = ns.max(0) as f64;
    if a < 1e6 {
        format!("{:.0} us", a / 1e3)
    } else if a < 1e9 {
        format!("{:.1} ms", a / 1e6)
    } else {
        format!("{:.2} s", a / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(
            date_time(Ts::from_parts(1_700_000_000, 123_456_789)),
            "2023-11-14 22:13:20.123456 UTC"
        );
        assert_eq!(latency(850_000), "850 us");
        assert_eq!(latency(12_340_000), "12.3 ms");
        let mut s = String::new();
        seconds(-1_500_000, &mut s);
        assert_eq!(s, "-0.001500");
    }
}
