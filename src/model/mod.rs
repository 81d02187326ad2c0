//! Value types shared by the configuration and the domain: no I/O, nothing
//! from the rest of the crate but `util`.

pub mod lock_names;
pub mod tier;
