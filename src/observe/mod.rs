//! Read-only snapshots of processes, namespaces, network and cgroups from /proc and /sys.
//!
//! `Collector::snapshot` reads; `text` renders; `model` is the serde data between them, so a
//! recorded snapshot renders the same later without root. Nothing here changes the system.
//! The readers exist only in a host build (`cfg(podlab_host)`); `model` and `text` build
//! anywhere, for replays.

#[cfg(podlab_host)]
pub mod cgroup;
#[cfg(podlab_host)]
pub mod collector;
pub mod group;
pub mod model;
pub mod net;
#[cfg(podlab_host)]
mod netread;
#[cfg(podlab_host)]
pub mod pods;
#[cfg(podlab_host)]
pub mod procfs_read;
pub mod runtimes;
#[cfg(podlab_host)]
mod scan;
pub mod text;

#[cfg(podlab_host)]
pub use collector::{snapshot, Collector, Sources};
pub use model::*;
