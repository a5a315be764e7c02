//! A small wrapper around the `git` command line: one git directory, a fixed environment,
//! captured output, redacted errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::GitError;
use crate::remote::Redactor;

/// Variables that would redirect git away from the directory we name.
const SCRUBBED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_QUARANTINE_PATH",
];

/// Runs git commands against one git directory.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    dir: PathBuf,
    env: Vec<(String, String)>,
    redactor: Redactor,
}

/// The outcome of a command that may fail in expected ways.
pub(crate) struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Git {
    pub fn new(dir: impl Into<PathBuf>, env: Vec<(String, String)>, redactor: Redactor) -> Self {
        Git {
            dir: dir.into(),
            env,
            redactor,
        }
    }

    /// Adds environment variables for this runner's commands.
    pub fn add_env(&mut self, env: &mut Vec<(String, String)>) {
        self.env.append(env);
    }

    pub fn redact(&self, s: &str) -> String {
        self.redactor.redact(s)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        for k in SCRUBBED_ENV {
            c.env_remove(k);
        }
        c.arg("--git-dir").arg(&self.dir);
        c.args(args);
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c.env("LC_ALL", "C");
        c
    }

    /// Runs `git ARGS`, feeding `stdin`; never fails on a non-zero exit.
    pub fn try_run(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Run, GitError> {
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        tracing::debug!(git_dir = %self.dir.display(), args = %self.redact(&args.join(" ")), "git");
        let mut child = c.spawn().map_err(|e| GitError::Spawn(e.to_string()))?;
        let writer = match (stdin, child.stdin.take()) {
            (Some(data), Some(mut pipe)) => {
                let data = data.to_vec();
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&data);
                }))
            }
            _ => None,
        };
        let out: Output = child
            .wait_with_output()
            .map_err(|e| GitError::Spawn(e.to_string()))?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        Ok(Run {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: self.redact(String::from_utf8_lossy(&out.stderr).trim_end()),
        })
    }

    /// Runs `git ARGS` and returns stdout; a non-zero exit is an error carrying stderr.
    pub fn run_bytes(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
        let r = self.try_run(args, stdin)?;
        if r.ok {
            Ok(r.stdout)
        } else {
            Err(self.failure(args, &r))
        }
    }

    /// Like [`Git::run_bytes`], as trimmed UTF-8.
    pub fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let out = self.run_bytes(args, None)?;
        Ok(String::from_utf8_lossy(&out).trim_end().to_string())
    }

    pub fn failure(&self, args: &[&str], r: &Run) -> GitError {
        GitError::Command {
            command: self.redact(&format!("git {}", args.join(" "))),
            code: r.code,
            stderr: r.stderr.clone(),
        }
    }
}

/// Classifies git's complaint about talking to a remote.
pub(crate) fn classify_remote_failure(stderr: &str) -> RemoteFailure {
    let s = stderr.to_ascii_lowercase();
    if s.contains("authentication failed")
        || s.contains("could not read username")
        || s.contains("could not read password")
        || s.contains("http basic: access denied")
        || s.contains("the requested url returned error: 401")
        || s.contains("the requested url returned error: 403")
        || s.contains("permission denied (publickey")
        || s.contains("host key verification failed")
    {
        RemoteFailure::Auth
    } else if s.contains("couldn't find remote ref") || s.contains("could not find remote ref") {
        RemoteFailure::NoSuchRef
    } else if s.contains("rpc failed")
        || s.contains("early eof")
        || s.contains("connection reset")
        || s.contains("returned error: 5")
        || s.contains("the remote end hung up unexpectedly")
        || s.contains("timed out")
        || s.contains("connection refused")
        || s.contains("failed to connect")
        || s.contains("could not resolve host")
        || s.contains("unable to access")
    {
        RemoteFailure::Transient
    } else {
        RemoteFailure::Other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemoteFailure {
    Auth,
    NoSuchRef,
    Transient,
    Other,
}

/// Validates a full hexadecimal object id.
pub(crate) fn is_oid(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// One entry of `git ls-tree -z` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawTreeEntry {
    pub mode: String,
    pub kind: String,
    pub oid: String,
    pub path: String,
}

/// Parses `git ls-tree -z [--long]` output.
pub(crate) fn parse_ls_tree(out: &[u8]) -> Result<Vec<RawTreeEntry>, GitError> {
    let mut v = Vec::new();
    for rec in out.split(|&c| c == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let (meta, path) = rec
            .split_once('\t')
            .ok_or_else(|| GitError::Parse(format!("ls-tree record {rec:?}")))?;
        let mut parts = meta.split_whitespace();
        let (Some(mode), Some(kind), Some(oid)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(GitError::Parse(format!("ls-tree record {rec:?}")));
        };
        v.push(RawTreeEntry {
            mode: mode.to_string(),
            kind: kind.to_string(),
            oid: oid.to_string(),
            path: path.to_string(),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_tree_parsing() {
        let out = b"100644 blob 0123456789012345678901234567890123456789\ta b.txt\x00040000 tree 1123456789012345678901234567890123456789\tdir\0";
        let v = parse_ls_tree(out).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].path, "a b.txt");
        assert_eq!(v[1].kind, "tree");
        assert!(parse_ls_tree(b"garbage\0").is_err());
    }

    #[test]
    fn failure_classes() {
        assert_eq!(
            classify_remote_failure("fatal: Authentication failed for 'http://h/r'"),
            RemoteFailure::Auth
        );
        assert_eq!(
            classify_remote_failure("fatal: couldn't find remote ref refs/heads/x"),
            RemoteFailure::NoSuchRef
        );
        assert_eq!(
            classify_remote_failure("error: RPC failed; HTTP 502"),
            RemoteFailure::Transient
        );
        assert_eq!(
            classify_remote_failure("fatal: bad object"),
            RemoteFailure::Other
        );
        assert!(is_oid("0123456789012345678901234567890123456789"));
        assert!(!is_oid("main"));
    }
}
