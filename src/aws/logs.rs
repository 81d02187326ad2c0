//! CloudWatch Logs adapter: DescribeLogGroups (50 a page, the API's most).

use super::AwsError;

/// A log group, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogGroup {
    pub name: String,
    /// `None`: never expire.
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    /// `STANDARD`, `INFREQUENT_ACCESS`, `DELIVERY`.
    pub class: Option<String>,
    pub deletion_protection: Option<bool>,
}

/// The CloudWatch Logs client.
#[derive(Clone, Debug)]
pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    pub(super) fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Logs { client }
    }

    /// Every log group whose name starts with `prefix` (all with `None`).
    pub async fn log_groups(&self, prefix: Option<&str>) -> Result<Vec<LogGroup>, AwsError> {
        let what = match prefix {
            Some(p) => format!("log groups named {p}*"),
            None => "the region's log groups".to_owned(),
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_log_groups()
                .limit(50)
                .set_log_group_name_prefix(prefix.map(str::to_owned))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeLogGroups", what.clone(), e))?;
            out.extend(page.log_groups().iter().filter_map(|g| {
                Some(LogGroup {
                    name: g.log_group_name()?.to_owned(),
                    retention_in_days: g.retention_in_days(),
                    kms_key_id: g.kms_key_id().map(str::to_owned),
                    class: g.log_group_class().map(|c| c.as_str().to_owned()),
                    deletion_protection: g.deletion_protection_enabled(),
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
