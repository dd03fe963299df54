//! Golden `--format summary` outputs of real captures (mosquitto 2.0.11 recordings and the
//! crafted Adafruit refusals), committed under tests/golden/ after a reading by hand.
//! Regenerate one with `mqttscope --format summary CAPTURE > tests/golden/NAME.summary.txt`
//! and read the diff before committing it.

use std::path::Path;
use std::process::Command;

fn check(capture: &str, golden: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_mqttscope"))
        .args(["--format", "summary"])
        .arg(root.join(capture))
        .output()
        .expect("mqttscope runs");
    let got = String::from_utf8(out.stdout).expect("UTF-8 summary");
    let want = std::fs::read_to_string(root.join("tests/golden").join(golden))
        .expect("golden file present");
    assert_eq!(
        got, want,
        "summary of {capture} differs from tests/golden/{golden}"
    );
}

#[test]
fn golden_summary_connack_refusals_v5() {
    check(
        "captures/connack-refusals-v5.pcap",
        "connack-refusals-v5.summary.txt",
    );
}

#[test]
fn golden_summary_suback_mixed_v5() {
    check(
        "captures/suback-mixed-v5.pcap",
        "suback-mixed-v5.summary.txt",
    );
}

#[test]
fn golden_summary_adafruit_throttled_banned() {
    check(
        "captures/crafted/adafruit-connack-throttled-banned.pcap",
        "adafruit-connack-throttled-banned.summary.txt",
    );
}

#[test]
fn golden_summary_connack_refusals_v311() {
    // 3.1 and 3.1.1 codes listed apart, and the refusal of protocol level 6 (a 2-byte CONNACK
    // on a connection of unknown version) read as the 3.x return code 0x01.
    check(
        "captures/connack-refusals-v311.pcap",
        "connack-refusals-v311.summary.txt",
    );
}
