//! When pause dies, kubelet does not give up the pod: "Pod sandbox changed, it will be killed and
//! re-created." [`crate::kube::machine`] stops every container and, once they are gone, resets
//! their statuses and asks for a new sandbox (or keeps a restartPolicy Never pod whose
//! containers already ran as it is). Here the new sandbox is made: new namespaces, so new inode
//! numbers, and a new IP; the containers then start again in it, init containers first.

use super::Shim;
use crate::kube::machine;
use crate::kube::protocol::Response;
use crate::kube::steps::StepKind;
use crate::runtime::network;

impl Shim {
    /// pause exited.
    pub(super) fn sandbox_exited(&mut self) {
        self.sandbox_pid = None;
        self.pending_sandbox = None;
        if self.termination.is_some() {
            return; // expected: the pod is being deleted
        }
        if let Some(goal) = self.goal.take() {
            let message = "the pod's sandbox (pause) died; it will be re-created".to_string();
            self.reply(goal.client, Response::Error { message });
        }
        self.awaiting = None;
        self.auto = false;
        self.feed(machine::Event::SandboxDied);
        self.save();
    }

    /// Every container is gone: re-create the sandbox by running the creation steps again from
    /// the namespaces on.
    pub(super) fn recreate_sandbox(&mut self) {
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
        self.save();
    }
}
