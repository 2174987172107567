//! The default image tag: the git short SHA of the tree being built.
//!
//! A tree with uncommitted changes (tracked or untracked) gets
//! `<sha>-dirty-<tree>`, where `<tree>` is the short hash of the working
//! tree's content. ECR tags are immutable here, so a tag must never name two
//! different builds: a plain `<sha>` would be reused for every edit on top
//! of the same commit, and a plain `<sha>-dirty` for every edit after the
//! first. The content hash changes with every edit and stays the same when
//! nothing changed, so rebuilding the same dirty tree reuses its tag and
//! rebuilding a different one never does.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exit::Failure;

/// Characters of the content hash in a dirty tag.
const TREE_HASH_LEN: usize = 7;

/// The default tag for the tree at `context`.
pub fn default_tag(context: &Path) -> Result<String, Failure> {
    let sha = git(context, &["rev-parse", "--short", "HEAD"], &[])?;
    let status = git(
        context,
        &["status", "--porcelain", "--untracked-files=normal"],
        &[],
    )?;
    if status.is_empty() {
        return Ok(sha);
    }
    let tree = working_tree_hash(context)?;
    let short = tree.get(..TREE_HASH_LEN).unwrap_or(&tree);
    Ok(format!("{sha}-dirty-{short}"))
}

/// The full SHA of `HEAD`, for the image's revision label; `None` outside
/// a git work tree.
pub fn head_revision(context: &Path) -> Option<String> {
    git(context, &["rev-parse", "HEAD"], &[]).ok()
}

/// The tree hash of the working tree as it is, untracked files included and
/// ignored files left out, computed in a scratch index so that the real
/// index and the work tree are not touched.
fn working_tree_hash(context: &Path) -> Result<String, Failure> {
    let top = PathBuf::from(git(context, &["rev-parse", "--show-toplevel"], &[])?);
    let index = git(context, &["rev-parse", "--git-path", "index"], &[])?;
    let index = if Path::new(&index).is_absolute() {
        PathBuf::from(index)
    } else {
        context.join(index)
    };
    let scratch = tempfile::NamedTempFile::new().map_err(|err| {
        Failure::new(
            crate::exit::Code::Backend,
            format!("cannot create a scratch git index: {err}"),
        )
    })?;
    // Starting from a copy of the real index keeps `git add` from hashing
    // every unchanged file again.
    if index.is_file() {
        std::fs::copy(&index, scratch.path()).map_err(|err| {
            Failure::new(
                crate::exit::Code::Backend,
                format!("cannot copy the git index {}: {err}", index.display()),
            )
        })?;
    }
    let env = [("GIT_INDEX_FILE", scratch.path())];
    git(&top, &["add", "--all", "."], &env)?;
    git(&top, &["write-tree"], &env)
}

/// Runs git in `dir`; its trimmed stdout, or a failure that quotes git.
fn git(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<String, Failure> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().map_err(|err| {
        Failure::bad_input(format!(
            "cannot run git for the default image tag ({err}): pass --tag (or IMAGE_TAG)"
        ))
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Failure::bad_input(format!(
            "--context {}: no default image tag, `git {}` failed: {}; pass --tag (or IMAGE_TAG)",
            dir.display(),
            args.join(" "),
            stderr.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?} failed");
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        run_git(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join(".gitignore"), "ignored/\n").expect("write");
        std::fs::write(dir.path().join("a.txt"), "one").expect("write");
        run_git(dir.path(), &["add", "-A"]);
        run_git(dir.path(), &["commit", "-q", "-m", "first"]);
        dir
    }

    #[test]
    fn a_clean_tree_is_tagged_with_its_short_sha() {
        let dir = repo();
        let tag = default_tag(dir.path()).expect("tag");
        let sha = git(dir.path(), &["rev-parse", "HEAD"], &[]).expect("sha");
        assert!(sha.starts_with(&tag), "{tag} is not a prefix of {sha}");
        assert!(tag.len() >= 7, "{tag}");
        // Ignored files do not make the tree dirty.
        std::fs::create_dir(dir.path().join("ignored")).expect("mkdir");
        std::fs::write(dir.path().join("ignored/x"), "x").expect("write");
        assert_eq!(default_tag(dir.path()).expect("tag"), tag);
        assert_eq!(head_revision(dir.path()), Some(sha));
    }

    #[test]
    fn a_dirty_tree_gets_a_tag_per_content() {
        let dir = repo();
        let clean = default_tag(dir.path()).expect("tag");
        std::fs::write(dir.path().join("a.txt"), "two").expect("write");
        let first = default_tag(dir.path()).expect("tag");
        assert!(first.starts_with(&format!("{clean}-dirty-")), "{first}");
        assert_eq!(
            default_tag(dir.path()).expect("tag"),
            first,
            "same content, same tag"
        );

        std::fs::write(dir.path().join("new.txt"), "untracked").expect("write");
        let second = default_tag(dir.path()).expect("tag");
        assert_ne!(second, first, "an untracked file changes the tag");

        // The real index is untouched: nothing got staged.
        let staged = git(dir.path(), &["diff", "--cached", "--name-only"], &[]).expect("diff");
        assert_eq!(staged, "");
    }

    #[test]
    fn outside_a_work_tree_the_error_asks_for_a_tag() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = default_tag(dir.path()).expect_err("no repo");
        assert_eq!(err.code, crate::exit::Code::BadInput);
        assert!(err.message.contains("--tag"), "{}", err.message);
    }
}
