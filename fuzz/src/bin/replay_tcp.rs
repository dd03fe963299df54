//! Prints the segments of a tcp_reassembler fuzz input and the stream events they cause, with
//! the fuzz target's limits: `replay_tcp FILE` (for turning a crash into a regression test).

use mqttscope::tcp::Reassembler;
use mqttscope_fuzz::{segments, small_limits};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: replay_tcp FILE");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("replay_tcp: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut limits = small_limits();
    limits.memory_budget = 2048;
    let mut r = Reassembler::new(&limits, &[1883]);
    for seg in segments(&data) {
        println!(
            "seg t={} {} -> {} seq={} ack={} flags={:#04x} len={} missing={}",
            seg.ts.0 / 1_000_000_000,
            seg.src,
            seg.dst,
            seg.seq,
            seg.ack,
            seg.flags.0,
            seg.payload.len(),
            seg.missing
        );
        r.segment(&seg, &mut |e| println!("    {e:?}"));
    }
    r.finish(&mut |e| println!("  end {e:?}"));
}
