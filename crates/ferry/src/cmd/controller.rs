//! `ferry controller`: the Application controller against any cluster (kubeconfig).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;

/// Arguments of `ferry controller`.
#[derive(clap::Args)]
pub struct Args {
    /// Kubeconfig of the cluster (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Directory for git mirrors.
    #[arg(long, default_value = ".ferry")]
    pub data_dir: PathBuf,
    /// Control-plane namespace (where Applications live).
    #[arg(long, default_value = "argocd")]
    pub namespace: String,
    /// Other namespaces whose Applications are reconciled too, comma-separated: names, globs
    /// (`team-*`) or `/regexp/` (Argo CD's apps in any namespace). Such an app must use an
    /// AppProject whose `sourceNamespaces` matches its namespace.
    #[arg(long, env = "ARGOCD_APPLICATION_NAMESPACES", value_delimiter = ',')]
    pub application_namespaces: Vec<String>,
    /// Address of the HTTP endpoint (/healthz, /readyz, /api/webhook).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Refresh period in seconds (a random jitter of up to 10 s is added).
    #[arg(long, default_value_t = 60)]
    pub refresh_seconds: u64,
    /// GitHub webhook secret (default: `webhook.github.secret` of the `argocd-secret` Secret).
    #[arg(long, env = "FERRY_WEBHOOK_GITHUB_SECRET")]
    pub webhook_github_secret: Option<String>,
    /// GitLab webhook token (default: `webhook.gitlab.secret` of the `argocd-secret` Secret).
    #[arg(long, env = "FERRY_WEBHOOK_GITLAB_SECRET")]
    pub webhook_gitlab_secret: Option<String>,
    /// Leader election through the Lease `ferry-controller` in the control-plane namespace, so
    /// that several replicas are safe (only the leader reconciles).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How many apps are reconciled at the same time.
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 40)]
    pub workers: usize,
    /// Identity of this replica in the Lease (default: host name, process id, random suffix).
    #[arg(long)]
    pub leader_identity: Option<String>,
}

/// Runs `ferry controller`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let client = controller::kube_io::client_from_kubeconfig(args.kubeconfig.as_deref())
            .await
            .map_err(|e| anyhow!("kubeconfig: {e}"))?;
        let mut opts = controller::Options::new(&args.data_dir);
        opts.namespace = args.namespace.clone();
        opts.application_namespaces = args
            .application_namespaces
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        opts.refresh_interval = Duration::from_secs(args.refresh_seconds.max(1));
        opts.workers = args.workers.max(1);
        if args.leader_elect {
            let identity = args
                .leader_identity
                .clone()
                .unwrap_or_else(controller::leader::LeaderElection::default_identity);
            opts.leader_election = Some(controller::leader::LeaderElection::new(
                &args.namespace,
                &identity,
            ));
        }
        let secrets = controller::http::WebhookSecrets {
            github: args.webhook_github_secret.clone(),
            gitlab: args.webhook_gitlab_secret.clone(),
        };
        serve(client, opts, args.http_listen, secrets).await
    })
}

/// Runs the controller and its HTTP endpoint until interrupted (shared with `ferry up`).
///
/// `/readyz`: without leader election, ready once the controller runs; with it, ready while
/// this replica is the leader *or a standby* that reaches the API server (see
/// [`controller::leader`]: a standby is live and ready to take over, and its endpoint still
/// accepts webhooks), not ready before the first answer of the API server, while it does not
/// answer, or after the Lease was lost.
pub async fn serve(
    client: kube::Client,
    opts: controller::Options,
    http_listen: SocketAddr,
    secrets: controller::http::WebhookSecrets,
) -> anyhow::Result<ExitCode> {
    let state = controller::http::State::new(client.clone(), &opts.namespace, secrets);
    state.set_application_namespaces(&opts.application_namespaces);
    let st = state.clone();
    let http = tokio::spawn(async move {
        controller::http::serve(http_listen, st, |a| {
            eprintln!("HTTP endpoint on http://{a}")
        })
        .await
    });
    let readiness = opts.leader_election.as_ref().map(|le| {
        let status = le.status.clone();
        let st = state.clone();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                let s = status.get();
                st.ready
                    .store(s.is_ready(), std::sync::atomic::Ordering::Relaxed);
                if last != Some(s) {
                    tracing::info!(state = s.as_str(), "leader election");
                    last = Some(s);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    let _stop_readiness = readiness.map(AbortOnDrop);
    let st = state.clone();
    let shutdown = opts.shutdown.clone();
    let mut ctrl = tokio::spawn(async move {
        controller::run(client, opts, move |r| {
            st.set_refresher(r);
            st.ready.store(true, std::sync::atomic::Ordering::Relaxed)
        })
        .await
    });
    tokio::select! {
        r = &mut ctrl => r.map_err(|e| anyhow!("{e}"))?.map_err(|e| anyhow!("{e}"))?,
        r = http => r.map_err(|e| anyhow!("{e}"))?.map_err(|e| anyhow!("HTTP endpoint: {e}"))?,
        _ = tokio::signal::ctrl_c() => {
            // Stop cleanly: the Lease is released so a standby replica takes over at once.
            shutdown.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(5), ctrl).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
