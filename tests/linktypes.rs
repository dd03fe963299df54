//! Every supported link type (crafted and real captures) decodes down to MQTT packets.

use std::process::Command;

fn summary(path: &str) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_mqttscope"))
        .args([path, "--format", "jsonl"])
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{path}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn each_link_type_reaches_mqtt() {
    // (capture, link type name, frames of that type, MQTT packets, MQTT connections)
    let cases = [
        ("captures/crafted/linktype-loop.pcap", "LOOP", 20, 7, 1),
        ("captures/crafted/linktype-null.pcap", "NULL", 20, 7, 1),
        ("captures/crafted/linktype-raw-ipv4.pcap", "IPV4", 20, 7, 1),
        ("captures/crafted/linktype-raw-ipv6.pcap", "IPV6", 20, 7, 1),
        ("captures/crafted/linktype-raw101.pcap", "RAW", 40, 14, 2),
        ("captures/crafted/linktype-sll.pcap", "LINUX_SLL", 20, 7, 1),
        (
            "captures/crafted/linktype-sll2.pcap",
            "LINUX_SLL2",
            20,
            7,
            1,
        ),
        (
            "captures/crafted/linktype-vlan-qinq.pcap",
            "ETHERNET",
            40,
            14,
            2,
        ),
        ("captures/crafted/ipv4-fragments.pcap", "ETHERNET", 14, 4, 1),
        ("captures/crafted/multi-idb.pcapng", "IPV4", 20, 14, 2),
        ("captures/public/verimqtt-mqtt.pcapng", "NULL", 48, 9, 2),
        (
            "captures/public/plantprism-plantcube_20230617_20230618.pcapng",
            "LINUX_SLL2",
            11600,
            6825,
            1,
        ),
        (
            "captures/public/arkime-mqtt_synthetic.pcap",
            "IPV4",
            63,
            20,
            7,
        ),
        ("captures/public/ndpi-mqtt.pcap", "ETHERNET", 9, 8, 2),
    ];
    for (path, lt, frames, packets, conns) in cases {
        let s = summary(path);
        assert_eq!(
            s["capture"]["link_types"][lt], frames,
            "{path}: {}",
            s["capture"]
        );
        assert_eq!(s["packets"], packets, "{path}");
        assert_eq!(s["malformed"], 0, "{path}");
        assert_eq!(s["capture"]["mqtt_connections"], conns, "{path}");
    }
}

#[test]
fn pcap_and_pcapng_copies_give_identical_packets() {
    let lines = |p: &str| -> Vec<String> {
        let o = Command::new(env!("CARGO_BIN_EXE_mqttscope"))
            .args([p, "--format", "jsonl"])
            .output()
            .unwrap();
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"kind\":\"packet\""))
            .map(String::from)
            .collect()
    };
    let a = lines("captures/public/zeek-mqtt.pcap");
    assert!(a.len() > 10);
    assert_eq!(a, lines("captures/public/peafowl-mqtt-1.pcapng"));
}

#[test]
fn tls_on_8883_is_reported_as_encrypted() {
    let s = summary("captures/crafted/mqtt-on-port-8883-tls.pcap");
    assert_eq!(s["stream"]["encrypted"], 1);
    assert_eq!(s["malformed"], 0);
    assert_eq!(s["packets"], 0);
}
