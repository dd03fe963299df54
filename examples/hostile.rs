//! Writes the hostile and damaged captures of tests/hostile.rs into a directory:
//! `cargo run --example hostile -- DIR` (deterministic; about 100 MB in all).

#[path = "../tests/hostile_support/gen.rs"]
mod gen;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: hostile DIR");
        std::process::exit(2);
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("hostile: cannot create {dir}: {e}");
        std::process::exit(2);
    }
    for (name, bytes) in gen::all() {
        let path = std::path::Path::new(&dir).join(&name);
        if let Err(e) = std::fs::write(&path, &bytes) {
            eprintln!("hostile: cannot write {}: {e}", path.display());
            std::process::exit(2);
        }
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}
