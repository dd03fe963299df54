//! MQTT control packet encoders for the generator (MQTT 3.1.1 §2-3, MQTT 5.0 §2-3).
//!
//! Each function appends one whole packet to `out`; nothing here allocates beyond `out`.

/// Protocol version of a generated connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ver {
    /// MQTT 3.1 ("MQIsdp", level 3).
    V31,
    /// MQTT 3.1.1 ("MQTT", level 4).
    V311,
    /// MQTT 5.0 ("MQTT", level 5).
    V5,
}

/// Appends the Variable Byte Integer `n` (§1.5.5 in 5.0, §2.2.3 in 3.1.1).
pub fn varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn str16(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// Writes fixed header `first` and the body built by `body` (length patched afterwards).
fn packet(out: &mut Vec<u8>, first: u8, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(first);
    // The body is built after a 4-byte placeholder, then moved down to its real place.
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body_at = out.len();
    body(out);
    let body_len = out.len() - body_at;
    let mut len = Vec::with_capacity(4);
    varint(&mut len, body_len);
    let shift = 4 - len.len();
    out[len_at..len_at + len.len()].copy_from_slice(&len);
    if shift > 0 {
        out.copy_within(body_at.., body_at - shift);
        out.truncate(out.len() - shift);
    }
}

/// Appends a v5 property block from raw property bytes.
fn props(out: &mut Vec<u8>, raw: &[u8]) {
    varint(out, raw.len());
    out.extend_from_slice(raw);
}

/// What a CONNECT carries.
pub struct Connect<'a> {
    /// Version.
    pub ver: Ver,
    /// Client identifier.
    pub client_id: &'a [u8],
    /// Keep-alive seconds.
    pub keep_alive: u16,
    /// Clean session / clean start.
    pub clean: bool,
    /// User name and password.
    pub login: Option<(&'a [u8], &'a [u8])>,
    /// Will topic and payload (QoS 1).
    pub will: Option<(&'a [u8], &'a [u8])>,
}

/// CONNECT (§3.1).
pub fn connect(out: &mut Vec<u8>, c: &Connect<'_>) {
    packet(out, 0x10, |b| {
        match c.ver {
            Ver::V31 => {
                str16(b, b"MQIsdp");
                b.push(3);
            }
            Ver::V311 => {
                str16(b, b"MQTT");
                b.push(4);
            }
            Ver::V5 => {
                str16(b, b"MQTT");
                b.push(5);
            }
        }
        let mut flags = 0u8;
        if c.clean {
            flags |= 0x02;
        }
        if c.will.is_some() {
            flags |= 0x04 | 0x08;
        }
        if c.login.is_some() {
            flags |= 0x80 | 0x40;
        }
        b.push(flags);
        b.extend_from_slice(&c.keep_alive.to_be_bytes());
        if c.ver == Ver::V5 {
            // Session Expiry Interval 0x11, Receive Maximum 0x21, Topic Alias Maximum 0x22.
            props(b, &[0x11, 0, 0, 0x0e, 0x10, 0x21, 0, 20, 0x22, 0, 10]);
        }
        str16(b, c.client_id);
        if let Some((t, p)) = c.will {
            if c.ver == Ver::V5 {
                props(b, &[]);
            }
            str16(b, t);
            str16(b, p);
        }
        if let Some((u, p)) = c.login {
            str16(b, u);
            str16(b, p);
        }
    });
}

/// CONNACK (§3.2) with return / reason code `rc`.
pub fn connack(out: &mut Vec<u8>, ver: Ver, session_present: bool, rc: u8) {
    packet(out, 0x20, |b| {
        b.push(u8::from(session_present));
        b.push(rc);
        if ver == Ver::V5 {
            if rc >= 0x80 {
                // Reason String 0x1F.
                let mut p = vec![0x1f];
                str16(&mut p, b"refused by the generator's broker");
                props(b, &p);
            } else {
                // Topic Alias Maximum 0x22, Receive Maximum 0x21.
                props(b, &[0x22, 0, 10, 0x21, 0, 32]);
            }
        }
    });
}

/// What a PUBLISH carries.
pub struct Publish<'a> {
    /// Version.
    pub ver: Ver,
    /// Topic name (empty with an alias).
    pub topic: &'a [u8],
    /// QoS 0-2.
    pub qos: u8,
    /// Packet identifier (QoS > 0).
    pub pid: u16,
    /// Retain flag.
    pub retain: bool,
    /// Topic Alias property (5.0).
    pub alias: Option<u16>,
    /// Payload length; the payload bytes are generated from `fill`.
    pub payload_len: usize,
    /// Seed of the payload bytes.
    pub fill: u8,
}

/// PUBLISH (§3.3); the payload is printable JSON-ish text.
pub fn publish(out: &mut Vec<u8>, p: &Publish<'_>) {
    let first = 0x30 | (p.qos << 1) | u8::from(p.retain);
    packet(out, first, |b| {
        str16(b, p.topic);
        if p.qos > 0 {
            b.extend_from_slice(&p.pid.to_be_bytes());
        }
        if p.ver == Ver::V5 {
            match p.alias {
                Some(a) => {
                    let [hi, lo] = a.to_be_bytes();
                    props(b, &[0x23, hi, lo]);
                }
                None => props(b, &[]),
            }
        }
        let head = b"{\"v\":";
        let n = p.payload_len;
        let start = b.len();
        b.extend(head.iter().take(n).copied());
        let mut x = p.fill;
        while b.len() - start < n {
            b.push(b'0' + x % 10);
            x = x.wrapping_mul(31).wrapping_add(7);
        }
    });
}

/// PUBACK / PUBREC / PUBREL / PUBCOMP (§3.4-3.7): `first` is 0x40, 0x50, 0x62 or 0x70.
pub fn ack(out: &mut Vec<u8>, ver: Ver, first: u8, pid: u16, rc: u8) {
    packet(out, first, |b| {
        b.extend_from_slice(&pid.to_be_bytes());
        if ver == Ver::V5 && rc != 0 {
            b.push(rc);
        }
    });
}

/// SUBSCRIBE (§3.8) with (filter, options) pairs.
pub fn subscribe(out: &mut Vec<u8>, ver: Ver, pid: u16, filters: &[(&[u8], u8)]) {
    packet(out, 0x82, |b| {
        b.extend_from_slice(&pid.to_be_bytes());
        if ver == Ver::V5 {
            props(b, &[]);
        }
        for (f, o) in filters {
            str16(b, f);
            b.push(*o);
        }
    });
}

/// SUBACK (§3.9) with one code per filter.
pub fn suback(out: &mut Vec<u8>, ver: Ver, pid: u16, codes: &[u8]) {
    packet(out, 0x90, |b| {
        b.extend_from_slice(&pid.to_be_bytes());
        if ver == Ver::V5 {
            props(b, &[]);
        }
        b.extend_from_slice(codes);
    });
}

/// PINGREQ (§3.12).
pub fn pingreq(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xc0, 0]);
}

/// PINGRESP (§3.13).
pub fn pingresp(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xd0, 0]);
}

/// DISCONNECT (§3.14) with reason code `rc` in 5.0.
pub fn disconnect(out: &mut Vec<u8>, ver: Ver, rc: u8) {
    if ver == Ver::V5 && rc != 0 {
        out.extend_from_slice(&[0xe0, 1, rc]);
    } else {
        out.extend_from_slice(&[0xe0, 0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_spec_examples() {
        // MQTT 5.0 §1.5.5 table: 127 -> 1 byte, 128 -> 0x80 0x01, 16 383 -> 0xFF 0x7F.
        let mut v = Vec::new();
        varint(&mut v, 127);
        assert_eq!(v, [0x7f]);
        v.clear();
        varint(&mut v, 128);
        assert_eq!(v, [0x80, 0x01]);
        v.clear();
        varint(&mut v, 16_383);
        assert_eq!(v, [0xff, 0x7f]);
    }

    #[test]
    fn publish_length_is_patched_for_a_two_byte_varint() {
        let mut v = Vec::new();
        publish(
            &mut v,
            &Publish {
                ver: Ver::V311,
                topic: b"a/b",
                qos: 1,
                pid: 7,
                retain: false,
                alias: None,
                payload_len: 200,
                fill: 3,
            },
        );
        // Body: 2 + 3 (topic) + 2 (pid) + 200 = 207 -> 0xCF 0x01.
        assert_eq!(&v[..3], &[0x32, 0xcf, 0x01]);
        assert_eq!(v.len(), 3 + 207);
        assert_eq!(&v[3..8], b"\x00\x03a/b");
    }
}
