//! Reads two state files and diffs them with `stateward::diff`, printing the
//! summary and the time taken (read, parse on two threads, diff).
//!
//! ```text
//! cargo run --release --example diff_files -- A B [--json|--text|--unified]
//! ```
//!
//! `--unified` also times [`unified_text_diff`] (the redacted `--text` view).

use std::time::Instant;

use stateward::diff::{diff, render_text, unified_text_diff, DiffOptions};
use stateward::state::parse_pair;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: diff_files A B [--json|--text|--unified]");
        std::process::exit(2);
    }
    let start = Instant::now();
    let a = std::fs::read(&args[0]).expect("read A");
    let b = std::fs::read(&args[1]).expect("read B");
    let read = start.elapsed();
    let (sa, sb) = parse_pair(&a, &b);
    let (sa, sb) = (sa.expect("parse A"), sb.expect("parse B"));
    let parsed = start.elapsed();
    let d = diff(&sa, &sb, &DiffOptions::default());
    let total = start.elapsed();
    match args.get(2).map(String::as_str) {
        Some("--json") => println!("{}", serde_json::to_string_pretty(&d).expect("json")),
        Some("--text") => render_text(&d, &mut std::io::stdout().lock()).expect("write"),
        Some("--unified") => {
            let t = Instant::now();
            let u = unified_text_diff(&a, &b, &args[0], &args[1], &DiffOptions::default())
                .expect("unified diff");
            eprintln!(
                "unified_text_diff: {} lines in {:.3} s",
                u.lines().count(),
                t.elapsed().as_secs_f64()
            );
        }
        _ => {}
    }
    let attrs: usize = d.changed.iter().map(|c| c.attributes.len()).sum();
    eprintln!(
        "summary: {} added, {} removed, {} changed ({attrs} attribute changes); outputs +{} -{} ~{}",
        d.summary.added,
        d.summary.removed,
        d.summary.changed,
        d.outputs.added.len(),
        d.outputs.removed.len(),
        d.outputs.changed.len()
    );
    eprintln!(
        "time: read {:.3} s, parse (2 threads) {:.3} s, diff {:.3} s, total {:.3} s",
        read.as_secs_f64(),
        (parsed - read).as_secs_f64(),
        (total - parsed).as_secs_f64(),
        total.as_secs_f64()
    );
}
