//! The memory controller: the hard limit, and how many processes the OOM killer took.

use std::path::Path;

use super::fs::{read_value, write_value, CgroupFs};
use super::CgroupError;
use crate::kube::resources::CgroupValues;

pub const CONTROLLER: &str = "memory";
/// v1: the hard limit in bytes (-1 or a huge number for none).
pub const V1_LIMIT_IN_BYTES: &str = "memory.limit_in_bytes";
/// v1: `oom_kill_disable`, `under_oom` and (Linux ≥ 4.13) `oom_kill` counter lines.
pub const V1_OOM_CONTROL: &str = "memory.oom_control";
/// v1: how often usage hit the limit (older kernels' only hint of OOM trouble).
pub const V1_FAILCNT: &str = "memory.failcnt";
pub const V1_USAGE_IN_BYTES: &str = "memory.usage_in_bytes";
/// v2: the hard limit in bytes, "max" for none.
pub const V2_MAX: &str = "memory.max";
/// v1: the limit of memory plus swap (only with swap accounting); at least the limit.
pub const V1_MEMSW_LIMIT_IN_BYTES: &str = "memory.memsw.limit_in_bytes";
/// v2: 1 = an OOM kill takes every process of the cgroup.
pub const V2_OOM_GROUP: &str = "memory.oom.group";
/// v2: the most swap the cgroup may use, "max" for none (only with swap accounting).
pub const V2_SWAP_MAX: &str = "memory.swap.max";
/// v2: `low`, `high`, `max`, `oom`, `oom_kill` counters.
pub const V2_EVENTS: &str = "memory.events";
pub const V2_CURRENT: &str = "memory.current";

const OOM_KILL_KEY: &str = "oom_kill";

pub fn apply_v1(fs: &dyn CgroupFs, dir: &Path, values: &CgroupValues) -> Result<(), CgroupError> {
    if let Some(limit) = values.memory_limit_bytes {
        // Growing (a resize): memsw must rise first, the kernel keeps it at least the limit.
        let memsw = dir.join(V1_MEMSW_LIMIT_IN_BYTES);
        if values.no_swap && fs.exists(&memsw) {
            let current = read_value(fs, dir, V1_LIMIT_IN_BYTES)
                .ok()
                .and_then(|t| t.trim().parse::<i64>().ok());
            if current.is_some_and(|c| c < limit) {
                write_value(fs, dir, V1_MEMSW_LIMIT_IN_BYTES, &limit.to_string())?;
            }
        }
        write_value(fs, dir, V1_LIMIT_IN_BYTES, &limit.to_string())?;
        // After the limit: the kernel refuses memsw below it. Without a limit there is
        // nothing to hold swap to (kubelet's value would be 0, which runc ignores).
        if values.no_swap && fs.exists(&dir.join(V1_MEMSW_LIMIT_IN_BYTES)) {
            write_value(fs, dir, V1_MEMSW_LIMIT_IN_BYTES, &limit.to_string())?;
        }
    }
    Ok(())
}

pub fn apply_v2(fs: &dyn CgroupFs, dir: &Path, values: &CgroupValues) -> Result<(), CgroupError> {
    if let Some(limit) = values.memory_limit_bytes {
        write_value(fs, dir, V2_MAX, &limit.to_string())?;
    }
    if values.oom_group {
        write_value(fs, dir, V2_OOM_GROUP, "1")?;
    }
    if values.no_swap && fs.exists(&dir.join(V2_SWAP_MAX)) {
        write_value(fs, dir, V2_SWAP_MAX, "0")?;
    }
    Ok(())
}

/// Memory in use in bytes: v2 `memory.current`, v1 `memory.usage_in_bytes`.
pub fn usage(fs: &dyn CgroupFs, dir: &Path, v2: bool) -> Result<i64, CgroupError> {
    let file = if v2 { V2_CURRENT } else { V1_USAGE_IN_BYTES };
    let text = read_value(fs, dir, file)?;
    text.trim().parse().map_err(|_| CgroupError::Unparsable {
        path: dir.join(file),
        text,
    })
}

/// v1: the `oom_kill` line of `memory.oom_control`, or `memory.failcnt` on kernels without it.
pub fn oom_kills_v1(fs: &dyn CgroupFs, dir: &Path) -> Result<u64, CgroupError> {
    let oom_control = read_value(fs, dir, V1_OOM_CONTROL)?;
    if let Some(count) = keyed_counter(&oom_control, OOM_KILL_KEY) {
        return Ok(count);
    }
    let failcnt = read_value(fs, dir, V1_FAILCNT)?;
    failcnt.trim().parse().map_err(|_| CgroupError::Unparsable {
        path: dir.join(V1_FAILCNT),
        text: failcnt,
    })
}

/// v2: the `oom_kill` line of `memory.events`.
pub fn oom_kills_v2(fs: &dyn CgroupFs, dir: &Path) -> Result<u64, CgroupError> {
    let events = read_value(fs, dir, V2_EVENTS)?;
    keyed_counter(&events, OOM_KILL_KEY).ok_or(CgroupError::Unparsable {
        path: dir.join(V2_EVENTS),
        text: events,
    })
}

/// The value of a `key value` line.
pub fn keyed_counter(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_found_by_key() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed_counter(v1, "oom_kill"), Some(3));
        let v2 = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 1\n";
        assert_eq!(keyed_counter(v2, "oom_kill"), Some(1));
        assert_eq!(keyed_counter("oom_kill_disable 0\n", "oom_kill"), None);
    }
}
