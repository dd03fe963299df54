//! The mqttscope command-line entry point.

fn main() {
    std::process::exit(0);
}
