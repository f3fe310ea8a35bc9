//! Read-only snapshots of processes, namespaces, network and cgroups from /proc and /sys.
//!
//! `Collector::snapshot` reads; `text` renders; `model` is the serde data between them, so a
//! recorded snapshot renders the same later without root. Nothing here changes the system.

pub mod cgroup;
pub mod collector;
pub mod group;
pub mod model;
pub mod net;
mod netread;
pub mod pods;
pub mod procfs_read;
pub mod runtimes;
mod scan;
pub mod text;

pub use collector::{snapshot, Collector, Sources, Target};
pub use model::*;
