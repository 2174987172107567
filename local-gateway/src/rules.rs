//! The load balancer's listener rules, read from the same JSON that
//! Terraform turns into ALB listener rules: each microservice's path
//! patterns forward to its app, rules are tried by ascending priority and
//! the first match wins, and a path no rule matches gets the listener's
//! default fixed response.
//!
//! Patterns follow the ALB's wildcard semantics, case-sensitive, matched
//! against the whole path (never the query string): `*` is any run of
//! characters, `?` exactly one.

use app_config::AppConfig;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use wildmatch::WildMatch;

use crate::error::Error;

/// The listener's default action: status of the fixed response.
pub const FIXED_RESPONSE_STATUS: StatusCode = StatusCode::NOT_FOUND;
/// The listener's default action: body of the fixed response, the same
/// text as the Terraform listener's (`not_found_message` in
/// `infra/modules/alb`).
pub const FIXED_RESPONSE_BODY: &str = "Not found: no service answers this path.";

/// The fixed response a path that no rule matches gets.
pub fn fixed_response() -> Response {
    (
        FIXED_RESPONSE_STATUS,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        FIXED_RESPONSE_BODY,
    )
        .into_response()
}

/// One listener rule: one microservice's patterns.
#[derive(Debug)]
struct Rule {
    priority: u32,
    app: String,
    microservice: String,
    patterns: Vec<(String, WildMatch)>,
}

/// Every app's rules, in the order the ALB evaluates them.
#[derive(Debug)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules of `apps`. Two rules with one priority would make the order
    /// ambiguous (and the ALB refuses them), so that is an error naming both.
    pub fn new(apps: &[AppConfig]) -> Result<Self, Error> {
        let mut rules: Vec<Rule> = apps
            .iter()
            .flat_map(|app| {
                app.microservices.iter().map(|ms| Rule {
                    priority: ms.priority,
                    app: app.app.clone(),
                    microservice: ms.name.clone(),
                    patterns: ms
                        .path_patterns
                        .iter()
                        .map(|p| (p.clone(), WildMatch::new(p)))
                        .collect(),
                })
            })
            .collect();
        rules.sort_by_key(|r| r.priority);
        if let Some(pair) = rules.windows(2).find(|w| w[0].priority == w[1].priority) {
            return Err(Error::SharedPriority {
                priority: pair[0].priority,
                first: pair[0].microservice.clone(),
                first_app: pair[0].app.clone(),
                second: pair[1].microservice.clone(),
                second_app: pair[1].app.clone(),
            });
        }
        Ok(Rules { rules })
    }

    /// The app the first matching rule forwards `path` to.
    pub fn route(&self, path: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|rule| rule.patterns.iter().any(|(_, p)| p.matches(path)))
            .map(|rule| rule.app.as_str())
    }

    /// One line per rule, in evaluation order, for logs and the README.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| {
                let patterns: Vec<&str> = r.patterns.iter().map(|(p, _)| p.as_str()).collect();
                format!(
                    "priority {:>5}  {} -> {} ({})",
                    r.priority,
                    patterns.join(", "),
                    r.app,
                    r.microservice
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::shipped;

    #[test]
    fn the_shipped_apps_route_by_prefix() {
        let rules = Rules::new(&[shipped("service-a"), shipped("service-b")]).expect("rules");
        for (path, app) in [
            ("/medical", Some("service-a")),
            ("/medical/health", Some("service-a")),
            ("/security/x/y", Some("service-a")),
            ("/finance", Some("service-b")),
            ("/payment/health", Some("service-b")),
            ("/", None),
            ("/medicalx", None),
            ("/Medical", None),
            ("/nope", None),
        ] {
            assert_eq!(rules.route(path), app, "{path}");
        }
    }

    #[test]
    fn lower_priority_wins_and_wildcards_follow_the_alb() {
        let mut a = shipped("service-a");
        let mut b = shipped("service-b");
        // service-b claims everything, but at a higher (later) priority.
        b.microservices[0].path_patterns = vec!["/*".into()];
        b.microservices[0].priority = 900;
        a.microservices[0].path_patterns = vec!["/med?cal".into(), "/v*/medical/*".into()];
        let rules = Rules::new(&[b, a]).expect("rules");
        assert_eq!(rules.route("/medical"), Some("service-a"));
        assert_eq!(rules.route("/medXcal"), Some("service-a"));
        assert_eq!(rules.route("/v2/medical/records"), Some("service-a"));
        assert_eq!(
            rules.route("/mediical"),
            Some("service-b"),
            "? is one character"
        );
        assert_eq!(rules.route("/anything/else"), Some("service-b"));
        assert!(rules.describe()[0].starts_with("priority   100"));
    }

    #[test]
    fn a_shared_priority_is_refused_naming_both_rules() {
        let a = shipped("service-a");
        let mut b = shipped("service-b");
        b.microservices[1].priority = 110;
        let err = Rules::new(&[a, b]).expect_err("clash").to_string();
        assert!(
            err.contains("security (service-a)") && err.contains("payment (service-b)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_fixed_response_is_a_short_text_404() {
        let response = fixed_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&body[..], FIXED_RESPONSE_BODY.as_bytes());
    }
}
