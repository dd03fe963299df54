//! The panic hook of the binary: the full report goes to a file, the terminal gets one sentence.
//!
//! A panic should never happen (every input error is a typed error), but if one does, a raw
//! backtrace over a TUI helps nobody: the hook first restores the terminal (the TUI passes its
//! restore function), then writes message, location and backtrace to a report file in the
//! temporary directory and prints one short sentence naming it.

use std::backtrace::Backtrace;
use std::io::Write;
use std::panic::PanicHookInfo;
use std::path::PathBuf;

/// Path of this process's panic report: `$TMPDIR/mqttscope-panic-<pid>.txt`.
pub fn report_path() -> PathBuf {
    std::env::temp_dir().join(format!("mqttscope-panic-{}.txt", std::process::id()))
}

/// The text of a panic report: version, thread, message, location and backtrace.
pub fn report_text(info: &PanicHookInfo<'_>, backtrace: &Backtrace) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    let location = info
        .location()
        .map_or_else(|| "unknown".to_string(), |l| l.to_string());
    let thread = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    format!(
        "mqttscope {} panicked\nthread: {thread}\nmessage: {message}\nlocation: {location}\n\
         arguments: {:?}\n\nbacktrace:\n{backtrace}\n",
        env!("CARGO_PKG_VERSION"),
        std::env::args().collect::<Vec<_>>(),
    )
}

/// Installs the hook: runs `restore` (terminal state) first, writes the report to
/// [`report_path`], then prints "mqttscope: internal error ...; report written to PATH" on
/// stderr (or the report itself when the file cannot be written).
pub fn install_panic_hook(restore: Option<Box<dyn Fn() + Send + Sync>>) {
    std::panic::set_hook(Box::new(move |info| {
        if let Some(r) = &restore {
            r();
        }
        let text = report_text(info, &Backtrace::force_capture());
        let path = report_path();
        let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(text.as_bytes()));
        let mut err = std::io::stderr().lock();
        let _ = match written {
            Ok(()) => writeln!(
                err,
                "mqttscope: internal error (a bug, please report it); report written to {}",
                path.display()
            ),
            Err(e) => writeln!(
                err,
                "mqttscope: internal error (a bug, please report it); cannot write {}: {e}\n{text}",
                path.display()
            ),
        };
    }));
}
