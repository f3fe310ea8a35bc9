//! Read-only snapshots of processes, namespaces, network and cgroups from /proc and /sys.
//!
//! `Collector::snapshot` reads; `model` is the serde data it returns, so a recorded snapshot
//! renders the same later without root (`present::text` renders it). Nothing here changes the
//! system. The readers exist only in a host build (`cfg(podlab_host)`); `model` builds
//! anywhere, for replays.

#[cfg(podlab_host)]
pub mod cgroup;
#[cfg(podlab_host)]
pub mod collector;
pub mod group;
pub mod model;
#[cfg(podlab_host)]
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

#[cfg(podlab_host)]
pub use collector::{snapshot, Collector, Sources};
pub use model::*;
