//! `ferry`: the binary. It parses flags and wires the library crates together; each
//! subcommand lives in its own module under `cmd/`.

use clap::{Parser, Subcommand};

mod cmd;

/// mimalloc (v3, the crate's default line) instead of glibc's malloc, for every subcommand:
/// rendering a chart allocates and frees many small objects (parse trees, template values).
/// Charts bench, cold, median CPU time of 14 interleaved runs each: zookeeper -3%, postgresql
/// -6%, podinfo -15%, kube-prometheus-stack +4% (perf: mimalloc's free-list pop misses the cache
/// there); the whole `helm template` -4 to -13%, kube-prometheus-stack -10%. Built with
/// `no_thp`: mimalloc v3 otherwise marks its arenas for transparent huge pages, which put the
/// controller's peak RSS in the MTTP bench (1,000 apps, ~40 render threads) at ~378 MiB against
/// ~295 MiB with glibc; without them it is ~285 MiB, and it returns memory after the initial
/// sync, where glibc's does not. mimalloc v2 kept per-thread heaps (~360 MiB there). The charts
/// bench (crates/helm/benches/charts.rs) uses the same allocator, with the same features, so it
/// measures what users run.
#[global_allocator]
static GLOBAL: alloc_mi::MiMalloc = alloc_mi::MiMalloc;

/// GitOps continuous delivery for Kubernetes, in one binary.
#[derive(Parser)]
#[command(name = "ferry", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a Helm chart locally, like `helm template`.
    Template(cmd::template::Args),
    /// Read and write sops-encrypted files.
    #[command(subcommand)]
    Secrets(cmd::secrets::Command),
    /// Commit a new image tag (or any YAML value) into a git repository, safely under concurrency.
    Bump(cmd::bump::Args),
    /// The embedded Kubernetes-API-compatible cluster.
    #[command(subcommand)]
    Cluster(cmd::cluster::Command),
    /// The embedded cluster, the Application controller and its HTTP endpoint in one process.
    Up(cmd::up::Args),
    /// The Application controller against any cluster (kubeconfig).
    Controller(cmd::controller::Args),
    /// Inspect and operate Applications.
    App(cmd::app::Args),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Template(args) => cmd::template::run(args),
        Command::Secrets(c) => cmd::secrets::run(c),
        Command::Bump(args) => cmd::bump::run(args),
        Command::Cluster(c) => cmd::cluster::run(c),
        Command::Up(args) => cmd::up::run(args),
        Command::Controller(args) => cmd::controller::run(args),
        Command::App(args) => cmd::app::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
