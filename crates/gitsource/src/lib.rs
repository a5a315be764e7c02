//! Git access for ferry: write-back of image tags (`ferry bump`) and, for the controller,
//! persistent mirrors read at a revision without a checkout.
//!
//! Everything drives the `git` command line (as CI runners do): shallow and blob-filtered
//! fetches, smart HTTP(S) with token auth, SSH with a key, `file://` and local paths all come
//! from git itself. Secrets never appear on a command line or in a message: HTTP credentials
//! reach git through a credential helper that reads the child's environment, and every error
//! text passes through a [`Redactor`].
//!
//! Start with:
//! - [`bump::bump`] with a [`bump::BumpRequest`]: edit YAML values in one file of a branch and
//!   push, retrying on concurrent pushes, never forcing.
//! - [`yamledit::set_values`]: the comment- and format-preserving YAML scalar editor it uses.
//! - [`mirror::MirrorStore`] / [`mirror::Mirror`]: one bare mirror per repository URL; fetch a
//!   ref, resolve revisions, list and read files at a commit, changed paths between commits.
//! - [`Remote`]: a URL or path plus credentials (token in the URL, CI environment variables,
//!   SSH key).
//!
//! Not here: rendering (see `helm`), applying (see `engine`), scheduling refreshes (see
//! `controller`).
//!
//! ```no_run
//! use gitsource::{Remote, bump::{bump, BumpRequest}, yamledit::{KeyPath, ScalarEdit}};
//! let remote = Remote::parse("https://gitlab.example.com/team/deploy.git")?
//!     .with_env_credentials(|k| std::env::var(k).ok());
//! let edit = ScalarEdit { path: KeyPath::parse(".latest.web.server.tag")?, value: "1.5.0".into() };
//! let mut req = BumpRequest::new(remote, ".envs/latest.yaml", vec![edit]);
//! req.branch = Some("main".into());
//! let outcome = bump(&req)?;
//! println!("{:?}", outcome.commit);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bump;
mod git;
pub mod mirror;
mod remote;
pub mod yamledit;

pub use remote::{Auth, Redactor, Remote, Secret, TOKEN_ENV_VARS, redact_url_userinfo};

/// Failures of git itself (messages are redacted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    /// git could not be started.
    #[error("cannot run git (is it installed and on PATH?): {0}")]
    Spawn(String),
    /// A git command failed.
    #[error("{command} failed (exit {}): {stderr}", code.map_or("signal".to_string(), |c| c.to_string()))]
    Command {
        /// The command line (without secrets).
        command: String,
        /// Exit code.
        code: Option<i32>,
        /// What git printed on stderr.
        stderr: String,
    },
    /// Unexpected git output.
    #[error("unexpected git output: {0}")]
    Parse(String),
    /// The repository location is not usable.
    #[error("invalid repository: {0}")]
    BadRemote(String),
    /// A revision does not exist.
    #[error("revision {rev:?} not found in {remote}")]
    UnknownRevision {
        /// The revision asked for.
        rev: String,
        /// The repository (redacted).
        remote: String,
    },
    /// A path does not exist at a revision.
    #[error("{path} not found at {commit}")]
    PathNotFound {
        /// The path.
        path: String,
        /// The commit.
        commit: String,
    },
    /// Authentication was refused.
    #[error("authentication to {remote} failed: {detail}")]
    Auth {
        /// The repository (redacted).
        remote: String,
        /// git's message.
        detail: String,
    },
    /// Local file-system trouble.
    #[error("{0}")]
    Io(String),
}

/// Failures of [`bump::bump`]. In every case the branch is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum BumpError {
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
    /// Local file-system trouble.
    #[error("{0}")]
    Io(String),
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The server refused the credentials.
    #[error("authentication to {remote} failed: {detail}")]
    Auth {
        /// The repository (redacted).
        remote: String,
        /// git's message (redacted).
        detail: String,
    },
    /// The branch does not exist.
    #[error("branch {branch:?} not found in {remote}")]
    NoBranch {
        /// The repository (redacted).
        remote: String,
        /// The branch.
        branch: String,
    },
    /// The file does not exist on the branch.
    #[error("{file} not found on branch {branch:?}")]
    FileNotFound {
        /// The path.
        file: String,
        /// The branch.
        branch: String,
    },
    /// The file is not valid YAML or the key path does not fit it.
    #[error("{file}: {error}")]
    Yaml {
        /// The path.
        file: String,
        /// What is wrong.
        error: yamledit::YamlEditError,
    },
    /// `--semver` refused the value.
    #[error("{message}")]
    SemVer {
        /// What is wrong.
        message: String,
    },
    /// Pushes kept being rejected.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last reason.
        last: String,
    },
    /// The server refused the push for another reason (protected branch, hook).
    #[error("push to {branch:?} refused: {detail}")]
    PushRejected {
        /// The branch.
        branch: String,
        /// The server's message (redacted).
        detail: String,
    },
}
