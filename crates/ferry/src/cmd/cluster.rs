//! `ferry cluster`: the embedded Kubernetes-API-compatible cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

/// Subcommands of `ferry cluster`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Serve the embedded cluster (HTTPS, bearer token) until interrupted.
    Serve(ServeArgs),
    /// Write a kubeconfig for a cluster's data directory (the server must use the same directory).
    Kubeconfig(KubeconfigArgs),
}

/// Arguments of `ferry cluster serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Directory holding the database and credentials (created if absent).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Where to write a kubeconfig for this cluster.
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Delay of simulated workload progress, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub sim_delay_ms: u64,
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// How long Events live after their last occurrence, in seconds (kube-apiserver's
    /// `--event-ttl`).
    #[arg(long, default_value_t = 3600)]
    pub event_ttl_secs: u64,
}

/// Arguments of `ferry cluster kubeconfig`.
#[derive(clap::Args)]
pub struct KubeconfigArgs {
    /// The cluster's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub server: SocketAddr,
    /// Output file (stdout when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `ferry cluster`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve(args),
        Command::Kubeconfig(args) => {
            let creds = apiserver::tls::Credentials::load_or_create(&args.data_dir)
                .with_context(|| format!("loading credentials from {}", args.data_dir.display()))?;
            let url = format!("https://{}", args.server);
            match args.out {
                Some(p) => apiserver::tls::write_kubeconfig(&p, &url, &creds)
                    .with_context(|| format!("writing {}", p.display()))?,
                None => print!("{}", apiserver::tls::kubeconfig(&url, &creds, "default")),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let mut config = apiserver::Config::new(&args.data_dir);
        config.listen = args.listen;
        config.sim_delay = Duration::from_millis(args.sim_delay_ms);
        config.nodes = args.nodes;
        config.event_ttl = Duration::from_secs(args.event_ttl_secs);
        let handle = apiserver::Server::start(config)
            .await
            .with_context(|| format!("starting the cluster in {}", args.data_dir.display()))?;
        if let Some(p) = &args.kubeconfig_out {
            handle
                .write_kubeconfig(p)
                .with_context(|| format!("writing kubeconfig {}", p.display()))?;
        }
        // Machine-readable readiness line for scripts and tests.
        println!("ferry cluster listening on {}", handle.url());
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        handle.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
