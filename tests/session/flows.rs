//! Pairing with latency, SUBACK outcomes, topic aliases, AUTH exchanges, keep-alive times and
//! what a close reports, checked value by value.

use crate::harness::*;
use mqttscope::event::{Anomaly, SubOutcome};
use mqttscope::mqtt::types::{PacketType, ReasonCode};
use mqttscope::tcp::CloseReason;

#[test]
fn qos2_chains_pair_in_both_directions_with_latency() {
    let mut c = Conn::new(5);
    c.step(0, C2S, &connect(5, "q", 60, vec![]));
    let connack = c.step(3, S2C, &connack(0, vec![]));
    assert_eq!(connack.answers(), Some((0, 3)));
    // Client -> server, ids 1; server -> client, also id 1 (separate id spaces).
    let p1 = c.step(10, C2S, &publish(2, "a", Some(1), vec![]));
    let p2 = c.step(11, S2C, &publish(2, "b", Some(1), vec![]));
    let rec1 = c.step(15, S2C, &pubrec(1, 0));
    let rec2 = c.step(17, C2S, &pubrec(1, 0));
    let rel1 = c.step(20, C2S, &pubrel(1));
    let rel2 = c.step(21, S2C, &pubrel(1));
    let comp1 = c.step(30, S2C, &pubcomp(1));
    let comp2 = c.step(41, C2S, &pubcomp(1));
    assert_eq!(rec1.answers(), Some((p1.event, 5)));
    assert_eq!(rec2.answers(), Some((p2.event, 6)));
    assert_eq!(rel1.answers(), Some((rec1.event, 5)));
    assert_eq!(rel2.answers(), Some((rec2.event, 4)));
    assert_eq!(comp1.answers(), Some((rel1.event, 10)));
    assert_eq!(comp2.answers(), Some((rel2.event, 20)));
    for s in [&rec1, &rec2, &rel1, &rel2, &comp1, &comp2] {
        assert!(s.anomalies.is_empty(), "{:?}", s.anomalies);
    }
    assert_eq!(c.st.publishes_in_flight(C2S), 0);
    assert_eq!(c.st.publishes_in_flight(S2C), 0);
    let (close, _) = c.close(50, CloseReason::EndOfCapture);
    assert!(close.unanswered.is_empty(), "{:?}", close.unanswered);
}

#[test]
fn pubrel_after_a_failed_pubrec_still_pairs_with_its_pubcomp() {
    let mut c = Conn::new(5);
    c.step(0, C2S, &connect(5, "q", 60, vec![]));
    c.step(1, S2C, &connack(0, vec![]));
    c.step(2, C2S, &publish(2, "secret", Some(3), vec![]));
    c.step(3, S2C, &pubrec(3, 0x87));
    let rel = c.step(4, C2S, &pubrel(3));
    // Not an answer to nothing: the PUBREC was seen, but its failure freed the id.
    assert_eq!(rel.names(), vec!["pubrel_after_failed_pubrec"]);
    assert_eq!(
        rel.anomalies,
        vec![Anomaly::PubrelAfterFailedPubrec(ReasonCode(0x87))]
    );
    let comp = c.step(6, S2C, &pubcomp(3));
    assert_eq!(comp.answers(), Some((rel.event, 2)));
    assert!(comp.anomalies.is_empty());
    // Once: a second PUBREL for the id answers nothing.
    assert_eq!(c.step(7, C2S, &pubrel(3)).names(), vec!["orphan_answer"]);
    // A new QoS 2 PUBLISH reusing the id starts afresh: its PUBREL after a success is normal.
    c.step(8, C2S, &publish(2, "secret", Some(5), vec![]));
    c.step(9, S2C, &pubrec(5, 0x87));
    c.step(10, C2S, &publish(2, "ok", Some(5), vec![]));
    c.step(11, S2C, &pubrec(5, 0x00));
    assert!(c.step(12, C2S, &pubrel(5)).anomalies.is_empty());
}

#[test]
fn suback_codes_match_filters_in_order() {
    let mut c = Conn::new(5);
    c.step(0, C2S, &connect(5, "s", 60, vec![]));
    c.step(1, S2C, &connack(0, vec![]));
    let sub = c.step(
        2,
        C2S,
        &subscribe(7, &[("a/#", 0), ("b", 1), ("secret/x", 2), ("c", 2)]),
    );
    let ack = c.step(9, S2C, &suback(7, &[0x00, 0x01, 0x87, 0x01]));
    assert_eq!(ack.answers(), Some((sub.event, 7)));
    let o = |t: &str, r: u8, code: u8, downgraded: bool| SubOutcome {
        topic: t.into(),
        requested_qos: r,
        code: ReasonCode(code),
        downgraded,
    };
    assert_eq!(
        ack.info.sub_outcomes,
        vec![
            o("a/#", 0, 0x00, false),
            o("b", 1, 0x01, false),
            o("secret/x", 2, 0x87, false),
            o("c", 2, 0x01, true),
        ]
    );
}

#[test]
fn topic_aliases_per_direction_rebinding_and_reset() {
    let mut c = Conn::new(5);
    c.step(0, C2S, &connect(5, "al", 60, vec![topic_alias_maximum(4)]));
    c.step(1, S2C, &connack(0, vec![topic_alias_maximum(2)]));
    let bind = c.step(
        2,
        C2S,
        &publish(0, "long/topic", None, vec![topic_alias(1)]),
    );
    assert_eq!(bind.info.topic_resolved.as_deref(), Some("long/topic"));
    let used = c.step(3, C2S, &publish(0, "", None, vec![topic_alias(1)]));
    assert_eq!(used.info.topic_resolved.as_deref(), Some("long/topic"));
    assert!(used.anomalies.is_empty());
    // The server's alias 1 is another space: unbound there.
    let other = c.step(4, S2C, &publish(0, "", None, vec![topic_alias(1)]));
    assert_eq!(other.anomalies, vec![Anomaly::TopicAliasUnbound(1)]);
    // Server -> client aliases go up to the client's maximum (4), not the server's (2).
    let s3 = c.step(5, S2C, &publish(0, "down/x", None, vec![topic_alias(3)]));
    assert!(s3.anomalies.is_empty());
    // Rebinding over time.
    c.step(6, C2S, &publish(0, "remapped", None, vec![topic_alias(1)]));
    let again = c.step(7, C2S, &publish(0, "", None, vec![topic_alias(1)]));
    assert_eq!(again.info.topic_resolved.as_deref(), Some("remapped"));
    let over = c.step(8, C2S, &publish(0, "", None, vec![topic_alias(3)]));
    assert_eq!(over.anomalies, vec![Anomaly::TopicAliasAboveMaximum(3)]);
    let zero = c.step(9, C2S, &publish(0, "z", None, vec![topic_alias(0)]));
    // Alias 0 is flagged once, by the property check.
    assert_eq!(zero.names(), vec!["property_issue"]);
    assert_eq!(zero.info.topic_resolved, None);
    // A new connection starts with no bindings.
    let mut c2 = Conn::new(5);
    c2.step(0, C2S, &connect(5, "al", 60, vec![]));
    c2.step(1, S2C, &connack(0, vec![topic_alias_maximum(2)]));
    let fresh = c2.step(2, C2S, &publish(0, "", None, vec![topic_alias(1)]));
    assert_eq!(fresh.anomalies, vec![Anomaly::TopicAliasUnbound(1)]);
    assert_eq!(fresh.info.topic_resolved, None);
}

#[test]
fn aliases_before_connack_and_mid_stream() {
    // Before the CONNACK the client knows no Topic Alias Maximum: 0 applies.
    let mut c = Conn::new(5);
    c.step(0, C2S, &connect(5, "e", 60, vec![]));
    let early = c.step(1, C2S, &publish(0, "t", None, vec![topic_alias(1)]));
    assert_eq!(
        early.names(),
        vec!["publish_before_connack", "topic_alias_above_maximum"]
    );
    // Mid-stream, the maximum and earlier bindings are unknown: nothing is flagged.
    let mut m = Conn::mid_stream(5);
    let a = m.step(0, C2S, &publish(0, "", None, vec![topic_alias(9)]));
    let b = m.step(1, S2C, &puback(4, 0));
    assert!(a.anomalies.is_empty() && b.anomalies.is_empty());
}

#[test]
fn auth_exchange_pairs_every_step_and_the_connack_ends_it() {
    let mut c = Conn::new(5);
    let conn = c.step(0, C2S, &connect(5, "au", 60, vec![authentication_method()]));
    let a1 = c.step(2, S2C, &auth(0x18));
    assert_eq!(a1.answers(), Some((conn.event, 2)));
    let a2 = c.step(5, C2S, &auth(0x18));
    assert_eq!(a2.answers(), Some((a1.event, 3)));
    let ack = c.step(9, S2C, &connack(0, vec![authentication_method()]));
    assert_eq!(ack.answers(), Some((conn.event, 9)));
    // Re-authentication: 0x19 starts, 0x00 ends.
    let r1 = c.step(20, C2S, &auth(0x19));
    assert_eq!(r1.answers(), None);
    let r2 = c.step(21, S2C, &auth(0x18));
    assert_eq!(r2.answers(), Some((r1.event, 1)));
    let r3 = c.step(23, C2S, &auth(0x18));
    let r4 = c.step(27, S2C, &auth(0x00));
    assert_eq!(r4.answers(), Some((r3.event, 4)));
    for s in [&a1, &a2, &ack, &r1, &r2, &r3, &r4] {
        assert!(s.anomalies.is_empty(), "{:?}", s.anomalies);
    }
    c.step(30, C2S, &disconnect(0));
    let (close, out) = c.close(31, CloseReason::Fin);
    assert!(close.unanswered.is_empty(), "{:?}", close.unanswered);
    assert!(out.is_empty());
    // A server AUTH 0x00 from the client's side, or 0x19 from the server, is the wrong side.
    let wrong = c.step(40, S2C, &auth(0x19));
    assert_eq!(wrong.names(), vec!["reason_code_wrong_side"]);
}

#[test]
fn keep_alive_findings_carry_their_times() {
    let mut c = Conn::new(4);
    c.step(0, C2S, &connect(4, "k", 10, vec![]));
    c.step(1, S2C, &connack(0, vec![]));
    c.step(15_000, C2S, &pingreq());
    let late = c.step(31_000, C2S, &pingreq());
    assert_eq!(
        late.anomalies,
        vec![
            Anomaly::KeepAliveExpired {
                silence_ms: 16_000,
                keep_alive: 10,
                last_client: ms(15_000),
            },
            Anomaly::PingUnanswered {
                sent: ms(15_000),
                waited_ms: 16_000,
            },
        ]
    );
    let (_, out) = c.close(50_500, CloseReason::Rst);
    assert_eq!(
        out,
        vec![
            Anomaly::PingUnanswered {
                sent: ms(31_000),
                waited_ms: 19_500,
            },
            Anomaly::ClosedWithoutDisconnect { will: false },
            Anomaly::ClosedAfterSilence {
                silence_ms: 19_500,
                keep_alive: 10,
                last_client: ms(31_000),
            },
        ]
    );
    assert!(
        out[2].describe().contains("00:00:31.000000"),
        "{}",
        out[2].describe()
    );
}

#[test]
fn close_lists_unanswered_requests_and_the_will_fate() {
    let mut c = Conn::new(5);
    c.step(0, C2S, &connect_will(5, "u"));
    c.step(1, S2C, &connack(0, vec![]));
    let p = c.step(2, C2S, &publish(1, "never/acked", Some(5), vec![]));
    let s = c.step(3, C2S, &subscribe(6, &[("x", 0)]));
    let (close, out) = c.close(4, CloseReason::Fin);
    assert_eq!(
        close.unanswered,
        vec![
            (PacketType::PUBLISH, Some(5), p.event),
            (PacketType::SUBSCRIBE, Some(6), s.event)
        ]
    );
    assert!(close.connect_seen);
    assert_eq!(close.connack, Some(ReasonCode(0)));
    assert!(close.will_expected);
    assert_eq!(out, vec![Anomaly::ClosedWithoutDisconnect { will: true }]);
    // DISCONNECT 0x00 discards the will; a refused CONNECT never had one.
    let mut d = Conn::new(5);
    d.step(0, C2S, &connect_will(5, "u"));
    d.step(1, S2C, &connack(0, vec![]));
    d.step(2, C2S, &disconnect(0));
    assert!(!d.close(3, CloseReason::Fin).0.will_expected);
    let mut r = Conn::new(5);
    r.step(0, C2S, &connect_will(5, "u"));
    r.step(1, S2C, &connack(0x9F, vec![]));
    let (rc, _) = r.close(2, CloseReason::Fin);
    assert!(!rc.will_expected);
    assert_eq!(rc.connack, Some(ReasonCode(0x9F)));
    // No CONNACK at all: the CONNECT is unanswered.
    let mut n = Conn::new(4);
    let conn = n.step(0, C2S, &connect(4, "n", 60, vec![]));
    let (nc, _) = n.close(1, CloseReason::EndOfCapture);
    assert_eq!(nc.unanswered, vec![(PacketType::CONNECT, None, conn.event)]);
    assert_eq!(nc.connack, None);
}

#[test]
fn user_names_are_masked_without_show_secrets() {
    let mut c = Conn::new(5);
    let m = crate::mqtt_support::M::Connect {
        level: 5,
        clean: true,
        keep_alive: 60,
        props: vec![],
        client_id: "secretive".into(),
        will: None,
        username: Some("alice".into()),
        password: Some(b"pw".to_vec()),
    };
    let s = c.step(0, C2S, &m);
    let info = s.info.connect.expect("CONNECT details");
    assert_eq!(info.username.as_deref(), Some("********"));
    assert_eq!(info.password.as_deref(), Some("********"));
    assert_eq!(info.client_id, "secretive");
    // The state keeps the real name for analysis; outputs only see the event.
    assert_eq!(c.st.username.as_deref(), Some("alice"));
}

#[test]
fn a_pingresp_never_answers_a_later_pingreq() {
    // Events handed out of order (a PINGRESP held back by resynchronisation): the PINGRESP
    // stamped before the pending PINGREQ answers an earlier one, not this one.
    let mut c = Conn::new(4);
    c.step(0, C2S, &connect(4, "p", 60, vec![]));
    c.step(1, S2C, &connack(0, vec![]));
    let req = c.step(10, C2S, &pingreq());
    let early = c.step(5, S2C, &pingresp());
    assert_eq!(early.answers(), None);
    // The pending PINGREQ still takes its own answer.
    let resp = c.step(11, S2C, &pingresp());
    assert_eq!(resp.answers(), Some((req.event, 1)));
}
