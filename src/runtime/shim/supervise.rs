//! After a container exits: its terminated state and reason, whether and when it starts again
//! (restartPolicy and the crash-loop back-off), and the pod's phase. Like kubelet, once a pod
//! of restartPolicy Never or OnFailure is done, its sidecars are stopped in reverse order and
//! the pod stays (Succeeded or Failed) until it is deleted.

use std::time::Instant;

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::probes::ProbeWorker;
use super::stop::{StopCause, Stopping};
use super::Shim;
use crate::kube::backoff::{BackOffPolicy, CrashLoopBackOff};
use crate::kube::events;
use crate::kube::lifecycle;
use crate::kube::pod_state::{ContainerKind, ContainerState};
use crate::runtime::sys;

/// What the shim tracks of one container between its exits and starts.
pub(super) struct Supervised {
    /// Host pid of its main process while it runs (until it is reaped).
    pub(super) pid: Option<i32>,
    pub(super) started_at: Option<Instant>,
    pub(super) backoff: CrashLoopBackOff,
    /// When a container waiting in back-off starts again.
    pub(super) restart_at: Option<Instant>,
    pub(super) probes: Vec<ProbeWorker>,
    pub(super) stopping: Option<Stopping>,
}

impl Supervised {
    pub(super) fn new(time_scale: f64) -> Supervised {
        Supervised {
            pid: None,
            started_at: None,
            backoff: CrashLoopBackOff::new(BackOffPolicy::scaled(time_scale)),
            restart_at: None,
            probes: Vec::new(),
            stopping: None,
        }
    }

    /// The next instant something is due for this container.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let probes = self.probes.iter().filter_map(|p| p.next_due());
        self.restart_at
            .into_iter()
            .chain(probes)
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
        let cause = self.supervised.get_mut(&name).and_then(|s| {
            s.pid = None;
            s.probes.clear();
            s.stopping.take().map(|st| st.cause)
        });
        let now = sys::now();
        // OOMKilled only when the cgroup's OOM-kill counter confirms it, never for a plain SIGKILL.
        let oom_killed = self.cgroups.as_ref().is_some_and(|c| c.oom_killed(&name));
        let Some(status) = self.status_mut(&name) else {
            return;
        };
        let started_at = match status.state {
            ContainerState::Running { started_at } => started_at,
            _ => now,
        };
        status.state = ContainerState::Terminated {
            exit_code,
            signal,
            reason: lifecycle::exit_reason(exit_code, oom_killed).to_string(),
            started_at,
            finished_at: now,
        };
        status.state_message = None;
        status.ready = false;
        status.started = false;
        let restart_allowed = self.termination.is_none()
            && self.sandbox_loss.is_none()
            && !matches!(cause, Some(StopCause::PodFinished));
        if restart_allowed {
            self.schedule_restart(&name);
        }
        self.save();
    }

    /// After an exit (or a failed start), decide per restartPolicy whether and when the
    /// container starts again.
    pub(super) fn schedule_restart(&mut self, name: &str) {
        let Some(status) = self.status(name) else {
            return;
        };
        let policy = self.state.pod.spec.restart_policy;
        let kind = status.kind;
        let ContainerState::Terminated { exit_code, .. } = status.state else {
            return;
        };
        if !lifecycle::should_restart(kind, policy, exit_code)
            || (kind == ContainerKind::Sidecar && lifecycle::is_terminal(self.state.phase))
        {
            return;
        }
        let scale = self.opts.time_scale;
        let Some(supervised) = self.supervised.get_mut(name) else {
            return;
        };
        let now = Instant::now();
        let delay = supervised
            .backoff
            .on_exit(supervised.started_at.unwrap_or(now), now);
        supervised.restart_at = Some(now + delay);
        // What kubelet would wait, for the message; the shim waits `delay` (already scaled).
        let kubelet_delay = if scale > 0.0 && scale.is_finite() {
            delay.div_f64(scale)
        } else {
            delay
        };
        let pod = events::format_pod(&self.state.name, &self.state.namespace, &self.state.uid);
        let message = lifecycle::backoff_message(kubelet_delay, scale, name, &pod);
        self.record_for(name, events::back_off(name, &pod));
        if let Some(s) = self.status_mut(name) {
            s.last_state = Some(s.state.clone());
            s.state = ContainerState::Waiting {
                reason: "CrashLoopBackOff".into(),
            };
            s.state_message = Some(message);
        }
    }

    pub(super) fn run_due_restarts(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .supervised
            .iter()
            .filter(|(_, s)| s.restart_at.is_some_and(|at| at <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if let Some(s) = self.supervised.get_mut(&name) {
                s.restart_at = None;
            }
            // Pulling an image again is no restart.
            if let Some(s) = self.status_mut(&name) {
                let pulling = matches!(&s.state, ContainerState::Waiting { reason }
                    if reason == "ErrImagePull" || reason == "ImagePullBackOff");
                if !pulling {
                    s.restart_count += 1;
                }
            }
            // A failed start is recorded and scheduled again by start_container itself.
            let _ = self.start_container(&name);
        }
    }

    pub(super) fn update_phase(&mut self) {
        self.state.phase = lifecycle::pod_phase(&self.state);
    }

    /// The sidecar to stop next: sidecars stop one at a time, in reverse order, after every
    /// other container. None while one is still stopping or an earlier step is not done.
    pub(super) fn next_sidecar_to_stop(&self) -> Option<String> {
        let others_alive = self.state.containers.iter().any(|c| {
            c.kind != ContainerKind::Sidecar
                && self.supervised.get(&c.name).is_some_and(|s| s.alive())
        });
        if others_alive {
            return None;
        }
        let last_alive = self
            .state
            .containers
            .iter()
            .rev()
            .filter(|c| c.kind == ContainerKind::Sidecar)
            .find(|c| self.supervised.get(&c.name).is_some_and(|s| s.alive()))?;
        let stopping = self
            .supervised
            .get(&last_alive.name)
            .is_some_and(|s| s.stopping.is_some());
        (!stopping).then(|| last_alive.name.clone())
    }

    /// Once every app container of a Never/OnFailure pod is done, the pod is Succeeded or
    /// Failed: kubelet stops its sidecars (in reverse order) and keeps the pod.
    pub(super) fn stop_sidecars_of_finished_pod(&mut self) {
        if !lifecycle::is_terminal(self.state.phase) {
            return;
        }
        for s in self.supervised.values_mut() {
            s.restart_at = None;
        }
        if let Some(name) = self.next_sidecar_to_stop() {
            let grace = self.pod_grace();
            self.stop_container(&name, grace, StopCause::PodFinished);
        }
    }

    pub(super) fn any_container_alive(&self) -> bool {
        self.supervised.values().any(|s| s.alive())
    }

    /// The pod's terminationGracePeriodSeconds.
    pub(super) fn pod_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.state.pod.spec.grace_period_seconds().max(0) as u64)
    }
}
