//! Vendor reason/return codes loaded from a TOML file (`--vendor-codes FILE`).
//!
//! One file describes one vendor (a broker or a service); unknown keys are errors, so typos
//! are caught. Example (see `captures/vendor-codes.example.toml`):
//!
//! ```toml
//! vendor = "Adafruit IO"            # required: shown as the origin of these codes
//!
//! [[code]]
//! versions = ["3.1.1"]              # required: one or more of "3.1", "3.1.1", "5.0"
//! packet = "CONNACK"                # required: a packet type that carries a code in them
//! code = 0x06                       # required: 0 to 255, decimal or 0x hex
//! name = "Connection Refused, throttled"          # required
//! meaning = "The client connected too often."     # required, one sentence
//! hint = "try again later"          # optional: what to check
//! success = false                   # required: does the code report success?
//! ```
//!
//! Rules: in 3.x only CONNACK and SUBACK carry return codes; in 5.0, CONNACK, PUBACK, PUBREC,
//! PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT and AUTH carry reason codes. A vendor code may
//! not redefine a code the standard allows in that packet type and version, and in 5.0
//! `success` must agree with the standard's rule (below 0x80 is success, MQTT 5.0 §2.4).
//! A code listed twice in one file is an error; a later file replaces an earlier definition.

use std::borrow::Cow;

use serde::Deserialize;
use toml::Spanned;

pub use super::vendor_error::{VendorError, VendorErrorKind};
use super::{
    packets_with_codes, standard_row, CodeEntry, Explanation, Origin, Severity, VersionSet,
};
use crate::mqtt::types::{PacketType, ReasonCode, Version};

/// Largest vendor file accepted, in bytes.
pub const MAX_VENDOR_FILE_BYTES: usize = 1 << 20;
/// Most vendor codes held by one catalogue.
pub const MAX_VENDOR_CODES: usize = 4096;
/// Longest name, meaning or hint, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// One vendor-defined code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorCode {
    /// The vendor's name, shown as the origin.
    pub vendor: Cow<'static, str>,
    /// Protocol levels where the vendor uses it.
    pub versions: VersionSet,
    /// Packet type carrying it.
    pub packet: PacketType,
    /// The value.
    pub code: ReasonCode,
    /// The vendor's name for the code.
    pub name: Cow<'static, str>,
    /// One sentence on what it means.
    pub meaning: Cow<'static, str>,
    /// What to check, if given.
    pub hint: Option<Cow<'static, str>>,
    /// Success or failure as the vendor defines it.
    pub severity: Severity,
    /// Where it was defined ("file.toml line 7", or the built-in source).
    pub defined_at: Cow<'static, str>,
}

impl VendorCode {
    /// A built-in vendor code from static data.
    pub(super) fn from_builtin(vendor: &'static str, e: &CodeEntry) -> VendorCode {
        VendorCode {
            vendor: Cow::Borrowed(vendor),
            versions: e.versions,
            packet: e.packets.iter().next().unwrap_or(PacketType::CONNACK),
            code: e.code,
            name: Cow::Borrowed(e.name),
            meaning: Cow::Borrowed(e.meaning),
            hint: e.hint.map(Cow::Borrowed),
            severity: e.severity,
            defined_at: Cow::Borrowed(e.spec),
        }
    }

    /// True when this entry defines `code` in `ptype` for `version`.
    pub fn matches(&self, code: ReasonCode, ptype: PacketType, version: Version) -> bool {
        self.code == code && self.packet == ptype && self.versions.contains(version)
    }

    /// The explanation shown for this code (never legal: the standard does not define it).
    pub fn explain(&self) -> Explanation<'_> {
        Explanation {
            code: self.code,
            name: &self.name,
            meaning: &self.meaning,
            hint: self.hint.as_deref(),
            severity: self.severity,
            legal: false,
            origin: Origin::Vendor(&self.vendor),
        }
    }
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    vendor: Spanned<String>,
    #[serde(default)]
    code: Vec<Spanned<RawCode>>,
}

/// One `[[code]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCode {
    versions: Spanned<Vec<Spanned<String>>>,
    packet: Spanned<String>,
    code: Spanned<i64>,
    name: Spanned<String>,
    meaning: Spanned<String>,
    #[serde(default)]
    hint: Option<Spanned<String>>,
    success: Spanned<bool>,
}

/// Builds errors pointing into one file.
struct Ctx<'a> {
    text: &'a str,
    source_name: &'a str,
}

impl Ctx<'_> {
    /// 1-based line and column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.as_bytes().get(..offset).unwrap_or(&[]);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    fn err(
        &self,
        offset: Option<usize>,
        field: Option<&'static str>,
        kind: VendorErrorKind,
    ) -> VendorError {
        let (line, column) = offset.map_or((0, 0), |o| self.position(o));
        VendorError {
            source_name: self.source_name.to_string(),
            line,
            column,
            field,
            kind,
        }
    }

    fn bad<T>(
        &self,
        at: &Spanned<T>,
        field: &'static str,
        found: String,
        expected: &'static str,
    ) -> VendorError {
        self.err(
            Some(at.span().start),
            Some(field),
            VendorErrorKind::BadValue { found, expected },
        )
    }

    /// Checks a required text field and returns it trimmed.
    fn text(&self, s: &Spanned<String>, field: &'static str) -> Result<String, VendorError> {
        let t = s.get_ref().trim();
        if t.is_empty() {
            return Err(self.bad(s, field, "an empty string".into(), "a non-empty text"));
        }
        let n = t.chars().count();
        if n > MAX_TEXT_CHARS {
            return Err(self.bad(
                s,
                field,
                format!("{n} characters"),
                "at most 500 characters",
            ));
        }
        Ok(t.to_string())
    }
}

/// Every key of the format, for naming the field of a TOML reader's error.
const FIELDS: [&str; 8] = [
    "vendor", "code", "versions", "packet", "name", "meaning", "hint", "success",
];

/// The known key quoted in a "missing field `x`" message, if any.
fn field_named_in(message: &str) -> Option<&'static str> {
    let rest = message.strip_prefix("missing field `")?;
    let name = rest.split('`').next()?;
    FIELDS.into_iter().find(|f| *f == name)
}

/// Parses a version label of a vendor file.
fn parse_version(s: &str) -> Option<Version> {
    match s.trim() {
        "3.1" => Some(Version::V3_1),
        "3.1.1" => Some(Version::V3_1_1),
        "5" | "5.0" => Some(Version::V5),
        _ => None,
    }
}

/// Parses and validates a vendor file; `loaded` is the number of vendor codes already held.
pub(super) fn parse(
    text: &str,
    source_name: &str,
    loaded: usize,
) -> Result<Vec<VendorCode>, VendorError> {
    let cx = Ctx { text, source_name };
    if text.len() > MAX_VENDOR_FILE_BYTES {
        return Err(cx.err(None, None, VendorErrorKind::TooLarge { bytes: text.len() }));
    }
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        cx.err(
            e.span().map(|s| s.start),
            field_named_in(e.message()),
            VendorErrorKind::Syntax(e.message().to_string()),
        )
    })?;
    let vendor = cx.text(&raw.vendor, "vendor")?;
    if raw.code.is_empty() {
        return Err(cx.err(None, None, VendorErrorKind::NoCodes));
    }
    if loaded.saturating_add(raw.code.len()) > MAX_VENDOR_CODES {
        return Err(cx.err(None, None, VendorErrorKind::TooMany));
    }
    let mut out: Vec<VendorCode> = Vec::with_capacity(raw.code.len());
    let mut lines: Vec<usize> = Vec::with_capacity(raw.code.len());
    for entry in &raw.code {
        let (line, _) = cx.position(entry.span().start);
        let c = entry.get_ref();
        let code = u8::try_from(*c.code.get_ref()).map_err(|_| {
            cx.bad(
                &c.code,
                "code",
                c.code.get_ref().to_string(),
                "an integer from 0 to 255 (0x00 to 0xFF)",
            )
        })?;
        let code = ReasonCode(code);
        let packet = PacketType::from_name(c.packet.get_ref().trim()).ok_or_else(|| {
            cx.bad(
                &c.packet,
                "packet",
                format!("{:?}", c.packet.get_ref()),
                "a packet type name such as \"CONNACK\"",
            )
        })?;
        if c.versions.get_ref().is_empty() {
            return Err(cx.bad(
                &c.versions,
                "versions",
                "an empty list".into(),
                "one or more of \"3.1\", \"3.1.1\", \"5.0\"",
            ));
        }
        let mut versions = VersionSet::default();
        for v in c.versions.get_ref() {
            let version = parse_version(v.get_ref()).ok_or_else(|| {
                cx.bad(
                    v,
                    "versions",
                    format!("{:?}", v.get_ref()),
                    "one of \"3.1\", \"3.1.1\", \"5.0\"",
                )
            })?;
            if !packets_with_codes(version).contains(packet) {
                let expected = if version.is_v5() {
                    "a packet type carrying a reason code in MQTT 5.0 (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH)"
                } else {
                    "a packet type carrying a return code in MQTT 3.x (CONNACK or SUBACK)"
                };
                return Err(cx.bad(&c.packet, "packet", packet.name().to_string(), expected));
            }
            if let Some(row) = standard_row(code, packet, version) {
                return Err(cx.err(
                    Some(c.code.span().start),
                    Some("code"),
                    VendorErrorKind::ConflictsWithStandard {
                        standard_name: row.name,
                    },
                ));
            }
            if version.is_v5() && *c.success.get_ref() != (code.0 < 0x80) {
                return Err(cx.bad(
                    &c.success,
                    "success",
                    c.success.get_ref().to_string(),
                    "success = true exactly for codes below 0x80 in MQTT 5.0 (§2.4)",
                ));
            }
            versions = versions.with(version);
        }
        let name = cx.text(&c.name, "name")?;
        let meaning = cx.text(&c.meaning, "meaning")?;
        let hint = c.hint.as_ref().map(|h| cx.text(h, "hint")).transpose()?;
        if let Some(i) = out
            .iter()
            .position(|o| o.code == code && o.packet == packet && o.versions.0 & versions.0 != 0)
        {
            let first_line = lines.get(i).copied().unwrap_or(0);
            return Err(cx.err(
                Some(entry.span().start),
                Some("code"),
                VendorErrorKind::Duplicate { first_line },
            ));
        }
        out.push(VendorCode {
            vendor: Cow::Owned(vendor.clone()),
            versions,
            packet,
            code,
            name: Cow::Owned(name),
            meaning: Cow::Owned(meaning),
            hint: hint.map(Cow::Owned),
            severity: if *c.success.get_ref() {
                Severity::Success
            } else {
                Severity::Failure
            },
            defined_at: Cow::Owned(format!("{source_name} line {line}")),
        });
        lines.push(line);
    }
    Ok(out)
}

/// Adds `new`, taking its versions away from earlier entries for the same packet and code.
pub(super) fn insert_replacing(codes: &mut Vec<VendorCode>, new: VendorCode) {
    for old in codes.iter_mut() {
        if old.code == new.code && old.packet == new.packet {
            old.versions = VersionSet(old.versions.0 & !new.versions.0);
        }
    }
    codes.retain(|c| !c.versions.is_empty());
    codes.push(new);
}
