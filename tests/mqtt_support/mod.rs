//! TEST-ONLY MQTT encoder and owned packet model, for round-trip property tests.
#![allow(dead_code)]

use mqttscope::mqtt::packet::Packet;
use mqttscope::mqtt::property::{PropValue, Properties};

/// An owned property, as the encoder writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prop {
    Byte(u8, u8),
    Two(u8, u16),
    Four(u8, u32),
    Var(u8, u32),
    Str(u8, String),
    Bin(u8, Vec<u8>),
    Pair(String, String),
}

/// Will properties, topic, payload, QoS, retain.
pub type WillModel = (Vec<Prop>, String, Vec<u8>, u8, bool);

/// An owned packet model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum M {
    Connect {
        level: u8,
        clean: bool,
        keep_alive: u16,
        props: Vec<Prop>,
        client_id: String,
        will: Option<WillModel>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    Connack {
        session_present: bool,
        code: u8,
        props: Vec<Prop>,
    },
    Publish {
        dup: bool,
        qos: u8,
        retain: bool,
        topic: String,
        packet_id: Option<u16>,
        props: Vec<Prop>,
        payload: Vec<u8>,
    },
    Ack {
        ptype: u8,
        packet_id: u16,
        code: u8,
        implied: bool,
        props: Vec<Prop>,
    },
    Subscribe {
        packet_id: u16,
        props: Vec<Prop>,
        subs: Vec<(String, u8)>,
    },
    Suback {
        unsuback: bool,
        packet_id: u16,
        props: Vec<Prop>,
        codes: Vec<u8>,
    },
    Unsubscribe {
        packet_id: u16,
        props: Vec<Prop>,
        filters: Vec<String>,
    },
    Ping {
        resp: bool,
    },
    ReasonProps {
        auth: bool,
        code: u8,
        implied: bool,
        props: Vec<Prop>,
    },
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let mut b = (v & 0x7f) as u8;
        v >>= 7;
        if v > 0 {
            b |= 0x80;
        }
        out.push(b);
        if v == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

pub fn encode_props(props: &[Prop]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in props {
        match p {
            Prop::Byte(id, v) => b.extend([*id, *v]),
            Prop::Two(id, v) => {
                b.push(*id);
                b.extend(v.to_be_bytes())
            }
            Prop::Four(id, v) => {
                b.push(*id);
                b.extend(v.to_be_bytes())
            }
            Prop::Var(id, v) => {
                b.push(*id);
                put_varint(&mut b, *v)
            }
            Prop::Str(id, s) => {
                b.push(*id);
                put_str(&mut b, s.as_bytes())
            }
            Prop::Bin(id, s) => {
                b.push(*id);
                put_str(&mut b, s)
            }
            Prop::Pair(k, v) => {
                b.push(0x26);
                put_str(&mut b, k.as_bytes());
                put_str(&mut b, v.as_bytes())
            }
        }
    }
    b
}

fn put_props(out: &mut Vec<u8>, v5: bool, props: &[Prop]) {
    if v5 {
        let b = encode_props(props);
        put_varint(out, b.len() as u32);
        out.extend(b);
    }
}

/// Encodes a model packet for protocol level `level` (4 or 5); `long` picks the longer of
/// two equivalent encodings where 5.0 allows a choice (length-4 vs length-3 acks).
pub fn encode(m: &M, level: u8, long: bool) -> Vec<u8> {
    let v5 = level == 5;
    let mut body = Vec::new();
    let (ptype, flags) = match m {
        M::Connect {
            level,
            clean,
            keep_alive,
            props,
            client_id,
            will,
            username,
            password,
        } => {
            put_str(&mut body, if *level == 3 { b"MQIsdp" } else { b"MQTT" });
            body.push(*level);
            let mut f = (*clean as u8) << 1;
            if let Some((_, _, _, q, r)) = will {
                f |= 0x04 | (q << 3) | ((*r as u8) << 5);
            }
            f |= (username.is_some() as u8) << 7 | (password.is_some() as u8) << 6;
            body.push(f);
            body.extend(keep_alive.to_be_bytes());
            put_props(&mut body, *level == 5, props);
            put_str(&mut body, client_id.as_bytes());
            if let Some((wp, t, p, _, _)) = will {
                put_props(&mut body, *level == 5, wp);
                put_str(&mut body, t.as_bytes());
                put_str(&mut body, p);
            }
            if let Some(u) = username {
                put_str(&mut body, u.as_bytes());
            }
            if let Some(p) = password {
                put_str(&mut body, p);
            }
            (1, 0)
        }
        M::Connack {
            session_present,
            code,
            props,
        } => {
            body.push(*session_present as u8);
            body.push(*code);
            put_props(&mut body, v5, props);
            (2, 0)
        }
        M::Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            props,
            payload,
        } => {
            put_str(&mut body, topic.as_bytes());
            if let Some(id) = packet_id {
                body.extend(id.to_be_bytes());
            }
            put_props(&mut body, v5, props);
            body.extend(payload);
            (3, (*dup as u8) << 3 | qos << 1 | *retain as u8)
        }
        M::Ack {
            ptype,
            packet_id,
            code,
            implied,
            props,
        } => {
            body.extend(packet_id.to_be_bytes());
            if v5 && !implied {
                body.push(*code);
                if !props.is_empty() || long {
                    put_props(&mut body, v5, props);
                }
            }
            (*ptype, if *ptype == 6 { 2 } else { 0 })
        }
        M::Subscribe {
            packet_id,
            props,
            subs,
        } => {
            body.extend(packet_id.to_be_bytes());
            put_props(&mut body, v5, props);
            for (f, o) in subs {
                put_str(&mut body, f.as_bytes());
                body.push(*o);
            }
            (8, 2)
        }
        M::Suback {
            unsuback,
            packet_id,
            props,
            codes,
        } => {
            body.extend(packet_id.to_be_bytes());
            put_props(&mut body, v5, props);
            body.extend(codes);
            (if *unsuback { 11 } else { 9 }, 0)
        }
        M::Unsubscribe {
            packet_id,
            props,
            filters,
        } => {
            body.extend(packet_id.to_be_bytes());
            put_props(&mut body, v5, props);
            for f in filters {
                put_str(&mut body, f.as_bytes());
            }
            (10, 2)
        }
        M::Ping { resp } => (if *resp { 13 } else { 12 }, 0),
        M::ReasonProps {
            auth,
            code,
            implied,
            props,
        } => {
            if v5 && !implied {
                body.push(*code);
                if !props.is_empty() || long {
                    put_props(&mut body, v5, props);
                }
            }
            (if *auth { 15 } else { 14 }, 0)
        }
    };
    let mut out = vec![ptype << 4 | flags];
    put_varint(&mut out, body.len() as u32);
    out.extend(body);
    out
}

pub fn props_model(p: &Properties<'_>) -> Vec<Prop> {
    p.iter()
        .map(|p| match p.value {
            PropValue::Byte(v) => Prop::Byte(p.id.0, v),
            PropValue::TwoByte(v) => Prop::Two(p.id.0, v),
            PropValue::FourByte(v) => Prop::Four(p.id.0, v),
            PropValue::Varint(v) => Prop::Var(p.id.0, v),
            PropValue::Utf8(s) => Prop::Str(p.id.0, s.into()),
            PropValue::Binary(s) => Prop::Bin(p.id.0, s.into()),
            PropValue::Pair(k, v) => Prop::Pair(k.into(), v.into()),
        })
        .collect()
}

/// The owned model of a decoded packet.
pub fn model(p: &Packet<'_>) -> M {
    let pm = props_model;
    match p {
        Packet::Connect(c) => M::Connect {
            level: c.level.0,
            clean: c.flags.clean_start(),
            keep_alive: c.keep_alive,
            props: pm(&c.properties),
            client_id: c.client_id.into(),
            will: c.will.as_ref().map(|w| {
                (
                    pm(&w.properties),
                    w.topic.into(),
                    w.payload.into(),
                    w.qos,
                    w.retain,
                )
            }),
            username: c.username.map(Into::into),
            password: c.password.map(Into::into),
        },
        Packet::Connack(c) => M::Connack {
            session_present: c.session_present,
            code: c.code.0,
            props: pm(&c.properties),
        },
        Packet::Publish(p) => M::Publish {
            dup: p.dup,
            qos: p.qos,
            retain: p.retain,
            topic: p.topic.into(),
            packet_id: p.packet_id,
            props: pm(&p.properties),
            payload: p.payload.into(),
        },
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => M::Ack {
            ptype: p.ptype().0,
            packet_id: a.packet_id,
            code: a.code.0,
            implied: a.code_implied,
            props: pm(&a.properties),
        },
        Packet::Subscribe(s) => M::Subscribe {
            packet_id: s.packet_id,
            props: pm(&s.properties),
            subs: s
                .filters
                .iter()
                .map(|s| (s.filter.into(), s.options.0))
                .collect(),
        },
        Packet::Suback(s) | Packet::Unsuback(s) => M::Suback {
            unsuback: matches!(p, Packet::Unsuback(_)),
            packet_id: s.packet_id,
            props: pm(&s.properties),
            codes: s.codes().map(|c| c.0).collect(),
        },
        Packet::Unsubscribe(u) => M::Unsubscribe {
            packet_id: u.packet_id,
            props: pm(&u.properties),
            filters: u.filters.iter().map(Into::into).collect(),
        },
        Packet::Pingreq => M::Ping { resp: false },
        Packet::Pingresp => M::Ping { resp: true },
        Packet::Disconnect(r) | Packet::Auth(r) => M::ReasonProps {
            auth: matches!(p, Packet::Auth(_)),
            code: r.code.0,
            implied: r.code_implied,
            props: pm(&r.properties),
        },
    }
}
