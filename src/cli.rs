//! Command-line arguments (clap) and their validation into a `Config`.

use crate::limits::Limits;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// mqttscope: see why MQTT clients were refused, throttled or failed, from a capture or live.
#[derive(Parser, Debug, Clone)]
#[command(name = "mqttscope", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand (verify, completions, man); without one, analyse a capture.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The analysis options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run captures against their expected output (NAME.expected.jsonl next to each).
    Verify {
        /// Capture files or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write the expected files instead of comparing.
        #[arg(long)]
        bless: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Output formats for non-interactive use.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The terminal UI (default when stdout is a terminal).
    Tui,
    /// One line per MQTT packet.
    Text,
    /// One JSON object per line.
    Jsonl,
    /// The JSON Lines fields flattened, with one header row.
    Csv,
    /// Totals only.
    Summary,
}

/// When to colour text output.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How times are shown in text output.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// Absolute UTC time of day.
    #[default]
    Abs,
    /// Seconds since the first frame.
    Rel,
    /// Seconds since the previous shown packet.
    Delta,
}

/// What makes the exit code 1.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// A non-success reason code.
    Failure,
    /// An anomaly.
    Anomaly,
    /// A malformed packet.
    Malformed,
    /// Any of the above.
    Any,
}

/// Options of an analysis run.
#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Capture file to read (pcap or pcapng; "-" for stdin).
    #[arg(value_name = "FILE", conflicts_with_all = ["read", "interface"])]
    pub file: Option<String>,
    /// Capture file to read (as tshark -r).
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "interface"
    )]
    pub read: Option<String>,
    /// Sniff this interface ("any" and "lo" included).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// List the capture interfaces and exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,
    /// BPF capture filter, applied to live capture and files alike.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub bpf: Option<String>,
    /// Stop after N frames.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Save the raw frames to FILE (pcapng) while analysing.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Snapshot length for live capture.
    #[arg(short = 's', long = "snaplen", default_value_t = 262_144)]
    pub snaplen: u32,
    /// Do not put the interface in promiscuous mode.
    #[arg(long = "no-promisc")]
    pub no_promisc: bool,
    /// Kernel capture buffer size in MiB (libpcap's ring; tcpdump and dumpcap use 2): room for
    /// the bursts that arrive while the capture thread waits for a core.
    #[arg(
        short = 'B',
        long = "buffer-size",
        default_value_t = crate::capture::live::DEFAULT_BUFFER >> 20,
        value_name = "MiB"
    )]
    pub buffer_mib: u32,
    /// After opening the device as root, switch to this user (default "nobody" when it exists).
    #[arg(short = 'Z', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Keep root privileges during live capture.
    #[arg(long = "no-drop")]
    pub no_drop: bool,

    /// Output format (default: tui on a terminal, text otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Force line output even on a terminal.
    #[arg(long = "no-tui")]
    pub no_tui: bool,
    /// Colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Time column format.
    #[arg(long, value_enum, default_value_t = TimeFormat::Abs)]
    pub time: TimeFormat,
    /// Exit with code 1 when the run found this.
    #[arg(long = "fail-on", value_enum)]
    pub fail_on: Option<FailOn>,

    /// Only non-success codes, malformed packets and anomalies.
    #[arg(long)]
    pub errors: bool,
    /// Only packets of connections whose client id matches (glob: * and ?).
    #[arg(long, value_name = "ID")]
    pub client: Option<String>,
    /// Only packets whose topic matches this MQTT filter (+ and # wildcards).
    #[arg(long, value_name = "FILTER")]
    pub topic: Option<String>,
    /// Only these packet types (comma-separated names).
    #[arg(long = "type", value_name = "T[,T]", value_delimiter = ',')]
    pub types: Vec<String>,
    /// Only packets carrying this reason code (0x87 or 135).
    #[arg(long, value_name = "CODE")]
    pub rc: Option<String>,
    /// Only the connection with this endpoint (ADDR:PORT, either side).
    #[arg(long, value_name = "ADDR:PORT")]
    pub conn: Option<String>,

    /// Extra TCP ports to decode as MQTT (1883 always; content detection finds others).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Protocol version for connections whose CONNECT was not captured (3, 4, 5, 3.1, 3.1.1, 5.0).
    #[arg(long = "assume-version", value_name = "V")]
    pub assume_version: Option<String>,
    /// Show passwords and authentication data instead of masking them.
    #[arg(long = "show-secrets")]
    pub show_secrets: bool,
    /// Load vendor reason codes from a TOML file.
    #[arg(long = "vendor-codes", value_name = "FILE")]
    pub vendor_codes: Option<PathBuf>,
    /// Go on past damage in a capture file where the format allows.
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Largest MQTT packet decoded, in bytes; larger ones are skipped and reported.
    #[arg(long = "max-packet", value_name = "BYTES")]
    pub max_packet: Option<usize>,
    /// Out-of-order bytes buffered per TCP direction.
    #[arg(long = "max-buffer", value_name = "BYTES")]
    pub max_buffer: Option<usize>,
    /// Holes tracked per TCP direction.
    #[arg(long = "max-holes", value_name = "N")]
    pub max_holes: Option<usize>,
    /// Concurrent TCP connections tracked.
    #[arg(long = "max-flows", value_name = "N")]
    pub max_flows: Option<usize>,
    /// Events kept by the TUI (oldest dropped).
    #[arg(long = "max-events", value_name = "N")]
    pub max_events: Option<usize>,
    /// Memory for buffers and connection state, in MiB (default 256): reassembly, fragments,
    /// MQTT framers and tracked connections share it; hitting it is reported as a cap hit.
    #[arg(long = "memory-budget", value_name = "MiB")]
    pub memory_budget: Option<usize>,
}

impl RunArgs {
    /// The capture file named by FILE or -r, if any.
    pub fn input_file(&self) -> Option<&str> {
        self.file.as_deref().or(self.read.as_deref())
    }

    /// The limits with command-line overrides applied.
    pub fn limits(&self) -> Limits {
        let mut l = Limits::default();
        if let Some(v) = self.max_packet {
            l.max_packet = v;
        }
        if let Some(v) = self.max_buffer {
            l.max_buffered_per_dir = v;
        }
        if let Some(v) = self.max_holes {
            l.max_holes_per_dir = v;
        }
        if let Some(v) = self.max_flows {
            l.max_flows = v.max(1);
        }
        if let Some(v) = self.max_events {
            l.max_events = v.max(1);
        }
        if let Some(v) = self.memory_budget {
            l.memory_budget = v.max(1).saturating_mul(1 << 20);
        }
        l
    }
}
