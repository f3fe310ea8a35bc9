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
    let mut command = Command::new(podlab_exe);
    command
        .args(["exec", pod, "-c", container, "--"])
        .args(argv);
    run_captured(command, timeout)
        .wrap_err_with(|| format!("failed to run podlab exec in {pod}/{container}"))
}

/// A lesson's `try:` line, filled, run on the host as a learner would type it: `sh -c LINE`
/// with podlab's own directory first on `PATH` (so `podlab …` is this podlab), no terminal,
/// killed with everything it started after `timeout`.
pub fn run_on_host(podlab_exe: &Path, line: &str, timeout: Duration) -> Result<ExecOutput> {
    let mut command = Command::new("sh");
    command
        .args(["-c", line])
        .env("PATH", path_with(podlab_exe));
    // Its own process group: at the deadline the whole line goes, pipes and all.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    run_captured(command, timeout).wrap_err_with(|| format!("failed to run {line:?}"))
}

/// `PATH` with the directory of podlab's binary first.
pub fn path_with(podlab_exe: &Path) -> String {
    let old = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    match podlab_exe.parent() {
        Some(dir) => format!("{}:{old}", dir.display()),
        None => old,
    }
}

fn run_captured(mut command: Command, timeout: Duration) -> Result<ExecOutput> {
    let (mut reader, writer) = std::io::pipe().wrap_err("failed to make a pipe")?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(writer.try_clone().wrap_err("failed to share a pipe")?)
        .stderr(writer)
        .spawn()?;
    // The parent's copy of the pipe's writing end goes with `command`.
    drop(command);
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
            .wrap_err("failed to wait for the command")?
        {
            break status.code();
        }
        if Instant::now() >= deadline {
            // A line run in its own group: the group goes. `podlab exec`: the child.
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
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
