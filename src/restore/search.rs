//! How much of a history restore reads: header facts newest first, only as
//! far as [`select::headers_settle`] needs, the whole history at most.

use crate::error::Result;
use crate::storage::StateObjects;
use crate::store::{history, History, HistoryOptions, ReadDepth};

use super::select::{self, Highest, Settled, FIRST_HEADER_WINDOW};

/// The serial and lineage each listed version's first bytes name (newest
/// first; kept for a corrupt version too).
pub fn headers(hist: &History) -> Vec<Option<(u64, &str)>> {
    hist.versions
        .iter()
        .map(|v| Some((v.serial?, v.lineage.as_deref()?)))
        .collect()
}

/// The header facts of the newest versions (through the version cache):
/// [`FIRST_HEADER_WINDOW`] first, then as many as
/// [`select::headers_settle`] asks for, until they settle what restore
/// decides (with `whole`, or when they never do: every version).
pub async fn settled_history(
    bucket: &dyn StateObjects,
    key: &str,
    concurrency: usize,
    whole: bool,
) -> Result<History> {
    let mut limit = (!whole).then_some(FIRST_HEADER_WINDOW);
    loop {
        let opts = HistoryOptions {
            limit,
            depth: ReadDepth::Prefix,
            concurrency,
            keep_newest: false,
        };
        let hist = history(bucket, key, opts).await?;
        if limit.is_none() {
            return Ok(hist);
        }
        match select::headers_settle(&hist.facts, &headers(&hist), hist.total_versions) {
            Settled::Yes => return Ok(hist),
            Settled::ReadNewest(n) if n >= hist.total_versions => limit = None,
            Settled::ReadNewest(n) => limit = Some(n),
        }
    }
}

/// Whether `hist` tells the highest serial `lineage` has used (a chosen
/// version of another lineage than the history's may need older headers).
pub fn knows_highest(hist: &History, lineage: &str) -> bool {
    !matches!(
        select::highest_serial(&headers(hist), hist.total_versions, lineage),
        Highest::ReadMore
    )
}
