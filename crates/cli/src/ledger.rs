//! Placeholder until this command is built; see the matching issue.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the log's public key.
    Key,
}

pub fn run(_cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not built yet")
}
