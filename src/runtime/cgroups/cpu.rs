//! The cpu controller: shares/weight (share of CPU under contention) and CFS quota (hard cap).

use std::path::Path;

use super::fs::{write_value, CgroupFs};
use super::CgroupError;
use crate::kube::resources::{CgroupValues, NO_QUOTA, QUOTA_PERIOD_US};

pub const CONTROLLER: &str = "cpu";
/// v1: relative share of CPU time when CPUs are contended (default 1024).
pub const V1_SHARES: &str = "cpu.shares";
/// v1: microseconds of CPU time allowed per period; -1 for no limit.
pub const V1_CFS_QUOTA_US: &str = "cpu.cfs_quota_us";
pub const V1_CFS_PERIOD_US: &str = "cpu.cfs_period_us";
/// v2: relative weight, 1..10000 (default 100).
pub const V2_WEIGHT: &str = "cpu.weight";
/// v2: "$QUOTA $PERIOD", QUOTA "max" for no limit.
pub const V2_MAX: &str = "cpu.max";
/// Both: `nr_periods`, `nr_throttled`, `throttled_time`/`throttled_usec`.
pub const STAT: &str = "cpu.stat";

pub fn apply_v1(fs: &dyn CgroupFs, dir: &Path, values: &CgroupValues) -> Result<(), CgroupError> {
    if let Some(shares) = values.cpu_shares {
        write_value(fs, dir, V1_SHARES, &shares.to_string())?;
    }
    // Period first: the quota is checked against it.
    if let Some(period) = values.cpu_period_us {
        write_value(fs, dir, V1_CFS_PERIOD_US, &period.to_string())?;
    }
    if let Some(quota) = values.cpu_quota_us {
        write_value(fs, dir, V1_CFS_QUOTA_US, &quota.to_string())?;
    }
    Ok(())
}

pub fn apply_v2(fs: &dyn CgroupFs, dir: &Path, values: &CgroupValues) -> Result<(), CgroupError> {
    // runc's formula on a container's leaf, kubelet's own on the pod and QoS cgroups.
    if let Some(weight) = values.cpu_weight() {
        write_value(fs, dir, V2_WEIGHT, &weight.to_string())?;
    }
    if values.cpu_quota_us.is_some() || values.cpu_period_us.is_some() {
        let max = v2_max(
            values.cpu_quota_us.unwrap_or(NO_QUOTA),
            values.cpu_period_us.unwrap_or(QUOTA_PERIOD_US),
        );
        write_value(fs, dir, V2_MAX, &max)?;
    }
    Ok(())
}

/// The `cpu.max` line for a quota and period.
pub fn v2_max(quota_us: i64, period_us: u64) -> String {
    if quota_us < 0 {
        format!("max {period_us}")
    } else {
        format!("{quota_us} {period_us}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_line() {
        assert_eq!(v2_max(NO_QUOTA, 100_000), "max 100000");
        assert_eq!(v2_max(50_000, 100_000), "50000 100000");
    }
}
