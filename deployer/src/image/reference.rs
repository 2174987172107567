//! Image references: which registry an image lives in, and whether that
//! registry is ECR.

use std::str::FromStr;

use oci_spec::distribution::Reference;

use crate::exit::Failure;

/// A parsed image reference.
#[derive(Debug, Clone)]
pub struct ImageRef {
    /// The parsed form.
    pub reference: Reference,
    /// The text it was parsed from.
    pub text: String,
}

/// An ECR registry: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    /// AWS account id.
    pub account: String,
    /// AWS region.
    pub region: String,
}

impl ImageRef {
    /// Parses `text`, naming the flag in the error.
    pub fn parse(text: &str, flag: &str) -> Result<Self, Failure> {
        let reference = Reference::from_str(text).map_err(|err| {
            Failure::bad_input(format!("{flag} {text}: not an image reference: {err}"))
        })?;
        Ok(ImageRef {
            reference,
            text: text.to_owned(),
        })
    }

    /// The ECR registry the image lives in, if it is an ECR image.
    pub fn ecr(&self) -> Option<EcrRegistry> {
        ecr_registry(self.reference.registry())
    }
}

/// Parses an ECR registry host name.
pub fn ecr_registry(host: &str) -> Option<EcrRegistry> {
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let mut parts = rest.split('.');
    let (account, dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    (account_ok && dkr == "dkr" && ecr == "ecr" && parts.next().is_none()).then(|| EcrRegistry {
        account: account.to_owned(),
        region: region.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts_are_recognised() {
        let img = ImageRef::parse(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/service-b:abc1234",
            "--image",
        )
        .expect("parses");
        assert_eq!(
            img.ecr(),
            Some(EcrRegistry {
                account: "123456789012".into(),
                region: "eu-west-1".into()
            })
        );
        assert_eq!(img.reference.repository(), "service-b");
        assert_eq!(img.reference.tag(), Some("abc1234"));
    }

    #[test]
    fn other_registries_are_not_ecr() {
        let img = ImageRef::parse("127.0.0.1:5050/service-b:abc", "--image").expect("parses");
        assert_eq!(img.ecr(), None);
        assert_eq!(img.reference.registry(), "127.0.0.1:5050");
        assert!(ecr_registry("12345.dkr.ecr.eu-west-1.amazonaws.com").is_none());
    }

    #[test]
    fn garbage_names_the_flag() {
        let err = ImageRef::parse("UPPER CASE::", "--image").expect_err("rejected");
        assert!(
            err.message.starts_with("--image UPPER CASE::"),
            "{}",
            err.message
        );
    }
}
