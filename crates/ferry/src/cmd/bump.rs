//! `ferry bump`: commit a new image tag (or any YAML value) into a git repository.
//!
//! ```text
//! ferry bump web/server 1.5.0 --repo https://gitlab.example.com/team/deploy.git
//! ferry bump --repo /srv/deploy.git --branch main --file values.yaml --set .image.tag=1.5.0
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use gitsource::Remote;
use gitsource::bump::{BumpRequest, Signature, bump};
use gitsource::yamledit::{KeyPath, ScalarEdit};

/// The file the `APP/COMPONENT TAG` shortcut edits unless `--file` says otherwise.
pub const LATEST_FILE: &str = ".envs/latest.yaml";

/// Arguments of `ferry bump`.
#[derive(clap::Args)]
#[command(
    after_help = "Credentials: a token in the URL (https://oauth2:TOKEN@host/...), or for an HTTP(S) URL \
without one the first of FERRY_GIT_TOKEN (user FERRY_GIT_USER, default oauth2), GITLAB_TOKEN (oauth2), \
CI_JOB_TOKEN (gitlab-ci-token), GITHUB_TOKEN (x-access-token). SSH: --ssh-key or FERRY_SSH_KEY (a path \
or the key itself). Secrets never reach git's command line and are redacted from every message.\n\n\
Message placeholders: {app} {component} {key} {old} {new} {file} {branch} {changes}."
)]
pub struct Args {
    /// `APP/COMPONENT`: shortcut for `--set .latest.APP.COMPONENT.tag=TAG` in .envs/latest.yaml.
    #[arg(value_name = "APP/COMPONENT", requires = "tag")]
    target: Option<String>,
    /// The tag for the shortcut.
    #[arg(value_name = "TAG")]
    tag: Option<String>,
    /// Repository: URL (https, http, ssh, file) or path.
    #[arg(long, env = "FERRY_REPO", value_name = "URL_OR_PATH")]
    repo: String,
    /// Branch to commit to (default: the repository's default branch).
    #[arg(long, env = "FERRY_BRANCH")]
    branch: Option<String>,
    /// YAML file inside the repository (default with the shortcut: .envs/latest.yaml).
    #[arg(long, env = "FERRY_BUMP_FILE", value_name = "PATH")]
    file: Option<String>,
    /// A value to set: `KEY=VALUE`, KEY a path like `.latest.web.server.tag` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Commit message template.
    #[arg(long, value_name = "TPL")]
    message: Option<String>,
    /// Refuse values that are not SemVer versions or lower than the current value.
    #[arg(long)]
    semver: bool,
    /// Print the diff; commit and push nothing.
    #[arg(long)]
    dry_run: bool,
    /// Commit author, `Name <email>`.
    #[arg(long, env = "FERRY_GIT_AUTHOR", value_name = "NAME <EMAIL>")]
    author: Option<String>,
    /// Committer, `Name <email>` (default: the author).
    #[arg(long, env = "FERRY_GIT_COMMITTER", value_name = "NAME <EMAIL>")]
    committer: Option<String>,
    /// SSH private key: a file, or (from FERRY_SSH_KEY) the key itself.
    #[arg(
        long,
        env = "FERRY_SSH_KEY",
        value_name = "PATH",
        hide_env_values = true
    )]
    ssh_key: Option<String>,
    /// known_hosts file to check the SSH host key against (default: accept a new host once).
    #[arg(long, value_name = "FILE")]
    ssh_known_hosts: Option<PathBuf>,
    /// Attempts before giving up when concurrent pushes keep moving the branch.
    #[arg(long, default_value_t = 30)]
    max_attempts: u32,
    /// Longest pause between attempts, in milliseconds.
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    max_backoff_ms: u64,
    /// Directory for the temporary repository (default: the system temporary directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
}

/// Runs `ferry bump`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut edits = Vec::new();
    let mut file = args.file.clone();
    if let Some(target) = &args.target {
        let Some(tag) = &args.tag else {
            bail!("APP/COMPONENT needs a TAG");
        };
        let (app, comp) = target
            .split_once('/')
            .filter(|(a, c)| !a.is_empty() && !c.is_empty() && !c.contains('/'))
            .with_context(|| format!("expected APP/COMPONENT, got {target:?}"))?;
        edits.push(ScalarEdit {
            path: KeyPath::from_segments(["latest", app, comp, "tag"]),
            value: tag.clone(),
        });
        file.get_or_insert_with(|| LATEST_FILE.to_string());
    }
    for s in &args.set {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--set expects KEY=VALUE, got {s:?}"))?;
        edits.push(ScalarEdit {
            path: KeyPath::parse(k).with_context(|| format!("--set {s:?}"))?,
            value: v.to_string(),
        });
    }
    if edits.is_empty() {
        bail!("nothing to set: give APP/COMPONENT TAG or --set KEY=VALUE");
    }
    let Some(file) = file else {
        bail!("--file is required with --set");
    };

    let mut remote = Remote::parse(&args.repo)?.with_env_credentials(|k| std::env::var(k).ok());
    // Keep a key given as content in a private file for the duration of the run.
    let mut _key_file = None;
    if let Some(key) = &args.ssh_key {
        let path = if key.contains("-----BEGIN") {
            let mut f = tempfile::Builder::new()
                .prefix("ferry-ssh-key-")
                .tempfile()
                .context("writing the SSH key to a temporary file")?;
            let mut content = key.replace("\r\n", "\n");
            if !content.ends_with('\n') {
                content.push('\n');
            }
            f.write_all(content.as_bytes())?;
            let p = f.path().to_path_buf();
            _key_file = Some(f);
            p
        } else {
            PathBuf::from(key)
        };
        remote = remote.with_ssh_key(path);
    }
    if let Some(kh) = &args.ssh_known_hosts {
        remote = remote.with_ssh_known_hosts(kh);
    }

    let mut req = BumpRequest::new(remote, file, edits);
    req.branch = args.branch.clone();
    req.message = args.message.clone();
    if let Some(a) = &args.author {
        req.author = Signature::parse(a)?;
    }
    if let Some(c) = &args.committer {
        req.committer = Some(Signature::parse(c)?);
    }
    req.semver = args.semver;
    req.dry_run = args.dry_run;
    req.max_attempts = args.max_attempts;
    req.max_backoff = Duration::from_millis(args.max_backoff_ms);
    req.work_dir = args.work_dir.clone();

    let out = bump(&req)?;
    let summary: Vec<String> = out
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} -> {}",
                c.path,
                c.old.as_deref().unwrap_or("(none)"),
                c.new
            )
        })
        .collect();
    let mut stdout = std::io::stdout().lock();
    if args.dry_run {
        if out.unchanged() {
            writeln!(
                stdout,
                "{} already holds every value; nothing to do",
                req.file
            )?;
        } else {
            write!(stdout, "{}", out.diff)?;
        }
    } else if let Some(commit) = &out.commit {
        writeln!(
            stdout,
            "pushed {commit} to {} ({} attempt{})",
            out.branch,
            out.attempts,
            if out.attempts == 1 { "" } else { "s" }
        )?;
        for s in &summary {
            writeln!(stdout, "  {s}")?;
        }
    } else {
        writeln!(
            stdout,
            "{} on {} already holds every value; nothing to commit",
            req.file, out.branch
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
