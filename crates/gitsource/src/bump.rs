//! `bump`: commit new YAML values (image tags) into a branch, safely under concurrency.
//!
//! Each attempt fetches only the branch tip (`--depth=1`, `--filter=blob:none`, no tags) into a
//! private bare repository, reads the one file, edits it in place ([`crate::yamledit`]), writes
//! the new blob, rebuilds just the trees on the file's path (`git mktree`), commits on top of
//! the fetched tip and pushes without force. A push rejected because the branch moved is retried
//! from a fresh fetch, re-applying the edit on the new tip, with jittered exponential backoff and
//! a bound; another job's update is never overwritten, because every commit is a fast-forward
//! of what the server holds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::git::{Git, RemoteFailure, classify_remote_failure, parse_ls_tree};
use crate::remote::Remote;
use crate::yamledit::{self, Change, KeyPath, ScalarEdit};
use crate::{BumpError, GitError};

/// A commit identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
}

impl Signature {
    /// Parses `Name <email>`.
    pub fn parse(s: &str) -> Result<Signature, BumpError> {
        let bad = || BumpError::Invalid(format!("invalid identity {s:?}: expected 'Name <email>'"));
        let (name, rest) = s.split_once('<').ok_or_else(bad)?;
        let email = rest.strip_suffix('>').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() || email.contains(['<', '>', '\n']) || name.contains(['\n', '<', '>']) {
            return Err(bad());
        }
        Ok(Signature {
            name: name.to_string(),
            email: email.trim().to_string(),
        })
    }
}

impl Default for Signature {
    fn default() -> Self {
        Signature {
            name: "ferry".into(),
            email: "ferry@localhost".into(),
        }
    }
}

/// What to bump where.
#[derive(Debug, Clone)]
pub struct BumpRequest {
    /// The repository.
    pub remote: Remote,
    /// The branch; `None` means the remote's default branch (its `HEAD`).
    pub branch: Option<String>,
    /// Path of the YAML file in the repository (`/`-separated).
    pub file: String,
    /// The values to set.
    pub edits: Vec<ScalarEdit>,
    /// Commit message template (see [`render_message`]); `None` for the default message.
    pub message: Option<String>,
    /// Author.
    pub author: Signature,
    /// Committer (defaults to the author when `None`).
    pub committer: Option<Signature>,
    /// Refuse values that are not SemVer versions or lower than the current value.
    pub semver: bool,
    /// Compute and return the diff, but commit and push nothing.
    pub dry_run: bool,
    /// Attempts before giving up when pushes keep being rejected (at least 1).
    pub max_attempts: u32,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
    /// Where the private repository is created (the system temporary directory by default).
    pub work_dir: Option<PathBuf>,
}

impl BumpRequest {
    /// A request with defaults: default branch, default message and identity, 30 attempts.
    pub fn new(remote: Remote, file: impl Into<String>, edits: Vec<ScalarEdit>) -> Self {
        BumpRequest {
            remote,
            branch: None,
            file: file.into(),
            edits,
            message: None,
            author: Signature::default(),
            committer: None,
            semver: false,
            dry_run: false,
            max_attempts: 30,
            max_backoff: Duration::from_secs(3),
            work_dir: None,
        }
    }
}

/// What a bump did.
#[derive(Debug, Clone)]
pub struct BumpOutcome {
    /// The branch written to.
    pub branch: String,
    /// The commit pushed (`None` for a dry run or when nothing changed).
    pub commit: Option<String>,
    /// The tip the edit was applied to.
    pub base: String,
    /// The applied changes (old and new values).
    pub changes: Vec<Change>,
    /// Unified diff of the file (empty when nothing changed).
    pub diff: String,
    /// Attempts used.
    pub attempts: u32,
    /// The commit message (empty when nothing was committed).
    pub message: String,
}

impl BumpOutcome {
    /// Whether the file already held every value.
    pub fn unchanged(&self) -> bool {
        self.changes.iter().all(Change::is_noop)
    }
}

/// `.latest.<app>.<component>.tag` → `(app, component)`.
pub fn latest_convention(path: &KeyPath) -> Option<(&str, &str)> {
    match path.segments() {
        [l, app, comp, t] if l == "latest" && t == "tag" => Some((app, comp)),
        _ => None,
    }
}

/// Renders a commit message template. Placeholders: `{app}`, `{component}`, `{key}`, `{old}`,
/// `{new}` (of the first change), `{file}`, `{branch}`, `{changes}` (one `key: old -> new` line
/// per change). `{app}` is the app of a `.latest.<app>.<component>.tag` key, else the key path.
pub fn render_message(tpl: &str, file: &str, branch: &str, changes: &[Change]) -> String {
    let first = changes.iter().find(|c| !c.is_noop()).or(changes.first());
    let (app, comp, key, old, new) = match first {
        Some(c) => {
            let (a, k) = latest_convention(&c.path)
                .map_or((c.path.to_string(), String::new()), |(a, k)| {
                    (a.to_string(), k.to_string())
                });
            (
                a,
                k,
                c.path.to_string(),
                c.old.clone().unwrap_or_else(|| "(none)".into()),
                c.new.clone(),
            )
        }
        None => Default::default(),
    };
    let lines: Vec<String> = changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| {
            format!(
                "{}: {} -> {}",
                c.path,
                c.old.as_deref().unwrap_or("(none)"),
                c.new
            )
        })
        .collect();
    tpl.replace("{app}", &app)
        .replace("{component}", &comp)
        .replace("{key}", &key)
        .replace("{old}", &old)
        .replace("{new}", &new)
        .replace("{file}", file)
        .replace("{branch}", branch)
        .replace("{changes}", &lines.join("\n"))
}

/// The message used without `--message`.
pub fn default_message(file: &str, changes: &[Change]) -> String {
    let real: Vec<&Change> = changes.iter().filter(|c| !c.is_noop()).collect();
    let describe = |c: &Change| {
        let old = c.old.as_deref().unwrap_or("(none)");
        match latest_convention(&c.path) {
            Some((app, comp)) => format!("{app}/{comp} {old} -> {}", c.new),
            None => format!("{} {old} -> {}", c.path, c.new),
        }
    };
    match real.as_slice() {
        [one] => format!("bump {}\n\nfile: {file}\n", describe(one)),
        many => {
            let mut m = format!("bump {} values in {file}\n\n", many.len());
            for c in many {
                m.push_str(&describe(c));
                m.push('\n');
            }
            m
        }
    }
}

/// Checks `new` against SemVer and against the current value.
pub fn check_semver(path: &KeyPath, old: Option<&str>, new: &str) -> Result<(), BumpError> {
    let parse = |s: &str| semver::Version::parse(s.strip_prefix('v').unwrap_or(s));
    let newv = parse(new).map_err(|e| BumpError::SemVer {
        message: format!("{new:?} for {path} is not a SemVer version ({e})"),
    })?;
    if let Some(old) = old
        && let Ok(oldv) = parse(old)
        && newv < oldv
    {
        return Err(BumpError::SemVer {
            message: format!(
                "{new} for {path} is lower than the current {old}; refusing to go back"
            ),
        });
    }
    Ok(())
}

/// Runs a bump. Nothing is pushed unless every check passed; on error the branch is untouched.
pub fn bump(req: &BumpRequest) -> Result<BumpOutcome, BumpError> {
    if req.edits.is_empty() {
        return Err(BumpError::Invalid("nothing to set".into()));
    }
    let file = normalize_file(&req.file)?;
    if req.semver {
        for e in &req.edits {
            check_semver(&e.path, None, &e.value)?;
        }
    }
    let tmp = match &req.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| BumpError::Io(format!("{}: {e}", d.display())))?;
            tempfile::Builder::new().prefix("ferry-bump-").tempdir_in(d)
        }
        None => tempfile::Builder::new().prefix("ferry-bump-").tempdir(),
    }
    .map_err(|e| BumpError::Io(format!("creating a work directory: {e}")))?;
    let git_dir = tmp.path().join("repo.git");
    let mut extra: Vec<(&str, &str)> = vec![
        ("core.askPass", ""),
        ("gc.auto", "0"),
        ("maintenance.auto", "false"),
        ("fetch.writeCommitGraph", "false"),
        ("protocol.version", "2"),
    ];
    if req.remote.is_local() {
        // The upload-pack spawned for a local repository inherits this: allow the blob filter.
        extra.push(("uploadpack.allowFilter", "true"));
        extra.push(("uploadpack.allowAnySHA1InWant", "true"));
    }
    let git = Git::new(&git_dir, req.remote.git_env(&extra), req.remote.redactor());
    git.run(&["init", "--bare", "-q"])?;
    git.run(&["config", "remote.origin.url", req.remote.url()])?;
    git.run(&["config", "remote.origin.promisor", "true"])?;
    git.run(&["config", "remote.origin.partialclonefilter", "blob:none"])?;

    let branch = match &req.branch {
        Some(b) => {
            validate_branch(b)?;
            b.clone()
        }
        None => default_branch(&git, &req.remote)?,
    };
    let committer = req.committer.clone().unwrap_or_else(|| req.author.clone());
    let started = Instant::now();
    let max = req.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_once(req, &git, &branch, &file, &committer, attempt) {
            Ok(o) => {
                tracing::info!(
                    attempts = attempt,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    commit = ?o.commit,
                    "bump finished"
                );
                return Ok(o);
            }
            Err(Attempt::Retry(why)) if attempt < max => {
                let pause = backoff(attempt, req.max_backoff);
                tracing::info!(attempt, reason = %why, pause_ms = pause.as_millis() as u64, "retrying bump");
                std::thread::sleep(pause);
            }
            Err(Attempt::Retry(why)) => {
                return Err(BumpError::GaveUp {
                    attempts: attempt,
                    last: why,
                });
            }
            Err(Attempt::Fail(e)) => return Err(e),
        }
    }
}

enum Attempt {
    Retry(String),
    Fail(BumpError),
}

impl From<BumpError> for Attempt {
    fn from(e: BumpError) -> Self {
        Attempt::Fail(e)
    }
}

impl From<GitError> for Attempt {
    fn from(e: GitError) -> Self {
        Attempt::Fail(e.into())
    }
}

fn try_once(
    req: &BumpRequest,
    git: &Git,
    branch: &str,
    file: &str,
    committer: &Signature,
    attempt: u32,
) -> Result<BumpOutcome, Attempt> {
    let tracking = format!("refs/remotes/origin/{branch}");
    let refspec = format!("+refs/heads/{branch}:{tracking}");
    let args = [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--depth=1",
        "--filter=blob:none",
        "origin",
        refspec.as_str(),
    ];
    let r = git.try_run(&args, None)?;
    if !r.ok {
        return Err(match classify_remote_failure(&r.stderr) {
            RemoteFailure::Auth => Attempt::Fail(BumpError::Auth {
                remote: req.remote.to_string(),
                detail: r.stderr,
            }),
            RemoteFailure::NoSuchRef => Attempt::Fail(BumpError::NoBranch {
                remote: req.remote.to_string(),
                branch: branch.to_string(),
            }),
            RemoteFailure::Transient => Attempt::Retry(format!("fetch failed: {}", r.stderr)),
            RemoteFailure::Other => Attempt::Fail(git.failure(&args, &r).into()),
        });
    }
    let tip = git.run(&["rev-parse", "--verify", &format!("{tracking}^{{commit}}")])?;

    // Locate and read the file.
    let listing = git.run_bytes(&["ls-tree", "-z", &tip, "--", file], None)?;
    let entries = parse_ls_tree(&listing)?;
    let Some(entry) = entries.into_iter().find(|e| e.path == file) else {
        return Err(BumpError::FileNotFound {
            file: file.to_string(),
            branch: branch.to_string(),
        }
        .into());
    };
    if entry.kind != "blob" || !(entry.mode == "100644" || entry.mode == "100755") {
        return Err(BumpError::Invalid(format!(
            "{file} on {branch} is not a regular file (mode {} {})",
            entry.mode, entry.kind
        ))
        .into());
    }
    let bytes = git.run_bytes(&["cat-file", "blob", &entry.oid], None)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| BumpError::Invalid(format!("{file} on {branch} is not UTF-8 text")))?;

    let edited = yamledit::set_values(&text, &req.edits).map_err(|e| BumpError::Yaml {
        file: file.to_string(),
        error: e,
    })?;
    if req.semver {
        for c in &edited.changes {
            check_semver(&c.path, c.old.as_deref(), &c.new)?;
        }
    }
    let diff = if edited.text == text {
        String::new()
    } else {
        similar::TextDiff::from_lines(&text, &edited.text)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{file}"), &format!("b/{file}"))
            .to_string()
    };
    let mut outcome = BumpOutcome {
        branch: branch.to_string(),
        commit: None,
        base: tip.clone(),
        changes: edited.changes.clone(),
        diff,
        attempts: attempt,
        message: String::new(),
    };
    if edited.text == text || req.dry_run {
        return Ok(outcome);
    }
    let message = match &req.message {
        Some(t) => render_message(t, file, branch, &edited.changes),
        None => default_message(file, &edited.changes),
    };

    // Write the blob and the trees along its path, then the commit.
    let blob = git.run_bytes(
        &["hash-object", "-w", "--stdin"],
        Some(edited.text.as_bytes()),
    )?;
    let blob = String::from_utf8_lossy(&blob).trim().to_string();
    let comps: Vec<&str> = file.split('/').collect();
    let root_tree = git.run(&["rev-parse", &format!("{tip}^{{tree}}")])?;
    let tree = replace_in_tree(git, &root_tree, &comps, &blob)?;
    let commit = commit_tree(git, &tree, &tip, &message, &req.author, committer)?;

    // Push without force; the server accepts it only as a fast-forward of `tip`.
    let dst = format!("{commit}:refs/heads/{branch}");
    let push_args = ["push", "--porcelain", "--quiet", "origin", dst.as_str()];
    let r = git.try_run(&push_args, None)?;
    let stdout = String::from_utf8_lossy(&r.stdout).to_string();
    let rejected = stdout
        .lines()
        .find(|l| l.starts_with('!'))
        .map(|l| l.to_string());
    if r.ok && rejected.is_none() {
        outcome.commit = Some(commit);
        outcome.message = message;
        return Ok(outcome);
    }
    let why = rejected.unwrap_or_default();
    let both = format!("{why}\n{}", r.stderr);
    let lower = both.to_ascii_lowercase();
    if lower.contains("fetch first")
        || lower.contains("non-fast-forward")
        || lower.contains("stale info")
        || lower.contains("failed to update ref")
        || lower.contains("cannot lock ref")
        || lower.contains("unable to lock")
        || lower.contains("incorrect old value")
        || lower.contains("but expected")
    {
        return Err(Attempt::Retry(format!(
            "push rejected, the branch moved: {}",
            why.trim()
        )));
    }
    Err(match classify_remote_failure(&r.stderr) {
        RemoteFailure::Auth => Attempt::Fail(BumpError::Auth {
            remote: req.remote.to_string(),
            detail: r.stderr,
        }),
        RemoteFailure::Transient => Attempt::Retry(format!("push failed: {}", r.stderr)),
        _ => Attempt::Fail(BumpError::PushRejected {
            branch: branch.to_string(),
            detail: git.redact(both.trim()),
        }),
    })
}

/// Rewrites `tree` with the blob at `comps` replaced by `blob` (mode kept); returns the new
/// tree id. Only the trees on the path are read and written.
fn replace_in_tree(git: &Git, tree: &str, comps: &[&str], blob: &str) -> Result<String, BumpError> {
    let out = git.run_bytes(&["ls-tree", "-z", tree], None)?;
    let mut entries = parse_ls_tree(&out)?;
    let Some(e) = entries.iter_mut().find(|e| e.path == comps[0]) else {
        return Err(BumpError::Invalid(format!(
            "{} vanished from the tree",
            comps[0]
        )));
    };
    if comps.len() == 1 {
        e.oid = blob.to_string();
    } else {
        e.oid = replace_in_tree(git, &e.oid.clone(), &comps[1..], blob)?;
    }
    let mut input = Vec::new();
    for e in &entries {
        input.extend_from_slice(format!("{} {} {}\t{}", e.mode, e.kind, e.oid, e.path).as_bytes());
        input.push(0);
    }
    let out = git.run_bytes(&["mktree", "-z", "--missing"], Some(&input))?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

fn commit_tree(
    git: &Git,
    tree: &str,
    parent: &str,
    message: &str,
    author: &Signature,
    committer: &Signature,
) -> Result<String, BumpError> {
    let mut env = vec![
        ("GIT_AUTHOR_NAME".to_string(), author.name.clone()),
        ("GIT_AUTHOR_EMAIL".to_string(), author.email.clone()),
        ("GIT_COMMITTER_NAME".to_string(), committer.name.clone()),
        ("GIT_COMMITTER_EMAIL".to_string(), committer.email.clone()),
    ];
    // Keep the caller's GIT_CONFIG_* and credentials, add the identity.
    let mut g = git.clone();
    g.add_env(&mut env);
    let out = g.run_bytes(
        &["commit-tree", tree, "-p", parent, "-F", "-"],
        Some(message.as_bytes()),
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

fn default_branch(git: &Git, remote: &Remote) -> Result<String, BumpError> {
    let args = ["ls-remote", "--symref", "origin", "HEAD"];
    let r = git.try_run(&args, None)?;
    if !r.ok {
        return Err(match classify_remote_failure(&r.stderr) {
            RemoteFailure::Auth => BumpError::Auth {
                remote: remote.to_string(),
                detail: r.stderr,
            },
            _ => git.failure(&args, &r).into(),
        });
    }
    let out = String::from_utf8_lossy(&r.stdout);
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("ref: refs/heads/")
            && let Some((b, _)) = rest.split_once('\t')
        {
            return Ok(b.to_string());
        }
    }
    Err(BumpError::Invalid(format!(
        "cannot tell the default branch of {remote}; pass --branch"
    )))
}

fn validate_branch(b: &str) -> Result<(), BumpError> {
    let ok = !b.is_empty()
        && !b.starts_with(['-', '/'])
        && !b.ends_with(['/', '.'])
        && !b.contains("..")
        && !b.contains("@{")
        && !b.contains("//")
        && !b.ends_with(".lock")
        && b.chars()
            .all(|c| !c.is_control() && !" ~^:?*[\\".contains(c));
    if ok {
        Ok(())
    } else {
        Err(BumpError::Invalid(format!("invalid branch name {b:?}")))
    }
}

fn normalize_file(f: &str) -> Result<String, BumpError> {
    let f = f.trim_start_matches("./").trim_start_matches('/');
    let comps: Vec<&str> = f
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if comps.is_empty() || comps.contains(&"..") {
        return Err(BumpError::Invalid(format!(
            "invalid file path {f:?} (a path inside the repository is expected)"
        )));
    }
    Ok(comps.join("/"))
}

/// Jittered exponential backoff: 100 ms doubling per attempt, capped, scaled by 50-100 %.
fn backoff(attempt: u32, cap: Duration) -> Duration {
    let base = Duration::from_millis(100).saturating_mul(1 << attempt.min(16).saturating_sub(1));
    let d = base.min(cap);
    let r = random_unit();
    d.mul_f64(0.5 + 0.5 * r)
}

fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(p: &str, old: Option<&str>, new: &str) -> Change {
        Change {
            path: KeyPath::parse(p).unwrap(),
            old: old.map(Into::into),
            new: new.into(),
        }
    }

    #[test]
    fn messages_name_app_old_and_new() {
        let c = [change(".latest.web.server.tag", Some("1.0.0"), "1.1.0")];
        assert_eq!(
            default_message(".envs/latest.yaml", &c),
            "bump web/server 1.0.0 -> 1.1.0\n\nfile: .envs/latest.yaml\n"
        );
        assert_eq!(
            render_message(
                "{app}:{component} {old}=>{new} [skip ci] {branch}",
                "f",
                "main",
                &c
            ),
            "web:server 1.0.0=>1.1.0 [skip ci] main"
        );
        let c2 = [
            change(".a.b", None, "x"),
            change(".latest.api.worker.tag", Some("1"), "2"),
        ];
        assert_eq!(
            default_message("f.yaml", &c2),
            "bump 2 values in f.yaml\n\n.a.b (none) -> x\napi/worker 1 -> 2\n"
        );
        assert_eq!(
            render_message("{changes}", "f", "b", &c2),
            ".a.b: (none) -> x\n.latest.api.worker.tag: 1 -> 2"
        );
    }

    #[test]
    fn semver_rules() {
        let p = KeyPath::parse("a").unwrap();
        assert!(check_semver(&p, None, "1.2.3").is_ok());
        assert!(check_semver(&p, Some("1.2.3"), "v1.2.4").is_ok());
        assert!(check_semver(&p, Some("latest"), "1.0.0").is_ok());
        assert!(check_semver(&p, Some("1.2.3"), "1.2.3").is_ok());
        let e = check_semver(&p, Some("1.10.0"), "1.9.0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "1.9.0 for .a is lower than the current 1.10.0; refusing to go back"
        );
        let e = check_semver(&p, None, "latest").unwrap_err();
        assert!(
            e.to_string()
                .contains("\"latest\" for .a is not a SemVer version"),
            "{e}"
        );
        assert!(check_semver(&p, Some("1.0.0"), "1.0.0-rc.1").is_err());
        assert!(check_semver(&p, None, "1.2").is_err());
    }

    #[test]
    fn identities_paths_branches() {
        assert_eq!(
            Signature::parse("CI Bot <ci@example.com>").unwrap(),
            Signature {
                name: "CI Bot".into(),
                email: "ci@example.com".into()
            }
        );
        assert!(Signature::parse("nobody").is_err());
        assert!(Signature::parse(" <a@b>").is_err());
        assert_eq!(
            normalize_file("./.envs//latest.yaml").unwrap(),
            ".envs/latest.yaml"
        );
        assert!(normalize_file("../x").is_err());
        assert!(normalize_file("").is_err());
        assert!(validate_branch("release/1.x").is_ok());
        for b in ["", "-x", "a..b", "a b", "x.lock", "a:b", "a/"] {
            assert!(validate_branch(b).is_err(), "{b}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let cap = Duration::from_secs(2);
        assert!(backoff(1, cap) <= Duration::from_millis(100));
        assert!(backoff(1, cap) >= Duration::from_millis(50));
        assert!(backoff(4, cap) >= Duration::from_millis(400));
        assert!(backoff(30, cap) <= cap);
    }
}
