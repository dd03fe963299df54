//! Reason-code catalogue: names, meanings and "what to check" hints for every MQTT 5.0 reason
//! code (§2.4 Table 2-6), the MQTT 3.1/3.1.1 CONNACK and SUBACK return codes, and vendor
//! extensions (built in, or loaded from a TOML file, see [`vendor`]).
//!
//! All standard data lives in `v5.rs` and `v3.rs` as constant tables; lookups go through a
//! 256-entry index built at compile time and never allocate. Codes stay raw [`ReasonCode`]s:
//! an unknown value keeps its number and is shown as unknown, a vendor value with its vendor.

mod v3;
mod v5;
pub mod vendor;
mod vendor_error;

use crate::mqtt::types::{PacketType, ReasonCode, Version};
pub use vendor::{VendorCode, VendorError, VendorErrorKind};

/// How a code reads to a human: fine, fine-but-worth-a-look, or an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The operation succeeded.
    Success,
    /// The operation succeeded, but the code says something notable (0x04, 0x10, 0x11).
    Notice,
    /// The operation failed.
    Failure,
}

impl Severity {
    /// True for `Success` and `Notice`.
    pub fn is_success(self) -> bool {
        !matches!(self, Severity::Failure)
    }

    /// Lower-case label: "success", "notice" or "failure".
    pub fn label(self) -> &'static str {
        match self {
            Severity::Success => "success",
            Severity::Notice => "notice",
            Severity::Failure => "failure",
        }
    }
}

/// Where an explanation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin<'a> {
    /// The MQTT standard (5.0 Table 2-6, or 3.1/3.1.1 return codes).
    Standard,
    /// A vendor extension; the string is the vendor's name.
    Vendor(&'a str),
    /// Neither the standard nor any loaded vendor table knows this code here.
    Unknown,
}

/// A set of packet types, one bit per 4-bit type value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PacketSet(pub u16);

impl PacketSet {
    /// The set holding exactly `types`.
    pub const fn of(types: &[PacketType]) -> PacketSet {
        let mut bits = 0u16;
        let mut i = 0;
        while i < types.len() {
            bits |= 1 << (types[i].0 & 0x0f);
            i += 1;
        }
        PacketSet(bits)
    }

    /// True when `ptype` is in the set.
    pub fn contains(self, ptype: PacketType) -> bool {
        ptype.0 < 16 && self.0 & (1 << ptype.0) != 0
    }

    /// The members in type order.
    pub fn iter(self) -> impl Iterator<Item = PacketType> {
        PacketType::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }
}

/// A set of protocol levels (3 = 3.1, 4 = 3.1.1, 5 = 5.0), one bit per level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct VersionSet(pub u8);

impl VersionSet {
    /// MQTT 3.1 only.
    pub const V3_1: VersionSet = VersionSet(1 << 3);
    /// MQTT 3.1.1 only.
    pub const V3_1_1: VersionSet = VersionSet(1 << 4);
    /// MQTT 3.1 and 3.1.1.
    pub const V3_ANY: VersionSet = VersionSet(1 << 3 | 1 << 4);
    /// MQTT 5.0 only.
    pub const V5: VersionSet = VersionSet(1 << 5);

    /// True when `version` is in the set.
    pub fn contains(self, version: Version) -> bool {
        version.0 < 8 && self.0 & (1 << version.0) != 0
    }

    /// The set with `version` added (levels 8 and above are ignored).
    pub fn with(self, version: Version) -> VersionSet {
        if version.0 < 8 {
            VersionSet(self.0 | 1 << version.0)
        } else {
            self
        }
    }

    /// The members in level order.
    pub fn iter(self) -> impl Iterator<Item = Version> {
        (0u8..8).map(Version).filter(move |v| self.contains(*v))
    }

    /// True when no level is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One row of a standard (or built-in vendor) table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeEntry {
    /// The code value.
    pub code: ReasonCode,
    /// Name as in the standard.
    pub name: &'static str,
    /// One sentence on what the code means.
    pub meaning: &'static str,
    /// What to check; present for every failure and notice.
    pub hint: Option<&'static str>,
    /// Packet types in which the standard allows this code with this name.
    pub packets: PacketSet,
    /// Protocol levels in which it is allowed.
    pub versions: VersionSet,
    /// Success, notice or failure.
    pub severity: Severity,
    /// Where the standard defines it.
    pub spec: &'static str,
}

/// The answer to "what does this code mean here?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explanation<'a> {
    /// The raw code, unchanged.
    pub code: ReasonCode,
    /// Name for this packet type ("Unknown reason code 0xNN" / "Unknown return code" if unknown).
    pub name: &'a str,
    /// One sentence on what it means.
    pub meaning: &'a str,
    /// What to check, if anything.
    pub hint: Option<&'a str>,
    /// Success, notice or failure.
    pub severity: Severity,
    /// False when the standard does not allow this code in this packet type or version.
    pub legal: bool,
    /// Standard, vendor (with its name) or unknown.
    pub origin: Origin<'a>,
}

/// All MQTT 5.0 rows of Table 2-6 followed by the 3.x rows.
static V5_CODES: [CodeEntry; v5::V5_ROWS] = v5::V5_TABLE;
static V3_CODES: [CodeEntry; v3::V3_ROWS] = v3::V3_TABLE;

/// Sentinel for "no row" in the indexes.
const NONE: u8 = u8::MAX;

/// Builds code -> index of the first row with that code; tables are sorted by code.
const fn first_index<const N: usize>(table: &[CodeEntry; N]) -> [u8; 256] {
    let mut index = [NONE; 256];
    let mut i = N;
    while i > 0 {
        i -= 1;
        index[table[i].code.0 as usize] = i as u8;
    }
    index
}

static V5_INDEX: [u8; 256] = first_index(&v5::V5_TABLE);
static V3_INDEX: [u8; 256] = first_index(&v3::V3_TABLE);

/// The rows of `table` with value `code` (at most a handful), via the precomputed index.
fn rows_for<'t>(table: &'t [CodeEntry], index: &[u8; 256], code: u8) -> &'t [CodeEntry] {
    let start = index[usize::from(code)];
    if start == NONE {
        return &[];
    }
    let rest = table.get(usize::from(start)..).unwrap_or(&[]);
    let len = rest.iter().take_while(|e| e.code.0 == code).count();
    rest.get(..len).unwrap_or(&[])
}

/// The standard row that allows `code` in `ptype` on a `version` connection, if any.
pub fn standard_row(
    code: ReasonCode,
    ptype: PacketType,
    version: Version,
) -> Option<&'static CodeEntry> {
    let rows = match version.0 {
        3 | 4 => rows_for(&V3_CODES, &V3_INDEX, code.0),
        5 => rows_for(&V5_CODES, &V5_INDEX, code.0),
        _ => return None,
    };
    rows.iter()
        .find(|e| e.packets.contains(ptype) && e.versions.contains(version))
}

/// Iterates over every standard row: the 45 MQTT 5.0 rows, then the 3.x rows.
pub fn standard_entries() -> impl Iterator<Item = &'static CodeEntry> {
    V5_CODES.iter().chain(V3_CODES.iter())
}

/// Packet types that carry a reason code (5.0) or return code (3.x) in `version`.
pub fn packets_with_codes(version: Version) -> PacketSet {
    if is_v3(version) {
        PacketSet::of(&[PacketType::CONNACK, PacketType::SUBACK])
    } else {
        PacketSet::of(&[
            PacketType::CONNACK,
            PacketType::PUBACK,
            PacketType::PUBREC,
            PacketType::PUBREL,
            PacketType::PUBCOMP,
            PacketType::SUBACK,
            PacketType::UNSUBACK,
            PacketType::DISCONNECT,
            PacketType::AUTH,
        ])
    }
}

/// True for protocol levels 3 and 4 (3.1, 3.1.1), which use return codes.
fn is_v3(version: Version) -> bool {
    matches!(version.0, 3 | 4)
}

/// The standard's success rule: 5.0 code < 0x80; 3.x CONNACK only 0; 3.x SUBACK 0, 1 or 2.
///
/// Other 3.x packet types carry no return code; the 5.0 rule is applied to them, and to
/// unknown protocol levels. Vendor data may say otherwise; see [`Explanation::severity`].
pub fn is_success(code: ReasonCode, ptype: PacketType, version: Version) -> bool {
    if is_v3(version) {
        match ptype {
            PacketType::CONNACK => code.0 == 0,
            PacketType::SUBACK => code.0 <= 2,
            _ => code.0 < 0x80,
        }
    } else {
        code.0 < 0x80
    }
}

/// Parses user input such as "0x87", "0X87" (hex) or "135" (decimal) into a code.
pub fn parse_code(s: &str) -> Option<ReasonCode> {
    let s = s.trim();
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u8::from_str_radix(digits, radix).ok().map(ReasonCode)
}

/// "Unknown reason code 0xNN" for every byte, built at compile time so lookups never allocate.
const UNKNOWN_PREFIX: &[u8; 22] = b"Unknown reason code 0x";
const UNKNOWN_LEN: usize = 24;
static UNKNOWN_NAMES: [[u8; UNKNOWN_LEN]; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = [[0u8; UNKNOWN_LEN]; 256];
    let mut code = 0;
    while code < 256 {
        let mut i = 0;
        while i < UNKNOWN_PREFIX.len() {
            out[code][i] = UNKNOWN_PREFIX[i];
            i += 1;
        }
        out[code][22] = HEX[code >> 4];
        out[code][23] = HEX[code & 0x0f];
        code += 1;
    }
    out
};

/// The name shown for an unknown MQTT 5.0 code.
fn unknown_v5_name(code: u8) -> &'static str {
    std::str::from_utf8(&UNKNOWN_NAMES[usize::from(code)]).unwrap_or("Unknown reason code")
}

const UNKNOWN_MEANING: &str =
    "Neither the MQTT standard nor any loaded vendor table defines this code for this packet type.";
const UNKNOWN_HINT: &str =
    "check the broker's documentation for vendor codes and load them with --vendor-codes";

/// Every known code: the standard tables plus vendor extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    /// Vendor codes, built in first, then in load order (a later definition replaces).
    vendor: Vec<VendorCode>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue::builtin()
    }
}

impl Catalogue {
    /// The standard tables plus the built-in vendor codes (Adafruit IO 3.1.1 CONNACK 6 and 7).
    pub fn builtin() -> Catalogue {
        let vendor = v3::BUILTIN_VENDOR
            .iter()
            .map(|b| VendorCode::from_builtin(b.vendor, &b.entry))
            .collect();
        Catalogue { vendor }
    }

    /// Only the standard tables, without any vendor code.
    pub fn standard_only() -> Catalogue {
        Catalogue { vendor: Vec::new() }
    }

    /// Adds the vendor codes of a TOML file (format in [`vendor`]); `source_name` names the file
    /// in error messages. A code already defined by an earlier vendor table is replaced.
    pub fn with_vendor_toml(
        mut self,
        text: &str,
        source_name: &str,
    ) -> Result<Catalogue, VendorError> {
        let codes = vendor::parse(text, source_name, self.vendor.len())?;
        for code in codes {
            vendor::insert_replacing(&mut self.vendor, code);
        }
        Ok(self)
    }

    /// The vendor codes currently loaded, built-in first.
    pub fn vendor_entries(&self) -> impl Iterator<Item = &VendorCode> {
        self.vendor.iter()
    }

    /// Explains `code` as seen in a packet of type `ptype` on a connection of `version`.
    ///
    /// Order: a standard row allowed here; else a vendor code for exactly this version, packet
    /// type and value; else a standard row for this value in another version or (5.0, for 0x00
    /// and codes from 0x80 up) another packet type, marked not legal; else unknown.
    /// Levels other than 3, 4 and 5 are looked up in the 5.0 table, never legal.
    pub fn explain(
        &self,
        code: ReasonCode,
        ptype: PacketType,
        version: Version,
    ) -> Explanation<'_> {
        let (table, index): (&'static [CodeEntry], &[u8; 256]) = if is_v3(version) {
            (&V3_CODES, &V3_INDEX)
        } else {
            (&V5_CODES, &V5_INDEX)
        };
        if let Some(e) = standard_row(code, ptype, version) {
            return standard(e, true);
        }
        let rows = rows_for(table, index, code.0);
        if let Some(v) = self.vendor.iter().find(|v| v.matches(code, ptype, version)) {
            return v.explain();
        }
        // Same packet type in another version (3.1 SUBACK 0x80); else, in 5.0 only, 0x00 or an
        // error code whose meaning does not depend on the packet (0x87 in PUBREL). A 3.x
        // CONNACK name is never borrowed for SUBACK, nor a SUBACK QoS grant for CONNACK.
        let same_packet = rows.iter().find(|e| e.packets.contains(ptype));
        let any_packet = if is_v3(version) || !(code.0 == 0 || code.0 >= 0x80) {
            None
        } else {
            rows.first()
        };
        if let Some(e) = same_packet.or(any_packet) {
            return standard(e, false);
        }
        Explanation {
            code,
            name: if is_v3(version) {
                "Unknown return code"
            } else {
                unknown_v5_name(code.0)
            },
            meaning: UNKNOWN_MEANING,
            hint: Some(UNKNOWN_HINT),
            severity: if is_success(code, ptype, version) {
                Severity::Success
            } else {
                Severity::Failure
            },
            legal: false,
            origin: Origin::Unknown,
        }
    }
}

/// The explanation for a standard row.
fn standard(e: &'static CodeEntry, legal: bool) -> Explanation<'static> {
    Explanation {
        code: e.code,
        name: e.name,
        meaning: e.meaning,
        hint: e.hint,
        severity: e.severity,
        legal,
        origin: Origin::Standard,
    }
}

#[cfg(test)]
mod tests;
