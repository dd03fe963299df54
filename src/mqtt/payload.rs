//! Bounded, printable previews of PUBLISH and Will payloads: text, JSON or hex.

use std::fmt::Write as _;

/// How a payload was rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewKind {
    /// Zero bytes.
    Empty,
    /// UTF-8 text, control characters escaped.
    Text,
    /// JSON, re-rendered compact or pretty (key order and numbers kept as sent).
    Json,
    /// Hex bytes.
    Hex,
}

/// JSON layout for [`preview_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonStyle {
    /// One line, no insignificant whitespace.
    Compact,
    /// Two-space indentation.
    Pretty,
}

/// A bounded rendering of a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// How it was rendered.
    pub kind: PreviewKind,
    /// The rendering, at most `max` characters plus the truncation marker.
    pub text: String,
    /// True when `text` stops before the end of the payload.
    pub truncated: bool,
    /// Length of the whole payload in bytes.
    pub full_len: usize,
}

/// Largest payload parsed as JSON without a Content Type or Format Indicator hint.
const JSON_SNIFF_MAX: usize = 64 * 1024;

/// Previews a payload compactly (see [`preview_with`]).
pub fn preview(
    payload: &[u8],
    format_indicator: Option<u8>,
    content_type: Option<&str>,
    max: usize,
) -> Preview {
    preview_with(
        payload,
        format_indicator,
        content_type,
        max,
        JsonStyle::Compact,
    )
}

/// Previews a payload: JSON when it parses (hinted by a Content Type containing "json",
/// or sniffed when it starts with `{` or `[`), text when UTF-8 (5.0 §3.3.2.3.2 Payload
/// Format Indicator 1 says so), otherwise hex; bounded by `max` characters.
pub fn preview_with(
    payload: &[u8],
    format_indicator: Option<u8>,
    content_type: Option<&str>,
    max: usize,
    style: JsonStyle,
) -> Preview {
    let full_len = payload.len();
    if payload.is_empty() {
        return Preview {
            kind: PreviewKind::Empty,
            text: String::new(),
            truncated: false,
            full_len,
        };
    }
    let json_hint = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    // A Payload Format Indicator of 1 (UTF-8 text) lifts the sniffing size limit.
    let text_hint = format_indicator == Some(1);
    let sniff =
        matches!(first, Some(b'{' | b'[')) && (text_hint || payload.len() <= JSON_SNIFF_MAX);
    if (json_hint || sniff) && serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok() {
        let mut out = Bounded::new(max);
        render_json(payload, style, &mut out);
        return out.finish(PreviewKind::Json, full_len);
    }
    if let Ok(s) = std::str::from_utf8(payload) {
        let mut out = Bounded::new(max);
        for c in s.chars() {
            if !out.push_escaped(c) {
                break;
            }
        }
        return out.finish(PreviewKind::Text, full_len);
    }
    let mut out = Bounded::new(max);
    for (i, b) in payload.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        if !out.push_str(&format!("{sep}{b:02x}")) {
            break;
        }
    }
    out.finish(PreviewKind::Hex, full_len)
}

/// A string that refuses to grow past `max` characters.
struct Bounded {
    s: String,
    chars: usize,
    max: usize,
    full: bool,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Bounded {
            s: String::with_capacity(max.min(4096)),
            chars: 0,
            max,
            full: false,
        }
    }

    /// Appends all of `piece` or nothing; false once the bound is hit.
    fn push_str(&mut self, piece: &str) -> bool {
        let n = piece.chars().count();
        if self.full || self.chars + n > self.max {
            self.full = true;
            return false;
        }
        self.s.push_str(piece);
        self.chars += n;
        true
    }

    fn push_escaped(&mut self, c: char) -> bool {
        match c {
            '\n' => self.push_str("\\n"),
            '\r' => self.push_str("\\r"),
            '\t' => self.push_str("\\t"),
            '\\' => self.push_str("\\\\"),
            c if c.is_control() => {
                let mut buf = String::new();
                let _ = write!(buf, "\\u{{{:x}}}", c as u32);
                self.push_str(&buf)
            }
            c => {
                let mut b = [0u8; 4];
                self.push_str(c.encode_utf8(&mut b))
            }
        }
    }

    fn finish(mut self, kind: PreviewKind, full_len: usize) -> Preview {
        if self.full {
            let _ = write!(self.s, "…(truncated, {full_len} bytes)");
        }
        Preview {
            kind,
            text: self.s,
            truncated: self.full,
            full_len,
        }
    }
}

/// Re-renders already-validated JSON without reordering keys or touching numbers.
fn render_json(src: &[u8], style: JsonStyle, out: &mut Bounded) {
    let text = String::from_utf8_lossy(src);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut Bounded, depth: usize| {
        out.push_str("\n") && (0..depth).all(|_| out.push_str("  "))
    };
    while let Some(c) = chars.next() {
        let ok = if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            let mut b = [0u8; 4];
            out.push_str(c.encode_utf8(&mut b))
        } else {
            match c {
                c if c.is_whitespace() => true,
                '"' => {
                    in_str = true;
                    out.push_str("\"")
                }
                '{' | '[' => {
                    depth += 1;
                    let close =
                        matches!(chars.clone().find(|c| !c.is_whitespace()), Some('}' | ']'));
                    let mut b = [0u8; 4];
                    out.push_str(c.encode_utf8(&mut b))
                        && (style == JsonStyle::Compact || close || newline(out, depth))
                }
                '}' | ']' => {
                    depth = depth.saturating_sub(1);
                    let mut b = [0u8; 4];
                    let empty = out.s.ends_with(['{', '[']);
                    (style == JsonStyle::Compact || empty || newline(out, depth))
                        && out.push_str(c.encode_utf8(&mut b))
                }
                ',' => out.push_str(",") && (style == JsonStyle::Compact || newline(out, depth)),
                ':' => out.push_str(if style == JsonStyle::Pretty {
                    ": "
                } else {
                    ":"
                }),
                c => {
                    let mut b = [0u8; 4];
                    out.push_str(c.encode_utf8(&mut b))
                }
            }
        };
        if !ok {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_compact_and_pretty_keep_order() {
        let p = preview(
            br#" { "b" : 1, "a" : [ 1 , 2 ], "e": {} } "#,
            None,
            None,
            100,
        );
        assert_eq!(p.kind, PreviewKind::Json);
        assert_eq!(p.text, r#"{"b":1,"a":[1,2],"e":{}}"#);
        let p = preview_with(br#"{"b":1,"a":[2]}"#, None, None, 100, JsonStyle::Pretty);
        assert_eq!(p.text, "{\n  \"b\": 1,\n  \"a\": [\n    2\n  ]\n}");
    }

    #[test]
    fn text_hex_and_bounds() {
        let p = preview(b"hi\n\x1b", Some(1), None, 100);
        assert_eq!(
            (p.kind, p.text.as_str()),
            (PreviewKind::Text, "hi\\n\\u{1b}")
        );
        let p = preview(&[0xff, 0x00, 0x10], None, None, 100);
        assert_eq!((p.kind, p.text.as_str()), (PreviewKind::Hex, "ff 00 10"));
        let p = preview(b"abcdefghij", None, None, 4);
        assert!(p.truncated);
        assert_eq!(p.text, "abcd…(truncated, 10 bytes)");
        assert_eq!(p.full_len, 10);
        let p = preview(b"{\"k\": \"not closed", None, Some("application/json"), 100);
        assert_eq!(p.kind, PreviewKind::Text);
    }
}
