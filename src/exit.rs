//! Exit codes: the one contract every command shares (listed in README).

/// Success, or no differences.
pub const SUCCESS: u8 = 0;
/// Any error, usage errors included.
pub const ERROR: u8 = 1;
/// Differences, drift or failed checks were found.
pub const DIFFERENCES: u8 = 2;
/// The state is locked by another holder.
pub const LOCKED: u8 = 3;
/// Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;
