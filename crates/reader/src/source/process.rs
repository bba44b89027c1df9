//! Running an external program with a timeout, its output to files (no pipes
//! to fill up), read back within a size bound.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use wait_timeout::ChildExt;

use super::{Limits, ReadError};

/// What a finished program left.
pub struct ToolOutput {
    /// Exit status was zero.
    pub success: bool,
    /// How it ended, for error messages.
    pub status: String,
    /// Its standard output (bounded).
    pub stdout: String,
    /// Its standard error (bounded); checked for known messages, never shown.
    pub stderr: String,
}

/// Run `tool` with `args`, its output in `workdir`, stopping it after the
/// limits' timeout and capping its address space at their memory bound.
pub fn run(
    tool: &'static str,
    package: &'static str,
    args: &[&OsStr],
    file: &Path,
    workdir: &Path,
    limits: &Limits,
    max_output: u64,
) -> Result<ToolOutput, ReadError> {
    let (timeout, max_memory) = (limits.tool_timeout, limits.max_tool_memory);
    let io = |source| ReadError::Io {
        file: file.to_path_buf(),
        source,
    };
    let out_path = workdir.join(format!("{tool}.stdout"));
    let err_path = workdir.join(format!("{tool}.stderr"));
    let program = find_program(tool).ok_or(ReadError::ToolMissing { tool, package })?;
    // The address-space cap is what bounds a decoder fed a hostile file; where
    // util-linux's prlimit is missing the timeout still bounds the time.
    let mut command = match find_program("prlimit") {
        Some(prlimit) => {
            let mut c = Command::new(prlimit);
            c.arg(format!("--as={max_memory}")).arg("--").arg(program);
            c
        }
        None => Command::new(program),
    };
    let mut child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).map_err(io)?)
        .stderr(File::create(&err_path).map_err(io)?)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::ToolMissing { tool, package },
            _ => ReadError::Io {
                file: file.to_path_buf(),
                source: e,
            },
        })?;
    let status = match child.wait_timeout(timeout).map_err(io)? {
        Some(status) => status,
        None => {
            // Best effort: the child may have exited between the check and the kill.
            let _ = child.kill();
            let _ = child.wait();
            return Err(ReadError::Timeout {
                file: file.to_path_buf(),
                tool,
                seconds: timeout.as_secs(),
            });
        }
    };
    Ok(ToolOutput {
        success: status.success(),
        status: status.to_string(),
        stdout: read_bounded(&out_path, max_output).map_err(io)?,
        stderr: read_bounded(&err_path, 64 * 1024).map_err(io)?,
    })
}

/// The program's path on `PATH`, if it is installed.
fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// At most `limit` bytes of a file, as text.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
