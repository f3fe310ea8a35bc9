//! Reaping: every child that exits is matched to what it was (pause, a probe or hook, a
//! container) and reported; what a container's exit means (its terminated state, a restart
//! with back-off, the pod's phase, the sidecars of a finished pod) is decided by
//! [`crate::kube::machine`].

use std::time::Instant;

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::probes::ProbeWorker;
use super::stop::Stopping;
use super::tasks::Purpose;
use super::Shim;
use crate::kube::lifecycle;
use crate::kube::machine;
use crate::kube::pod_state::ContainerState;

/// What the shim needs to execute for one container: its process, probes and stop.
#[derive(Default)]
pub(super) struct Supervised {
    /// Host pid of its main process while it runs (until it is reaped).
    pub(super) pid: Option<i32>,
    /// When its main process started (seconds since the epoch), for the Running state it
    /// reaches once its postStart hook returned.
    pub(super) started_at: Option<f64>,
    pub(super) probes: Vec<ProbeWorker>,
    pub(super) stopping: Option<Stopping>,
}

impl Supervised {
    /// The next instant something is due for this container.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let probes = self.probes.iter().filter_map(|p| p.next_due());
        probes
            .chain(self.stopping.as_ref().and_then(|s| s.deadline()))
            .min()
    }

    pub(super) fn alive(&self) -> bool {
        self.pid.is_some()
    }
}

impl Shim {
    /// Collect every child that exited: containers, pause, probes and hooks, and the short-lived
    /// `podlab init`s.
    pub(super) fn reap(&mut self) {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => self.exited(pid, code, None),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.exited(pid, 128 + sig as i32, Some(sig as i32))
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }

    fn exited(&mut self, pid: Pid, exit_code: i32, signal: Option<i32>) {
        if Some(pid) == self.sandbox_pid {
            self.sandbox_exited();
            return;
        }
        if let Some(finished) = self.tasks.reaped(pid, exit_code) {
            self.task_finished(finished);
            return;
        }
        let Some(name) = self
            .supervised
            .iter()
            .find(|(_, s)| s.pid == Some(pid.as_raw()))
            .map(|(n, _)| n.clone())
        else {
            return; // a `podlab init` that has done its job, or an orphan we reaped as subreaper
        };
        self.tasks.cancel_probes(&name);
        self.tasks
            .cancel(|p| matches!(p, Purpose::PostStart { container } if *container == name));
        if let Some(s) = self.supervised.get_mut(&name) {
            s.pid = None;
            s.probes.clear();
            s.stopping = None;
        }
        // OOMKilled only when the cgroup's OOM-kill counter confirms it, never for a plain SIGKILL.
        let oom_killed = self.cgroups.as_ref().is_some_and(|c| c.oom_killed(&name));
        let message = self.termination_message(&name, exit_code);
        self.feed(machine::Event::Exited {
            container: name.clone(),
            exit_code,
            signal,
            oom_killed,
        });
        if let Some(status) = self.status_mut(&name) {
            // The state this exit made: the current one, or the last if it restarted at once.
            let made = match &mut status.state {
                ContainerState::Terminated { message, .. } => Some(message),
                _ => match &mut status.last_state {
                    Some(ContainerState::Terminated { message, .. }) => Some(message),
                    _ => None,
                },
            };
            if let Some(slot) = made {
                *slot = message;
            }
        }
        self.save();
    }

    /// What kubelet reads when a container exits: its termination message file, or the end
    /// of its log (`kube::termination_message`).
    fn termination_message(&self, name: &str, exit_code: i32) -> Option<String> {
        use crate::kube::termination_message::{self as message, MAX_FILE_BYTES};
        use crate::runtime::container::{read_end, termination_log_file};
        let spec = self.container_spec(name)?;
        let uid = &self.state.uid;
        let dir = crate::runtime::paths::containers_dir(uid).join(name);
        let file = read_end(&termination_log_file(&dir), MAX_FILE_BYTES as u64);
        message::message(spec, exit_code, file.as_deref(), || {
            read_end(
                &crate::runtime::paths::log_file(uid, name),
                MAX_FILE_BYTES as u64,
            )
            .unwrap_or_default()
        })
    }

    pub(super) fn update_phase(&mut self) {
        self.state.phase = lifecycle::pod_phase(&self.state);
    }

    pub(super) fn any_container_alive(&self) -> bool {
        self.supervised.values().any(|s| s.alive())
    }
}
