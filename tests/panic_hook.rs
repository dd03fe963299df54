//! The panic hook: terminal restore runs first, the report file holds message, location and
//! backtrace, and the process keeps its one-sentence stderr contract.

use mqttscope::panic::{install_panic_hook, report_path};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn panic_writes_a_report_file_after_restoring_the_terminal() {
    let restored = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&restored);
    install_panic_hook(Some(Box::new(move || flag.store(true, Ordering::SeqCst))));
    let path = report_path();
    let _ = std::fs::remove_file(&path);
    let r = std::panic::catch_unwind(|| {
        panic!("synthetic failure for the hook test");
    });
    let _ = std::panic::take_hook();
    assert!(r.is_err());
    assert!(restored.load(Ordering::SeqCst), "restore ran");
    let text = std::fs::read_to_string(&path).expect("report written");
    assert!(
        text.contains("message: synthetic failure for the hook test"),
        "{text}"
    );
    assert!(text.contains("location: tests/panic_hook.rs:"), "{text}");
    assert!(text.contains("backtrace:"), "{text}");
    assert!(
        text.contains("panic_writes_a_report_file"),
        "the backtrace names the test function: {text}"
    );
    let _ = std::fs::remove_file(&path);
}
