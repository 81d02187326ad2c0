//! stateward: recover, inspect and validate Terraform state kept in S3.
//!
//! A library with a thin binary (`main.rs`). Modules by domain:
//! `config` (where the state is), `state` (the v4 model, health), `diff`,
//! `store` (versions in S3, references), `snapshot` (copies outside the
//! state bucket, retention), `aws` (the only place SDK types live),
//! `output` (the printer), `cli` (arguments and commands), and two leaves
//! every layer may use: `model` (value types shared by configuration and the
//! domain) and `util` (durations, time formatting).
//!
//! The module graph has no cycles and nothing depends on `cli`;
//! `tests/architecture.rs` derives the graph from the source and keeps it so.

pub mod aws;
pub mod cli;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod drill;
pub mod error;
pub mod exit;
pub mod live;
pub mod lock;
pub mod model;
pub mod output;
pub mod rebuild;
pub mod restore;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod undelete;
pub mod util;
