//! `ferry secrets`.

use std::process::ExitCode;

/// Subcommands of `ferry secrets`.
#[derive(clap::Subcommand)]
pub enum Command {}

/// Runs `ferry secrets`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {}
}
