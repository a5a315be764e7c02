//! `ferry cluster`.

use std::process::ExitCode;

/// Subcommands of `ferry cluster`.
#[derive(clap::Subcommand)]
pub enum Command {}

/// Runs `ferry cluster`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {}
}
