//! The target group's success codes, parsed once when the file loads.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// HTTP codes that count as a healthy answer, as the ALB's target group
/// matcher writes them: `200`, `200,204`, `200-299` or a mix, with codes
/// between 200 and 499. Keeps the text it was parsed from, so that it
/// serialises and displays as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Matcher {
    text: String,
    codes: Vec<RangeInclusive<u16>>,
}

impl Matcher {
    /// Whether `status` is one of the accepted codes.
    pub fn matches(&self, status: u16) -> bool {
        self.codes.iter().any(|range| range.contains(&status))
    }

    /// The matcher as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Default for Matcher {
    /// `200`.
    fn default() -> Self {
        Matcher {
            text: "200".to_owned(),
            codes: vec![200..=200],
        }
    }
}

impl FromStr for Matcher {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let code = |s: &str| match s.trim().parse::<u16>() {
            Ok(c) if (200..=499).contains(&c) => Ok(c),
            _ => Err(format!("`{s}` is not an HTTP code between 200 and 499")),
        };
        if text.trim().is_empty() {
            return Err("must not be empty".into());
        }
        let mut codes = Vec::new();
        for part in text.split(',') {
            let range = match part.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (code(lo)?, code(hi)?);
                    if lo > hi {
                        return Err(format!("range `{part}` is backwards"));
                    }
                    lo..=hi
                }
                None => {
                    let c = code(part)?;
                    c..=c
                }
            };
            codes.push(range);
        }
        Ok(Matcher {
            text: text.to_owned(),
            codes,
        })
    }
}

impl TryFrom<String> for Matcher {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Matcher> for String {
    fn from(matcher: Matcher) -> Self {
        matcher.text
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<&str> for Matcher {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_alb_forms_only() {
        for ok in ["200", "200,204", "200-299", "200-204,302"] {
            assert!(ok.parse::<Matcher>().is_ok(), "{ok}");
        }
        for bad in ["", "abc", "100", "600", "299-200", "200-"] {
            assert!(bad.parse::<Matcher>().is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_single_codes_lists_and_ranges() {
        let m: Matcher = "200-204,302".parse().expect("valid");
        assert!(m.matches(200) && m.matches(204) && m.matches(302));
        assert!(!m.matches(205) && !m.matches(301) && !m.matches(503));
        assert_eq!(m.to_string(), "200-204,302");
    }

    #[test]
    fn the_schema_pattern_agrees_with_the_parser() {
        let schema = serde_json::json!({"type": "string", "pattern": crate::rules::MATCHER});
        let validator = jsonschema::validator_for(&schema).expect("compiles");
        for ok in ["200", "200,204", "200-299", " 200 - 204 , 302 "] {
            assert!(validator.is_valid(&ok.into()), "{ok}");
        }
        for bad in ["", "abc", "100", "600", "200-", "2000", "200;204"] {
            assert!(!validator.is_valid(&bad.into()), "{bad}");
        }
    }
}
