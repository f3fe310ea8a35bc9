//! podlab: build real Kubernetes-style pods on this Linux machine, one kernel step at a time.
//!
//! Layers, each only talking to the one below it:
//! * `spec`    — the Pod manifest (a Kubernetes v1 Pod subset) and its validation;
//! * `kube`    — the pod as Kubernetes sees it (state, steps, pod network record) and kubelet's
//!   policy (QoS, cgroup values, back-off, the pod lifecycle state machine, events), as pure
//!   data and functions;
//! * `runtime` — the only code that changes the system: shim, pause, container init, images;
//! * `observe` — read-only snapshots of /proc and /sys/fs/cgroup;
//! * `present` — the pod and the snapshots as text (describe, tables, the process tree);
//! * `doctor`  — what this machine lets podlab do, and which lessons can run here;
//! * `tui`     — every screen (the lesson list, the explorer, the lesson player, replays), and
//!   `tui::record`: asciicast recordings and traces of what they showed.
//!
//! What touches the machine builds only with `cfg(podlab_host)` (Linux and the default "host"
//! feature, see build.rs); without it podlab is the portable replay of recorded traces.

#[cfg(podlab_host)]
pub mod cli;
#[cfg(podlab_host)]
pub mod doctor;
pub mod i18n;
pub mod kube;
pub mod lesson;
pub mod observe;
pub mod present;
#[cfg(podlab_host)]
pub mod runtime;
pub mod spec;
pub mod tui;
