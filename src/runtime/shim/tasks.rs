//! Child processes of the shim: probes, lifecycle hooks and image pulls. Each is forked (the shim
//! is single-threaded), writes what it has to say to a pipe the poll loop drains, and is reaped
//! like any child. A task that outlives its timeout is killed, so no probe or hook can hold the
//! loop up. Each dies with the shim (PR_SET_PDEATHSIG).

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use eyre::{eyre, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{pipe2, Pid};

use crate::kube::events::ProbeKind;
use crate::runtime::sys;

/// kubelet keeps at most this much of a probe's output (`maxReadLength`).
const MAX_OUTPUT: usize = 10 * 1024;
/// What a pull may write between two looks of the loop.
const MAX_PULL_OUTPUT: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Purpose {
    Probe {
        container: String,
        kind: ProbeKind,
    },
    PreStop {
        container: String,
    },
    PostStart {
        container: String,
    },
    /// `podlab pull --progress-json` for the container's image.
    Pull {
        container: String,
    },
}

impl Purpose {
    pub(super) fn container(&self) -> &str {
        match self {
            Purpose::Probe { container, .. }
            | Purpose::PreStop { container }
            | Purpose::PostStart { container }
            | Purpose::Pull { container } => container,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Exited(i32),
    TimedOut,
}

#[derive(Debug)]
pub(super) struct Finished {
    pub(super) purpose: Purpose,
    pub(super) outcome: Outcome,
    pub(super) output: String,
}

struct Task {
    pid: Pid,
    purpose: Purpose,
    output: File,
    buf: Vec<u8>,
    deadline: Instant,
}

#[derive(Default)]
pub(super) struct Tasks {
    running: Vec<Task>,
}

impl Tasks {
    /// Fork a child that runs `work` with the write end of its output pipe and exits with the
    /// code `work` returns.
    ///
    /// The shim must be single-threaded; `work` runs in the child only.
    pub(super) fn spawn(
        &mut self,
        purpose: Purpose,
        timeout: Duration,
        work: impl FnOnce(RawFd) -> i32,
    ) -> Result<()> {
        let (read_end, write_end) =
            pipe2(OFlag::O_CLOEXEC).map_err(|e| eyre!("failed to create a pipe: {e}"))?;
        fcntl(read_end.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
            .map_err(|e| eyre!("failed to make a pipe non-blocking: {e}"))?;
        // SAFETY: the shim is single-threaded; the child runs `work` and exits without
        // returning into the shim's loop.
        match unsafe { sys::clone_fork(0) } {
            Err(e) => Err(eyre!("failed to fork for {purpose:?}: {e}")),
            Ok(None) => {
                drop(read_end);
                let _ = sys::set_parent_death_signal();
                let code = work(write_end.as_raw_fd());
                unsafe { libc::_exit(code) }
            }
            Ok(Some(pid)) => {
                drop::<OwnedFd>(write_end);
                self.running.push(Task {
                    pid,
                    purpose,
                    output: File::from(read_end),
                    buf: Vec::new(),
                    deadline: Instant::now() + timeout,
                });
                Ok(())
            }
        }
    }

    /// The complete lines a running task wrote since last asked (a pull's progress).
    pub(super) fn take_lines(&mut self, purpose: &Purpose) -> Vec<String> {
        let Some(task) = self.running.iter_mut().find(|t| t.purpose == *purpose) else {
            return Vec::new();
        };
        let Some(end) = task.buf.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let taken: Vec<u8> = task.buf.drain(..=end).collect();
        String::from_utf8_lossy(&taken)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The pipes to poll.
    pub(super) fn output_fds(&self) -> Vec<RawFd> {
        self.running.iter().map(|t| t.output.as_raw_fd()).collect()
    }

    /// Read whatever the tasks wrote, so none blocks on a full pipe.
    pub(super) fn drain_output(&mut self) {
        for task in &mut self.running {
            drain(task);
        }
    }

    /// A reaped pid: the finished task, if it was one.
    pub(super) fn reaped(&mut self, pid: Pid, code: i32) -> Option<Finished> {
        let pos = self.running.iter().position(|t| t.pid == pid)?;
        let mut task = self.running.remove(pos);
        drain(&mut task);
        Some(Finished {
            purpose: task.purpose,
            outcome: Outcome::Exited(code),
            output: String::from_utf8_lossy(&task.buf).into_owned(),
        })
    }

    /// Kill the tasks past their deadline and report them as timed out (they are reaped later
    /// and then ignored).
    pub(super) fn expire(&mut self, now: Instant) -> Vec<Finished> {
        let (late, running): (Vec<Task>, Vec<Task>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|t| t.deadline <= now);
        self.running = running;
        late.into_iter()
            .map(|mut task| {
                let _ = kill(task.pid, Signal::SIGKILL);
                drain(&mut task);
                Finished {
                    purpose: task.purpose,
                    outcome: Outcome::TimedOut,
                    output: String::from_utf8_lossy(&task.buf).into_owned(),
                }
            })
            .collect()
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.running.iter().map(|t| t.deadline).min()
    }

    /// Kill the probes of a container that exited (their results no longer mean anything).
    /// True while a task for `purpose` runs.
    pub(super) fn running(&self, purpose: &Purpose) -> bool {
        self.running.iter().any(|t| t.purpose == *purpose)
    }

    pub(super) fn cancel_probes(&mut self, container: &str) {
        self.cancel(|p| matches!(p, Purpose::Probe { .. }) && p.container() == container);
    }

    /// Kill every task matching `which`, without reporting it.
    pub(super) fn cancel(&mut self, which: impl Fn(&Purpose) -> bool) {
        self.running.retain(|t| {
            if which(&t.purpose) {
                let _ = kill(t.pid, Signal::SIGKILL);
                false
            } else {
                true
            }
        });
    }
}

fn drain(task: &mut Task) {
    let mut chunk = [0u8; 4096];
    loop {
        match task.output.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let limit = match task.purpose {
                    // A pull's lines are taken as they come; its last one is its result.
                    Purpose::Pull { .. } => MAX_PULL_OUTPUT,
                    _ => MAX_OUTPUT,
                };
                let room = limit.saturating_sub(task.buf.len());
                task.buf.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break, // WouldBlock: nothing more for now
        }
    }
}
