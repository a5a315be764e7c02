//! `ferry up`: the embedded cluster, the controller and its HTTP endpoint in one process;
//! `--demo` bootstraps the bundled demo repository.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use include_dir::{Dir, include_dir};

/// The demo repository, embedded at build time.
static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../examples/demo");

/// Arguments of `ferry up`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory for the cluster's database, git mirrors and the demo repository.
    #[arg(long, default_value = ".ferry")]
    pub data_dir: PathBuf,
    /// Where to write the cluster's kubeconfig (default: DATA_DIR/kubeconfig).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Address of the Kubernetes API.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Address of the HTTP endpoint (/healthz, /readyz, /api/webhook).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Application manifest files to apply at start (repeatable).
    #[arg(long = "app")]
    pub apps: Vec<PathBuf>,
    /// Bootstrap the bundled demo (a local git repository, the sops key, the entrypoint).
    #[arg(long)]
    pub demo: bool,
    /// Environment of the demo (`dev`, `prod`).
    #[arg(long, default_value = "dev")]
    pub demo_env: String,
    /// Refresh period in seconds.
    #[arg(long, default_value_t = 60)]
    pub refresh_seconds: u64,
    /// How many apps are reconciled at the same time.
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 40)]
    pub workers: usize,
    /// GitHub webhook secret (default: `argocd-secret`).
    #[arg(long, env = "FERRY_WEBHOOK_GITHUB_SECRET")]
    pub webhook_github_secret: Option<String>,
    /// GitLab webhook token (default: `argocd-secret`).
    #[arg(long, env = "FERRY_WEBHOOK_GITLAB_SECRET")]
    pub webhook_gitlab_secret: Option<String>,
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "ferry")
        .env("GIT_AUTHOR_EMAIL", "ferry@localhost")
        .env("GIT_COMMITTER_NAME", "ferry")
        .env("GIT_COMMITTER_EMAIL", "ferry@localhost")
        .output()
        .context("running git")?;
    if !out.status.success() {
        return Err(anyhow!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Writes the embedded demo into `dir` and commits it (an existing repository is kept).
fn demo_repo(dir: &Path) -> anyhow::Result<()> {
    if dir.join(".git").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    DEMO.extract(dir)
        .with_context(|| format!("writing the demo to {}", dir.display()))?;
    git(dir, &["init", "-q", "-b", "main"])?;
    git(dir, &["add", "."])?;
    git(dir, &["commit", "-q", "-m", "ferry demo"])?;
    Ok(())
}

/// Runs `ferry up`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(up(args))
}

async fn up(args: Args) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)?;
    let data_dir = std::fs::canonicalize(&args.data_dir)?;
    let mut cfg = apiserver::Config::new(data_dir.join("cluster"));
    cfg.listen = args.listen;
    let handle = apiserver::Server::start(cfg)
        .await
        .map_err(|e| anyhow!("starting the cluster: {e}"))?;
    let kubeconfig = args
        .kubeconfig_out
        .clone()
        .unwrap_or_else(|| data_dir.join("kubeconfig"));
    handle
        .write_kubeconfig(&kubeconfig)
        .map_err(|e| anyhow!("writing {}: {e}", kubeconfig.display()))?;
    eprintln!(
        "cluster on {}; kubeconfig: {}",
        handle.url(),
        kubeconfig.display()
    );
    let client = controller::kube_io::client_from_kubeconfig(Some(&kubeconfig))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let kube = controller::kube_io::Kube::new(client.clone());
    let mut opts = controller::Options::new(&data_dir);
    opts.refresh_interval = Duration::from_secs(args.refresh_seconds.max(1));
    opts.workers = args.workers.max(1);
    let namespace = opts.namespace.clone();
    controller::bootstrap::ensure_namespace(&kube, &namespace)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    controller::reconciler::ensure_crd(&client)
        .await
        .map_err(|e| anyhow!("{e}"))?;

    if args.demo {
        let repo = data_dir.join("demo-repo");
        demo_repo(&repo)?;
        let key = repo.join("age-test-key.txt");
        let key = std::fs::read(&key).with_context(|| format!("reading {}", key.display()))?;
        controller::bootstrap::ensure_secret(&kube, &namespace, "sops-age", "key.txt", &key)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let entry = repo.join("deployment/kubernetes/entrypoint.yaml");
        let text = std::fs::read_to_string(&entry)
            .with_context(|| format!("reading {}", entry.display()))?;
        let url = format!("file://{}", repo.display());
        let objs =
            controller::bootstrap::entrypoint_application(&text, &args.demo_env, &url, "HEAD")
                .map_err(|e| anyhow!("{e}"))?;
        controller::bootstrap::apply_all(&kube, &objs)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        eprintln!(
            "demo repository: {} (commit there; ferry follows HEAD)",
            repo.display()
        );
    }
    for f in &args.apps {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let objs = controller::source::parse_manifests(&f.display().to_string(), &text)
            .map_err(|e| anyhow!("{e}"))?;
        controller::bootstrap::apply_all(&kube, &objs)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }

    let progress_client = client.clone();
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            if let Ok(table) = super::app::table(&progress_client, "argocd").await
                && table != last
            {
                eprintln!("{table}");
                last = table;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let secrets = controller::http::WebhookSecrets {
        github: args.webhook_github_secret.clone(),
        gitlab: args.webhook_gitlab_secret.clone(),
    };
    let code = super::controller::serve(client, opts, args.http_listen, secrets).await?;
    handle.shutdown().await;
    Ok(code)
}
