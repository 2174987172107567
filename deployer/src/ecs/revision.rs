//! Task definition revisions by name: `family:revision`, the short form of
//! `arn:aws:ecs:<region>:<account>:task-definition/family:revision`.
//! ECS accepts either form wherever it takes a task definition; people and
//! reports get the short one.

/// `family:revision` of an ARN or of a name.
pub fn name(arn_or_name: &str) -> String {
    arn_or_name
        .rsplit_once(":task-definition/")
        .map_or(arn_or_name, |(_, name)| name)
        .to_owned()
}

/// The family of an ARN or a name.
pub fn family(arn_or_name: &str) -> &str {
    let name = arn_or_name
        .rsplit_once(":task-definition/")
        .map_or(arn_or_name, |(_, name)| name);
    name.rsplit_once(':').map_or(name, |(family, _)| family)
}

/// The revision number of an ARN or a name.
pub fn number(arn_or_name: &str) -> Option<i32> {
    arn_or_name.rsplit_once(':')?.1.parse().ok()
}

/// Whether two references (ARN or name) are the same revision.
pub fn same(a: &str, b: &str) -> bool {
    name(a) == name(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_names_agree() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/service-b:12";
        assert_eq!(name(arn), "service-b:12");
        assert_eq!(name("service-b:12"), "service-b:12");
        assert_eq!(family(arn), "service-b");
        assert_eq!(family("service-a-worker:3"), "service-a-worker");
        assert_eq!(number(arn), Some(12));
        assert_eq!(number("service-b"), None);
        assert!(same(arn, "service-b:12"));
        assert!(!same(arn, "service-b:1"));
    }
}
