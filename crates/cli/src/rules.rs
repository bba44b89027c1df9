use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load and validate every rule pack.
    Check,
}

pub fn run(_cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not built yet")
}
