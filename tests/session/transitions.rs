//! Table-driven tests of the transition function over scripted packet sequences: one row per
//! step with the anomalies it must raise (exactly), then the close and its findings.

use crate::harness::*;
use crate::mqtt_support::M;
use mqttscope::tcp::{CloseReason, Dir};

/// One scripted step: time (ms), direction, packet, anomaly names expected from it.
type Row = (i64, Dir, M, &'static [&'static str]);

struct Case {
    name: &'static str,
    level: u8,
    rows: Vec<Row>,
    /// Close time, reason and the anomaly names it must raise.
    close: (i64, CloseReason, &'static [&'static str]),
}

fn ok5() -> Vec<Row> {
    vec![
        (0, C2S, connect(5, "c", 60, vec![]), &[]),
        (1, S2C, connack(0, vec![]), &[]),
    ]
}

fn with(mut head: Vec<Row>, tail: Vec<Row>) -> Vec<Row> {
    head.extend(tail);
    head
}

const FIN: CloseReason = CloseReason::Fin;
const EOC: CloseReason = CloseReason::EndOfCapture;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "clean 5.0 session",
            level: 5,
            rows: with(
                ok5(),
                vec![
                    (2, C2S, publish(1, "a", Some(1), vec![]), &[]),
                    (3, S2C, puback(1, 0), &[]),
                    (4, C2S, subscribe(2, &[("a/#", 1)]), &[]),
                    (5, S2C, suback(2, &[1]), &[]),
                    (6, C2S, pingreq(), &[]),
                    (7, S2C, pingresp(), &[]),
                    (8, C2S, disconnect(0), &[]),
                ],
            ),
            close: (9, FIN, &[]),
        },
        Case {
            name: "packet before CONNECT, flagged once",
            level: 4,
            rows: vec![
                (
                    0,
                    C2S,
                    publish(0, "a", None, vec![]),
                    &["packet_before_connect"],
                ),
                (1, C2S, pingreq(), &[]),
            ],
            close: (2, EOC, &["ping_unanswered"]),
        },
        Case {
            name: "second CONNECT",
            level: 5,
            rows: with(
                ok5(),
                vec![(2, C2S, connect(5, "c", 60, vec![]), &["second_connect"])],
            ),
            close: (3, EOC, &[]),
        },
        Case {
            name: "orphan answers",
            level: 5,
            rows: with(
                ok5(),
                vec![
                    (2, S2C, puback(9, 0), &["orphan_answer"]),
                    (3, S2C, suback(4, &[0]), &["orphan_answer"]),
                    (4, S2C, unsuback(5, &[0]), &["orphan_answer"]),
                    (5, S2C, pingresp(), &["orphan_answer"]),
                    (6, S2C, pubcomp(7), &["orphan_answer"]),
                    (7, S2C, connack(0, vec![]), &["orphan_answer"]),
                ],
            ),
            close: (8, EOC, &[]),
        },
        Case {
            name: "packet id reused while in flight; a DUP resend is not a reuse",
            level: 5,
            rows: with(
                ok5(),
                vec![
                    (2, C2S, publish(1, "a", Some(1), vec![]), &[]),
                    (
                        3,
                        C2S,
                        flagged(publish(1, "a", Some(1), vec![]), true, false),
                        &[],
                    ),
                    (4, C2S, subscribe(1, &[("x", 0)]), &["packet_id_in_use"]),
                    (5, S2C, publish(1, "a", Some(1), vec![]), &[]),
                ],
            ),
            close: (6, EOC, &[]),
        },
        Case {
            name: "QoS above Maximum QoS, above the granted QoS, granted above requested",
            level: 5,
            rows: vec![
                (0, C2S, connect(5, "c", 60, vec![]), &[]),
                (1, S2C, connack(0, vec![maximum_qos(1)]), &[]),
                (2, C2S, publish(2, "a", Some(1), vec![]), &["qos_exceeded"]),
                (
                    3,
                    C2S,
                    subscribe(2, &[("s/+", 0), ("$share/g/t/#", 2)]),
                    &[],
                ),
                (4, S2C, suback(2, &[1, 1]), &["qos_exceeded"]),
                (
                    5,
                    S2C,
                    publish(2, "s/x", Some(1), vec![]),
                    &["qos_exceeded"],
                ),
                // The shared subscription matches by its filter: QoS 1 granted.
                (
                    6,
                    S2C,
                    publish(2, "t/y", Some(2), vec![]),
                    &["qos_exceeded"],
                ),
                (7, S2C, publish(1, "t/y", Some(3), vec![]), &[]),
                // No subscription known for this topic: nothing to compare with.
                (8, S2C, publish(2, "other", Some(4), vec![]), &[]),
            ],
            close: (9, EOC, &[]),
        },
        Case {
            name: "Receive Maximum counts QoS 2 exchanges until PUBCOMP",
            level: 5,
            rows: vec![
                (0, C2S, connect(5, "c", 60, vec![]), &[]),
                (1, S2C, connack(0, vec![receive_maximum(2)]), &[]),
                (2, C2S, publish(2, "a", Some(1), vec![]), &[]),
                (3, C2S, publish(1, "a", Some(2), vec![]), &[]),
                (4, S2C, pubrec(1, 0), &[]),
                (5, C2S, pubrel(1), &[]),
                (
                    6,
                    C2S,
                    publish(1, "a", Some(3), vec![]),
                    &["receive_maximum_exceeded"],
                ),
                (7, S2C, pubcomp(1), &[]),
                (8, S2C, puback(2, 0), &[]),
                (9, S2C, puback(3, 0), &[]),
                (10, C2S, publish(2, "a", Some(4), vec![]), &[]),
                // A PUBREC failure ends the exchange and returns the quota (5.0 §4.9).
                (11, S2C, pubrec(4, 0x87), &[]),
                (12, C2S, publish(1, "a", Some(5), vec![]), &[]),
                (13, C2S, publish(1, "a", Some(6), vec![]), &[]),
            ],
            close: (14, EOC, &[]),
        },
        Case {
            name: "Maximum Packet Size and Retain Available from CONNACK",
            level: 5,
            rows: vec![
                (
                    0,
                    C2S,
                    connect(5, "c", 60, vec![maximum_packet_size(64)]),
                    &[],
                ),
                (
                    1,
                    S2C,
                    connack(0, vec![maximum_packet_size(40), retain_available(0)]),
                    &[],
                ),
                (
                    2,
                    C2S,
                    with_payload(publish(0, "a", None, vec![]), 50),
                    &["maximum_packet_size_exceeded"],
                ),
                (3, C2S, with_payload(publish(0, "a", None, vec![]), 10), &[]),
                (4, S2C, with_payload(publish(0, "a", None, vec![]), 50), &[]),
                (
                    5,
                    S2C,
                    with_payload(publish(0, "a", None, vec![]), 70),
                    &["maximum_packet_size_exceeded"],
                ),
                (
                    6,
                    C2S,
                    flagged(publish(0, "a", None, vec![]), false, true),
                    &["retain_not_available"],
                ),
            ],
            close: (7, EOC, &[]),
        },
        Case {
            name: "PUBLISH before CONNACK",
            level: 4,
            rows: vec![
                (0, C2S, connect(4, "c", 60, vec![]), &[]),
                (
                    1,
                    C2S,
                    publish(0, "a", None, vec![]),
                    &["publish_before_connack"],
                ),
                (2, S2C, connack(0, vec![]), &[]),
                (3, C2S, publish(0, "a", None, vec![]), &[]),
            ],
            close: (4, EOC, &[]),
        },
        Case {
            name: "closed without DISCONNECT, will expected",
            level: 5,
            rows: vec![
                (0, C2S, connect_will(5, "w"), &[]),
                (1, S2C, connack(0, vec![]), &[]),
            ],
            close: (2, FIN, &["closed_without_disconnect"]),
        },
        Case {
            name: "refused connection closed without DISCONNECT is not flagged",
            level: 5,
            rows: vec![
                (0, C2S, connect_will(5, "w"), &[]),
                (1, S2C, connack(0x87, vec![]), &[]),
            ],
            close: (2, FIN, &[]),
        },
        Case {
            name: "DISCONNECT 0x04 asks for the will",
            level: 5,
            rows: vec![
                (0, C2S, connect_will(5, "w"), &[]),
                (1, S2C, connack(0, vec![]), &[]),
                (2, C2S, disconnect(0x04), &["disconnect_with_will"]),
            ],
            close: (3, FIN, &[]),
        },
        Case {
            name: "reason codes: not allowed in the type, or from the wrong side",
            level: 5,
            rows: with(
                ok5(),
                vec![
                    (2, S2C, publish(1, "a", Some(1), vec![]), &[]),
                    (3, C2S, puback(1, 0x95), &["illegal_reason_code"]),
                    (4, S2C, disconnect(0x04), &["reason_code_wrong_side"]),
                    (5, C2S, disconnect(0x8E), &["reason_code_wrong_side"]),
                ],
            ),
            close: (6, FIN, &[]),
        },
        Case {
            name: "packet types from the wrong side",
            level: 4,
            rows: vec![
                (0, C2S, connect(4, "c", 60, vec![]), &[]),
                (1, S2C, connack(0, vec![]), &[]),
                (2, S2C, subscribe(1, &[("a", 0)]), &["wrong_direction"]),
                (3, S2C, disconnect(0), &["wrong_direction"]),
            ],
            close: (4, FIN, &[]),
        },
        Case {
            name: "SUBACK with fewer codes than filters",
            level: 5,
            rows: with(
                ok5(),
                vec![
                    (2, C2S, subscribe(1, &[("a", 0), ("b", 1)]), &[]),
                    (3, S2C, suback(1, &[0]), &["suback_count_mismatch"]),
                ],
            ),
            close: (4, EOC, &[]),
        },
        Case {
            name: "keep-alive: 1.5 x 10 s, then a close after silence",
            level: 5,
            rows: vec![
                (0, C2S, connect(5, "k", 10, vec![]), &[]),
                (1, S2C, connack(0, vec![]), &[]),
                (15_000, C2S, pingreq(), &[]),
                (15_001, S2C, pingresp(), &[]),
                (31_000, C2S, pingreq(), &["keep_alive_expired"]),
                (31_001, S2C, pingresp(), &[]),
            ],
            close: (
                50_000,
                FIN,
                &["closed_without_disconnect", "closed_after_silence"],
            ),
        },
        Case {
            name: "the Server Keep Alive replaces the client's; silence up to the end of capture",
            level: 5,
            rows: vec![
                (0, C2S, connect(5, "k", 100, vec![]), &[]),
                (1, S2C, connack(0, vec![server_keep_alive(2)]), &[]),
                (2_900, C2S, pingreq(), &[]),
                (2_901, S2C, pingresp(), &[]),
                (6_000, C2S, pingreq(), &["keep_alive_expired"]),
                (6_001, S2C, pingresp(), &[]),
            ],
            close: (9_500, EOC, &["keep_alive_expired"]),
        },
        Case {
            name: "a PINGREQ given up by the next one",
            level: 4,
            rows: vec![
                (0, C2S, connect(4, "p", 60, vec![]), &[]),
                (1, S2C, connack(0, vec![]), &[]),
                (10, C2S, pingreq(), &[]),
                (30, C2S, pingreq(), &["ping_unanswered"]),
                (31, S2C, pingresp(), &[]),
                (40, C2S, disconnect(0), &[]),
            ],
            close: (41, FIN, &[]),
        },
        Case {
            name: "resumed session: PUBREL without PUBREC is not an orphan",
            level: 4,
            rows: vec![
                (
                    0,
                    C2S,
                    M::Connect {
                        level: 4,
                        clean: false,
                        keep_alive: 60,
                        props: vec![],
                        client_id: "r".into(),
                        will: None,
                        username: None,
                        password: None,
                    },
                    &[],
                ),
                (1, S2C, resumed(0), &[]),
                (2, C2S, pubrel(7), &[]),
                (3, S2C, pubcomp(7), &[]),
            ],
            close: (4, EOC, &[]),
        },
    ]
}

#[test]
fn scripted_sequences_raise_exactly_the_expected_anomalies() {
    let mut failures = Vec::new();
    for case in cases() {
        let mut c = Conn::new(case.level);
        for (i, (t, dir, m, want)) in case.rows.iter().enumerate() {
            let got = c.step(*t, *dir, m).names();
            if got != *want {
                failures.push(format!(
                    "{} step {i}: got {got:?}, want {want:?}",
                    case.name
                ));
            }
        }
        let (t, reason, want) = case.close;
        let (_, out) = c.close(t, reason);
        let got = names(&out);
        if got != want {
            failures.push(format!("{} close: got {got:?}, want {want:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
