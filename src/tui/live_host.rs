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

    fn resize(&mut self, uid: &str, patch: &str) -> eyre::Result<Option<String>> {
        let mut shim = crate::runtime::client::ShimConnection::connect(uid)?;
        let state = shim.resize(patch)?;
        Ok(state.resize.condition.map(|c| {
            format!(
                "{}: {} {}",
                c.kind,
                c.reason.unwrap_or_default(),
                c.message.unwrap_or_default()
            )
        }))
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
        let status = self
            .hand_off(
                || {
                    println!(
                        "podlab: {container} $ {}   (exit: back to podlab)",
                        command.join(" ")
                    );
                    std::process::Command::new("/proc/self/exe")
                        .arg0("podlab")
                        .args(["exec", uid, "-c", container, "--"])
                        .args(command)
                        .status()
                },
                || {},
            )
            .wrap_err("failed to run podlab exec")?;
        Ok(status.code().unwrap_or(128 + status_signal(&status)))
    }

    /// A lesson's `try:` line in `sh -c` on this terminal, with this podlab first on PATH;
    /// its output stays on screen until Enter.
    fn run_line(&mut self, line: &str) -> Result<i32> {
        let exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
        let path = crate::lesson::exec::path_with(&exe);
        let status = self
            .hand_off(
                || {
                    println!("podlab $ {line}");
                    std::process::Command::new("sh")
                        .args(["-c", line])
                        .env("PATH", &path)
                        .status()
                },
                wait_for_enter,
            )
            .wrap_err_with(|| format!("failed to run {line:?}"))?;
        Ok(status.code().unwrap_or(128 + status_signal(&status)))
    }

    /// The learner's editor on `path`, on this terminal, as the shell is.
    fn edit_file(&mut self, path: &std::path::Path) -> Result<i32> {
        let editor = choose_editor().ok_or_else(|| {
            eyre::eyre!(
                "no editor found: set $EDITOR (or install vi or nano), then press m again; \
                 the file is {}",
                path.display()
            )
        })?;
        let status = self
            .hand_off(
                || {
                    println!(
                        "podlab: {} {}   (save and quit: podlab checks it and replaces the pod)",
                        editor.join(" "),
                        path.display()
                    );
                    std::process::Command::new(&editor[0])
                        .args(&editor[1..])
                        .arg(path)
                        .status()
                },
                || {},
            )
            .wrap_err_with(|| format!("failed to run {}", editor.join(" ")))?;
        Ok(status.code().unwrap_or(128 + status_signal(&status)))
    }

    /// OSC 52: the terminal (and tmux, with set-clipboard on) puts the text on the clipboard.
    fn copy(&mut self, text: &str) {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = out.write_all(super::clipboard::osc52(text).as_bytes());
        let _ = out.flush();
    }
}

impl LiveHost<'_> {
    /// Hand the terminal to a child, as `run_shell` and `run_line` do: input paused, the
    /// normal screen, our process group the terminal's again afterwards.
    fn hand_off(
        &mut self,
        run: impl FnOnce() -> std::io::Result<std::process::ExitStatus>,
        after: impl FnOnce(),
    ) -> Result<std::process::ExitStatus> {
        self.terminal.input.pause()?;
        terminal::leave();
        // Ctrl-C in the child reaches our process group too; it is the child's, not ours.
        self.terminal.in_child.store(true, Ordering::SeqCst);
        let status = run();
        after();
        self.terminal.in_child.store(false, Ordering::SeqCst);
        reclaim_foreground();
        let entered = terminal::enter();
        self.terminal.input.resume();
        entered?;
        Ok(status?)
    }
}

/// `$VISUAL`, `$EDITOR` (either may hold arguments), else the first of vi, nano and busybox's
/// vi found on `PATH`.
fn choose_editor() -> Option<Vec<String>> {
    for var in ["VISUAL", "EDITOR"] {
        if let Ok(value) = std::env::var(var) {
            let words: Vec<String> = value.split_whitespace().map(String::from).collect();
            if words.first().is_some_and(|w| on_path(w)) {
                return Some(words);
            }
        }
    }
    [vec!["vi"], vec!["nano"], vec!["busybox", "vi"]]
        .into_iter()
        .find(|words| on_path(words[0]))
        .map(|words| words.into_iter().map(String::from).collect())
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Leave the child's output on screen until the learner has read it.
fn wait_for_enter() {
    use std::io::{BufRead, Write};
    print!("\n[Enter: back to podlab / 回车：返回 podlab] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
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
