//! ACM adapter: ListCertificates (1,000 a page; every key algorithm, not
//! only the default RSA_2048), and DescribeCertificate for a managed
//! certificate whose alternative names the list does not give in full.

use aws_sdk_acm::types::{Filters, KeyAlgorithm};

use super::{AwsError, AwsErrorKind};

/// A certificate, as far as drift compares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Certificate {
    pub arn: String,
    pub domain_name: Option<String>,
    /// Every subject alternative name (the domain name among them).
    pub alternative_names: Vec<String>,
    /// The list left some alternative names out (or gave none).
    pub names_incomplete: bool,
    pub status: Option<String>,
}

/// The ACM client.
#[derive(Clone, Debug)]
pub struct Acm {
    client: aws_sdk_acm::Client,
}

impl Acm {
    pub(super) fn new(client: aws_sdk_acm::Client) -> Self {
        Acm { client }
    }

    /// Every certificate of the region (ListCertificates).
    pub async fn certificates(&self) -> Result<Vec<Certificate>, AwsError> {
        let every_key = Filters::builder()
            .key_types(KeyAlgorithm::Rsa1024)
            .key_types(KeyAlgorithm::Rsa2048)
            .key_types(KeyAlgorithm::Rsa3072)
            .key_types(KeyAlgorithm::Rsa4096)
            .key_types(KeyAlgorithm::EcPrime256v1)
            .key_types(KeyAlgorithm::EcSecp384r1)
            .key_types(KeyAlgorithm::EcSecp521r1)
            .build();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_certificates()
                .includes(every_key.clone())
                .max_items(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("ListCertificates", "the region's ACM certificates", e)
                })?;
            out.extend(page.certificate_summary_list().iter().filter_map(|c| {
                let names = c.subject_alternative_name_summaries().to_vec();
                Some(Certificate {
                    arn: c.certificate_arn()?.to_owned(),
                    domain_name: c.domain_name().map(str::to_owned),
                    names_incomplete: names.is_empty()
                        || c.has_additional_subject_alternative_names() == Some(true),
                    alternative_names: names,
                    status: c.status().map(|s| s.as_str().to_owned()),
                })
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One certificate (DescribeCertificate); `None` when it does not exist.
    pub async fn certificate(&self, arn: &str) -> Result<Option<Certificate>, AwsError> {
        let r = match self
            .client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let e = AwsError::from_sdk("DescribeCertificate", format!("certificate {arn}"), e);
                return if e.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        Ok(r.certificate().and_then(|c| {
            Some(Certificate {
                arn: c.certificate_arn()?.to_owned(),
                domain_name: c.domain_name().map(str::to_owned),
                alternative_names: c.subject_alternative_names().to_vec(),
                names_incomplete: false,
                status: c.status().map(|s| s.as_str().to_owned()),
            })
        }))
    }
}
