//! Fuzzing on the stable toolchain (issue 14): a seeded mutation loop over
//! every parser that takes outside input — state v4 (and older formats),
//! environment file HCL, backend HCL, `.tfbackend`, lock Info JSON and
//! `.driftignore` — starting from the seed corpora in `tests/fuzz-corpus/`.
//! A parser may refuse any input; it must never panic (or hang).
//!
//! The suite runs a short pass (`STATEWARD_FUZZ_EXECS`, default 3000 per
//! parser); a long run: `STATEWARD_FUZZ_EXECS=1000000 cargo test --release
//! --test it fuzz:: -- --nocapture` (the figures are in README's reliability section).
//! `STATEWARD_FUZZ_SEED` replays one run, `STATEWARD_FUZZ_ONLY=state,ignore`
//! limits it to some parsers. An input that panics is written to
//! `tests/fuzz-corpus/<parser>/crash-<hash>`.
//!
//! Also a property test: `state::set_serial` changes only the serial.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Instant;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: seeded and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens that matter to the formats, spliced in by the mutator.
const DICT: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"=",
    b"\n",
    b"${",
    b"%{",
    b"<<EOF\n",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"-0",
    b"null",
    b"true",
    b"\"serial\":",
    b"\"version\": 4",
    b"\"resources\":",
    b"\"instances\":",
    b"backend \"s3\" {",
    b"terraform {",
    b"bucket = ",
    b"key = \"",
    b"#",
    b"//",
    b"/*",
    b"*",
    b".",
    b"0.",
    b"\xff",
    b"\xc3",
    b"\t",
    b"\r",
    b"\"ID\":",
    b"aws_s3_bucket.",
    b"18446744073709551616",
];

/// One mutation of `input` (byte flips, inserts, deletes, dictionary tokens,
/// splices with another seed, truncation, duplication).
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.next() as u8),
            2 if !out.is_empty() => {
                let len = 1 + rng.below(16.min(out.len() - at.min(out.len() - 1)));
                let from = at.min(out.len() - 1);
                out.drain(from..(from + len).min(out.len()));
            }
            3 | 4 => {
                let t = DICT[rng.below(DICT.len())];
                out.splice(at..at, t.iter().copied());
            }
            5 => out.truncate(at),
            6 => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                let len = rng.below(other.len() - from + 1).min(256);
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            _ if !out.is_empty() => {
                let from = rng.below(out.len());
                let len = rng.below(out.len() - from + 1).min(64);
                let chunk = out[from..from + len].to_vec();
                out.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    out.truncate(16 * 1024);
    out
}

fn corpus(name: &str) -> (PathBuf, Vec<Vec<u8>>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(name);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    (dir, seeds)
}

/// The parsers, each over bytes (text parsers get lossy UTF-8, as files
/// read by stateward are).
/// A parser under test: its corpus name and its entry point over bytes.
type Parser = (&'static str, fn(&[u8]));

fn parsers() -> Vec<Parser> {
    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }
    vec![
        ("state", |b| {
            if let Ok(s) = stateward::state::parse(b) {
                let _ = s.serial;
                let _ = stateward::state::set_serial(b, 7);
            }
        }),
        ("envfile", |b| {
            let _ = stateward::config::parse_env_file_text(&text(b));
        }),
        ("backend", |b| {
            let _ = stateward::config::parse_backend_text(&text(b), false);
        }),
        ("tfbackend", |b| {
            let _ = stateward::config::parse_backend_text(&text(b), true);
        }),
        ("lockinfo", |b| {
            if let Ok(i) = stateward::lock::LockInfo::parse(&text(b)) {
                let _ = i.created_at();
            }
        }),
        ("ignore", |b| {
            let _ = stateward::live::ignore::IgnoreRules::parse(Some(&text(b)));
        }),
    ]
}

#[test]
fn no_parser_panics_on_mutated_input() {
    let execs = env_or("STATEWARD_FUZZ_EXECS", 3000);
    let seed = env_or("STATEWARD_FUZZ_SEED", 0x005e_ed14);
    // Panics are caught and counted; keep their messages off the output.
    std::panic::set_hook(Box::new(|_| {}));
    let mut findings = Vec::new();
    let only = std::env::var("STATEWARD_FUZZ_ONLY").unwrap_or_default();
    for (name, parse) in parsers() {
        if !only.is_empty() && !only.split(',').any(|o| o == name) {
            continue;
        }
        let (dir, seeds) = corpus(name);
        let mut rng = Rng(seed ^ name.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
        let started = Instant::now();
        let mut crashes = 0;
        for seed in &seeds {
            if catch_unwind(AssertUnwindSafe(|| parse(seed))).is_err() {
                findings.push(format!("{name}: a seed panics"));
            }
        }
        for i in 0..execs {
            if i > 0 && i % 100_000 == 0 {
                eprintln!(
                    "fuzz {name}: {i} executions in {:.1?}, {crashes} panics so far",
                    started.elapsed()
                );
            }
            let base = &seeds[rng.below(seeds.len())];
            let input = mutate(&mut rng, base, &seeds);
            if catch_unwind(AssertUnwindSafe(|| parse(&input))).is_err() {
                crashes += 1;
                let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
                });
                let path = dir.join(format!("crash-{hash:016x}"));
                let _ = std::fs::write(&path, &input);
                findings.push(format!("{name}: exec {i} panics: {}", path.display()));
            }
        }
        eprintln!(
            "fuzz {name}: {execs} executions in {:.1?}, {crashes} panics",
            started.elapsed()
        );
    }
    let _ = std::panic::take_hook();
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

/// `set_serial` changes only the serial: for every state of the corpus and
/// its mutations that parses, and many serials, the output parses with the
/// new serial and differs from the input only in the serial's token.
#[test]
fn set_serial_changes_only_the_serial() {
    let (_, seeds) = corpus("state");
    let mut rng = Rng(0x5e71a1);
    let mut checked = 0;
    for i in 0..env_or("STATEWARD_FUZZ_EXECS", 3000) {
        let base = &seeds[rng.below(seeds.len())];
        let input = if i % 4 == 0 {
            base.clone()
        } else {
            mutate(&mut rng, base, &seeds)
        };
        let Ok(state) = stateward::state::parse(&input) else {
            continue;
        };
        let span = state.serial_span();
        let new = match rng.below(4) {
            0 => 0,
            1 => u64::MAX,
            2 => state.serial.saturating_add(1),
            _ => rng.next(),
        };
        let out = stateward::state::set_serial(&input, new)
            .unwrap_or_else(|e| panic!("set_serial refused a state that parses: {e}"));
        let digits = new.to_string();
        assert_eq!(&out[..span.start], &input[..span.start]);
        assert_eq!(
            &out[span.start..span.start + digits.len()],
            digits.as_bytes()
        );
        assert_eq!(&out[span.start + digits.len()..], &input[span.end..]);
        let again = stateward::state::parse(&out).expect("the output parses");
        assert_eq!(again.serial, new);
        assert_eq!(again.lineage, state.lineage);
        checked += 1;
    }
    assert!(checked > 100, "only {checked} states were checked");
}
