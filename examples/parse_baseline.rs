//! Naive baseline: read two state files from disk and parse each into a
//! `serde_json::Value`, sequentially, printing the elapsed time.
//!
//! ```text
//! cargo run --release --example parse_baseline -- A B
//! ```

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: parse_baseline A B");
        std::process::exit(2);
    }
    let start = Instant::now();
    let mut keep = Vec::new();
    for path in &args {
        let bytes = std::fs::read(path).expect("read");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("parse");
        keep.push(v);
    }
    let elapsed = start.elapsed();
    let n: usize = keep
        .iter()
        .map(|v| v["resources"].as_array().map_or(0, Vec::len))
        .sum();
    println!(
        "parsed both into serde_json::Value in {:.3} s ({n} resources)",
        elapsed.as_secs_f64()
    );
}
