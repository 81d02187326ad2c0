//! Reads what doctor judges. Every fact that cannot be read is kept as an
//! `Err(reason)` so it becomes one failed check, never an abort.

use time::OffsetDateTime;

use super::{CurrentFact, EksFact, Facts, LifecycleRule, RdsFact, SnapshotFact, TableFact};
use crate::aws::{Aws, AwsErrorKind};
use crate::config::Target;
use crate::error::Error;
use crate::lock::Locker;
use crate::restore::select::{pick_last_good, Pick};
use crate::snapshot::SnapshotStore;
use crate::state::health::assess;
use crate::store::{history, HistoryOptions, ReadDepth};

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
) -> Facts {
    let bucket = aws.bucket(&target.bucket);
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
    let (lock, digest) = match Locker::new(aws, target) {
        Ok(locker) => (
            locker.status(now).await.map_err(why),
            locker.digest_status().await.map_err(why),
        ),
        Err(e) => (Err(why(&e)), Err(why(e))),
    };
    let current = current_fact(&bucket, &key).await;
    let (state_bytes, state_err) = match bucket.get(&key, None, None).await {
        Ok(f) => (Some(f.bytes), None),
        Err(e) => (None, Some(why(e))),
    };
    let snapshot = match snapshots {
        None => Ok(SnapshotFact::NotConfigured),
        Some(store) => snapshot_fact(store).await,
    };
    let (rds, eks) = match &state_bytes {
        Some(bytes) => match crate::state::parse(bytes) {
            Ok(state) => (rds_facts(aws, &state).await, eks_facts(aws, &state).await),
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

async fn current_fact(bucket: &crate::aws::s3::Bucket, key: &str) -> Result<CurrentFact, String> {
    let opts = HistoryOptions {
        limit: None,
        depth: ReadDepth::Full,
        concurrency: 8,
    };
    let hist = match history(bucket, key, opts).await {
        Ok(h) => h,
        Err(Error::NoState { .. }) => return Ok(CurrentFact::NoState),
        Err(e) => return Err(why(e)),
    };
    let top = &hist.versions[0];
    if top.health.status == crate::state::health::Status::Ok {
        return Ok(CurrentFact::Healthy {
            version_id: top.version.version_id.clone(),
            serial: top.serial.unwrap_or(0),
        });
    }
    let health = assess(&hist.facts);
    let last_good = match pick_last_good(&hist.facts, &health) {
        Pick::Chosen(i) => Some(hist.facts[i].version_id.clone()),
        _ => None,
    };
    let problem = if top.version.delete_marker {
        "it is a delete marker".to_owned()
    } else {
        format!(
            "{}: {}",
            top.health.status.as_str(),
            top.health.problems.join("; ")
        )
    };
    Ok(CurrentFact::Unhealthy {
        version_id: top.version.version_id.clone(),
        problem,
        last_good,
    })
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

fn attr(attrs: Option<&serde_json::value::RawValue>, name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(attrs?.get()).ok()?;
    v.get(name)?.as_str().map(str::to_owned)
}

async fn rds_facts(aws: &Aws, state: &crate::state::State<'_>) -> Result<Vec<RdsFact>, String> {
    let rds = aws.rds();
    let mut out = Vec::new();
    for r in state
        .resources
        .iter()
        .filter(|r| r.mode == crate::state::Mode::Managed)
    {
        let is_cluster = match r.type_.as_ref() {
            "aws_db_instance" => false,
            "aws_rds_cluster" => true,
            _ => continue,
        };
        for inst in r.instances.iter().filter(|i| i.deposed.is_none()) {
            let address =
                crate::state::address::instance_address(&r.address(), inst.index_key.as_ref());
            let id_attr = if is_cluster {
                "cluster_identifier"
            } else {
                "identifier"
            };
            let Some(identifier) =
                attr(inst.attributes, id_attr).or_else(|| attr(inst.attributes, "id"))
            else {
                continue;
            };
            let (found, retention, latest) = if is_cluster {
                let clusters = rds.describe_db_clusters().await.map_err(why)?;
                match clusters.into_iter().find(|c| c.identifier == identifier) {
                    None => (false, None, None),
                    Some(c) => (
                        true,
                        c.backup_retention_period,
                        rds.latest_cluster_snapshot(&identifier)
                            .await
                            .map_err(why)?,
                    ),
                }
            } else {
                match rds.describe_db_instance(&identifier).await.map_err(why)? {
                    None => (false, None, None),
                    Some(i) => (
                        true,
                        i.backup_retention_period,
                        rds.latest_instance_snapshot(&identifier)
                            .await
                            .map_err(why)?,
                    ),
                }
            };
            out.push(RdsFact {
                address,
                identifier,
                backup_retention_days: retention.map(|d| d.max(0) as u32),
                latest_snapshot: latest,
                found,
            });
        }
    }
    Ok(out)
}

async fn eks_facts(aws: &Aws, state: &crate::state::State<'_>) -> Result<Vec<EksFact>, String> {
    let eks = aws.eks();
    let mut out = Vec::new();
    for r in state
        .resources
        .iter()
        .filter(|r| r.mode == crate::state::Mode::Managed && r.type_ == "aws_eks_cluster")
    {
        for inst in r.instances.iter().filter(|i| i.deposed.is_none()) {
            let address =
                crate::state::address::instance_address(&r.address(), inst.index_key.as_ref());
            let Some(name) = attr(inst.attributes, "name").or_else(|| attr(inst.attributes, "id"))
            else {
                continue;
            };
            let cluster = eks.describe_cluster(&name).await.map_err(why)?;
            let mut nodegroups = Vec::new();
            if cluster.is_some() {
                for ng in eks.list_nodegroups(&name).await.map_err(why)? {
                    let status = eks
                        .describe_nodegroup(&name, &ng)
                        .await
                        .map_err(why)?
                        .and_then(|n| n.status)
                        .unwrap_or_else(|| "MISSING".into());
                    nodegroups.push((ng, status));
                }
            }
            out.push(EksFact {
                address,
                name,
                status: cluster.map(|c| c.status.unwrap_or_else(|| "UNKNOWN".into())),
                nodegroups,
            });
        }
    }
    Ok(out)
}
