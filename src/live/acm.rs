//! ACM: certificates, from ListCertificates (1,000 a page, every key
//! algorithm); DescribeCertificate only for a managed certificate whose
//! alternative names the list does not give in full. Identified by ARN;
//! compares the domain name and the alternative names (as a set, without
//! the domain name, as the provider stores them). Status is not compared.

use serde_json::{json, Value};

use super::{attr_or_id, each, LiveObject, Part, ScanRequest, TypeScan, TypeSpec};
use crate::aws::acm::{Acm, Certificate};
use crate::aws::{Aws, AwsError};

pub const CERTIFICATE: &str = "aws_acm_certificate";

fn certificate_key(a: &Value) -> Option<String> {
    attr_or_id(a, "arn")
}

pub const TYPES: &[TypeSpec] = &[TypeSpec::new(CERTIFICATE, certificate_key)
    .compares("domain_name, subject_alternative_names (as a set; status not compared)")];

super::family!("ACM");

/// `aws_acm_certificate`: the alternative names other than the domain name.
pub fn certificate_attrs(c: &Certificate) -> Vec<(String, Value)> {
    let others: Vec<&String> = c
        .alternative_names
        .iter()
        .filter(|n| Some(n.as_str()) != c.domain_name.as_deref())
        .collect();
    vec![
        ("domain_name".into(), json!(c.domain_name)),
        ("subject_alternative_names".into(), json!(others)),
    ]
}

async fn certificates(acm: &Acm, req: &ScanRequest) -> Result<Vec<LiveObject>, AwsError> {
    let managed = req.managed(CERTIFICATE);
    let listed: Vec<Certificate> = if req.naive {
        managed.iter().map(|arn| unread(arn)).collect()
    } else {
        acm.certificates()
            .await?
            .into_iter()
            .filter(|c| managed.contains(&c.arn))
            .collect()
    };
    let full = each(req, listed, |c| async move {
        if c.names_incomplete {
            acm.certificate(&c.arn).await
        } else {
            Ok(Some(c))
        }
    })
    .await?;
    Ok(full.iter().flatten().map(certificate_object).collect())
}

/// A certificate known only by ARN: described before it is compared.
fn unread(arn: &str) -> Certificate {
    Certificate {
        arn: arn.to_owned(),
        names_incomplete: true,
        ..Certificate::default()
    }
}

fn certificate_object(c: &Certificate) -> LiveObject {
    LiveObject {
        attrs: certificate_attrs(c),
        ..LiveObject::named(&c.arn, c.domain_name.clone().unwrap_or_default())
    }
}

/// Enumerates the certificates.
pub async fn scan(aws: &Aws, req: &ScanRequest) -> Part {
    if !req.wants(CERTIFICATE) {
        return Part::new();
    }
    let scan = match certificates(&aws.acm(), req).await {
        Ok(objs) => TypeScan::Listed(objs),
        Err(e) => TypeScan::Failed(e),
    };
    vec![(CERTIFICATE, scan)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:acm:eu-west-1:123456789012:certificate/abc";

    #[test]
    fn a_certificate_is_found_by_arn() {
        for (attrs, want) in [
            (
                json!({"arn": ARN, "id": ARN, "domain_name": "example.com"}),
                Some(ARN),
            ),
            (json!({"id": ARN}), Some(ARN)),
            (json!({"domain_name": "example.com"}), None),
        ] {
            assert_eq!(certificate_key(&attrs).as_deref(), want, "{attrs}");
        }
    }

    #[test]
    fn alternative_names_leave_out_the_domain_name() {
        let c = Certificate {
            arn: ARN.into(),
            domain_name: Some("example.com".into()),
            alternative_names: vec![
                "example.com".into(),
                "*.example.com".into(),
                "api.example.com".into(),
            ],
            names_incomplete: false,
            status: Some("ISSUED".into()),
        };
        let o = certificate_object(&c);
        assert_eq!(o.id, ARN);
        assert_eq!(o.name, "example.com");
        assert_eq!(
            o.attrs,
            vec![
                ("domain_name".to_owned(), json!("example.com")),
                (
                    "subject_alternative_names".to_owned(),
                    json!(["*.example.com", "api.example.com"])
                ),
            ]
        );
        assert!(!o.attrs.iter().any(|(k, _)| k == "status"));
        let u = unread(ARN);
        assert!(u.names_incomplete);
        assert_eq!(u.arn, ARN);
    }
}
