//! The mqttscope command-line entry point.

fn main() {
    // The TUI installs its own hook (with its terminal restore) when it starts.
    mqttscope::panic::install_panic_hook(None);
    std::process::exit(mqttscope::app::main_with(std::env::args_os().collect()));
}
