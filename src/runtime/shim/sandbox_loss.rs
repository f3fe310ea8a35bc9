//! When pause dies, kubelet does not give up the pod: "Pod sandbox changed, it will be killed and
//! re-created." Every container is stopped, a new sandbox is made (new namespaces, so new inode
//! numbers, and a new IP), and the containers start again in it, init containers first, each
//! restart counted. A restartPolicy Never pod whose containers already ran is not re-created
//! (kubelet's computePodActions); it keeps its last state until deleted.

use super::stop::StopCause;
use super::{waiting_reason_before_start, Shim};
use crate::kube::events;
use crate::kube::pod_state::ContainerState;
use crate::kube::protocol::Response;
use crate::kube::steps::StepKind;
use crate::runtime::network;
use crate::spec::RestartPolicy;

/// The containers are being stopped before the sandbox is re-created.
pub(super) struct SandboxLoss;

impl Shim {
    /// pause exited.
    pub(super) fn sandbox_exited(&mut self) {
        self.sandbox_pid = None;
        self.pending_sandbox = None;
        if self.termination.is_some() {
            return; // expected: the pod is being deleted
        }
        self.record("pod", events::sandbox_changed());
        if let Some(goal) = self.goal.take() {
            let message = "the pod's sandbox (pause) died; it will be re-created".to_string();
            self.reply(goal.client, Response::Error { message });
        }
        self.awaiting = None;
        for s in self.supervised.values_mut() {
            s.restart_at = None;
        }
        let grace = self.pod_grace();
        let names: Vec<String> = self.supervised.keys().cloned().collect();
        for name in names {
            self.stop_container(&name, grace, StopCause::SandboxChanged);
        }
        self.sandbox_loss = Some(SandboxLoss);
        self.save();
    }

    /// Once every container is gone, re-create the sandbox by running the creation steps again
    /// from the namespaces on.
    pub(super) fn advance_sandbox_loss(&mut self) {
        if self.any_container_alive() {
            return;
        }
        self.sandbox_loss = None;
        let ran =
            self.state.containers.iter().any(|c| {
                !matches!(c.state, ContainerState::Waiting { .. }) || c.last_state.is_some()
            });
        if self.state.pod.spec.restart_policy == RestartPolicy::Never && ran {
            self.auto = false;
            return;
        }
        if let Some(cgroups) = &mut self.cgroups {
            if let Err(e) = cgroups.remove_pause_leaf() {
                eprintln!("podlab-shim: {e:#}");
            }
        }
        // The old veth went with the old net namespace; release its address (CNI DEL). The
        // bridge and the round-robin position stay, so the new sandbox gets a new IP.
        if let Some(old) = self.state.sandbox.take().and_then(|s| s.network) {
            if let Err(e) = network::release_for_new_sandbox(&self.state.uid, &old) {
                eprintln!("podlab-shim: {e}");
            }
        }
        let Some(first) = self
            .plan
            .iter()
            .position(|s| s.kind == StepKind::Namespaces)
        else {
            return;
        };
        for step in &mut self.state.steps[first..] {
            step.done = false;
        }
        self.next_step = first;
        self.auto = true;
        let on_failure = self.state.pod.spec.restart_policy == RestartPolicy::OnFailure;
        let pod = self.state.pod.clone();
        for c in &mut self.state.containers {
            let succeeded = matches!(c.state, ContainerState::Terminated { exit_code: 0, .. });
            // kubelet does not start again an app container of an OnFailure pod that succeeded.
            if on_failure && succeeded && c.kind == crate::kube::pod_state::ContainerKind::App {
                continue;
            }
            let ran = c.process.is_some();
            if let ContainerState::Terminated { .. } = c.state {
                c.last_state = Some(c.state.clone());
            }
            if ran {
                c.restart_count += 1;
            }
            c.state = ContainerState::Waiting {
                reason: waiting_reason_before_start(&pod, c.kind).into(),
            };
            c.state_message = None;
            c.ready = false;
            c.started = false;
        }
        self.save();
    }
}
