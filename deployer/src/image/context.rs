//! The build context: the directory the engine builds from, sent as a tar
//! stream that leaves out what `.dockerignore` excludes, as `docker build`
//! does.
//!
//! `.dockerignore` rules differ from `.gitignore` rules in two ways that
//! matter: every pattern is anchored at the context root (`foo` excludes
//! `./foo`, not `./a/foo`), and a pattern that matches a directory matches
//! everything under it, with the last matching line deciding. Both are
//! expressed in gitignore terms (`/foo` and `/foo/**`) and matched by the
//! `ignore` crate, so no glob logic is written here.
//!
//! The Dockerfile and `.dockerignore` are always sent, even when excluded,
//! because the engine needs them (the docker CLI does the same).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::Stream;
use hyper::body::Bytes;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::exit::Failure;

/// The ignore file, at the context root.
pub const IGNORE_FILE: &str = ".dockerignore";

/// Characters that make the rest of a pattern a glob.
const GLOB_CHARS: [char; 4] = ['*', '?', '[', '\\'];

/// A build context on disk, checked and ready to send.
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    dockerfile: String,
    ignore: Arc<DockerIgnore>,
}

/// What was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextStats {
    /// Entries (files, directories, links) in the tar.
    pub entries: u64,
    /// Bytes of tar sent.
    pub bytes: u64,
}

impl BuildContext {
    /// Opens the context at `root` with the Dockerfile at `dockerfile`
    /// (relative to `root`, `/`-separated). `field` names where the
    /// Dockerfile path came from, for the error.
    pub fn open(root: &Path, dockerfile: &str, field: &str) -> Result<Self, Failure> {
        if !root.is_dir() {
            return Err(Failure::bad_input(format!(
                "--context {}: not a directory",
                root.display()
            )));
        }
        let dockerfile = clean_relative(dockerfile).ok_or_else(|| {
            Failure::bad_input(format!(
                "{field}: `{dockerfile}` must be a path inside the build context {}",
                root.display()
            ))
        })?;
        let dockerfile_path = root.join(&dockerfile);
        if !dockerfile_path.is_file() {
            return Err(Failure::bad_input(format!(
                "{field}: Dockerfile {} not found (the build context is {})",
                dockerfile_path.display(),
                root.display()
            )));
        }
        let ignore_path = root.join(IGNORE_FILE);
        let ignore_text = match std::fs::read_to_string(&ignore_path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => String::new(),
            Err(err) => {
                return Err(Failure::bad_input(format!(
                    "{}: cannot read: {err}",
                    ignore_path.display()
                )))
            }
        };
        let ignore = DockerIgnore::parse(&ignore_text, &[&dockerfile, IGNORE_FILE])
            .map_err(|err| Failure::bad_input(format!("{}: {err}", ignore_path.display())))?;
        Ok(BuildContext {
            root: root.to_owned(),
            dockerfile,
            ignore: Arc::new(ignore),
        })
    }

    /// The Dockerfile's path inside the context, as the engine wants it.
    pub fn dockerfile(&self) -> &str {
        &self.dockerfile
    }

    /// The Dockerfile's path on disk.
    pub fn dockerfile_path(&self) -> PathBuf {
        self.root.join(&self.dockerfile)
    }

    /// Writes the context as a tar to `out`. File times and modes are kept:
    /// a build that compiles with cargo relies on source mtimes being newer
    /// than what an earlier layer compiled.
    pub fn write_tar<W: Write>(&self, out: W) -> io::Result<ContextStats> {
        let mut counter = CountingWriter {
            inner: out,
            bytes: 0,
        };
        let mut entries = 0;
        {
            let mut tar = tar::Builder::new(&mut counter);
            tar.mode(tar::HeaderMode::Complete);
            tar.follow_symlinks(false);
            for entry in self.walk() {
                let entry = entry.map_err(|err| io::Error::other(err.to_string()))?;
                // An excluded directory is still walked when an exception
                // may re-include something under it, but not itself sent.
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                let Some(relative) = relative_to(&self.root, entry.path()) else {
                    continue;
                };
                if self.ignore.excludes(&relative, is_dir) {
                    continue;
                }
                tar.append_path_with_name(entry.path(), &relative)
                    .map_err(|err| {
                        io::Error::new(err.kind(), format!("{}: {err}", entry.path().display()))
                    })?;
                entries += 1;
            }
            tar.finish()?;
        }
        counter.flush()?;
        Ok(ContextStats {
            entries,
            bytes: counter.bytes,
        })
    }

    /// The context as a stream of tar chunks for the engine, written by a
    /// blocking task. The handle reports the task's own error, which the
    /// engine only sees as a truncated upload.
    pub fn stream(
        self,
    ) -> (
        impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        JoinHandle<io::Result<ContextStats>>,
    ) {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(16);
        let writer = tokio::task::spawn_blocking(move || {
            let sink = io::BufWriter::with_capacity(256 * 1024, ChannelWriter { tx: tx.clone() });
            let result = self.write_tar(sink);
            if let Err(err) = &result {
                // The engine gets a failed body instead of a short tar.
                let _ = tx.blocking_send(Err(io::Error::new(err.kind(), err.to_string())));
            }
            result
        });
        let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        (chunks, writer)
    }

    /// Entries in a stable order, skipping excluded directories whenever
    /// no exception could bring something under them back.
    fn walk(&self) -> ignore::Walk {
        let root = self.root.clone();
        let ignore = Arc::clone(&self.ignore);
        ignore::WalkBuilder::new(&self.root)
            .standard_filters(false)
            .follow_links(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .filter_entry(move |entry| {
                let Some(relative) = relative_to(&root, entry.path()) else {
                    return true;
                };
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if !ignore.excludes(&relative, is_dir) {
                    return true;
                }
                is_dir && ignore.may_include_under(&relative)
            })
            .build()
    }
}

/// `path` relative to `root`, `/`-separated; `None` for the root itself.
fn relative_to(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let text = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    (!text.is_empty()).then_some(text)
}

/// `.dockerignore` rules, in the `ignore` crate's gitignore form.
#[derive(Debug)]
pub struct DockerIgnore {
    matcher: Gitignore,
    /// The literal start (before any wildcard) of every exception, to know
    /// which excluded directories must still be walked.
    exception_prefixes: Vec<String>,
}

impl DockerIgnore {
    /// Parses `.dockerignore` text. `always_sent` are paths re-included
    /// after every rule.
    pub fn parse(text: &str, always_sent: &[&str]) -> Result<Self, String> {
        let mut builder = GitignoreBuilder::new("");
        let mut exception_prefixes = Vec::new();
        let forced = always_sent.iter().map(|path| format!("!{path}"));
        let lines = text.lines().map(str::to_owned).chain(forced);
        for (number, line) in lines.enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if exception && pattern.is_empty() {
                return Err(format!("line {}: `!` with no pattern", number + 1));
            }
            // Docker cleans each pattern as a path and drops a leading `/`.
            let Some(pattern) = clean_pattern(pattern) else {
                continue;
            };
            let bang = if exception { "!" } else { "" };
            for glob in [format!("{bang}/{pattern}"), format!("{bang}/{pattern}/**")] {
                builder
                    .add_line(None, &glob)
                    .map_err(|err| format!("line {}: {err}", number + 1))?;
            }
            if exception {
                let literal_end = pattern.find(GLOB_CHARS).unwrap_or(pattern.len());
                exception_prefixes.push(pattern[..literal_end].to_owned());
            }
        }
        let matcher = builder.build().map_err(|err| err.to_string())?;
        Ok(DockerIgnore {
            matcher,
            exception_prefixes,
        })
    }

    /// Whether `relative` is excluded: the last rule matching it or one of
    /// its parent directories decides.
    pub fn excludes(&self, relative: &str, is_dir: bool) -> bool {
        self.matcher.matched(relative, is_dir).is_ignore()
    }

    /// Whether an exception could re-include something under the excluded
    /// directory `dir`, so that it must be walked rather than skipped.
    fn may_include_under(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.exception_prefixes
            .iter()
            .any(|prefix| prefix.starts_with(&dir_slash) || dir_slash.starts_with(prefix.as_str()))
    }
}

/// A pattern cleaned the way Go's `filepath.Clean` cleans it, without a
/// leading `/`; `None` when nothing is left.
fn clean_pattern(pattern: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A relative path that stays inside the context, cleaned; `None` for an
/// absolute path or one that climbs out.
fn clean_relative(path: &str) -> Option<String> {
    if Path::new(path).is_absolute() {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Counts what passes through.
struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hands chunks to the async side.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the Docker engine stopped reading the build context",
                )
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text, &["Dockerfile", IGNORE_FILE]).expect("valid rules")
    }

    #[test]
    fn patterns_are_anchored_at_the_root() {
        let ignore = rules("target\n");
        assert!(ignore.excludes("target", true));
        assert!(ignore.excludes("target/debug/deployer", false));
        assert!(!ignore.excludes("deployer/target", true));
        assert!(!ignore.excludes("targets", true));
    }

    #[test]
    fn leading_slash_dot_and_trailing_slash_are_cleaned() {
        let ignore = rules("/infra/\n./jenkins\nbench/../secrets\n");
        assert!(ignore.excludes("infra/main.tf", false));
        assert!(ignore.excludes("jenkins", true));
        assert!(ignore.excludes("secrets/key", false));
        assert!(!ignore.excludes("bench", true));
    }

    #[test]
    fn wildcards_stop_at_slashes_and_double_star_crosses_them() {
        let ignore = rules("*.md\n**/node_modules\ndocs/*/draft\n");
        assert!(ignore.excludes("README.md", false));
        assert!(!ignore.excludes("deployer/README.md", false));
        assert!(ignore.excludes("node_modules", true));
        assert!(ignore.excludes("tests/js/node_modules/x/index.js", false));
        assert!(ignore.excludes("docs/a/draft", false));
        assert!(!ignore.excludes("docs/a/b/draft", false));
    }

    #[test]
    fn the_last_matching_line_wins() {
        let ignore = rules("tests/*\n!tests/Cargo.toml\n!tests/src\n");
        assert!(ignore.excludes("tests/run", false));
        assert!(ignore.excludes("tests/suites", true));
        assert!(!ignore.excludes("tests/Cargo.toml", false));
        assert!(!ignore.excludes("tests/src", true));
        assert!(!ignore.excludes("tests/src/lib.rs", false));
        // An exclusion after an exception overrides it again, parents included.
        let ignore = rules("!keep/file\nkeep\n");
        assert!(ignore.excludes("keep/file", false));
    }

    #[test]
    fn the_dockerfile_and_ignore_file_are_always_sent() {
        let ignore = rules("*\n");
        assert!(ignore.excludes("src", true));
        assert!(!ignore.excludes("Dockerfile", false));
        assert!(!ignore.excludes(IGNORE_FILE, false));
    }

    #[test]
    fn excluded_directories_are_walked_only_for_a_possible_exception() {
        let ignore = rules("target\ntests\n!tests/Cargo.toml\ndocs\n!docs/*/keep\n");
        assert!(!ignore.may_include_under("target"));
        assert!(ignore.may_include_under("tests"));
        assert!(ignore.may_include_under("docs"));
        let ignore = rules("vendor\n!**/LICENSE\n");
        assert!(
            ignore.may_include_under("vendor"),
            "a leading ** may match anywhere"
        );
    }

    #[test]
    fn a_bare_bang_is_refused() {
        let err = DockerIgnore::parse("target\n!\n", &[]).expect_err("refused");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn dockerfile_paths_must_stay_inside_the_context() {
        assert_eq!(
            clean_relative("./Dockerfile.a").as_deref(),
            Some("Dockerfile.a")
        );
        assert_eq!(
            clean_relative("docker/../Dockerfile.b").as_deref(),
            Some("Dockerfile.b")
        );
        assert_eq!(clean_relative("../Dockerfile"), None);
        assert_eq!(clean_relative("/etc/Dockerfile"), None);
        assert_eq!(clean_relative("."), None);
    }

    fn tar_names(context: &BuildContext) -> Vec<String> {
        let mut bytes = Vec::new();
        let stats = context.write_tar(&mut bytes).expect("write the tar");
        assert_eq!(stats.bytes, bytes.len() as u64);
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .expect("read the tar")
            .map(|e| {
                let entry = e.expect("tar entry");
                entry
                    .path()
                    .expect("entry path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(stats.entries, names.len() as u64);
        names
    }

    #[test]
    fn the_tar_leaves_out_what_is_excluded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in [
            ("Dockerfile", "FROM scratch\n"),
            (
                ".dockerignore",
                "secret.txt\ntarget\ntests/*\n!tests/keep.rs\n",
            ),
            ("kept.txt", "kept"),
            ("secret.txt", "secret"),
            ("src/main.rs", "fn main() {}"),
            ("target/big.bin", "xx"),
            ("tests/keep.rs", "//"),
            ("tests/drop.rs", "//"),
        ] {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, text).expect("write");
        }
        let context = BuildContext::open(root, "Dockerfile", "deploy.dockerfile").expect("opens");
        let names = tar_names(&context);
        for kept in [
            ".dockerignore",
            "Dockerfile",
            "kept.txt",
            "src/main.rs",
            "tests/keep.rs",
        ] {
            assert!(
                names.iter().any(|n| n == kept),
                "{kept} missing from {names:?}"
            );
        }
        for dropped in ["secret.txt", "target", "target/big.bin", "tests/drop.rs"] {
            assert!(
                !names.iter().any(|n| n.trim_end_matches('/') == dropped),
                "{dropped} sent: {names:?}"
            );
        }
    }

    #[test]
    fn a_missing_dockerfile_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = BuildContext::open(
            dir.path(),
            "Dockerfile.x",
            "config/x.json: deploy.dockerfile",
        )
        .expect_err("refused");
        assert_eq!(err.code, crate::exit::Code::BadInput);
        assert!(err.message.contains("deploy.dockerfile"), "{}", err.message);
        assert!(err.message.contains("Dockerfile.x"), "{}", err.message);
    }
}
