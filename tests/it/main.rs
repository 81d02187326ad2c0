//! The integration suite: one test binary, so one build, one link and one
//! AWS emulator per test process (started on first use by
//! [`support::endpoint`]), with the tests of every area run side by side.
//!
//! Run one area with a filter on its module: `cargo test --test it locks::`
//! (or `scripts/test --test it locks::`).

mod support;

mod access;
mod architecture;
mod doctor;
mod drift;
mod drill;
mod encryption;
mod faults;
mod fleet;
mod formats;
mod foundation;
mod fuzz;
mod history;
mod lockfile;
mod locks;
mod rebuild;
mod restore;
mod snapshots;
mod soak;
mod surface;
mod undelete;
