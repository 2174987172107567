//! Tag keys and values deployer writes, and the ownership marker it reads.
//! A contract with infra/: see infra/README.md, "Contract with deployer".
//! Every key deployer writes on a resource that Terraform manages starts with
//! [`PREFIX`], which the provider's `ignore_tags` covers.

/// Prefix of every tag key deployer writes on Terraform-managed resources.
pub const PREFIX: &str = "deployer:";
/// On the ECS service: the revisions to roll back to, newest first.
pub const ROLLBACK_HISTORY: &str = "deployer:rollback-history";
/// On task definition revisions: who registered the revision.
pub const MANAGED_BY: &str = "ManagedBy";
/// [`MANAGED_BY`] value on the revisions deployer registers.
pub const MANAGED_BY_DEPLOYER: &str = "deployer";
/// [`MANAGED_BY`] value on the revision Terraform registers (provider default tags).
pub const MANAGED_BY_TERRAFORM: &str = "terraform";
