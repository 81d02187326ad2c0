//! Recovery objectives: the environment file's `objectives` block.
//!
//! ```hcl
//! objectives {
//!   rpo                       = "15m"  # most data (time) a recovery may lose
//!   rto                       = "1h"   # longest a recovery may take
//!   min_backup_retention_days = 7
//!   noncurrent_retention_days = 90
//! }
//! ```
//!
//! Every key is optional; unset keys take the defaults below. Command-line
//! flags (`--rto`, ...) override the file.

use std::time::Duration;

use serde::Serialize;

use crate::config::section::{Field, Section};
use crate::config::ConfigError;

/// Default recovery point objective: 1 hour.
pub const DEFAULT_RPO: Duration = Duration::from_secs(3600);
/// Default recovery time objective: 4 hours.
pub const DEFAULT_RTO: Duration = Duration::from_secs(4 * 3600);
/// Default minimum backup retention: 7 days.
pub const DEFAULT_MIN_BACKUP_RETENTION_DAYS: u32 = 7;
/// Default noncurrent-version retention: 90 days.
pub const DEFAULT_NONCURRENT_RETENTION_DAYS: u32 = 90;

/// The `objectives` block as written (unset keys are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Objectives {
    pub rpo: Option<Duration>,
    pub rto: Option<Duration>,
    pub min_backup_retention_days: Option<u32>,
    pub noncurrent_retention_days: Option<u32>,
}

impl Objectives {
    /// Keys of the block.
    pub const KEYS: &'static [&'static str] = &[
        "rpo",
        "rto",
        "min_backup_retention_days",
        "noncurrent_retention_days",
    ];

    pub fn rpo(&self) -> Duration {
        self.rpo.unwrap_or(DEFAULT_RPO)
    }

    pub fn rto(&self) -> Duration {
        self.rto.unwrap_or(DEFAULT_RTO)
    }

    pub fn min_backup_retention_days(&self) -> u32 {
        self.min_backup_retention_days
            .unwrap_or(DEFAULT_MIN_BACKUP_RETENTION_DAYS)
    }

    pub fn noncurrent_retention_days(&self) -> u32 {
        self.noncurrent_retention_days
            .unwrap_or(DEFAULT_NONCURRENT_RETENTION_DAYS)
    }
}

impl Section for Objectives {
    const NAME: &'static str = "objectives";
    const KEYS: &'static [&'static str] = Objectives::KEYS;
    const REQUIRED: &'static [&'static str] = &[];

    fn set(&mut self, f: &Field<'_>) -> Result<(), ConfigError> {
        let duration = |f: &Field<'_>| -> Result<Duration, ConfigError> {
            crate::util::duration::parse_positive(&f.string()?).map_err(|reason| f.invalid(reason))
        };
        match f.key() {
            "rpo" => self.rpo = Some(duration(f)?),
            "rto" => self.rto = Some(duration(f)?),
            "min_backup_retention_days" => self.min_backup_retention_days = Some(f.count()?),
            "noncurrent_retention_days" => self.noncurrent_retention_days = Some(f.count()?),
            other => unreachable!("read_section only passes known keys, got {other}"),
        }
        Ok(())
    }
}
