//! Event filters shared by the command line and the TUI: `type:PUBLISH client:sensor-*
//! topic:home/+/temp rc:0x87 conn:10.0.0.1:1883 failed slow>100ms`, all terms combined with AND.

use crate::event::{Event, EventKind, Outcome};
use crate::mqtt::types::{PacketType, ReasonCode};
use std::fmt;

/// One filter term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// Packet type is one of these.
    Type(Vec<PacketType>),
    /// Client id matches a glob (`*` and `?`).
    Client(String),
    /// PUBLISH topic (resolved) or a SUBSCRIBE/UNSUBSCRIBE filter matches an MQTT topic filter.
    Topic(String),
    /// The packet carries this reason code.
    Rc(ReasonCode),
    /// Either endpoint of the connection is this address:port (or this address).
    Conn(String),
    /// Non-success codes, malformed packets, anomalies and stream damage.
    Failed,
    /// Answers slower than this many nanoseconds.
    Slow(i64),
}

/// A conjunction of terms; the empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The terms, all of which must match.
    pub terms: Vec<Term>,
}

/// Why a filter expression does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// The offending word.
    pub word: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid filter term {:?}: {}", self.word, self.reason)
    }
}

impl std::error::Error for FilterError {}

/// Parses a reason code written as 0x87, 0X87 or 135.
pub fn parse_code(s: &str) -> Option<ReasonCode> {
    let s = s.trim();
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u8::from_str_radix(h, 16).ok()?
    } else {
        s.parse::<u8>().ok()?
    };
    Some(ReasonCode(v))
}

/// Parses a duration such as `100ms`, `2s`, `1.5s`, `250us` into nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix("ns") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e9)
    } else {
        (s, 1e6)
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some((v * mult) as i64)
}

/// Parses a list of packet type names separated by commas.
pub fn parse_types(s: &str) -> Result<Vec<PacketType>, FilterError> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(|t| {
            PacketType::from_name(t).ok_or_else(|| FilterError {
                word: t.to_string(),
                reason: "not an MQTT packet type (CONNECT ... AUTH)".into(),
            })
        })
        .collect()
}

impl Filter {
    /// Parses the TUI / command-line syntax: words separated by spaces.
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        let mut terms = Vec::new();
        for word in expr.split_whitespace() {
            terms.push(Self::parse_word(word)?);
        }
        Ok(Filter { terms })
    }

    fn parse_word(word: &str) -> Result<Term, FilterError> {
        let err = |reason: &str| FilterError {
            word: word.to_string(),
            reason: reason.to_string(),
        };
        if word.eq_ignore_ascii_case("failed") || word.eq_ignore_ascii_case("errors") {
            return Ok(Term::Failed);
        }
        if let Some(d) = word.strip_prefix("slow>") {
            return parse_duration(d)
                .map(Term::Slow)
                .ok_or_else(|| err("expected a duration such as 100ms or 1.5s"));
        }
        let Some((key, value)) = word.split_once(':') else {
            return Err(err(
                "expected key:value (type, client, topic, rc, conn), failed or slow>DURATION",
            ));
        };
        if value.is_empty() {
            return Err(err("empty value"));
        }
        match key.to_ascii_lowercase().as_str() {
            "type" => parse_types(value).map(Term::Type),
            "client" => Ok(Term::Client(value.to_string())),
            "topic" => {
                validate_topic_filter(value).map_err(&err)?;
                Ok(Term::Topic(value.to_string()))
            }
            "rc" => parse_code(value)
                .map(Term::Rc)
                .ok_or_else(|| err("expected a code such as 0x87 or 135")),
            "conn" => Ok(Term::Conn(value.to_string())),
            _ => Err(err("unknown key (type, client, topic, rc, conn)")),
        }
    }

    /// True when the filter has no term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// True when every term matches the event.
    pub fn matches(&self, ev: &Event) -> bool {
        self.terms.iter().all(|t| term_matches(t, ev))
    }
}

fn term_matches(term: &Term, ev: &Event) -> bool {
    let pkt = match &ev.kind {
        EventKind::Packet(p) => Some(p),
        _ => None,
    };
    match term {
        Term::Failed => {
            !ev.anomalies.is_empty()
                || pkt.is_none_or(|p| p.outcome >= Outcome::Failure)
                    && !matches!(ev.kind, EventKind::ConnOpen)
                    && !matches!(&ev.kind, EventKind::ConnClose(c) if c.unanswered.is_empty())
        }
        Term::Type(types) => pkt.is_some_and(|p| types.contains(&p.ptype)),
        Term::Client(glob) => ev
            .conn
            .client_id
            .as_deref()
            .is_some_and(|id| glob_match(glob, id)),
        Term::Topic(f) => pkt.is_some_and(|p| {
            p.topic_resolved
                .as_deref()
                .or(p.topic.as_deref())
                .is_some_and(|t| topic_matches(f, t))
                || p.topics
                    .iter()
                    .any(|e| topic_matches(f, &e.topic) || e.topic == *f)
        }),
        Term::Rc(c) => pkt.is_some_and(|p| p.reason_codes.contains(c)),
        Term::Conn(a) => {
            let (c, s) = (ev.conn.client.to_string(), ev.conn.server.to_string());
            let ip_of = |x: &std::net::SocketAddr| x.ip().to_string();
            c == *a || s == *a || ip_of(&ev.conn.client) == *a || ip_of(&ev.conn.server) == *a
        }
        Term::Slow(ns) => pkt.is_some_and(|p| p.answers.is_some_and(|a| a.latency_ns > *ns)),
    }
}

/// Checks an MQTT topic filter (MQTT 5.0 §4.7.1): `#` only last and alone in its level, `+`
/// alone in its level.
pub fn validate_topic_filter(f: &str) -> Result<(), &'static str> {
    let levels: Vec<&str> = f.split('/').collect();
    for (i, l) in levels.iter().enumerate() {
        if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
            return Err("'#' must be the last level, alone");
        }
        if l.contains('+') && *l != "+" {
            return Err("'+' must be alone in its level");
        }
    }
    Ok(())
}

/// True when the topic name matches the MQTT topic filter (MQTT 5.0 §4.7): `+` one level,
/// `#` any remaining levels (including none); filters starting with a wildcard do not match
/// topics starting with `$`.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let (filter, topic) = (filter.as_bytes(), topic.as_bytes());
    if topic.first() == Some(&b'$') && matches!(filter.first(), Some(b'+' | b'#')) {
        return false;
    }
    // Byte-wise: '/' never occurs inside a multi-byte UTF-8 character.
    let mut f = filter.split(|&b| b == b'/');
    let mut t = topic.split(|&b| b == b'/');
    loop {
        match (f.next(), t.next()) {
            (Some(b"#"), _) => return true,
            (Some(b"+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Glob match with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_wildcards_follow_the_standard() {
        assert!(topic_matches("home/+/temp", "home/kitchen/temp"));
        assert!(!topic_matches("home/+/temp", "home/kitchen/hall/temp"));
        assert!(topic_matches("home/#", "home"));
        assert!(topic_matches("home/#", "home/a/b"));
        assert!(topic_matches("#", "a/b"));
        assert!(!topic_matches("#", "$SYS/broker"));
        assert!(topic_matches("$SYS/#", "$SYS/broker"));
        assert!(!topic_matches("home/temp", "home/temp/x"));
        // Empty levels, '+' on an empty level, and multi-byte characters compared byte-wise.
        assert!(topic_matches("a//b", "a//b"));
        assert!(topic_matches("a/+/b", "a//b"));
        assert!(!topic_matches("+", "$x"));
        assert!(topic_matches("m/ü/+", "m/ü/x"));
        assert!(!topic_matches("m/ü", "m/u"));
        assert!(topic_matches("+/+", "/"));
        assert!(topic_matches("+/+", "/x"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("sensor-*", "sensor-12"));
        assert!(!glob_match("sensor-*", "actuator-1"));
        assert!(glob_match("s?n*", "sensor"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn parses_the_tui_syntax() {
        let f = Filter::parse(
            "type:PUBLISH,suback client:sensor-* topic:home/+/temp rc:0x87 failed slow>100ms",
        )
        .expect("valid");
        assert_eq!(f.terms.len(), 6);
        assert_eq!(
            f.terms[0],
            Term::Type(vec![PacketType::PUBLISH, PacketType::SUBACK])
        );
        assert_eq!(f.terms[3], Term::Rc(ReasonCode(0x87)));
        assert_eq!(f.terms[5], Term::Slow(100_000_000));
        assert!(Filter::parse("type:PUBLISHX").is_err());
        assert!(Filter::parse("topic:a/#/b").is_err());
        assert!(Filter::parse("rc:0x1ff").is_err());
        assert!(Filter::parse("bogus").is_err());
        assert_eq!(parse_code("135"), Some(ReasonCode(0x87)));
    }
}
