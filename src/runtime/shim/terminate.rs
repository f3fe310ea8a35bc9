//! Deleting the pod, in kubelet's order: app (and init) containers stop together, each with its
//! preStop hook, SIGTERM and the grace period; then sidecars, one at a time in reverse order,
//! with what is left of the grace period; then pause; then everything the pod made is removed
//! and whoever asked is answered.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::stop::StopCause;
use super::Shim;
use crate::kube::events;
use crate::kube::pod_state::ContainerKind;
use crate::kube::protocol::Response;
use crate::runtime::network;

/// How long pause gets between SIGTERM and SIGKILL.
const PAUSE_GRACE: Duration = Duration::from_secs(2);

pub(super) struct Termination {
    /// The end of the pod's grace period.
    deadline: Instant,
    /// A grace period of 0: kill everything at once.
    immediate: bool,
    requesters: Vec<u64>,
    pause_signalled_at: Option<Instant>,
    exceeded_recorded: bool,
}

impl Termination {
    /// When the termination itself needs a look (the per-container deadlines are the
    /// containers' own).
    pub(super) fn next_check(&self) -> Instant {
        match self.pause_signalled_at {
            Some(at) => at + PAUSE_GRACE,
            None => self.deadline,
        }
    }
}

impl Shim {
    /// Delete the pod. `grace_override` replaces terminationGracePeriodSeconds; a second call
    /// can only shorten it.
    pub(super) fn begin_termination(
        &mut self,
        requester: Option<u64>,
        grace_override: Option<i64>,
    ) {
        let now = Instant::now();
        if let Some(t) = &mut self.termination {
            t.requesters.extend(requester);
            if let Some(g) = grace_override {
                let deadline = now + Duration::from_secs(g.max(0) as u64);
                if deadline < t.deadline {
                    t.deadline = deadline;
                    t.immediate |= g <= 0;
                    self.shorten_stops(deadline);
                }
            }
            return;
        }
        if let Some(goal) = self.goal.take() {
            self.reply(
                goal.client,
                Response::Error {
                    message: "the pod is being deleted".into(),
                },
            );
        }
        self.auto = false;
        let grace = grace_override
            .unwrap_or_else(|| self.state.pod.spec.grace_period_seconds())
            .max(0);
        self.state.terminating = true;
        for s in self.supervised.values_mut() {
            s.restart_at = None;
        }
        self.termination = Some(Termination {
            deadline: now + Duration::from_secs(grace as u64),
            immediate: grace == 0,
            requesters: requester.into_iter().collect(),
            pause_signalled_at: None,
            exceeded_recorded: false,
        });
        // Containers already stopping for another reason keep going; the rest stop now.
        let main: Vec<String> = self
            .state
            .containers
            .iter()
            .filter(|c| c.kind != ContainerKind::Sidecar)
            .map(|c| c.name.clone())
            .collect();
        for name in main {
            self.stop_container(
                &name,
                Duration::from_secs(grace as u64),
                StopCause::PodDeleted,
            );
        }
        self.shorten_stops(now + Duration::from_secs(grace as u64));
        self.save();
    }

    pub(super) fn advance_termination(&mut self) {
        let Some(t) = &self.termination else { return };
        let (deadline, immediate) = (t.deadline, t.immediate);
        if let Some(name) = self.next_sidecar_to_stop() {
            let grace = if immediate {
                Duration::ZERO
            } else {
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_secs(2))
            };
            self.stop_container(&name, grace, StopCause::PodDeleted);
        }
        if self.any_container_alive() {
            return;
        }
        // Containers are gone: stop the sandbox (a waiting sandbox process exits when its pipe
        // closes).
        self.pending_sandbox = None;
        let Some(pid) = self.sandbox_pid else { return };
        let now = Instant::now();
        let Some(t) = &mut self.termination else {
            return;
        };
        match t.pause_signalled_at {
            None => {
                let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
                t.pause_signalled_at = Some(now);
            }
            Some(at) if now >= at + PAUSE_GRACE => {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
            Some(_) => {}
        }
    }

    /// kubelet's pod-level ExceededGracePeriod, once per deletion.
    pub(super) fn grace_period_exceeded(&mut self) {
        let Some(t) = &mut self.termination else {
            return;
        };
        if t.exceeded_recorded || t.immediate {
            return;
        }
        t.exceeded_recorded = true;
        self.record("pod", events::exceeded_grace_period());
    }

    pub(super) fn finished(&self) -> bool {
        self.termination.is_some()
            && !self.any_container_alive()
            && self.sandbox_pid.is_none()
            && self.pending_sandbox.is_none()
    }

    /// Remove everything the pod made, answer whoever asked, and exit.
    pub(super) fn finish(&mut self) -> eyre::Result<()> {
        let uid = self.state.uid.clone();
        self.tasks.cancel(|_| true);
        if let Some(net) = self.state.sandbox.as_ref().and_then(|s| s.network.clone()) {
            if let Err(e) = network::teardown_pod(&uid, &net) {
                eprintln!("podlab-shim: {e}");
            }
        }
        if let Some(cgroups) = &self.cgroups {
            if let Err(e) = cgroups.remove() {
                eprintln!("podlab-shim: {e:#}");
            }
        }
        crate::runtime::teardown::remove_pod_resources(&uid);
        let requesters = self
            .termination
            .as_ref()
            .map(|t| t.requesters.clone())
            .unwrap_or_default();
        for id in requesters {
            self.reply(id, Response::Deleted);
        }
        Ok(())
    }
}
