//! Golden regression: every capture in captures/ against its committed NAME.expected.jsonl,
//! through the real `mqttscope verify` (refresh with `mqttscope verify --bless captures`).

use std::process::Command;

fn mqttscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mqttscope"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn every_capture_matches_its_expected_output() {
    let o = mqttscope(&["verify", "captures"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().unwrap_or_default().to_string();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    let captures = walk("captures")
        .into_iter()
        .filter(|p| p.ends_with(".pcap") || p.ends_with(".pcapng"))
        .count();
    assert_eq!(passed, captures, "every capture has an expected file");
    assert!(captures >= 45);
}

fn walk(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(p.to_str().unwrap()));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn verify_reports_a_difference_with_a_readable_diff_and_exit_one() {
    let dir = std::env::temp_dir().join(format!("mqttscope-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("suback.pcap");
    std::fs::copy("captures/suback-mixed-v5.pcap", &cap).unwrap();
    let o = mqttscope(&["verify", cap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "no expected file yet");
    assert!(String::from_utf8_lossy(&o.stdout).contains("--bless"));
    let o = mqttscope(&["verify", "--bless", cap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let exp = dir.join("suback.expected.jsonl");
    let text = std::fs::read_to_string(&exp).unwrap();
    assert_eq!(
        mqttscope(&["verify", dir.to_str().unwrap()]).status.code(),
        Some(0)
    );
    std::fs::write(
        &exp,
        text.replace("\"Not authorized\"", "\"Granted QoS 2\""),
    )
    .unwrap();
    let o = mqttscope(&["verify", dir.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("FAIL"), "{out}");
    assert!(out.contains(": - ") && out.contains(": + "), "{out}");
    assert!(out.trim_end().ends_with("0 passed, 1 failed"), "{out}");
}
