//! Reads what doctor judges. Every fact that cannot be read is kept as an
//! `Err(reason)` so it becomes one failed check, never an abort.

use time::OffsetDateTime;

use super::{CurrentFact, EksFact, Facts, LifecycleRule, RdsFact, SnapshotFact, TableFact};
use crate::aws::{Aws, AwsErrorKind};
use crate::config::Target;
use crate::error::Error;
use crate::live::StateResource;
use crate::lock::Locker;
use crate::restore::search::settled_history;
use crate::restore::select::{has_older_of_lineage, pick_last_good, Pick};
use crate::snapshot::SnapshotStore;
use crate::state::health::assess;
use crate::state::health::content_of;
use crate::store::{history, read_whole, HistoryOptions, ReadDepth};

fn why(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Gathers every fact for `target`. `snapshots` is `None` when no snapshot
/// store is configured.
pub async fn gather(
    aws: &Aws,
    target: &Target,
    snapshots: Option<&SnapshotStore>,
    now: OffsetDateTime,
    concurrency: usize,
) -> Facts {
    let bucket = aws.state_bucket(target);
    let key = target.state_key();
    let versioning = bucket.versioning().await.map_err(why);
    let lifecycle = bucket.lifecycle().await.map_err(why).map(|rules| {
        rules.map(|rules| {
            rules
                .into_iter()
                .map(|r| LifecycleRule {
                    applies_to_state: r.prefix.as_deref().is_none_or(|p| key.starts_with(p)),
                    enabled: r.status == "Enabled",
                    id: r.id,
                    noncurrent_expiration_days: r
                        .noncurrent_expiration_days
                        .map(|d| d.max(0) as u32),
                    current_expiration_days: r.expiration_days.map(|d| d.max(0) as u32),
                })
                .collect()
        })
    });
    let lock_table = match &target.dynamodb_table {
        None => Ok(TableFact::NotConfigured),
        Some(t) => match aws.table(t).shape().await {
            Ok(shape) => Ok(TableFact::Found(shape.partition_key)),
            Err(e) if e.kind == AwsErrorKind::NotFound => Ok(TableFact::Missing),
            Err(e) => Err(why(e)),
        },
    };
    // One whole read of the newest version serves its health, the digest
    // check and the RDS/EKS checks (the current object is not read twice).
    let (current, newest_body) = current_fact(&bucket, &key, concurrency).await;
    let (lock, digest) = match Locker::new(aws, target) {
        Ok(locker) => (
            locker.status(now).await.map_err(why),
            match (&newest_body, &current) {
                (Some(body), _) => locker.digest_status_with(Some(body)).await,
                (None, Ok(CurrentFact::NoState)) => locker.digest_status_with(None).await,
                // A delete marker, or the read failed: the digest check
                // reads the current object itself.
                (None, _) => locker.digest_status().await,
            }
            .map_err(why),
        ),
        Err(e) => (Err(why(&e)), Err(why(e))),
    };
    let (state_bytes, state_err) = match newest_body {
        Some(bytes) => (Some(bytes), None),
        None => match bucket.get(&key, None, None).await {
            Ok(f) => (Some(f.bytes), None),
            Err(e) => (None, Some(why(e))),
        },
    };
    let snapshot = match snapshots {
        None => Ok(SnapshotFact::NotConfigured),
        Some(store) => snapshot_fact(store).await,
    };
    let (rds, eks) = match &state_bytes {
        Some(bytes) => match crate::state::parse(bytes) {
            Ok(mut state) => {
                // Only the types these checks look at: the others' attributes
                // are not copied (a large state is not held twice).
                state
                    .resources
                    .retain(|r| CHECKED_TYPES.contains(&&*r.type_));
                let resources = crate::live::state_resources(&state);
                (
                    rds_facts(aws, &resources).await,
                    eks_facts(aws, &resources).await,
                )
            }
            Err(e) => {
                let msg = format!("the current state cannot be read ({e})");
                (Err(msg.clone()), Err(msg))
            }
        },
        None => {
            let msg = format!(
                "the current state cannot be read ({})",
                state_err.unwrap_or_default()
            );
            (Err(msg.clone()), Err(msg))
        }
    };
    Facts {
        versioning,
        lifecycle,
        lock_table,
        lock,
        digest,
        current,
        snapshot,
        rds,
        eks,
    }
}

/// The health of the newest version, judged from one whole read of it and
/// the header facts of its older neighbours; its body is handed back. Only
/// when it is unhealthy is the rest of the history looked at, newest first,
/// for the version `restore --last-good` would choose.
async fn current_fact(
    bucket: &crate::aws::s3::Bucket,
    key: &str,
    concurrency: usize,
) -> (Result<CurrentFact, String>, Option<Vec<u8>>) {
    let opts = HistoryOptions {
        limit: Some(1),
        depth: ReadDepth::Full,
        concurrency,
        keep_newest: true,
    };
    let mut hist = match history(bucket, key, opts).await {
        Ok(h) => h,
        Err(Error::NoState { .. }) => return (Ok(CurrentFact::NoState), None),
        Err(e) => return (Err(why(e)), None),
    };
    let body = hist.newest_body.take();
    let top = &hist.versions[0];
    if top.health.status == crate::state::health::Status::Ok {
        let fact = CurrentFact::Healthy {
            version_id: top.version.version_id.clone(),
            serial: top.serial.unwrap_or(0),
        };
        return (Ok(fact), body);
    }
    let last_good = last_good(bucket, key, concurrency).await;
    let problem = if top.version.delete_marker {
        "it is a delete marker".to_owned()
    } else {
        format!(
            "{}: {}",
            top.health.status.as_str(),
            top.health.problems.join("; ")
        )
    };
    let fact = CurrentFact::Unhealthy {
        version_id: top.version.version_id.clone(),
        problem,
        last_good,
    };
    (Ok(fact), body)
}

/// The resource types the RDS and EKS checks read from the state.
const CHECKED_TYPES: [&str; 4] = [
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_eks_cluster",
    "aws_eks_node_group",
];

/// The version `restore --last-good` would choose: header facts of the
/// newest versions (cached; as many as settle the choice, see
/// [`crate::restore::search::settled_history`]), then whole reads newest
/// first only until the choice is made. `None` when there is none or it
/// cannot be told.
async fn last_good(
    bucket: &crate::aws::s3::Bucket,
    key: &str,
    concurrency: usize,
) -> Option<String> {
    for whole in [false, true] {
        let hist = settled_history(bucket, key, concurrency, whole)
            .await
            .ok()?;
        let partial = hist.versions.len() < hist.total_versions;
        let mut facts = hist.facts;
        loop {
            let health = assess(&facts);
            match pick_last_good(&facts, &health) {
                // Judged without its older neighbour, or nothing good among
                // the newest: the whole history.
                Pick::Chosen(i) if partial && !has_older_of_lineage(&facts, i) => break,
                Pick::NoneGood if partial => break,
                Pick::Chosen(i) => return Some(facts[i].version_id.clone()),
                Pick::NeedsFullRead(i) => {
                    let (bytes, _) = read_whole(bucket, key, &hist.versions[i].version)
                        .await
                        .ok()?;
                    facts[i].content = content_of(&bytes).0;
                }
                Pick::NoneGood => return None,
            }
        }
    }
    None
}

async fn snapshot_fact(store: &SnapshotStore) -> Result<SnapshotFact, String> {
    let listing = store.list().await.map_err(why)?;
    let Some(newest) = listing.newest() else {
        return Ok(SnapshotFact::NoneTaken);
    };
    let verified = crate::snapshot::verify(store, newest).await;
    Ok(SnapshotFact::Newest {
        id: newest.id.clone(),
        created: newest.created,
        verified: if verified.ok {
            Ok(())
        } else {
            Err(verified.problems.join("; "))
        },
    })
}

/// The managed instances of `type_` in the state, with their live identifiers
/// (the drift engine's key of each type: `identifier`, `cluster_identifier`, `name`).
fn of_type<'r>(
    resources: &'r [StateResource],
    type_: &'r str,
) -> impl Iterator<Item = (&'r str, &'r str)> {
    resources
        .iter()
        .filter(move |r| r.type_ == type_)
        .filter_map(|r| Some((r.address.as_str(), r.id.as_deref()?)))
}

/// RDS facts of the state's DB instances and clusters: one listing of the
/// instances, one of the clusters, and the snapshots of all of them in
/// filtered, paginated calls (not one lookup per database).
async fn rds_facts(aws: &Aws, resources: &[StateResource]) -> Result<Vec<RdsFact>, String> {
    let rds = aws.rds();
    let mut out = Vec::new();
    let instances: Vec<(&str, &str)> = of_type(resources, "aws_db_instance").collect();
    if !instances.is_empty() {
        let live = rds.describe_db_instances().await.map_err(why)?;
        let found: Vec<&str> = instances
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| live.iter().any(|i| i.identifier == *id))
            .collect();
        let snapshots = rds.latest_instance_snapshots(&found).await.map_err(why)?;
        for (address, identifier) in instances {
            let fact = match live.iter().find(|i| i.identifier == identifier) {
                None => (false, None, None),
                Some(i) => (
                    true,
                    i.backup_retention_period,
                    snapshots.get(identifier).copied(),
                ),
            };
            out.push(rds_fact(address, identifier, fact));
        }
    }
    let clusters: Vec<(&str, &str)> = of_type(resources, "aws_rds_cluster").collect();
    if !clusters.is_empty() {
        let live = rds.describe_db_clusters().await.map_err(why)?;
        let found: Vec<&str> = clusters
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| live.iter().any(|c| c.identifier == *id))
            .collect();
        let snapshots = rds.latest_cluster_snapshots(&found).await.map_err(why)?;
        for (address, identifier) in clusters {
            let fact = match live.iter().find(|c| c.identifier == identifier) {
                None => (false, None, None),
                Some(c) => (
                    true,
                    c.backup_retention_period,
                    snapshots.get(identifier).copied(),
                ),
            };
            out.push(rds_fact(address, identifier, fact));
        }
    }
    Ok(out)
}

fn rds_fact(
    address: &str,
    identifier: &str,
    (found, retention, latest): (bool, Option<i32>, Option<OffsetDateTime>),
) -> RdsFact {
    RdsFact {
        address: address.to_owned(),
        identifier: identifier.to_owned(),
        backup_retention_days: retention.map(|d| d.max(0) as u32),
        latest_snapshot: latest,
        found,
    }
}

async fn eks_facts(aws: &Aws, resources: &[StateResource]) -> Result<Vec<EksFact>, String> {
    let eks = aws.eks();
    let mut out = Vec::new();
    for (address, name) in of_type(resources, "aws_eks_cluster") {
        let cluster = eks.describe_cluster(name).await.map_err(why)?;
        let mut nodegroups = Vec::new();
        // The node groups the STATE holds for this cluster (id
        // `cluster:node group`), each with its live status: one in state
        // and gone from AWS is MISSING.
        for ng in state_nodegroups(resources, name) {
            let status = match cluster {
                None => "MISSING".to_owned(),
                Some(_) => eks
                    .describe_nodegroup(name, ng)
                    .await
                    .map_err(why)?
                    .map(|n| n.status.unwrap_or_else(|| "UNKNOWN".into()))
                    .unwrap_or_else(|| "MISSING".into()),
            };
            nodegroups.push((ng.to_owned(), status));
        }
        out.push(EksFact {
            address: address.to_owned(),
            name: name.to_owned(),
            status: cluster.map(|c| c.status.unwrap_or_else(|| "UNKNOWN".into())),
            nodegroups,
        });
    }
    Ok(out)
}

/// The node group names the state holds for `cluster`. Pure.
pub fn state_nodegroups<'a>(resources: &'a [StateResource], cluster: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = of_type(resources, "aws_eks_node_group")
        .filter_map(|(_, id)| {
            let (c, ng) = id.split_once(':')?;
            (c == cluster).then_some(ng)
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
