//! Running a command inside a container for a lesson: `podlab exec` as a child process, so the
//! caller may have threads (a UI), with its output captured and a deadline.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eyre::{Context, Result};

/// What a command printed (stdout and stderr interleaved) and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// None when it was killed at the deadline.
    pub exit_code: Option<i32>,
    pub output: String,
}

impl ExecOutput {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Output beyond this is dropped (a lesson shows a few lines).
const MAX_OUTPUT: u64 = 64 * 1024;

/// `podlab exec POD -c CONTAINER -- ARGV`, killed after `timeout`.
pub fn exec_in(
    podlab_exe: &Path,
    pod: &str,
    container: &str,
    argv: &[String],
    timeout: Duration,
) -> Result<ExecOutput> {
    let (mut reader, writer) = std::io::pipe().wrap_err("failed to make a pipe")?;
    let mut child = Command::new(podlab_exe)
        .args(["exec", pod, "-c", container, "--"])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().wrap_err("failed to share a pipe")?)
        .stderr(writer)
        .spawn()
        .wrap_err_with(|| format!("failed to run podlab exec in {pod}/{container}"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut reader).take(MAX_OUTPUT).read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    let deadline = Instant::now() + timeout;
    let exit_code = loop {
        if let Some(status) = child
            .try_wait()
            .wrap_err("failed to wait for podlab exec")?
        {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // A background process the command left may hold the pipe open: do not wait for it long.
    let bytes = rx
        .recv_timeout(Duration::from_millis(300))
        .unwrap_or_default();
    Ok(ExecOutput {
        exit_code,
        output: String::from_utf8_lossy(&bytes).into_owned(),
    })
}
