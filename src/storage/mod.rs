//! The storage the domain reads and writes, behind two narrow traits
//! ([`StateObjects`], [`LockItems`]; in [`traits`], with the S3 and DynamoDB
//! adapters' implementations), the in-memory twin with the same semantics
//! ([`memory`]) and the fault wrapper over either ([`faulty`]).
//!
//! A leaf beside `aws`: `store` (histories, references), `snapshot`,
//! `restore`, `lock`, `drill` and `undelete` all work through it, and it
//! depends on nothing of theirs.

pub mod faulty;
pub mod memory;
pub mod traits;

pub use traits::{Call, LockItems, StateObjects};
