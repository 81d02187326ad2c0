//! SNS adapter: ListTopics and ListSubscriptions (100 a page, fixed by the
//! API), and GetTopicAttributes for the topics a state manages.

use std::collections::BTreeMap;

use super::{AwsError, AwsErrorKind};

/// A subscription (ListSubscriptions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: Option<String>,
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
}

/// The SNS client.
#[derive(Clone, Debug)]
pub struct Sns {
    client: aws_sdk_sns::Client,
}

impl Sns {
    pub(super) fn new(client: aws_sdk_sns::Client) -> Self {
        Sns { client }
    }

    /// Every topic ARN of the region (ListTopics).
    pub async fn topic_arns(&self) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_topics()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListTopics", "the region's SNS topics", e))?;
            out.extend(
                page.topics()
                    .iter()
                    .filter_map(|t| t.topic_arn().map(str::to_owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// A topic's attributes by the API's names (`DisplayName`, `Policy`,
    /// ...); `None` when the topic does not exist.
    pub async fn topic_attributes(
        &self,
        arn: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        match self
            .client
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
        {
            Ok(r) => Ok(Some(
                r.attributes()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            )),
            Err(e) => {
                let e = AwsError::from_sdk("GetTopicAttributes", format!("SNS topic {arn}"), e);
                if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Every confirmed subscription of the region (ListSubscriptions).
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_subscriptions()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListSubscriptions", "the region's SNS subscriptions", e)
                })?;
            out.extend(page.subscriptions().iter().filter_map(|s| {
                let arn = s.subscription_arn().filter(|a| a.starts_with("arn:"))?;
                Some(Subscription {
                    arn: arn.to_owned(),
                    topic_arn: s.topic_arn().map(str::to_owned),
                    protocol: s.protocol().map(str::to_owned),
                    endpoint: s.endpoint().map(str::to_owned),
                })
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}
