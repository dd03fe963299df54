//! The program behind `main`: arguments to a configured run, errors to exit codes.

use crate::capture::{self, CaptureError, FileOptions, FrameSource, LiveOptions, PcapngWriter};
use crate::cli::{Cli, ColorChoice, Command, FailOn, Format, RunArgs};
use crate::filter::{parse_code, parse_types, validate_topic_filter, Filter, Term};
use crate::mqtt::reason::Catalogue;
use crate::mqtt::types::Version;
use crate::pipeline::{run, run_threaded, Analyzer, RunOptions};
use crate::report::Totals;
use crate::session::convert::ConvertOptions;
use crate::session::SessionConfig;
use crate::sink::csv::CsvSink;
use crate::sink::jsonl::JsonlSink;
use crate::sink::summary::SummarySink;
use crate::sink::text::TextSink;
use crate::sink::Sink;
use clap::{CommandFactory, Parser};
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit code: nothing found that `--fail-on` names.
pub const EXIT_OK: i32 = 0;
/// Exit code: `--fail-on` found what it names (or `verify` found a difference).
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: usage error, unreadable or damaged input, missing privileges.
pub const EXIT_ERROR: i32 = 2;

/// An error that ends the program with a message and exit code 2.
#[derive(Debug)]
pub struct AppError(pub String);

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<CaptureError> for AppError {
    fn from(e: CaptureError) -> Self {
        AppError(e.to_string())
    }
}

/// Parses `--assume-version`.
pub fn parse_version(s: &str) -> Option<Version> {
    match s {
        "3" | "3.1" => Some(Version::V3_1),
        "4" | "3.1.1" => Some(Version::V3_1_1),
        "5" | "5.0" => Some(Version::V5),
        _ => None,
    }
}

/// Builds the event filter from the command-line flags.
pub fn filter_from_args(a: &RunArgs) -> Result<Filter, AppError> {
    let mut terms = Vec::new();
    if a.errors {
        terms.push(Term::Failed);
    }
    if let Some(c) = &a.client {
        terms.push(Term::Client(c.clone()));
    }
    if let Some(t) = &a.topic {
        validate_topic_filter(t).map_err(|r| AppError(format!("--topic {t:?}: {r}")))?;
        terms.push(Term::Topic(t.clone()));
    }
    if !a.types.is_empty() {
        let types =
            parse_types(&a.types.join(",")).map_err(|e| AppError(format!("--type: {e}")))?;
        terms.push(Term::Type(types));
    }
    if let Some(rc) = &a.rc {
        let code = parse_code(rc)
            .ok_or_else(|| AppError(format!("--rc {rc:?}: expected a code such as 0x87 or 135")))?;
        terms.push(Term::Rc(code));
    }
    if let Some(c) = &a.conn {
        terms.push(Term::Conn(c.clone()));
    }
    Ok(Filter { terms })
}

/// Loads the reason-code catalogue with `--vendor-codes`.
pub fn catalogue_from_args(a: &RunArgs) -> Result<Catalogue, AppError> {
    let cat = Catalogue::builtin();
    match &a.vendor_codes {
        None => Ok(cat),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| AppError(format!("cannot read {}: {e}", p.display())))?;
            cat.with_vendor_toml(&text, &p.display().to_string())
                .map_err(|e| AppError(e.to_string()))
        }
    }
}

/// The session settings for a run.
pub fn session_config(a: &RunArgs, format: Format) -> Result<SessionConfig, AppError> {
    let mut ports = vec![1883];
    ports.extend(a.ports.iter().copied());
    let assume_version = match &a.assume_version {
        None => None,
        Some(s) => Some(parse_version(s).ok_or_else(|| {
            AppError(format!(
                "--assume-version {s:?}: expected 3, 4, 5, 3.1, 3.1.1 or 5.0"
            ))
        })?),
    };
    let limits = a.limits();
    Ok(SessionConfig {
        ports,
        assume_version,
        convert: ConvertOptions {
            show_secrets: a.show_secrets,
            // The TUI previews payloads from the kept raw bytes when a row is selected.
            preview: if format == Format::Text { 64 } else { 0 },
            properties: format == Format::Tui,
            raw: if format == Format::Tui {
                crate::tui::store::RAW_KEEP
            } else {
                0
            },
        },
        max_packet: limits.max_packet,
        max_inflight: limits.max_inflight_per_conn,
        memory_budget: limits.framer_budget(),
    })
}

fn choose_format(a: &RunArgs) -> Format {
    match a.format {
        // The TUI never starts without a terminal: text instead.
        Some(Format::Tui) if !io::stdout().is_terminal() => Format::Text,
        Some(f) => f,
        None if a.no_tui || !io::stdout().is_terminal() => Format::Text,
        None => Format::Tui,
    }
}

fn color_enabled(c: ColorChoice) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Makes the sink for a non-interactive format.
pub fn make_sink<'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    cat: Arc<Catalogue>,
    a: &RunArgs,
) -> Box<dyn Sink + 'w> {
    match format {
        // Files: lines gathered by 64 KiB (one copy fewer); live capture: each line at once.
        Format::Jsonl if a.interface.is_none() => Box::new(JsonlSink::batched(out, cat, 1 << 16)),
        Format::Jsonl => Box::new(JsonlSink::new(out, cat)),
        Format::Csv => Box::new(CsvSink::new(out, cat)),
        Format::Summary => Box::new(SummarySink::new(out, cat)),
        Format::Text | Format::Tui => {
            Box::new(TextSink::new(out, cat, color_enabled(a.color), a.time))
        }
    }
}

fn open_source(
    a: &RunArgs,
    stop: &Arc<AtomicBool>,
    read_ahead: bool,
) -> Result<Box<dyn FrameSource + Send>, AppError> {
    if let Some(dev) = &a.interface {
        let mut o = LiveOptions::new(dev);
        o.snaplen = a.snaplen;
        o.promiscuous = !a.no_promisc;
        o.buffer_size = a.buffer_mib.saturating_mul(1 << 20);
        o.filter = a.bpf.clone();
        o.stop = Arc::clone(stop);
        let src = capture::open_live(&o)?;
        crate::privs::drop_after_open(a).map_err(AppError)?;
        return Ok(Box::new(src));
    }
    let Some(path) = a.input_file() else {
        return Err(AppError(
            "no input: give a capture file (or - for stdin), -r FILE or -i IFACE; see --help"
                .into(),
        ));
    };
    let o = FileOptions {
        keep_going: a.keep_going,
        filter: a.bpf.clone(),
        read_ahead,
        ..FileOptions::default()
    };
    Ok(Box::new(capture::open_file(path, &o)?))
}

/// `--threads`, or every core the process may use.
pub fn thread_count(a: &RunArgs) -> Result<usize, AppError> {
    match a.threads {
        Some(0) => Err(AppError(
            "--threads 0: at least one thread is needed".into(),
        )),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Whether the totals contain what `--fail-on` names.
pub fn findings(t: &Totals, fail_on: Option<FailOn>) -> bool {
    let failure = t.failures > 0;
    let anomaly = t.anomaly_count() > 0;
    let malformed = t.malformed > 0;
    match fail_on {
        None => false,
        Some(FailOn::Failure) => failure,
        Some(FailOn::Anomaly) => anomaly,
        Some(FailOn::Malformed) => malformed,
        Some(FailOn::Any) => failure || anomaly || malformed,
    }
}

/// The TUI filter text equivalent to the command-line filter flags.
pub fn tui_filter_text(a: &RunArgs) -> String {
    let mut w = Vec::new();
    if a.errors {
        w.push("failed".to_string());
    }
    if let Some(c) = &a.client {
        w.push(format!("client:{c}"));
    }
    if let Some(t) = &a.topic {
        w.push(format!("topic:{t}"));
    }
    if !a.types.is_empty() {
        w.push(format!("type:{}", a.types.join(",")));
    }
    if let Some(r) = &a.rc {
        w.push(format!("rc:{r}"));
    }
    if let Some(c) = &a.conn {
        w.push(format!("conn:{c}"));
    }
    w.join(" ")
}

/// The `Format::Tui` branch: analysis on a background thread, the UI on this one.
fn run_tui(
    a: &RunArgs,
    source: Box<dyn FrameSource + Send>,
    cfg: SessionConfig,
    cat: Arc<Catalogue>,
    writer: Option<PcapngWriter<Box<dyn Write + Send>>>,
    stop: Arc<AtomicBool>,
) -> Result<i32, AppError> {
    use crate::tui::state::{AppState, SourceInfo};
    let limits = a.limits();
    let info = SourceInfo {
        describe: source.describe(),
        live: a.interface.is_some(),
    };
    let mut state = AppState::new(info, Arc::clone(&cat), limits.max_events);
    state
        .set_filter(&tui_filter_text(a))
        .map_err(|e| AppError(e.to_string()))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let feed = crate::tui::feed::Feed {
        source,
        analyzer: Analyzer::new(&limits, cfg, cat),
        tx,
        cancel: Arc::new(AtomicBool::new(false)),
        count: a.count,
        keep_going: a.keep_going,
        writer,
    };
    let st = crate::tui::run(feed, state, rx, stop)
        .map_err(|e| AppError(format!("terminal error: {e}")))?;
    let errors = st.finished.as_ref().map_or(&[][..], |f| &f.errors[..]);
    for e in errors {
        eprintln!("mqttscope: {e}");
    }
    if !errors.is_empty() && !a.keep_going {
        return Ok(EXIT_ERROR);
    }
    Ok(if findings(&st.totals, a.fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Runs an analysis; returns the exit code.
pub fn analyse(a: &RunArgs) -> Result<i32, AppError> {
    if a.list_interfaces {
        let devs = capture::list_devices()?;
        print!("{}", capture::format_device_list(&devs));
        return Ok(EXIT_OK);
    }
    let format = choose_format(a);
    let threads = thread_count(a)?;
    let cat = Arc::new(catalogue_from_args(a)?);
    let filter = filter_from_args(a)?;
    let cfg = session_config(a, format)?;
    // The -w file is created before the device is opened and privileges are dropped.
    let mut writer = match &a.write {
        None => None,
        Some(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| AppError(format!("cannot create {}: {e}", p.display())))?;
            let boxed: Box<dyn Write + Send> = Box::new(io::BufWriter::new(f));
            Some(
                PcapngWriter::with_snaplen(boxed, a.snaplen)
                    .map_err(|e| AppError(format!("cannot write {}: {e}", p.display())))?,
            )
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    // With two threads or more the pipeline's own threads keep both cores busy: reading on
    // the reassembly thread, instead of a read-ahead thread of its own, leaves the bytes in
    // that core's cache (JSON Lines on the 1 GiB bench capture 1.06 -> 1.02 s, CPU 1.94 ->
    // 1.76 s; summary unchanged). One thread and the TUI keep the read-ahead thread, which
    // overlaps reading with the analysis there.
    let read_ahead = threads < 2 || format == Format::Tui;
    let mut source = open_source(a, &stop, read_ahead)?;
    {
        let stop = Arc::clone(&stop);
        // A second handler cannot be installed in tests that call analyse twice; ignore that.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    if format == Format::Tui {
        return run_tui(a, source, cfg, cat, writer, stop);
    }
    let stdout = io::stdout();
    // Live output is line-buffered so that each packet shows as it is captured (a pipe into
    // another program, or a test waiting for a line); files keep the large buffer.
    let out: Box<dyn Write> = if a.interface.is_some() {
        Box::new(io::LineWriter::new(stdout.lock()))
    } else {
        Box::new(io::BufWriter::with_capacity(1 << 16, stdout.lock()))
    };
    let mut sink = make_sink(format, out, Arc::clone(&cat), a);
    let mut analyzer = Analyzer::new(&a.limits(), cfg, cat);
    let mut totals = Totals::default();
    let opts = RunOptions {
        count: a.count,
        keep_going: a.keep_going,
        writer: writer.as_mut(),
        filter,
    };
    // Two threads or more: analysis on one, totals and output on another (same bytes out).
    let end = if threads >= 2 {
        let live = a.interface.is_some();
        run_threaded(
            source.as_mut(),
            &mut analyzer,
            sink.as_mut(),
            &mut totals,
            opts,
            live,
        )
    } else {
        run(
            source.as_mut(),
            &mut analyzer,
            sink.as_mut(),
            &mut totals,
            opts,
        )
    };
    if let Some(w) = writer {
        w.finish()
            .map_err(|e| AppError(format!("cannot finish the -w file: {e}")))?;
    }
    if !end.stopped_by_sink {
        if let Err(e) = sink.finish(&totals) {
            return Err(AppError(format!("cannot write output: {e}")));
        }
    }
    if let Some(e) = end.output_error {
        return Err(AppError(format!("cannot write output: {e}")));
    }
    if a.interface.is_some() {
        let s = source.stats();
        if let Some(d) = s.kernel_drops {
            // libpcap's ps_drop, then ps_ifdrop (on Linux the interface's own rx drops).
            let ifd = s
                .if_drops
                .map_or(String::new(), |i| format!(", {i} dropped by the interface"));
            eprintln!(
                "mqttscope: {} frames captured, {} dropped by the kernel{ifd}",
                s.frames, d
            );
        }
    }
    for e in &end.errors {
        eprintln!("mqttscope: {e}");
    }
    if !end.errors.is_empty() && !a.keep_going {
        return Ok(EXIT_ERROR);
    }
    Ok(if findings(&totals, a.fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// The whole program: parses `args` and returns the exit code.
pub fn main_with(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let r = match &cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "mqttscope", &mut io::stdout());
            Ok(EXIT_OK)
        }
        Some(Command::Man) => {
            let man = clap_mangen::Man::new(Cli::command());
            man.render(&mut io::stdout())
                .map(|_| EXIT_OK)
                .map_err(|e| AppError(format!("cannot write the man page: {e}")))
        }
        Some(Command::Verify { paths, bless }) => crate::verify::verify(paths, *bless, &cli.run),
        None => analyse(&cli.run),
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqttscope: {e}");
            EXIT_ERROR
        }
    }
}
