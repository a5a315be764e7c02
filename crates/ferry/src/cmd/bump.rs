//! `ferry bump`.

use std::process::ExitCode;

/// Arguments of `ferry bump`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `ferry bump`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("ferry bump is not built yet")
}
