//! Errors of the vendor-code loader: each names the file, line, column and field.

use std::fmt;

use super::vendor::{MAX_VENDOR_CODES, MAX_VENDOR_FILE_BYTES};

/// What is wrong with a vendor file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VendorErrorKind {
    /// The file is larger than [`MAX_VENDOR_FILE_BYTES`].
    TooLarge {
        /// Size of the file.
        bytes: usize,
    },
    /// The TOML does not parse, or a key is missing, unknown or of the wrong type.
    Syntax(String),
    /// The file defines no `[[code]]` entry.
    NoCodes,
    /// A value is not acceptable; `expected` says what would be.
    BadValue {
        /// The value found, as written.
        found: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The same version, packet type and code appear twice in the file.
    Duplicate {
        /// Line of the first definition.
        first_line: usize,
    },
    /// The standard already defines this code in this packet type and version.
    ConflictsWithStandard {
        /// The standard's name for it.
        standard_name: &'static str,
    },
    /// Loading would exceed [`MAX_VENDOR_CODES`].
    TooMany,
}

/// A vendor file error with its evidence: file, line, column and field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorError {
    /// The file name given to the loader.
    pub source_name: String,
    /// 1-based line, 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column (in characters), 0 when unknown.
    pub column: usize,
    /// The key concerned, when known.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub kind: VendorErrorKind,
}

impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vendor codes file {}", self.source_name)?;
        if self.line > 0 {
            write!(f, ", line {}, column {}", self.line, self.column)?;
        }
        if let Some(field) = self.field {
            write!(f, ", field `{field}`")?;
        }
        f.write_str(": ")?;
        match &self.kind {
            VendorErrorKind::TooLarge { bytes } => write!(
                f,
                "the file has {bytes} bytes but at most {MAX_VENDOR_FILE_BYTES} are accepted"
            ),
            VendorErrorKind::Syntax(msg) => write!(f, "{}", msg.trim_end()),
            VendorErrorKind::NoCodes => f.write_str("the file defines no [[code]] entry"),
            VendorErrorKind::BadValue { found, expected } => {
                write!(f, "found {found}, expected {expected}")
            }
            VendorErrorKind::Duplicate { first_line } => write!(
                f,
                "this version, packet type and code were already defined on line {first_line}"
            ),
            VendorErrorKind::ConflictsWithStandard { standard_name } => write!(
                f,
                "the standard already defines this code here as \"{standard_name}\"; \
                 a vendor table may only add codes the standard does not allow"
            ),
            VendorErrorKind::TooMany => write!(
                f,
                "loading it would exceed {MAX_VENDOR_CODES} vendor codes in total"
            ),
        }
    }
}

impl std::error::Error for VendorError {}
