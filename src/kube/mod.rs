//! The pod as Kubernetes sees it, and kubelet's rules, as pure data and functions: the pod's
//! state and its creation steps, what clients and the shim say to each other, QoS, cgroup
//! values, oom_score_adj, restarts and back-off, events, static pod naming, and what kubelet
//! gives each container besides its image: the environment (`env`), /etc/resolv.conf (`dns`),
//! /etc/hosts and the hostname (`hosts`), the termination message (`termination_message`).
//! Nothing here changes the machine (`static_pods::node_name` only asks its host name), so a
//! recorded trace replays with it on any OS.

pub mod backoff;
pub mod devices;
pub mod dns;
pub mod env;
pub mod events;
pub mod hosts;
pub mod image;
pub mod lifecycle;
pub mod machine;
pub mod namespaces;
pub mod oom;
pub mod pod_network;
pub mod pod_state;
pub mod protocol;
pub mod qos;
pub mod resize;
pub mod resources;
pub mod scheduling;
pub mod security;
pub mod static_pods;
pub mod steps;
pub mod stop_signal;
pub mod termination_message;
pub mod userns;
pub mod volumes;
