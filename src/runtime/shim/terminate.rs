//! Deleting the pod, in kubelet's order (decided by [`crate::kube::machine`]): every container
//! gets its Killing event and preStop hook at once; app (and init) containers get SIGTERM then,
//! sidecars one at a time in reverse order once everything after them is gone, within the grace
//! period; then pause; then everything the pod made is removed and whoever asked is answered.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::Shim;
use crate::kube::machine;
use crate::kube::protocol::Response;
use crate::runtime::network;

/// How long pause gets between SIGTERM and SIGKILL.
const PAUSE_GRACE: Duration = Duration::from_secs(2);

/// What deleting needs beyond the containers (whose stops the lifecycle decides): who waits for
/// the answer, and pause.
pub(super) struct Termination {
    requesters: Vec<u64>,
    pause_signalled_at: Option<Instant>,
}

impl Termination {
    /// When pause needs a look.
    pub(super) fn next_check(&self) -> Option<Instant> {
        self.pause_signalled_at.map(|at| at + PAUSE_GRACE)
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
        if let Some(t) = &mut self.termination {
            t.requesters.extend(requester);
        } else {
            if let Some(goal) = self.goal.take() {
                self.reply(
                    goal.client,
                    Response::Error {
                        message: "the pod is being deleted".into(),
                    },
                );
            }
            self.auto = false;
            self.termination = Some(Termination {
                requesters: requester.into_iter().collect(),
                pause_signalled_at: None,
            });
        }
        self.feed(machine::Event::DeleteRequested { grace_override });
        self.save();
    }

    /// Once every container is gone: stop pause (a waiting sandbox process exits when its pipe
    /// closes).
    pub(super) fn advance_termination(&mut self) {
        if self.any_container_alive() {
            return;
        }
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
