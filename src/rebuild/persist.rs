//! Where a rebuild's journal is kept: the local file and its S3 copy.

use std::path::PathBuf;

use super::journal::{self, Journal};
use super::run::Store;
use crate::aws::s3::Bucket;
use crate::aws::AwsErrorKind;
use crate::error::Result;
use crate::output::Stderr;

/// Where the journal is kept: the local file (authoritative), and a copy
/// next to the state in S3 when the environment file asks for it.
pub struct JournalStore {
    local: PathBuf,
    s3: Option<(Bucket, String)>,
    s3_warned: bool,
    err: Stderr,
}

impl JournalStore {
    /// The journal at `local`, copied to `s3` (bucket, key) when given;
    /// warnings (a failed S3 copy) go to `err`.
    pub fn new(local: PathBuf, s3: Option<(Bucket, String)>, err: Stderr) -> JournalStore {
        JournalStore {
            local,
            s3,
            s3_warned: false,
            err,
        }
    }

    /// Where the journal is, in words.
    pub fn describe(&self) -> String {
        self.local.display().to_string()
    }

    /// The newest journal found (local, or the S3 copy when enabled).
    pub async fn load(&self) -> Result<Option<Journal>> {
        let local = journal::load(&self.local)?;
        let remote = match &self.s3 {
            Some((bucket, key)) => match bucket.get(key, None, None).await {
                Ok(f) => Some(journal::parse(
                    &f.bytes,
                    &format!("s3://{}/{key}", bucket.name()),
                )?),
                Err(e) if e.kind == AwsErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        Ok(match (local, remote) {
            (Some(l), Some(r)) => Some(if r.seq > l.seq { r } else { l }),
            (l, r) => l.or(r),
        })
    }
}

impl Store for JournalStore {
    async fn save(&mut self, journal: &mut Journal) -> Result<()> {
        journal.seq += 1;
        journal.updated_at = super::run::now_rfc3339();
        journal::save_atomic(&self.local, journal)?;
        if let Some((bucket, key)) = &self.s3 {
            // The local journal is authoritative: an S3 failure is reported, not fatal.
            if let Err(e) = bucket.put(key, journal::to_bytes(journal), false).await {
                if !self.s3_warned {
                    self.err.line(format_args!("stateward: warning: could not write the S3 copy of the rebuild journal s3://{}/{key} ({e}); the local journal {} is up to date", bucket.name(), self.local.display()));
                    self.s3_warned = true;
                }
            }
        }
        Ok(())
    }
}
