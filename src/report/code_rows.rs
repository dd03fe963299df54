//! The reason-code table of a summary: one row per packet type, protocol version and code,
//! named by the catalogue, failures first (shared by `--format summary` and the TUI).

use super::Totals;
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::{PacketType, ReasonCode, Version};

/// One row of the reason-code table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRow<'c> {
    /// Success, notice or failure, for this packet type and version.
    pub severity: Severity,
    /// The packet that carried the code.
    pub ptype: PacketType,
    /// The connection's protocol version ("3.1", "3.1.1", "5.0"), "?" when it was not known:
    /// 3.x return codes and 5.0 reason codes of the same value mean different things.
    pub version: String,
    /// The code as on the wire.
    pub code: ReasonCode,
    /// Its name for this packet type and version.
    pub name: &'c str,
    /// Packets that carried it.
    pub count: u64,
}

impl CodeRow<'_> {
    /// The row's mark: "FAIL", "note" or "ok".
    pub fn mark(&self) -> &'static str {
        match self.severity {
            Severity::Failure => "FAIL",
            Severity::Notice => "note",
            Severity::Success => "ok",
        }
    }
}

/// Characters of the longest name, so that the counts after the names line up.
pub fn name_width(rows: &[CodeRow<'_>]) -> usize {
    rows.iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
}

/// Every counted code as a row: failures, then notices, then successes; within each, by
/// packet type, code and version.
pub fn code_rows<'c>(t: &Totals, cat: &'c Catalogue) -> Vec<CodeRow<'c>> {
    let mut rows: Vec<(Option<Version>, CodeRow<'c>)> = t
        .codes
        .iter()
        .map(|(&(ptype, v, code), &count)| {
            let ex = cat.explain(code, ptype, v.unwrap_or(Version::V5));
            let row = CodeRow {
                severity: ex.severity,
                ptype,
                version: v.map_or_else(|| "?".to_string(), |v| v.label()),
                code,
                name: ex.name,
                count,
            };
            (v, row)
        })
        .collect();
    rows.sort_by_key(|(v, r)| (std::cmp::Reverse(r.severity as u8), r.ptype, r.code, *v));
    rows.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_tell_versions_apart_and_list_failures_first() {
        let mut t = Totals::default();
        let connack = PacketType::CONNACK;
        t.codes
            .add((connack, Some(Version::V3_1_1), ReasonCode(0x01)));
        t.codes
            .add((connack, Some(Version::V3_1), ReasonCode(0x01)));
        t.codes
            .add((connack, Some(Version::V3_1), ReasonCode(0x01)));
        t.codes.add((connack, Some(Version::V5), ReasonCode(0x00)));
        t.codes.add((connack, None, ReasonCode(0x87)));
        let cat = Catalogue::default();
        let rows = code_rows(&t, &cat);
        let shown: Vec<_> = rows
            .iter()
            .map(|r| format!("{} {} {} {}", r.version, r.code, r.name, r.count))
            .collect();
        assert_eq!(
            shown,
            [
                "3.1 0x01 Connection Refused, unacceptable protocol version 2",
                "3.1.1 0x01 Connection Refused, unacceptable protocol version 1",
                "? 0x87 Not authorized 1",
                "5.0 0x00 Success 1",
            ]
        );
        assert_eq!(rows[0].mark(), "FAIL");
        assert_eq!(rows[3].mark(), "ok");
        assert_eq!(name_width(&rows), 49);
    }
}
