//! EventBridge (CloudWatch Events) adapter: rules of one bus (ListRules,
//! 100 a page; DescribeRule for one) and the targets of one rule
//! (ListTargetsByRule, 100 a page).

use super::{AwsError, AwsErrorKind};

/// A rule, as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleInfo {
    pub name: String,
    pub arn: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    /// `ENABLED`, `DISABLED`, `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
}

/// A rule's target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetInfo {
    pub id: String,
    pub arn: String,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub input_path: Option<String>,
}

/// The EventBridge (CloudWatch Events) client.
#[derive(Clone, Debug)]
pub struct Events {
    client: aws_sdk_eventbridge::Client,
}

fn absent_is_none<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Events {
    pub(super) fn new(client: aws_sdk_eventbridge::Client) -> Self {
        Events { client }
    }

    /// Every rule of an event bus (ListRules, pages of 100); `None` when
    /// the bus does not exist.
    pub async fn list_rules(&self, bus: &str) -> Result<Option<Vec<RuleInfo>>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_rules()
                .event_bus_name(bus)
                .limit(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListRules", format!("event bus {bus}"), e));
            let Some(page) = absent_is_none(page)? else {
                return Ok(None);
            };
            out.extend(page.rules().iter().map(|r| RuleInfo {
                name: r.name().unwrap_or_default().to_owned(),
                arn: r.arn().unwrap_or_default().to_owned(),
                event_pattern: r.event_pattern().map(str::to_owned),
                schedule_expression: r.schedule_expression().map(str::to_owned),
                state: r.state().map(|s| s.as_str().to_owned()),
                description: r.description().map(str::to_owned),
                role_arn: r.role_arn().map(str::to_owned),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(Some(out))
    }

    /// One rule (DescribeRule); `None` when it does not exist.
    pub async fn describe_rule(&self, bus: &str, name: &str) -> Result<Option<RuleInfo>, AwsError> {
        let r = self
            .client
            .describe_rule()
            .event_bus_name(bus)
            .name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeRule", format!("rule {bus}/{name}"), e));
        Ok(absent_is_none(r)?.map(|r| RuleInfo {
            name: r.name().unwrap_or(name).to_owned(),
            arn: r.arn().unwrap_or_default().to_owned(),
            event_pattern: r.event_pattern().map(str::to_owned),
            schedule_expression: r.schedule_expression().map(str::to_owned),
            state: r.state().map(|s| s.as_str().to_owned()),
            description: r.description().map(str::to_owned),
            role_arn: r.role_arn().map(str::to_owned),
        }))
    }

    /// The targets of a rule (ListTargetsByRule, pages of 100); `None` when
    /// the rule does not exist.
    pub async fn list_targets(
        &self,
        bus: &str,
        rule: &str,
    ) -> Result<Option<Vec<TargetInfo>>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_targets_by_rule()
                .event_bus_name(bus)
                .rule(rule)
                .limit(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListTargetsByRule", format!("rule {bus}/{rule}"), e)
                });
            let Some(page) = absent_is_none(page)? else {
                return Ok(None);
            };
            out.extend(page.targets().iter().map(|t| TargetInfo {
                id: t.id().to_owned(),
                arn: t.arn().to_owned(),
                role_arn: t.role_arn().map(str::to_owned),
                input: t.input().map(str::to_owned),
                input_path: t.input_path().map(str::to_owned),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(Some(out))
    }
}
