//! stateward: recover, inspect and validate Terraform state kept in S3.
//!
//! A library with a thin binary (`main.rs`). Modules by domain:
//! `config` (where the state is), `state` (the v4 model, health), `diff`,
//! `store` (versions in S3, references), `storage` (the storage traits,
//! their in-memory twin and fault wrapper), `snapshot` (copies outside the
//! state bucket, retention), `aws` (the only place SDK types live),
//! `output` (the printer), `cli` (arguments and commands), and two leaves
//! every layer may use: `model` (value types shared by configuration and the
//! domain) and `util` (durations, time formatting).
//!
//! The module graph has no cycles and nothing depends on `cli`;
//! `tests/architecture.rs` derives the graph from the source and keeps it so.

// Output only through the printer (`output::Printer` and its `Stderr`), and
// no unwrap/expect: denied in the library's non-test code. Set here rather
// than in Cargo.toml's `[lints]`, which would also hold the test and example
// crates, where a panic is the way to fail and printing is the point.
#![cfg_attr(
    not(test),
    deny(
        clippy::print_stdout,
        clippy::print_stderr,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod aws;
pub mod cli;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod drill;
pub mod envvars;
pub mod error;
pub mod exit;
pub mod fleet;
pub mod hint;
pub mod interrupt;
pub mod live;
pub mod lock;
pub mod model;
pub mod output;
pub mod rebuild;
pub mod restore;
pub mod snapshot;
pub mod state;
pub mod storage;
pub mod store;
pub mod undelete;
pub mod util;
