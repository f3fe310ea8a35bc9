//! The pids controller: every container is in it so the panels can show `pids.current`, and the
//! pod cgroup gets `pids.max` from kubelet's `podPidsLimit` (`kube::resources::POD_PIDS_LIMIT`):
//! past it, fork and clone in any of the pod's processes fail with EAGAIN.

use std::path::Path;

use super::fs::{write_value, CgroupFs};
use super::CgroupError;
use crate::kube::resources::CgroupValues;

pub const CONTROLLER: &str = "pids";
/// The limit, "max" for none.
pub const MAX: &str = "pids.max";
/// Processes and threads in the cgroup now.
pub const CURRENT: &str = "pids.current";

/// Writes `pids.max` if the values have a limit (the same file name on v1 and v2).
pub fn apply(fs: &dyn CgroupFs, dir: &Path, values: &CgroupValues) -> Result<(), CgroupError> {
    if let Some(limit) = values.pids_limit {
        write_value(fs, dir, MAX, &limit.to_string())?;
    }
    Ok(())
}
