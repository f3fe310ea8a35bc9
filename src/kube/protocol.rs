//! What clients and the shim say to each other over `shim.sock`: one JSON object per line.

use serde::{Deserialize, Serialize};

use super::pod_state::PodState;
use super::steps::StepPlan;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// `hold`: the pod lives while this connection is open (unless it is detached).
    Hello {
        hold: bool,
    },
    Plan,
    /// Run the next creation step; the answer comes when the step is done.
    Next,
    /// Run every remaining creation step; the answer comes when they are done, or when the pod
    /// cannot go on by itself for now (an init container waits in back-off or failed).
    RunAll,
    /// Take every remaining step in the background, as kubelet does; the answer comes at once.
    Start,
    Status,
    /// Keep the pod after every holding client is gone.
    Detach,
    Delete {
        grace_seconds: Option<i64>,
    },
    /// The resize subresource: `patch` is kubectl's `--patch` JSON; the answer is the pod's
    /// state once the new values are written (or the API server's refusal, as an error).
    Resize {
        patch: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Response {
    Ok,
    Plan { steps: Vec<StepPlan>, next: usize },
    StepDone { step: String, next: usize },
    Status { state: Box<PodState> },
    Deleted,
    Error { message: String },
}
