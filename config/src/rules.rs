//! The patterns the schema holds, and what each one means in words.
//!
//! The attributes in [`crate::app`] put these patterns into
//! `service.schema.json`; [`crate::parse`] checks a file against that schema
//! and, when a value does not match, gives the pattern's [`hint`] instead
//! of the pattern itself.

/// An app or microservice name: 1-255 lowercase letters, digits or `-`,
/// not starting with `-`.
pub const NAME: &str = r"^[a-z0-9][a-z0-9-]{0,254}$";

/// An ECS cluster, service, task family or container name.
pub const AWS_NAME: &str = r"^[A-Za-z0-9_-]{1,255}$";

/// An ECR repository name.
pub const REPOSITORY: &str = r"^[a-z0-9._/-]{1,256}$";

/// A URL path: starts with `/`, no whitespace or control characters.
pub const URL_PATH: &str = r"^/[^\s\x00-\x1F\x7F-\x9F]*$";

/// An ALB path pattern: a URL path from the characters an ALB path
/// condition accepts (`*` and `?` are its wildcards).
pub const PATH_PATTERN: &str = r#"^/[A-Za-z0-9_.$/~"'@:+&*?-]*$"#;

/// A Dockerfile path: something other than blanks.
pub const DOCKERFILE: &str = r"\S";

/// An environment variable name.
pub const ENV_NAME: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";

/// A target group matcher: codes 200-499, single or as `lo-hi` ranges,
/// separated by commas. [`crate::Matcher`] also checks that ranges run
/// upwards.
pub const MATCHER: &str = r"^\s*[2-4][0-9][0-9]\s*(-\s*[2-4][0-9][0-9]\s*)?(,\s*[2-4][0-9][0-9]\s*(-\s*[2-4][0-9][0-9]\s*)?)*$";

/// What a value that does not match `pattern` must be, in words.
pub fn hint(pattern: &str) -> Option<&'static str> {
    Some(match pattern {
        NAME => "must be 1-255 lowercase letters, digits or `-`",
        AWS_NAME => "must be 1-255 letters, digits, `-` or `_`",
        REPOSITORY => "must be lowercase letters, digits, `-`, `_`, `.` or `/`",
        URL_PATH => "must start with `/` and hold no whitespace or control characters",
        PATH_PATTERN => {
            "must start with `/` and hold only letters, digits and `_-.$/~\"'@:+&*?` \
             (the characters of an ALB path pattern)"
        }
        DOCKERFILE => "must name a Dockerfile",
        ENV_NAME => "is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
        MATCHER => {
            "is not an ALB matcher: HTTP codes between 200 and 499, \
             as `200`, `200,204` or `200-299`"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(pattern: &str, max_length: Option<u32>, value: &str) -> bool {
        let mut schema = serde_json::json!({"type": "string", "pattern": pattern});
        if let Some(max) = max_length {
            schema["maxLength"] = max.into();
        }
        jsonschema::validator_for(&schema)
            .expect("compiles")
            .is_valid(&value.into())
    }

    #[test]
    fn path_patterns_reject_what_the_alb_rejects() {
        let ok = |v: &str| accepts(PATH_PATTERN, Some(128), v);
        assert!(ok("/medical/*"));
        assert!(!ok("medical"));
        assert!(!ok("/a b"));
        assert!(!ok("/a#b"));
        assert!(!ok(&format!("/{}", "a".repeat(128))));
        assert!(ok(&format!("/{}", "a".repeat(127))));
    }

    #[test]
    fn names_follow_the_aws_character_sets() {
        assert!(accepts(NAME, None, "service-a"));
        for bad in ["", "-a", "Service", "a_b", &"a".repeat(256)] {
            assert!(!accepts(NAME, None, bad), "{bad}");
        }
        assert!(accepts(AWS_NAME, None, "Cluster_1-a"));
        assert!(!accepts(AWS_NAME, None, "a.b"));
        assert!(accepts(URL_PATH, None, "/a/health"));
        for bad in ["health", "/a b", "/a\tb", "/a\u{7f}"] {
            assert!(!accepts(URL_PATH, None, bad), "{bad:?}");
        }
        assert!(accepts(ENV_NAME, None, "_RUST_LOG2"));
        assert!(!accepts(ENV_NAME, None, "2X"));
        assert!(!accepts(DOCKERFILE, None, "  "));
    }

    #[test]
    fn every_pattern_has_words() {
        for pattern in [
            NAME,
            AWS_NAME,
            REPOSITORY,
            URL_PATH,
            PATH_PATTERN,
            DOCKERFILE,
            ENV_NAME,
            MATCHER,
        ] {
            assert!(hint(pattern).is_some(), "{pattern}");
        }
    }
}
