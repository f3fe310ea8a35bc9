//! What on the live panels proves a check: when a step's check passes, the player marks
//! these rows (the namespace inodes, the cgroup values, the listener, the process) for a few
//! seconds. Computed from the check as written, so a trace can keep it and a replay show it.

use serde::{Deserialize, Serialize};

use crate::observe::NsKind;

use super::refs::{Ref, Who};
use super::schema::{Check, Fingerprint};

/// A row of the live panels, named as the lesson names things.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The namespace matrix: these kinds of a container (or `pause`).
    Namespace {
        pod: String,
        container: String,
        kinds: Vec<NsKind>,
    },
    /// The cgroup panel: a container's row, or the pod's (`container: None`).
    Cgroup {
        pod: String,
        container: Option<String>,
    },
    /// The network panel: a listening port.
    Listener { pod: String, port: u16 },
    /// The network panel: an interface of the pod's net namespace.
    Interface { pod: String, name: String },
    /// The network panel: the pod IP.
    PodIp { pod: String },
    /// The process tree: a container's main process (or `pause`'s).
    Process { pod: String, container: String },
    /// The events panel: the newest event with this reason.
    Event { pod: String, reason: String },
}

impl Evidence {
    /// The pod whose panels show it.
    pub fn pod(&self) -> &str {
        match self {
            Evidence::Namespace { pod, .. }
            | Evidence::Cgroup { pod, .. }
            | Evidence::Listener { pod, .. }
            | Evidence::Interface { pod, .. }
            | Evidence::PodIp { pod }
            | Evidence::Process { pod, .. }
            | Evidence::Event { pod, .. } => pod,
        }
    }
}

/// The container a reference names, as a panel row names it (`pause` for pause).
fn row_name(r: &Ref) -> Option<String> {
    match &r.who {
        Who::Container(name) => Some(name.clone()),
        Who::Pause => Some("pause".into()),
        Who::Host | Who::Node | Who::Pod => None,
    }
}

/// The rows that prove `check` (refs without a pod are about `pod`), without repeats.
pub fn evidence_of(check: &Check, pod: &str) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = Vec::new();
    for c in check.flatten() {
        for e in one(c, pod) {
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

fn one(check: &Check, pod: &str) -> Vec<Evidence> {
    let process = |text: &str| {
        let r = Ref::parse(text, pod);
        row_name(&r).map(|container| Evidence::Process {
            pod: r.pod.clone(),
            container,
        })
    };
    match check {
        Check::Namespace(c) => [&c.a, &c.b]
            .into_iter()
            .filter_map(|text| {
                let r = Ref::parse(text, pod);
                row_name(&r).map(|container| Evidence::Namespace {
                    pod: r.pod.clone(),
                    container,
                    kinds: c.kinds.clone(),
                })
            })
            .collect(),
        Check::Ip(c) => {
            let mut pods: Vec<String> = [&c.a, &c.b]
                .into_iter()
                .map(|t| Ref::parse(t, pod).pod)
                .collect();
            pods.dedup();
            pods.into_iter()
                .map(|pod| Evidence::PodIp { pod })
                .collect()
        }
        Check::Interface(c) => vec![Evidence::Interface {
            pod: Ref::parse(&c.target, pod).pod,
            name: c.name.clone(),
        }],
        Check::Cgroup(c) => {
            let r = Ref::parse(&c.target, pod);
            let container = match &r.who {
                Who::Pod => None,
                _ => row_name(&r),
            };
            vec![Evidence::Cgroup {
                pod: r.pod,
                container,
            }]
        }
        Check::Listener(c) => vec![Evidence::Listener {
            pod: Ref::parse(&c.container, pod).pod,
            port: c.port,
        }],
        Check::Process(c) => process(&c.target).into_iter().collect(),
        Check::Processes(c) => process(&c.target).into_iter().collect(),
        Check::Container(c) => process(&c.name).into_iter().collect(),
        Check::Event(c) => vec![Evidence::Event {
            pod: pod.to_string(),
            reason: c.reason.clone(),
        }],
        Check::Changed(c) => match &c.what {
            Fingerprint::Ip => vec![Evidence::PodIp {
                pod: pod.to_string(),
            }],
            Fingerprint::Pause => process("pause").into_iter().collect(),
            Fingerprint::Container(name) => process(name).into_iter().collect(),
            Fingerprint::Namespace(kind) => vec![Evidence::Namespace {
                pod: pod.to_string(),
                container: "pause".into(),
                kinds: vec![*kind],
            }],
            Fingerprint::Uid => Vec::new(),
        },
        Check::All(_)
        | Check::File(_)
        | Check::HostFile(_)
        | Check::Http(_)
        | Check::Exec(_)
        | Check::Pod(_)
        | Check::Logs(_)
        | Check::RanInOrder(_)
        | Check::Deleted(_)
        | Check::Kubelet(_)
        | Check::StaticPod(_)
        | Check::Owned(_) => Vec::new(),
    }
}
