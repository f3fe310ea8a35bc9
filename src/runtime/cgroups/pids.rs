//! The pids controller: podlab sets no limit (kubelet's `podPidsLimit` defaults to none) but
//! puts every container in it so the panels can show `pids.current`.

pub const CONTROLLER: &str = "pids";
/// The limit, "max" for none.
pub const MAX: &str = "pids.max";
/// Processes and threads in the cgroup now.
pub const CURRENT: &str = "pids.current";
