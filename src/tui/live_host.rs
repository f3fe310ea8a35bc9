//! The machine behind a screen on a real terminal: the shell hand-off (input paused, terminal
//! given to `podlab exec` and taken back), signals to containers, log tails, and the requests
//! passed on to the explorer's engine, the lesson's thread and the observer.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::sync::atomic::Ordering;

use eyre::{Result, WrapErr};

use super::event::{EngineCmd, LessonCmd};
use super::host::Host;
use super::lesson_worker::LessonWorker;
use super::on_terminal::TerminalHandles;
use super::terminal;
use super::workers::{Engine, SharedTarget};
use crate::kube::pod_state::ProcessRef;
use crate::observe::Target;
use crate::runtime::client::ShimConnection;
use crate::runtime::paths;
use crate::runtime::sys::LiveProcess;

/// The machine, for a screen on a real terminal: what it has of an explorer's engine, a
/// lesson's thread and the observer is what it passes requests on to.
pub(super) struct LiveHost<'a> {
    pub(super) terminal: TerminalHandles,
    pub(super) engine: Option<&'a Engine>,
    pub(super) lesson: Option<&'a LessonWorker>,
    pub(super) target: Option<&'a SharedTarget>,
}

impl Host for LiveHost<'_> {
    fn engine(&mut self, cmd: EngineCmd) {
        if let Some(e) = self.engine {
            e.send(cmd);
        }
    }

    fn lesson(&mut self, cmd: LessonCmd) {
        if let Some(worker) = self.lesson {
            worker.send(cmd);
        }
    }

    fn observe(&mut self, target: Target) {
        if let Some(Ok(mut t)) = self.target.map(|t| t.lock()) {
            *t = target;
        }
    }

    fn signal(&mut self, process: ProcessRef, signal: nix::sys::signal::Signal) -> bool {
        process.signal(signal)
    }

    fn read_logs(&mut self, uid: &str, container: &str) -> String {
        read_log_tail(uid, container)
    }

    fn kill_now(&mut self, uid: &str) {
        kill_now(uid.to_string());
    }

    /// Suspend (input paused and confirmed, normal screen, cooked mode), run
    /// `podlab exec UID -c C -- CMD` on this terminal, then take the terminal back.
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32> {
        self.terminal.input.pause()?;
        terminal::leave();
        println!(
            "podlab: {container} $ {}   (exit: back to podlab)",
            command.join(" ")
        );
        // Ctrl-C in the shell reaches our process group too; it is the shell's, not ours.
        self.terminal.in_child.store(true, Ordering::SeqCst);
        let status = std::process::Command::new("/proc/self/exe")
            .arg0("podlab")
            .args(["exec", uid, "-c", container, "--"])
            .args(command)
            .status();
        self.terminal.in_child.store(false, Ordering::SeqCst);
        reclaim_foreground();
        let entered = terminal::enter();
        self.terminal.input.resume();
        entered?;
        let status = status.wrap_err("failed to run podlab exec")?;
        Ok(status.code().unwrap_or(128 + status_signal(&status)))
    }
}

/// Make our process group the terminal's foreground again. An interactive shell in the
/// container moves the terminal to its own group and, living in another PID namespace, cannot
/// give it back; a background process touching the terminal would be stopped (SIGTTOU).
fn reclaim_foreground() {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
    use std::os::fd::AsFd;
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    // With SIGTTOU blocked, tcsetpgrp from the background proceeds instead of stopping us.
    let mut old = SigSet::empty();
    if pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut old)).is_err() {
        return;
    }
    let stdin = std::io::stdin();
    let _ = nix::unistd::tcsetpgrp(stdin.as_fd(), nix::unistd::getpgrp());
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
}

fn status_signal(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

/// Logs are shown from their last this many bytes.
const LOG_TAIL_BYTES: u64 = 64 * 1024;

/// The end of a container's log (it can be long-running and chatty).
pub fn read_log_tail(uid: &str, container: &str) -> String {
    let path = paths::log_file(uid, container);
    let Ok(mut file) = std::fs::File::open(&path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        // Drop the partial first line.
        text.split_once('\n')
            .map(|(_, r)| r.to_string())
            .unwrap_or(text)
    } else {
        text
    }
}

/// Cut an ongoing deletion short, on a connection of its own (the engine's is waiting).
fn kill_now(uid: String) {
    let _ = std::thread::Builder::new()
        .name("podlab-kill".into())
        .spawn(move || {
            if let Ok(mut conn) = ShimConnection::connect(&uid) {
                let _ = conn.delete(Some(0));
            }
        });
}
