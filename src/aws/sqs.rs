//! SQS adapter: ListQueues (1,000 a page, the API's most), and for the
//! queues a state manages GetQueueAttributes (`All`) and ListQueueTags.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::{AwsError, AwsErrorKind};

/// The SQS client.
#[derive(Clone, Debug)]
pub struct Sqs {
    client: aws_sdk_sqs::Client,
}

/// Whether an error says the queue does not exist.
fn is_absent(e: &AwsError) -> bool {
    e.kind == AwsErrorKind::NotFound
        || matches!(
            e.code.as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
        )
}

impl Sqs {
    pub(super) fn new(client: aws_sdk_sqs::Client) -> Self {
        Sqs { client }
    }

    /// Every queue URL of the region (ListQueues).
    pub async fn queue_urls(&self) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_queues()
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListQueues", "the region's SQS queues", e))?;
            out.extend(page.queue_urls().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every attribute of a queue (GetQueueAttributes `All`), by the API's
    /// names (`VisibilityTimeout`, ...); `None` when the queue does not exist.
    pub async fn attributes(
        &self,
        url: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let r = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await;
        match r {
            Ok(r) => Ok(Some(
                r.attributes()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            Err(e) => {
                let e = AwsError::from_sdk("GetQueueAttributes", format!("SQS queue {url}"), e);
                if is_absent(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A queue's tags (ListQueueTags), without `aws:` tags.
    pub async fn tags(&self, url: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let r = self.client.list_queue_tags().queue_url(url).send().await;
        match r {
            Ok(r) => Ok(r
                .tags()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| !k.starts_with("aws:"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()),
            Err(e) => {
                let e = AwsError::from_sdk("ListQueueTags", format!("SQS queue {url}"), e);
                if is_absent(&e) {
                    Ok(BTreeMap::new())
                } else {
                    Err(e)
                }
            }
        }
    }
}
