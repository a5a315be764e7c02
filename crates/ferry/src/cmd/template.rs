//! `ferry template`.

use std::process::ExitCode;

/// Arguments of `ferry template`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `ferry template`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("ferry template is not built yet")
}
