//! cgroup limits and usage for a process's cgroup, in v1 or v2, and their Kubernetes meaning.
//!
//! Layout detection follows the rule kubelet and runc use: cgroup2 at the root → unified; v1
//! controllers at the root → legacy, or hybrid when a (controller-less) cgroup2 mount sits
//! beside them. On hybrid the v1 controllers hold the limits, so they are what is read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::model::{
    CgroupInfo, CgroupLayout, CgroupMembership, CpuRequestSource, Gap, GapReason, Limit,
};
use super::procfs_read::read_path;

// v1 files.
const V1_CFS_QUOTA: &str = "cpu.cfs_quota_us";
const V1_CFS_PERIOD: &str = "cpu.cfs_period_us";
const V1_SHARES: &str = "cpu.shares";
const V1_MEM_LIMIT: &str = "memory.limit_in_bytes";
const V1_MEM_USAGE: &str = "memory.usage_in_bytes";
const V1_MEM_FAILCNT: &str = "memory.failcnt";
const V1_OOM_CONTROL: &str = "memory.oom_control";
// v2 files.
const V2_CPU_MAX: &str = "cpu.max";
const V2_CPU_WEIGHT: &str = "cpu.weight";
const V2_MEM_MAX: &str = "memory.max";
const V2_MEM_CURRENT: &str = "memory.current";
const V2_MEM_EVENTS: &str = "memory.events";
// Both.
const CPU_STAT: &str = "cpu.stat";
const PIDS_MAX: &str = "pids.max";
const PIDS_CURRENT: &str = "pids.current";

/// v1 reports "no memory limit" as PAGE_COUNTER_MAX pages (e.g. 9223372036854771712).
const V1_UNLIMITED_FLOOR: u64 = 1 << 62;

pub fn detect_layout(root: &Path) -> CgroupLayout {
    if root.join("cgroup.controllers").is_file() {
        return CgroupLayout::Unified;
    }
    let has_v1 = ["memory", "cpu", "pids", "cpu,cpuacct", "systemd"]
        .iter()
        .any(|c| root.join(c).is_dir());
    if !has_v1 {
        return CgroupLayout::Unknown;
    }
    if root.join("unified/cgroup.controllers").is_file() {
        CgroupLayout::Hybrid
    } else {
        CgroupLayout::Legacy
    }
}

/// Where one cgroup's files are: one directory (v2) or one per v1 controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLocation {
    pub version: u8,
    /// Path inside the hierarchy, e.g. "/kubepods/burstable/pod…/abc".
    pub path: String,
    pub cpu: Option<PathBuf>,
    pub memory: Option<PathBuf>,
    pub pids: Option<PathBuf>,
}

impl CgroupLocation {
    /// The parent cgroup (one level up in each controller), None at the root.
    pub fn parent(&self) -> Option<CgroupLocation> {
        let (parent_path, _) = self.path.trim_end_matches('/').rsplit_once('/')?;
        if parent_path.is_empty() {
            return None;
        }
        let up = |p: &Option<PathBuf>| p.as_ref().and_then(|p| p.parent().map(Path::to_path_buf));
        Some(CgroupLocation {
            version: self.version,
            path: parent_path.to_string(),
            cpu: up(&self.cpu),
            memory: up(&self.memory),
            pids: up(&self.pids),
        })
    }
}

pub struct CgroupReader {
    pub root: PathBuf,
    pub layout: CgroupLayout,
    /// Names of the directories at the root (v1 hierarchies: `memory`, `cpu,cpuacct`, …),
    /// listed once: mounts do not come and go while a view is open.
    mounts: HashSet<String>,
}

impl CgroupReader {
    pub fn new(root: &Path) -> CgroupReader {
        let mounts = std::fs::read_dir(root)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        CgroupReader {
            root: root.to_path_buf(),
            layout: detect_layout(root),
            mounts,
        }
    }

    /// Where the cgroup of a process with these /proc/<pid>/cgroup lines lives.
    pub fn locate(&self, memberships: &[CgroupMembership]) -> Option<CgroupLocation> {
        match self.layout {
            CgroupLayout::Unified => {
                let m = memberships.iter().find(|m| m.hierarchy == 0)?;
                let dir = self.root.join(m.path.trim_start_matches('/'));
                Some(CgroupLocation {
                    version: 2,
                    path: m.path.clone(),
                    cpu: Some(dir.clone()),
                    memory: Some(dir.clone()),
                    pids: Some(dir),
                })
            }
            CgroupLayout::Legacy | CgroupLayout::Hybrid => {
                let memory = self.v1_dir(memberships, "memory");
                let path = memory
                    .as_ref()
                    .map(|(p, _)| p.clone())
                    .or_else(|| self.v1_dir(memberships, "cpu").map(|(p, _)| p))?;
                Some(CgroupLocation {
                    version: 1,
                    path,
                    cpu: self.v1_dir(memberships, "cpu").map(|(_, d)| d),
                    memory: memory.map(|(_, d)| d),
                    pids: self.v1_dir(memberships, "pids").map(|(_, d)| d),
                })
            }
            CgroupLayout::Unknown => None,
        }
    }

    /// The directory of a v1 controller: mounted alone (`cpu`) or co-mounted (`cpu,cpuacct`).
    fn v1_dir(
        &self,
        memberships: &[CgroupMembership],
        controller: &str,
    ) -> Option<(String, PathBuf)> {
        let m = memberships
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))?;
        let joined = m.controllers.join(",");
        let mount = if self.mounts.contains(&joined) {
            self.root.join(joined)
        } else {
            self.root.join(controller)
        };
        Some((m.path.clone(), mount.join(m.path.trim_start_matches('/'))))
    }

    /// Read limits and usage; files that are missing (controller not enabled) stay None. A
    /// missing directory (the cgroup was removed) is reported as a gap.
    pub fn read(
        &self,
        loc: &CgroupLocation,
        pid: Option<i32>,
        buf: &mut Vec<u8>,
        gaps: &mut Vec<Gap>,
    ) -> CgroupInfo {
        let mut info = CgroupInfo {
            version: loc.version,
            path: loc.path.clone(),
            ..CgroupInfo::default()
        };
        self.read_values(loc, buf, &mut info);
        // Only when nothing at all could be read: is the cgroup gone? (One check, not one
        // per directory per tick.)
        if info
            == (CgroupInfo {
                version: loc.version,
                path: loc.path.clone(),
                ..CgroupInfo::default()
            })
        {
            for dir in [&loc.cpu, &loc.memory, &loc.pids].into_iter().flatten() {
                if !dir.is_dir() {
                    gaps.push(Gap {
                        pid,
                        what: format!("cgroup {}", dir.display()),
                        reason: GapReason::Vanished,
                    });
                }
            }
        }
        info
    }

    fn read_values(&self, loc: &CgroupLocation, buf: &mut Vec<u8>, info: &mut CgroupInfo) {
        if loc.version == 1 {
            self.read_v1(loc, buf, info);
        } else {
            self.read_v2(loc, buf, info);
        }
        if let Some(dir) = &loc.pids {
            info.pids_current = read_u64(dir, PIDS_CURRENT, buf);
            info.pids_max = read_text(dir, PIDS_MAX, buf).and_then(|t| parse_max(&t));
        }
    }

    fn read_v1(&self, loc: &CgroupLocation, buf: &mut Vec<u8>, info: &mut CgroupInfo) {
        if let Some(dir) = &loc.cpu {
            let quota =
                read_text(dir, V1_CFS_QUOTA, buf).and_then(|t| t.trim().parse::<i64>().ok());
            info.cpu_quota_us = quota.map(|q| {
                if q < 0 {
                    Limit::Unlimited
                } else {
                    Limit::Value(q as u64)
                }
            });
            info.cpu_period_us = read_u64(dir, V1_CFS_PERIOD, buf);
            info.cpu_shares = read_u64(dir, V1_SHARES, buf);
            info.cpu_request_millis = info.cpu_shares.map(shares_to_millis);
            info.cpu_request_source = info.cpu_shares.map(|_| CpuRequestSource::Shares);
            if let Some(stat) = read_text(dir, CPU_STAT, buf) {
                info.nr_periods = keyed(&stat, "nr_periods");
                info.nr_throttled = keyed(&stat, "nr_throttled");
                info.throttled_usec = keyed(&stat, "throttled_time").map(|ns| ns / 1000);
            }
        }
        if let Some(dir) = &loc.memory {
            info.memory_limit = read_u64(dir, V1_MEM_LIMIT, buf).map(|v| {
                if v >= V1_UNLIMITED_FLOOR {
                    Limit::Unlimited
                } else {
                    Limit::Value(v)
                }
            });
            info.memory_usage = read_u64(dir, V1_MEM_USAGE, buf);
            info.memory_failcnt = read_u64(dir, V1_MEM_FAILCNT, buf);
            if let Some(oom) = read_text(dir, V1_OOM_CONTROL, buf) {
                info.oom_kill = keyed(&oom, "oom_kill");
            }
        }
        info.cpu_limit_millis = cpu_limit(info.cpu_quota_us, info.cpu_period_us);
    }

    fn read_v2(&self, loc: &CgroupLocation, buf: &mut Vec<u8>, info: &mut CgroupInfo) {
        if let Some(dir) = &loc.cpu {
            if let Some(max) = read_text(dir, V2_CPU_MAX, buf) {
                let mut parts = max.split_ascii_whitespace();
                info.cpu_quota_us = parts.next().and_then(parse_max);
                info.cpu_period_us = parts.next().and_then(|p| p.parse().ok());
            }
            info.cpu_weight = read_u64(dir, V2_CPU_WEIGHT, buf);
            if let Some(w) = info.cpu_weight {
                info.cpu_request_millis = Some(shares_to_millis(weight_to_shares_new(w)));
                info.cpu_request_source = Some(CpuRequestSource::WeightRuncNew);
                info.cpu_request_millis_old_runc = Some(shares_to_millis(weight_to_shares_old(w)));
            }
            if let Some(stat) = read_text(dir, CPU_STAT, buf) {
                info.nr_periods = keyed(&stat, "nr_periods");
                info.nr_throttled = keyed(&stat, "nr_throttled");
                info.throttled_usec = keyed(&stat, "throttled_usec");
            }
        }
        if let Some(dir) = &loc.memory {
            info.memory_limit = read_text(dir, V2_MEM_MAX, buf).and_then(|t| parse_max(&t));
            info.memory_usage = read_u64(dir, V2_MEM_CURRENT, buf);
            if let Some(events) = read_text(dir, V2_MEM_EVENTS, buf) {
                info.oom = keyed(&events, "oom");
                info.oom_kill = keyed(&events, "oom_kill");
            }
        }
        info.cpu_limit_millis = cpu_limit(info.cpu_quota_us, info.cpu_period_us);
    }
}

fn cpu_limit(quota: Option<Limit>, period: Option<u64>) -> Option<Limit> {
    match (quota?, period?) {
        (Limit::Unlimited, _) => Some(Limit::Unlimited),
        (_, 0) => None,
        (Limit::Value(q), p) => Some(Limit::Value((q * 1000).div_ceil(p))),
    }
}

/// Inverse of kubelet's `MilliCPUToShares` (shares = m * 1024 / 1000, floored): rounding up
/// gives back the request that was written.
pub fn shares_to_millis(shares: u64) -> u64 {
    (shares * 1000).div_ceil(1024)
}

/// Inverse of runc ≤ 1.3.1's `1 + ((shares - 2) * 9999) / 262142`.
pub fn weight_to_shares_old(weight: u64) -> u64 {
    2 + (weight.saturating_sub(1) * 262_142).div_ceil(9999)
}

/// Inverse of runc ≥ 1.3.2's `ceil(10^((l² + 125l) / 612 − 7/34))`, l = log2(shares): solve the
/// quadratic for l. Approximate (the forward formula rounds up).
pub fn weight_to_shares_new(weight: u64) -> u64 {
    if weight <= 1 {
        return 2;
    }
    if weight >= 10_000 {
        return 262_144;
    }
    let y = (weight as f64).log10() + 7.0 / 34.0;
    let l = (-125.0 + (125.0f64 * 125.0 + 4.0 * 612.0 * y).sqrt()) / 2.0;
    2f64.powf(l).round().clamp(2.0, 262_144.0) as u64
}

/// "max" → Unlimited, a number → Value.
fn parse_max(text: &str) -> Option<Limit> {
    let t = text.trim();
    if t == "max" {
        Some(Limit::Unlimited)
    } else {
        t.parse().ok().map(Limit::Value)
    }
}

/// "key value" lines (cpu.stat, memory.events, memory.oom_control).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

fn read_text(dir: &Path, file: &str, buf: &mut Vec<u8>) -> Option<String> {
    read_path(&dir.join(file), buf).ok()?;
    Some(String::from_utf8_lossy(buf).into_owned())
}

fn read_u64(dir: &Path, file: &str, buf: &mut Vec<u8>) -> Option<u64> {
    read_text(dir, file, buf)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_trip_kubelet() {
        // kubelet: MilliCPUToShares(m) = m * 1024 / 1000.
        for m in [2u64, 10, 100, 250, 333, 500, 1000, 1500, 4000] {
            let shares = m * 1024 / 1000;
            assert_eq!(shares_to_millis(shares), m, "{m}m");
        }
    }

    #[test]
    fn weight_formulas() {
        // 1024 shares (1 CPU) → weight 100 in runc ≥ 1.3.2.
        assert_eq!(weight_to_shares_new(100), 1024);
        assert_eq!(weight_to_shares_new(1), 2);
        assert_eq!(weight_to_shares_new(10_000), 262_144);
        // Old linear formula: 1024 shares → 1 + (1022 * 9999) / 262142 = 39.
        let old = weight_to_shares_old(39);
        assert!((990..=1030).contains(&old), "{old}");
    }

    #[test]
    fn cpu_limit_from_quota() {
        assert_eq!(
            cpu_limit(Some(Limit::Value(25_000)), Some(100_000)),
            Some(Limit::Value(250))
        );
        assert_eq!(
            cpu_limit(Some(Limit::Unlimited), Some(100_000)),
            Some(Limit::Unlimited)
        );
        assert_eq!(cpu_limit(Some(Limit::Value(1)), Some(0)), None);
    }

    #[test]
    fn keyed_values() {
        let t = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(t, "oom_kill"), Some(3));
        assert_eq!(keyed(t, "oom"), None);
    }
}
