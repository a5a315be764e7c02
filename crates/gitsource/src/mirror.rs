//! Persistent bare mirrors, read at a revision without a checkout.
//!
//! A [`MirrorStore`] keeps one bare repository per remote URL under a data directory (the
//! directory name is a hash of the URL, so credentials never reach the file system). A
//! [`Mirror`] fetches a branch, tag, `HEAD` or commit shallowly (`--depth=1` by default,
//! optionally without blobs), then answers questions about any fetched commit from its object
//! database: list the files under a path, read one or many blobs (`git cat-file --batch`), and
//! list the paths changed between two commits (for webhook-triggered refreshes).
//!
//! Fetches into one mirror are serialised with a file lock, so several workers (threads or
//! processes) may share a store. Reads take no lock.
//!
//! ```no_run
//! use gitsource::{Remote, mirror::{MirrorStore, FetchOptions}};
//! let store = MirrorStore::new("/var/lib/ferry/git")?;
//! let mirror = store.open(&Remote::parse("https://github.com/org/deploy.git")?)?;
//! let commit = mirror.fetch("main", &FetchOptions::default())?;
//! for entry in mirror.list_files(&commit, "deployment/kubernetes/.envs")? {
//!     println!("{} {}", entry.oid, entry.path);
//! }
//! let values = mirror.read_file(&commit, "deployment/kubernetes/.envs/dev.yaml")?;
//! # Ok::<(), gitsource::GitError>(())
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::GitError;
use crate::git::{Git, RemoteFailure, classify_remote_failure, is_oid, parse_ls_tree};
use crate::remote::Remote;

/// A full commit id (hexadecimal).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(String);

impl CommitId {
    /// Wraps a full hexadecimal id (40 or 64 digits).
    pub fn parse(s: &str) -> Result<CommitId, GitError> {
        if is_oid(s) {
            Ok(CommitId(s.to_ascii_lowercase()))
        } else {
            Err(GitError::Parse(format!("{s:?} is not a full commit id")))
        }
    }

    /// The hexadecimal id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (mode 100644).
    File,
    /// An executable file (mode 100755).
    Executable,
    /// A symbolic link (mode 120000; the blob holds the target).
    Symlink,
    /// A submodule (mode 160000; the id is a commit of another repository).
    Submodule,
}

/// A file at a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Path from the repository root, `/`-separated.
    pub path: String,
    /// Kind.
    pub kind: EntryKind,
    /// Object id of the blob (or submodule commit).
    pub oid: String,
}

/// How much to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FetchOptions {
    /// History depth (`Some(1)`: only the tip; `None`: full history).
    pub depth: Option<u32>,
    /// Fetch trees only (`--filter=blob:none`); blobs are fetched in batches when read. Needs
    /// a server that supports partial clone (GitHub, GitLab, git ≥ 2.20 with
    /// `uploadpack.allowFilter`).
    pub filter_blobs: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            depth: Some(1),
            filter_blobs: false,
        }
    }
}

/// Successful fetches of this process: (mirror, revision, options) → when the fetch started
/// (after taking the mirror's lock) and the commit it resolved. See [`Mirror::fetch`].
type FetchKey = (PathBuf, String, FetchOptions);
type FetchLog = Mutex<HashMap<FetchKey, (Instant, CommitId)>>;

fn recent_fetches() -> &'static FetchLog {
    static LOG: OnceLock<FetchLog> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

/// Mirrors of this process already set up: (mirror path, remote URL).
fn opened() -> &'static Mutex<HashSet<(PathBuf, String)>> {
    static OPENED: OnceLock<Mutex<HashSet<(PathBuf, String)>>> = OnceLock::new();
    OPENED.get_or_init(Default::default)
}

/// A directory of mirrors, one per remote URL.
#[derive(Debug, Clone)]
pub struct MirrorStore {
    root: PathBuf,
}

impl MirrorStore {
    /// Uses (and creates) `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<MirrorStore, GitError> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .map_err(|e| GitError::Io(format!("creating {}: {e}", root.display())))?;
        Ok(MirrorStore { root })
    }

    /// The directory of the mirror of `remote` (whether or not it exists yet).
    pub fn path_for(&self, remote: &Remote) -> PathBuf {
        let digest = Sha256::digest(remote.url().as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let name: String = remote
            .url()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("repo")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(40)
            .collect();
        self.root.join(format!("{hex}-{name}.git"))
    }

    /// Opens the mirror of `remote`, creating an empty one on first use.
    pub fn open(&self, remote: &Remote) -> Result<Mirror, GitError> {
        let path = self.path_for(remote);
        let mut extra: Vec<(&str, &str)> = vec![
            ("core.askPass", ""),
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
            ("protocol.version", "2"),
        ];
        if remote.is_local() {
            extra.push(("uploadpack.allowFilter", "true"));
            extra.push(("uploadpack.allowAnySHA1InWant", "true"));
        }
        let git = Git::new(&path, remote.git_env(&extra), remote.redactor());
        let mirror = Mirror {
            git,
            remote: remote.clone(),
            path,
        };
        // Set up once per process (init, URL check): later opens cost no git process.
        let ready = (mirror.path.clone(), remote.url().to_string());
        if mirror.path.join("HEAD").exists() && opened().lock().is_ok_and(|o| o.contains(&ready)) {
            return Ok(mirror);
        }
        let _lock = mirror.lock()?;
        if !mirror.path.join("HEAD").exists() {
            mirror.git.run(&["init", "--bare", "-q"])?;
        }
        // Keep the URL current (credentials are not part of it).
        if mirror
            .git
            .try_run(&["config", "--get", "remote.origin.url"], None)?
            .stdout
            .trim_ascii()
            != remote.url().as_bytes()
        {
            mirror
                .git
                .run(&["config", "remote.origin.url", remote.url()])?;
        }
        if let Ok(mut o) = opened().lock() {
            o.insert(ready);
        }
        Ok(mirror)
    }
}

/// One bare mirror.
#[derive(Debug, Clone)]
pub struct Mirror {
    git: Git,
    remote: Remote,
    path: PathBuf,
}

struct Lock(File);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl Mirror {
    /// The git directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<Lock, GitError> {
        std::fs::create_dir_all(&self.path)
            .map_err(|e| GitError::Io(format!("creating {}: {e}", self.path.display())))?;
        let lock_path = self.path.with_extension("lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| GitError::Io(format!("{}: {e}", lock_path.display())))?;
        f.lock()
            .map_err(|e| GitError::Io(format!("locking {}: {e}", lock_path.display())))?;
        Ok(Lock(f))
    }

    fn remote_error(&self, args: &[&str], r: &crate::git::Run, rev: &str) -> GitError {
        match classify_remote_failure(&r.stderr) {
            RemoteFailure::Auth => GitError::Auth {
                remote: self.remote.to_string(),
                detail: r.stderr.clone(),
            },
            RemoteFailure::NoSuchRef => GitError::UnknownRevision {
                rev: rev.to_string(),
                remote: self.remote.to_string(),
            },
            _ => self.git.failure(args, r),
        }
    }

    /// The refs of the remote (`git ls-remote`), without fetching: name → commit (tags
    /// peeled). Cheap enough for polling.
    pub fn ls_remote(&self) -> Result<BTreeMap<String, CommitId>, GitError> {
        let args = ["ls-remote", "origin"];
        let r = self.git.try_run(&args, None)?;
        if !r.ok {
            return Err(self.remote_error(&args, &r, "HEAD"));
        }
        let mut refs = BTreeMap::new();
        for line in String::from_utf8_lossy(&r.stdout).lines() {
            let Some((oid, name)) = line.split_once('\t') else {
                continue;
            };
            let Ok(id) = CommitId::parse(oid) else {
                continue;
            };
            match name.strip_suffix("^{}") {
                Some(peeled) => {
                    refs.insert(peeled.to_string(), id);
                }
                None => {
                    refs.entry(name.to_string()).or_insert(id);
                }
            }
        }
        Ok(refs)
    }

    /// Fetches `rev` (a branch, a tag, `HEAD`, a full ref name or a full commit id) and returns
    /// its commit. Branches win over tags of the same name, as in git.
    ///
    /// Concurrent callers in one process share fetches: a call that had to wait for the
    /// mirror's lock returns the result of a fetch of the same revision (and options) that
    /// *started after the call was made*, without going to the network again. That fetch saw
    /// the remote at a later time than the caller asked, so the answer is as fresh as a fetch
    /// of its own; a burst of N refreshes of apps on one repository costs one fetch, not N.
    pub fn fetch(&self, rev: &str, opts: &FetchOptions) -> Result<CommitId, GitError> {
        let requested = Instant::now();
        let _lock = self.lock()?;
        let key = (self.path.clone(), rev.to_string(), opts.clone());
        if let Some(commit) = recent_fetches()
            .lock()
            .ok()
            .and_then(|m| m.get(&key).filter(|(t, _)| *t >= requested).cloned())
            .map(|(_, c)| c)
        {
            return Ok(commit);
        }
        let started = Instant::now();
        let commit = self.fetch_locked(rev, opts)?;
        if let Ok(mut m) = recent_fetches().lock() {
            m.insert(key, (started, commit.clone()));
        }
        Ok(commit)
    }

    fn fetch_locked(&self, rev: &str, opts: &FetchOptions) -> Result<CommitId, GitError> {
        let depth = opts.depth.map(|d| format!("--depth={}", d.max(1)));
        let mut args: Vec<String> = vec![
            "fetch".into(),
            "--quiet".into(),
            "--no-tags".into(),
            "--no-write-fetch-head".into(),
        ];
        if let Some(d) = &depth {
            args.push(d.clone());
        } else if self.path.join("shallow").exists() {
            args.push("--unshallow".into());
        }
        if opts.filter_blobs {
            args.push("--filter=blob:none".into());
            self.git
                .run(&["config", "remote.origin.promisor", "true"])?;
            self.git
                .run(&["config", "remote.origin.partialclonefilter", "blob:none"])?;
        }
        args.push("origin".into());
        let local_ref;
        if is_oid(rev) {
            local_ref = format!("refs/ferry/commits/{}", rev.to_ascii_lowercase());
            args.push(format!("{rev}:{local_ref}"));
        } else {
            let remote_ref = if rev == "HEAD" || rev.starts_with("refs/") {
                rev.to_string()
            } else {
                let refs = self.ls_remote()?;
                let head = format!("refs/heads/{rev}");
                let tag = format!("refs/tags/{rev}");
                if refs.contains_key(&head) {
                    head
                } else if refs.contains_key(&tag) {
                    tag
                } else {
                    return Err(GitError::UnknownRevision {
                        rev: rev.to_string(),
                        remote: self.remote.to_string(),
                    });
                }
            };
            local_ref = format!(
                "refs/ferry/remote/{}",
                remote_ref.strip_prefix("refs/").unwrap_or(&remote_ref)
            );
            args.push(format!("+{remote_ref}:{local_ref}"));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = self.git.try_run(&argv, None)?;
        if !r.ok {
            return Err(self.remote_error(&argv, &r, rev));
        }
        let id = self
            .git
            .run(&["rev-parse", "--verify", &format!("{local_ref}^{{commit}}")])?;
        CommitId::parse(&id)
    }

    /// Resolves `rev` against what was fetched before (no network): a branch or tag name,
    /// `HEAD`, a full ref, or a commit id present in the mirror.
    pub fn resolve(&self, rev: &str) -> Result<CommitId, GitError> {
        let candidates: Vec<String> = if is_oid(rev) {
            vec![rev.to_string()]
        } else if rev == "HEAD" {
            vec!["refs/ferry/remote/HEAD".into()]
        } else if let Some(r) = rev.strip_prefix("refs/") {
            vec![format!("refs/ferry/remote/{r}")]
        } else {
            vec![
                format!("refs/ferry/remote/heads/{rev}"),
                format!("refs/ferry/remote/tags/{rev}"),
            ]
        };
        for c in candidates {
            let r = self.git.try_run(
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{c}^{{commit}}"),
                ],
                None,
            )?;
            if r.ok {
                return CommitId::parse(String::from_utf8_lossy(&r.stdout).trim());
            }
        }
        Err(GitError::UnknownRevision {
            rev: rev.to_string(),
            remote: self.remote.to_string(),
        })
    }

    fn tree_listing(&self, commit: &CommitId, dir: &str) -> Result<Vec<TreeEntry>, GitError> {
        let dir = dir.trim_matches('/');
        let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", commit.as_str()];
        let spec;
        if !dir.is_empty() {
            spec = dir.to_string();
            args.push("--");
            args.push(&spec);
        }
        let r = self.git.try_run(&args, None)?;
        if !r.ok {
            return Err(
                if r.stderr.contains("not a tree object") || r.stderr.contains("bad object") {
                    GitError::UnknownRevision {
                        rev: commit.to_string(),
                        remote: self.remote.to_string(),
                    }
                } else {
                    self.git.failure(&args, &r)
                },
            );
        }
        let mut out = Vec::new();
        for e in parse_ls_tree(&r.stdout)? {
            // A pathspec "a/b" also matches a file named exactly "a/b"; keep files under it.
            if !dir.is_empty() && e.path != dir && !e.path.starts_with(&format!("{dir}/")) {
                continue;
            }
            let kind = match e.mode.as_str() {
                "100755" => EntryKind::Executable,
                "120000" => EntryKind::Symlink,
                "160000" => EntryKind::Submodule,
                _ => EntryKind::File,
            };
            out.push(TreeEntry {
                path: e.path,
                kind,
                oid: e.oid,
            });
        }
        Ok(out)
    }

    /// Every file under `dir` (`""` for the whole tree) at `commit`, recursively, sorted by path.
    pub fn list_files(&self, commit: &CommitId, dir: &str) -> Result<Vec<TreeEntry>, GitError> {
        self.tree_listing(commit, dir)
    }

    /// The content of the file at `path` in `commit`.
    pub fn read_file(&self, commit: &CommitId, path: &str) -> Result<Vec<u8>, GitError> {
        let path = path.trim_matches('/');
        let entry = self
            .tree_listing(commit, path)?
            .into_iter()
            .find(|e| e.path == path && e.kind != EntryKind::Submodule)
            .ok_or_else(|| GitError::PathNotFound {
                path: path.to_string(),
                commit: commit.to_string(),
            })?;
        let mut blobs = self.read_blobs(std::slice::from_ref(&entry.oid))?;
        blobs
            .remove(&entry.oid)
            .ok_or_else(|| GitError::PathNotFound {
                path: path.to_string(),
                commit: commit.to_string(),
            })
    }

    /// Every file under `dir` at `commit` with its content (submodules skipped), read with one
    /// `git cat-file --batch`.
    pub fn read_files(
        &self,
        commit: &CommitId,
        dir: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, GitError> {
        let entries: Vec<TreeEntry> = self
            .tree_listing(commit, dir)?
            .into_iter()
            .filter(|e| e.kind != EntryKind::Submodule)
            .collect();
        let oids: Vec<String> = entries.iter().map(|e| e.oid.clone()).collect();
        let blobs = self.read_blobs(&oids)?;
        let mut out = BTreeMap::new();
        for e in entries {
            let content = blobs
                .get(&e.oid)
                .cloned()
                .ok_or_else(|| GitError::PathNotFound {
                    path: e.path.clone(),
                    commit: commit.to_string(),
                })?;
            out.insert(e.path, content);
        }
        Ok(out)
    }

    /// Fetches the blobs among `oids` that a blob-filtered fetch left out, in one request.
    fn prefetch(&self, oids: &[String]) -> Result<(), GitError> {
        let mut input = oids.join("\n").into_bytes();
        input.push(b'\n');
        let mut g = self.git.clone();
        g.add_env(&mut vec![("GIT_NO_LAZY_FETCH".into(), "1".into())]);
        let out = g.run_bytes(
            &["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            Some(&input),
        )?;
        let missing: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.strip_suffix(" missing").map(String::from))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        tracing::debug!(count = missing.len(), "fetching missing blobs");
        let _lock = self.lock()?;
        let mut input = missing.join("\n").into_bytes();
        input.push(b'\n');
        // As git's own lazy fetch does: no negotiation, or the server would leave out the
        // blobs reachable from commits we already have.
        let args = [
            "-c",
            "fetch.negotiationAlgorithm=noop",
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--recurse-submodules=no",
            "--filter=blob:none",
            "--stdin",
            "origin",
        ];
        let r = self.git.try_run(&args, Some(&input))?;
        if !r.ok {
            return Err(self.remote_error(&args, &r, "blobs"));
        }
        Ok(())
    }

    fn read_blobs(&self, oids: &[String]) -> Result<BTreeMap<String, Vec<u8>>, GitError> {
        let mut out = BTreeMap::new();
        if oids.is_empty() {
            return Ok(out);
        }
        self.prefetch(oids)?;
        let mut input = oids.join("\n").into_bytes();
        input.push(b'\n');
        let raw = self.git.run_bytes(&["cat-file", "--batch"], Some(&input))?;
        let mut i = 0;
        while i < raw.len() {
            let nl = raw[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map(|p| i + p)
                .ok_or_else(|| GitError::Parse("truncated cat-file output".into()))?;
            let header = String::from_utf8_lossy(&raw[i..nl]).to_string();
            i = nl + 1;
            let mut parts = header.split(' ');
            let oid = parts.next().unwrap_or("").to_string();
            let kind = parts.next().unwrap_or("");
            if kind == "missing" {
                continue;
            }
            let size: usize = parts
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| GitError::Parse(format!("cat-file header {header:?}")))?;
            if i + size > raw.len() {
                return Err(GitError::Parse("truncated cat-file output".into()));
            }
            out.insert(oid, raw[i..i + size].to_vec());
            i += size + 1;
        }
        Ok(out)
    }

    /// Paths (files) that differ between two fetched commits, sorted; renames show as a
    /// deletion plus an addition.
    pub fn changed_paths(&self, from: &CommitId, to: &CommitId) -> Result<Vec<String>, GitError> {
        let args = [
            "diff-tree",
            "-r",
            "-z",
            "--no-renames",
            "--name-only",
            "--no-commit-id",
            from.as_str(),
            to.as_str(),
        ];
        let r = self.git.try_run(&args, None)?;
        if !r.ok {
            for c in [from, to] {
                let ok = self
                    .git
                    .try_run(&["cat-file", "-e", &format!("{c}^{{commit}}")], None)?
                    .ok;
                if !ok {
                    return Err(GitError::UnknownRevision {
                        rev: c.to_string(),
                        remote: self.remote.to_string(),
                    });
                }
            }
            return Err(self.git.failure(&args, &r));
        }
        let mut v: Vec<String> = r
            .stdout
            .split(|&c| c == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        v.sort();
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn commit(work: &Path, text: &str) -> String {
        std::fs::write(work.join("f.yaml"), text).expect("write");
        git(work, &["add", "-A"]);
        git(work, &["commit", "-q", "-m", text]);
        git(work, &["rev-parse", "HEAD"])
    }

    /// A work tree whose upload-pack runs are counted (one line per run in `count`).
    fn counted_origin(dir: &Path) -> (PathBuf, PathBuf, String) {
        let work = dir.join("origin");
        std::fs::create_dir_all(&work).expect("mkdir");
        git(&work, &["init", "-q", "-b", "main"]);
        let count = dir.join("count");
        let wrapper = dir.join("upload-pack.sh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho x >> '{}'\nexec git upload-pack \"$@\"\n",
                count.display()
            ),
        )
        .expect("write wrapper");
        Command::new("chmod")
            .arg("+x")
            .arg(&wrapper)
            .status()
            .expect("chmod");
        (work, count, wrapper.display().to_string())
    }

    fn runs(count: &Path) -> usize {
        std::fs::read_to_string(count).map_or(0, |s| s.lines().count())
    }

    #[test]
    fn concurrent_fetches_share_one_and_later_fetches_see_new_commits() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (work, count, wrapper) = counted_origin(tmp.path());
        let c1 = commit(&work, "one");
        let store = MirrorStore::new(tmp.path().join("mirrors")).expect("store");
        let remote = Remote::parse(&work.display().to_string()).expect("remote");
        let mirror = store.open(&remote).expect("open");
        git(
            mirror.path(),
            &["config", "remote.origin.uploadpack", &wrapper],
        );

        // Eight callers at once: at most two fetches reach the remote (the first, and one
        // that started after every caller had asked), each an ls-remote plus a fetch.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (m, b) = (store.open(&remote).expect("open"), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    m.fetch("main", &FetchOptions::default())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().expect("thread").expect("fetch").as_str(), c1);
        }
        let concurrent = runs(&count);
        assert!(
            (2..=4).contains(&concurrent),
            "{concurrent} upload-pack runs for 8 callers"
        );

        // A fetch asked for after the last one started goes to the remote and sees new commits.
        let c2 = commit(&work, "two");
        assert_eq!(
            mirror
                .fetch("main", &FetchOptions::default())
                .expect("fetch")
                .as_str(),
            c2
        );
        assert_eq!(runs(&count), concurrent + 2);
        let c3 = commit(&work, "three");
        assert_eq!(
            mirror
                .fetch("main", &FetchOptions::default())
                .expect("fetch")
                .as_str(),
            c3
        );
    }
}
