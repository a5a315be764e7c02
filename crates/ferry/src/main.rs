//! `ferry`: the binary. It parses flags and wires the library crates together; each
//! subcommand lives in its own module under `cmd/`.

use clap::{Parser, Subcommand};

mod cmd;

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
