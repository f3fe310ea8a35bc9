//! The pod's state as the shim records it in `state.json`: what exists, what ran, what happened.
//!
//! The shim is the only writer; clients, gc and the observe layer read it (the file itself is
//! `runtime::state_file`). Pure data with kubectl's views of it, so a trace replays anywhere.

use serde::{Deserialize, Serialize};

use crate::spec::Pod;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodState {
    pub uid: String,
    pub name: String,
    pub namespace: String,
    pub manifest_path: String,
    pub pod: Pod,
    /// Seconds since the Unix epoch.
    pub created_at: f64,
    pub shim: ProcessRef,
    pub detached: bool,
    pub phase: PodPhase,
    /// True while the pod is being torn down.
    pub terminating: bool,
    /// kubelet's QoS class: Guaranteed, Burstable or BestEffort.
    #[serde(default)]
    pub qos_class: String,
    /// The pod cgroup as /proc/<pid>/cgroup shows it (e.g. /podlab/kubepods/burstable/pod<UID>).
    #[serde(default)]
    pub cgroup: String,
    /// Built without root: the node's user namespace, and whether limits are enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootless: Option<RootlessState>,
    /// `hostUsers: false`: the pod's own range of the node's ids (root inside is `first_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_namespace: Option<crate::kube::userns::IdRange>,
    pub sandbox: Option<SandboxState>,
    /// In-place resizes: the generation, the condition, allocated and actual resources.
    #[serde(default, skip_serializing_if = "super::resize::ResizeStatus::is_empty")]
    pub resize: super::resize::ResizeStatus,
    pub containers: Vec<ContainerStatus>,
    pub steps: Vec<StepStatus>,
    pub events: Vec<Event>,
}

/// A process identified so that PID reuse cannot fool us: (pid, start time in clock ticks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    pub pid: i32,
    pub start_time: u64,
}

/// A pod built without root lives in the user namespace of the learner's `podlab-node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootlessState {
    /// podlab-node, which holds the node's user and net namespaces.
    pub node: ProcessRef,
    /// The user namespace's `uid_map`, e.g. "0 1000 1".
    pub uid_map: String,
    /// Why the pod's cgroup limits are not enforced (None: they are, in a delegated subtree).
    #[serde(default)]
    pub limits_not_enforced: Option<crate::i18n::Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxState {
    pub pause: ProcessRef,
    pub hostname: String,
    /// Pod IP, once the network step ran (None: loopback only).
    pub ip: Option<String>,
    /// The veth, address and route set up for the pod, and how (for teardown and the UI).
    #[serde(default)]
    pub network: Option<super::pod_network::PodNetwork>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerKind {
    Init,
    Sidecar,
    App,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerStatus {
    pub name: String,
    pub kind: ContainerKind,
    pub image: String,
    /// What served the image reference, e.g. "podlab's stand-in (busybox httpd)".
    pub image_served_by: String,
    pub process: Option<ProcessRef>,
    pub state: ContainerState,
    /// The previous termination, shown while the container waits to restart.
    #[serde(default)]
    pub last_state: Option<ContainerState>,
    pub restart_count: u32,
    pub ready: bool,
    /// kubelet's `started`: running, and its startup probe (if any) has passed.
    #[serde(default)]
    pub started: bool,
    /// Why the container is in its state, e.g. "back-off 20s restarting failed container=…".
    #[serde(default)]
    pub state_message: Option<String>,
    /// How far the pull of its image is, while one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<crate::kube::image::PullProgress>,
    /// The signal a stop sends, when not SIGTERM (`lifecycle.stopSignal` or the image's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContainerState {
    Waiting {
        reason: String,
    },
    Running {
        started_at: f64,
    },
    Terminated {
        exit_code: i32,
        signal: Option<i32>,
        reason: String,
        started_at: f64,
        finished_at: f64,
        /// What the container wrote to its termination message file (or, with
        /// FallbackToLogsOnError, the end of its log).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// A container state as a check or an answer shows it: the state and reason as kubectl prints
/// them.
pub fn describe_state(state: &ContainerState) -> String {
    match state {
        ContainerState::Waiting { reason } => format!("Waiting ({reason})"),
        ContainerState::Running { .. } => "Running".into(),
        ContainerState::Terminated {
            reason, exit_code, ..
        } => {
            format!("Terminated ({reason}, exit {exit_code})")
        }
    }
}

/// A container state in a Chinese sentence; the state and reason stay as kubectl prints them.
pub fn describe_state_zh(state: &ContainerState) -> String {
    match state {
        ContainerState::Waiting { reason } => format!("Waiting（{reason}）"),
        ContainerState::Running { .. } => "Running".into(),
        ContainerState::Terminated {
            reason, exit_code, ..
        } => format!("Terminated（{reason}，退出码 {exit_code}）"),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepStatus {
    pub id: String,
    pub done: bool,
    /// Wall time of the step's kernel work in milliseconds (for an init container: until it
    /// started, not until it finished).
    #[serde(default)]
    pub duration_ms: Option<f64>,
}

pub use super::events::EventType;

/// One event; repeats of the same event are counted, as the API server aggregates them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// When it last happened.
    pub time: f64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub reason: String,
    /// "pod" or "spec.containers{name}" as kubectl describe shows.
    pub object: String,
    pub message: String,
    #[serde(default = "one")]
    pub count: u32,
    /// When it first happened (0: same as `time`).
    #[serde(default)]
    pub first_time: f64,
}

fn one() -> u32 {
    1
}

impl PodState {
    pub fn container(&self, name: &str) -> Option<&ContainerStatus> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn container_mut(&mut self, name: &str) -> Option<&mut ContainerStatus> {
        self.containers.iter_mut().find(|c| c.name == name)
    }

    /// A pod "p" (uid "u") of a detached shim that has not made anything yet, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(pod: Pod, containers: Vec<ContainerStatus>) -> PodState {
        PodState {
            uid: "u".into(),
            name: "p".into(),
            namespace: "default".into(),
            manifest_path: String::new(),
            pod,
            created_at: 0.0,
            shim: ProcessRef {
                pid: 1,
                start_time: 0,
            },
            detached: true,
            phase: PodPhase::Pending,
            terminating: false,
            qos_class: String::new(),
            cgroup: String::new(),
            rootless: None,
            user_namespace: None,
            resize: Default::default(),
            sandbox: None,
            containers,
            steps: vec![],
            events: vec![],
        }
    }

    /// `READY` as kubectl shows it: ready app containers (and running sidecars) / their count.
    pub fn ready_text(&self) -> String {
        let counted = self
            .containers
            .iter()
            .filter(|c| c.kind != ContainerKind::Init);
        let total = counted.clone().count();
        let ready = counted.filter(|c| c.ready).count();
        format!("{ready}/{total}")
    }

    pub fn restarts(&self) -> u32 {
        self.containers.iter().map(|c| c.restart_count).sum()
    }

    /// The `STATUS` column of `kubectl get pods` (kubectl's printPod rules).
    pub fn status_text(&self) -> String {
        if self.terminating {
            return "Terminating".into();
        }
        let inits: Vec<&ContainerStatus> = self
            .containers
            .iter()
            .filter(|c| c.kind != ContainerKind::App)
            .collect();
        for (i, c) in inits.iter().enumerate() {
            let text = match &c.state {
                ContainerState::Terminated { exit_code: 0, .. } => continue,
                ContainerState::Running { .. } if c.kind == ContainerKind::Sidecar => continue,
                ContainerState::Terminated {
                    reason,
                    signal,
                    exit_code,
                    ..
                } => {
                    if !reason.is_empty() {
                        format!("Init:{reason}")
                    } else if let Some(s) = signal {
                        format!("Init:Signal:{s}")
                    } else {
                        format!("Init:ExitCode:{exit_code}")
                    }
                }
                ContainerState::Waiting { reason }
                    if reason != "PodInitializing" && reason != "ContainerCreating" =>
                {
                    format!("Init:{reason}")
                }
                _ => format!("Init:{i}/{}", inits.len()),
            };
            return text;
        }
        let mut status = format!("{:?}", self.phase);
        let mut has_running = false;
        for c in self
            .containers
            .iter()
            .filter(|c| c.kind == ContainerKind::App)
            .rev()
        {
            match &c.state {
                ContainerState::Waiting { reason } => status = reason.clone(),
                ContainerState::Terminated { reason, .. } => status = reason.clone(),
                // kubectl's printPod counts a running container only when it is Ready.
                ContainerState::Running { .. } => has_running |= c.ready,
            }
        }
        if status == "Completed" && has_running {
            status = if self.ready() { "Running" } else { "NotReady" }.into();
        }
        status
    }

    /// kubelet's ContainersReady (and, without readiness gates, Ready): every app container and
    /// every sidecar is ready.
    pub fn ready(&self) -> bool {
        self.containers
            .iter()
            .filter(|c| c.kind != ContainerKind::Init)
            .all(|c| c.ready)
    }

    /// kubelet's Initialized condition: every init container completed (sidecars started).
    pub fn initialized(&self) -> bool {
        self.containers.iter().all(|c| match c.kind {
            ContainerKind::Init => {
                matches!(c.state, ContainerState::Terminated { exit_code: 0, .. })
                    || self.phase == PodPhase::Running
            }
            ContainerKind::Sidecar => c.started || self.phase == PodPhase::Running,
            ContainerKind::App => true,
        })
    }
}

/// A duration the way kubectl prints ages: 45s, 3m12s, 5h, 2d.
pub fn human_age(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=119 => format!("{s}s"),
        120..=599 => format!("{}m{}s", s / 60, s % 60),
        600..=10799 => format!("{}m", s / 60),
        10800..=172799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
