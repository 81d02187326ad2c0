//! Small utilities every layer may use; they depend on nothing in the crate.

pub mod duration;
pub mod fs;
pub mod size;
pub mod time;
