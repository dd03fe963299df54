//! Unit tests of the catalogue's internals: indexes, sets, unknown names, vendor merging.

use super::vendor::{insert_replacing, VendorCode};
use super::*;
use std::borrow::Cow;

#[test]
fn tables_are_sorted_by_code_so_the_index_finds_every_row() {
    for table in [&V5_CODES[..], &V3_CODES[..]] {
        assert!(table.windows(2).all(|w| w[0].code <= w[1].code));
    }
    for code in 0..=255u8 {
        for (table, index) in [(&V5_CODES[..], &V5_INDEX), (&V3_CODES[..], &V3_INDEX)] {
            let want: Vec<&CodeEntry> = table.iter().filter(|e| e.code.0 == code).collect();
            let got: Vec<&CodeEntry> = rows_for(table, index, code).iter().collect();
            assert_eq!(got, want, "rows for 0x{code:02X}");
        }
    }
    assert_eq!(rows_for(&V5_CODES, &V5_INDEX, 0x00).len(), 3);
    assert_eq!(rows_for(&V3_CODES, &V3_INDEX, 0x00).len(), 3);
    assert!(rows_for(&V5_CODES, &V5_INDEX, 0x03).is_empty());
}

#[test]
fn unknown_names_are_built_for_every_byte() {
    for code in 0..=255u8 {
        assert_eq!(
            unknown_v5_name(code),
            format!("Unknown reason code 0x{code:02X}")
        );
    }
}

#[test]
fn packet_set_membership_and_order() {
    let set = PacketSet::of(&[PacketType::DISCONNECT, PacketType::CONNACK]);
    assert!(set.contains(PacketType::CONNACK) && set.contains(PacketType::DISCONNECT));
    assert!(!set.contains(PacketType::PUBACK));
    assert!(
        !set.contains(PacketType(0x12)),
        "out-of-range type is never a member"
    );
    let members: Vec<PacketType> = set.iter().collect();
    assert_eq!(members, vec![PacketType::CONNACK, PacketType::DISCONNECT]);
    assert_eq!(packets_with_codes(Version::V3_1_1).iter().count(), 2);
    assert_eq!(packets_with_codes(Version::V5).iter().count(), 9);
}

#[test]
fn version_set_membership() {
    assert!(VersionSet::V3_ANY.contains(Version::V3_1));
    assert!(VersionSet::V3_ANY.contains(Version::V3_1_1));
    assert!(!VersionSet::V3_ANY.contains(Version::V5));
    assert!(!VersionSet::V5.contains(Version(200)));
    assert_eq!(VersionSet::V5.with(Version(9)), VersionSet::V5);
    assert_eq!(VersionSet::V3_1.with(Version::V3_1_1), VersionSet::V3_ANY);
    let levels: Vec<u8> = VersionSet::V3_ANY.iter().map(|v| v.0).collect();
    assert_eq!(levels, vec![3, 4]);
    assert!(VersionSet::default().is_empty());
}

#[test]
fn severity_labels_and_success() {
    assert_eq!(Severity::Notice.label(), "notice");
    assert!(Severity::Notice.is_success() && Severity::Success.is_success());
    assert!(!Severity::Failure.is_success());
}

#[test]
fn every_standard_row_is_complete() {
    for e in standard_entries() {
        assert!(!e.name.is_empty() && !e.meaning.is_empty() && !e.spec.is_empty());
        assert!(e.packets.0 != 0, "{}", e.name);
        assert!(!e.versions.is_empty(), "{}", e.name);
        if e.severity == Severity::Failure {
            let hint = e.hint.unwrap_or("");
            assert!(
                !hint.is_empty() && !hint.ends_with('.'),
                "hint of {}",
                e.name
            );
        }
    }
    assert_eq!(standard_entries().count(), v5::V5_ROWS + v3::V3_ROWS);
}

fn code(vendor: &'static str, versions: VersionSet, name: &'static str) -> VendorCode {
    VendorCode {
        vendor: Cow::Borrowed(vendor),
        versions,
        packet: PacketType::CONNACK,
        code: ReasonCode(9),
        name: Cow::Borrowed(name),
        meaning: Cow::Borrowed("m."),
        hint: None,
        severity: Severity::Failure,
        defined_at: Cow::Borrowed("test"),
    }
}

#[test]
fn a_later_vendor_definition_replaces_only_the_overlapping_versions() {
    let mut codes = vec![code("A", VersionSet::V3_ANY, "old")];
    insert_replacing(&mut codes, code("B", VersionSet::V3_1_1, "new"));
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0].versions, VersionSet::V3_1, "A keeps 3.1");
    let cat = Catalogue {
        vendor: codes.clone(),
    };
    let x = cat.explain(ReasonCode(9), PacketType::CONNACK, Version::V3_1);
    assert_eq!((x.name, x.origin), ("old", Origin::Vendor("A")));
    let x = cat.explain(ReasonCode(9), PacketType::CONNACK, Version::V3_1_1);
    assert_eq!((x.name, x.origin), ("new", Origin::Vendor("B")));
    insert_replacing(&mut codes, code("C", VersionSet::V3_ANY, "newest"));
    assert_eq!(codes.len(), 1, "fully replaced entries are dropped");
    assert_eq!(codes[0].vendor, "C");
}

#[test]
fn vendor_error_positions_count_characters() {
    let line = r#"code = [{ name = "Ünïcødé", meaning = "y.", versions = ["3.1.1"], packet = "CONNACK", success = false, code = -1 }]"#;
    let text = format!("vendor = \"V\"\n{line}\n");
    let at = line.find("-1").unwrap();
    let column = line[..at].chars().count() + 1;
    assert!(
        column < at + 1,
        "the line holds multi-byte characters before the error"
    );
    let e = Catalogue::standard_only()
        .with_vendor_toml(&text, "u.toml")
        .unwrap_err();
    assert_eq!((e.line, e.column, e.field), (2, column, Some("code")));
    assert_eq!(
        e.to_string(),
        format!("vendor codes file u.toml, line 2, column {column}, field `code`: found -1, expected an integer from 0 to 255 (0x00 to 0xFF)")
    );
}
