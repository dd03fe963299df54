//! The mqttscope command-line entry point.

fn main() {
    std::process::exit(mqttscope::app::main_with(std::env::args_os().collect()));
}
