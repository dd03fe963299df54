//! `mqttscope verify`: runs captures against their expected JSON Lines output.

use crate::app::{
    catalogue_from_args, filter_from_args, session_config, AppError, EXIT_FINDINGS, EXIT_OK,
};
use crate::capture::{self, FileOptions};
use crate::cli::{Format, RunArgs};
use crate::pipeline::{run, Analyzer, RunOptions};
use crate::report::Totals;
use crate::sink::jsonl::JsonlSink;
use crate::sink::Sink;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Lines of difference shown per capture.
const MAX_DIFF_LINES: usize = 20;

/// The expected-output path of a capture: `NAME.expected.jsonl` beside it.
pub fn expected_path(capture: &Path) -> PathBuf {
    let stem = capture
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    capture.with_file_name(format!("{stem}.expected.jsonl"))
}

fn is_capture(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("pcap" | "pcapng" | "cap")
    )
}

/// Captures named by `paths` (directories searched recursively), sorted.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, AppError> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            let rd = std::fs::read_dir(&p)
                .map_err(|e| AppError(format!("cannot list {}: {e}", p.display())))?;
            for entry in rd.flatten() {
                let q = entry.path();
                if q.is_dir() || is_capture(&q) {
                    stack.push(q);
                }
            }
        } else if p.exists() {
            out.push(p);
        } else {
            return Err(AppError(format!("{} does not exist", p.display())));
        }
    }
    out.sort();
    Ok(out)
}

/// Analyses one capture into JSON Lines (deterministic: file names, not paths, in messages).
pub fn analyse_to_jsonl(path: &Path, a: &RunArgs) -> Result<String, AppError> {
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cat = Arc::new(catalogue_from_args(a)?);
    let cfg = session_config(a, Format::Jsonl)?;
    let opts = FileOptions {
        keep_going: a.keep_going,
        filter: a.bpf.clone(),
        ..FileOptions::default()
    };
    let mut src = capture::open_file(&path.to_string_lossy(), &opts)?;
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut sink = JsonlSink::new(&mut buf, Arc::clone(&cat));
        let mut analyzer = Analyzer::new(&a.limits(), cfg, cat);
        let mut totals = Totals::default();
        let end = run(
            &mut src,
            &mut analyzer,
            &mut sink,
            &mut totals,
            RunOptions {
                count: a.count,
                keep_going: a.keep_going,
                writer: None,
                filter: filter_from_args(a)?,
            },
        );
        let full = path.to_string_lossy().into_owned();
        if let Some(d) = totals.capture.damage.as_mut() {
            *d = d.replace(&full, &name);
        }
        sink.finish(&totals)
            .map_err(|e| AppError(format!("cannot write output: {e}")))?;
        drop(end);
    }
    String::from_utf8(buf).map_err(|e| AppError(format!("output is not UTF-8: {e}")))
}

/// A readable line diff: the first differing lines with their numbers.
pub fn diff(expected: &str, actual: &str) -> Vec<String> {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = Vec::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            if out.len() >= MAX_DIFF_LINES {
                out.push("  ...".to_string());
                break;
            }
            if let Some(x) = x {
                out.push(format!("  line {}: - {x}", i + 1));
            }
            if let Some(y) = y {
                out.push(format!("  line {}: + {y}", i + 1));
            }
        }
    }
    out
}

/// Runs (or blesses) every capture; prints a diff per failure and `N passed, M failed`.
pub fn verify(paths: &[PathBuf], bless: bool, a: &RunArgs) -> Result<i32, AppError> {
    let captures = collect(paths)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for cap in &captures {
        let exp_path = expected_path(cap);
        let actual = match analyse_to_jsonl(cap, a) {
            Ok(s) => s,
            Err(e) => {
                println!("FAIL {}: {e}", cap.display());
                failed += 1;
                continue;
            }
        };
        if bless {
            std::fs::write(&exp_path, &actual)
                .map_err(|e| AppError(format!("cannot write {}: {e}", exp_path.display())))?;
            println!("blessed {}", exp_path.display());
            passed += 1;
            continue;
        }
        match std::fs::read_to_string(&exp_path) {
            Ok(expected) if expected == actual => {
                println!("ok   {}", cap.display());
                passed += 1;
            }
            Ok(expected) => {
                println!(
                    "FAIL {}: output differs from {}",
                    cap.display(),
                    exp_path.display()
                );
                for l in diff(&expected, &actual) {
                    println!("{l}");
                }
                failed += 1;
            }
            Err(e) => {
                println!(
                    "FAIL {}: cannot read {}: {e} (run with --bless to create it)",
                    cap.display(),
                    exp_path.display()
                );
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed > 0 { EXIT_FINDINGS } else { EXIT_OK })
}
