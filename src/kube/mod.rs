//! kubelet's policy as pure functions: QoS, cgroup values, oom_score_adj, back-off, events.

pub mod backoff;
pub mod events;
pub mod oom;
pub mod qos;
pub mod resources;
