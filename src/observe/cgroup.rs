//! cgroup limits and usage for a process's cgroup, in v1 or v2, and their Kubernetes meaning.
//!
//! Layout detection follows the rule kubelet and runc use: cgroup2 at the root → unified; v1
//! controllers at the root → legacy, or hybrid when a (controller-less) cgroup2 mount sits
//! beside them. On hybrid the v1 controllers hold the limits, so they are what is read.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::model::{
    CgroupInfo, CgroupLayout, CgroupMembership, CpuRequestSource, Gap, GapReason, Limit, Pressure,
};
use super::procfs_read::KeptFile;
use crate::kube::resources::WeightFormula;

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
const V2_CPU_PRESSURE: &str = "cpu.pressure";
const V2_MEM_PRESSURE: &str = "memory.pressure";
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
    /// The files read, kept open per cgroup directory and read again from offset 0 each tick
    /// (see `KeptFile`): the values are as fresh as with an open per read.
    kept: HashMap<PathBuf, KeptDir>,
}

#[derive(Default)]
struct KeptDir {
    files: Vec<(String, KeptFile)>,
    /// Read since the last `end_tick`; directories that were not are closed then.
    used: bool,
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
            kept: HashMap::new(),
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

    /// Where a cgroup lives, by its path as /proc/<pid>/cgroup would show it: for a cgroup
    /// with no process in it yet (a pod cgroup before pause).
    pub fn locate_path(&self, path: &str) -> Option<CgroupLocation> {
        let membership = |hierarchy: u32, controllers: &[&str]| CgroupMembership {
            hierarchy,
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            path: path.to_string(),
        };
        let memberships = match self.layout {
            CgroupLayout::Unified => vec![membership(0, &[])],
            CgroupLayout::Legacy | CgroupLayout::Hybrid => {
                // The hierarchy numbers do not matter to `locate`, the mounts' names do.
                let mut found: Vec<CgroupMembership> = ["memory", "cpu", "pids"]
                    .iter()
                    .filter_map(|controller| {
                        let mount = self
                            .mounts
                            .iter()
                            .find(|m| m.split(',').any(|c| c == *controller))?;
                        let controllers: Vec<&str> = mount.split(',').collect();
                        Some(membership(1, &controllers))
                    })
                    .collect();
                found.dedup();
                found
            }
            CgroupLayout::Unknown => return None,
        };
        self.locate(&memberships)
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
        &mut self,
        loc: &CgroupLocation,
        pid: Option<i32>,
        buf: &mut Vec<u8>,
        gaps: &mut Vec<Gap>,
    ) -> CgroupInfo {
        let kept = &mut self.kept;
        let info = info_from_files(loc, &mut |dir: &Path, file: &str| {
            read_kept(kept, dir, file, buf)
        });
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

    /// Close the files of cgroups that were not read since the last call (gone from view).
    pub fn end_tick(&mut self) {
        self.kept.retain(|_, d| std::mem::take(&mut d.used));
    }

    /// Close every kept file.
    pub fn forget(&mut self) {
        self.kept.clear();
    }
}

/// The text of `file` in `dir`, through a kept file when there is one. A kept file that fails
/// (ENODEV: the cgroup was removed) is dropped and the path opened again, which finds a cgroup
/// made again under the same name, or nothing.
fn read_kept(
    kept: &mut HashMap<PathBuf, KeptDir>,
    dir: &Path,
    file: &str,
    buf: &mut Vec<u8>,
) -> Option<String> {
    let kept_dir = match kept.get_mut(dir) {
        Some(d) => d,
        None => kept.entry(dir.to_path_buf()).or_default(),
    };
    kept_dir.used = true;
    if let Some(i) = kept_dir.files.iter().position(|(name, _)| name == file) {
        if kept_dir.files[i].1.read(buf).is_ok() {
            return Some(String::from_utf8_lossy(buf).into_owned());
        }
        kept_dir.files.swap_remove(i);
    }
    let opened = KeptFile::open(&dir.join(file)).ok()?;
    opened.read(buf).ok()?;
    kept_dir.files.push((file.to_string(), opened));
    Some(String::from_utf8_lossy(buf).into_owned())
}

/// Where cgroup files come from: the text of `file` in controller directory `dir`, or None if
/// it cannot be read. The real reader opens files; tests and fuzzing hand in text.
pub type ReadCgroupFile<'a> = dyn FnMut(&Path, &str) -> Option<String> + 'a;

/// Limits and usage from the files of `loc` (v1 or v2 names after `loc.version`). Never fails:
/// unreadable or malformed files leave their fields None.
pub fn info_from_files(loc: &CgroupLocation, read: &mut ReadCgroupFile<'_>) -> CgroupInfo {
    let mut info = CgroupInfo {
        version: loc.version,
        path: loc.path.clone(),
        ..CgroupInfo::default()
    };
    if loc.version == 1 {
        fill_v1(loc, read, &mut info);
    } else {
        fill_v2(loc, read, &mut info);
    }
    if let Some(dir) = &loc.pids {
        info.pids_current = read_u64(read, dir, PIDS_CURRENT);
        info.pids_max = read(dir, PIDS_MAX).and_then(|t| parse_max(&t));
    }
    info
}

fn fill_v1(loc: &CgroupLocation, read: &mut ReadCgroupFile<'_>, info: &mut CgroupInfo) {
    if let Some(dir) = &loc.cpu {
        let quota = read(dir, V1_CFS_QUOTA).and_then(|t| t.trim().parse::<i64>().ok());
        info.cpu_quota_us = quota.map(|q| {
            if q < 0 {
                Limit::Unlimited
            } else {
                Limit::Value(q as u64)
            }
        });
        info.cpu_period_us = read_u64(read, dir, V1_CFS_PERIOD);
        info.cpu_shares = read_u64(read, dir, V1_SHARES);
        info.cpu_request_millis = info.cpu_shares.map(shares_to_millis);
        info.cpu_request_source = info.cpu_shares.map(|_| CpuRequestSource::Shares);
        if let Some(stat) = read(dir, CPU_STAT) {
            info.nr_periods = keyed(&stat, "nr_periods");
            info.nr_throttled = keyed(&stat, "nr_throttled");
            info.throttled_usec = keyed(&stat, "throttled_time").map(|ns| ns / 1000);
        }
    }
    if let Some(dir) = &loc.memory {
        info.memory_limit = read_u64(read, dir, V1_MEM_LIMIT).map(|v| {
            if v >= V1_UNLIMITED_FLOOR {
                Limit::Unlimited
            } else {
                Limit::Value(v)
            }
        });
        info.memory_usage = read_u64(read, dir, V1_MEM_USAGE);
        info.memory_failcnt = read_u64(read, dir, V1_MEM_FAILCNT);
        if let Some(oom) = read(dir, V1_OOM_CONTROL) {
            info.oom_kill = keyed(&oom, "oom_kill");
        }
    }
    info.cpu_limit_millis = cpu_limit(info.cpu_quota_us, info.cpu_period_us);
}

fn fill_v2(loc: &CgroupLocation, read: &mut ReadCgroupFile<'_>, info: &mut CgroupInfo) {
    if let Some(dir) = &loc.cpu {
        if let Some(max) = read(dir, V2_CPU_MAX) {
            let mut parts = max.split_ascii_whitespace();
            info.cpu_quota_us = parts.next().and_then(parse_max);
            info.cpu_period_us = parts.next().and_then(|p| p.parse().ok());
        }
        info.cpu_weight = read_u64(read, dir, V2_CPU_WEIGHT);
        info.cpu_pressure = read(dir, V2_CPU_PRESSURE).and_then(|t| parse_pressure(&t));
        if let Some(w) = info.cpu_weight {
            info.cpu_request_millis = Some(shares_to_millis(weight_to_shares_new(w)));
            info.cpu_request_source = Some(CpuRequestSource::WeightRuncNew);
            info.cpu_request_millis_old_runc = Some(shares_to_millis(weight_to_shares_old(w)));
        }
        if let Some(stat) = read(dir, CPU_STAT) {
            info.nr_periods = keyed(&stat, "nr_periods");
            info.nr_throttled = keyed(&stat, "nr_throttled");
            info.throttled_usec = keyed(&stat, "throttled_usec");
        }
    }
    if let Some(dir) = &loc.memory {
        info.memory_limit = read(dir, V2_MEM_MAX).and_then(|t| parse_max(&t));
        info.memory_usage = read_u64(read, dir, V2_MEM_CURRENT);
        info.memory_pressure = read(dir, V2_MEM_PRESSURE).and_then(|t| parse_pressure(&t));
        if let Some(events) = read(dir, V2_MEM_EVENTS) {
            info.oom = keyed(&events, "oom");
            info.oom_kill = keyed(&events, "oom_kill");
        }
    }
    info.cpu_limit_millis = cpu_limit(info.cpu_quota_us, info.cpu_period_us);
}

fn cpu_limit(quota: Option<Limit>, period: Option<u64>) -> Option<Limit> {
    match (quota?, period?) {
        (Limit::Unlimited, _) => Some(Limit::Unlimited),
        (_, 0) => None,
        // In u128: a quota written by hand can be any u64, and the millicores must not wrap.
        (Limit::Value(q), p) => {
            let millis = (u128::from(q) * 1000).div_ceil(u128::from(p));
            Some(Limit::Value(u64::try_from(millis).unwrap_or(u64::MAX)))
        }
    }
}

/// The CPU shares podlab writes for a pod's cgroups, from its spec with kubelet's rules (the
/// pod cgroup, each container's leaf, pause's).
pub struct WrittenShares {
    pub pod: u64,
    containers: Vec<(String, u64)>,
}

impl WrittenShares {
    pub fn of(spec: &crate::spec::PodSpec) -> WrittenShares {
        use crate::kube::qos::pod_cgroup_values;
        use crate::kube::resources::{container_cgroup_values, PodResources, MIN_SHARES};
        let resources = PodResources::from_spec(spec);
        let shares = |v: crate::kube::resources::CgroupValues| v.cpu_shares.unwrap_or(MIN_SHARES);
        WrittenShares {
            pod: shares(pod_cgroup_values(&resources)),
            containers: resources
                .containers
                .iter()
                .chain(&resources.init_containers)
                .map(|c| (c.name.clone(), shares(container_cgroup_values(c))))
                .collect(),
        }
    }

    pub fn container(&self, name: &str, is_pause: bool) -> Option<u64> {
        if is_pause {
            return crate::kube::resources::CgroupValues::pause().cpu_shares;
        }
        self.containers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
    }
}

impl CgroupInfo {
    /// On cgroup v2 the request cannot be read back exactly: many requests round to the same
    /// `cpu.weight` (150m and 158m both give 24). When the weight read is the one the shares
    /// podlab wrote give, the request is the one written, compared in the weight domain; a
    /// weight changed by hand keeps the approximate inverse.
    /// `formula`: whose conversion wrote the weight (runc's on leaves, kubelet's on pods).
    pub fn request_as_written(&mut self, written_shares: Option<u64>, formula: WeightFormula) {
        let (Some(weight), Some(shares)) = (self.cpu_weight, written_shares) else {
            return;
        };
        if formula.shares_to_weight(shares) == weight {
            self.cpu_request_millis = Some(shares_to_millis(shares));
            self.cpu_request_source = Some(CpuRequestSource::WeightAsWritten);
        }
    }
}

impl CgroupInfo {
    /// A pod cgroup: on v2 its `cpu.weight` was written by kubelet with its linear line, so the
    /// request is read back with that line's inverse, not runc's.
    pub fn as_pod_cgroup(&mut self) {
        if self.cpu_weight.is_some() {
            self.cpu_request_millis = self.cpu_request_millis_old_runc;
            self.cpu_request_source = Some(CpuRequestSource::WeightKubelet);
        }
    }
}

/// Inverse of kubelet's `MilliCPUToShares` (shares = m * 1024 / 1000, floored): rounding up
/// gives back the request that was written.
pub fn shares_to_millis(shares: u64) -> u64 {
    // In u128: any u64 may be read from the file; the result is smaller than `shares`·1000/1024.
    u64::try_from((u128::from(shares) * 1000).div_ceil(1024)).unwrap_or(u64::MAX)
}

/// Inverse of runc ≤ 1.3.1's `1 + ((shares - 2) * 9999) / 262142`.
pub fn weight_to_shares_old(weight: u64) -> u64 {
    // The kernel accepts weights up to 10000; anything above reads as the maximum.
    let weight = weight.min(10_000);
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

/// The avg10 values of a `*.pressure` file:
/// `some avg10=1.23 avg60=0.50 avg300=0.10 total=12345` and the same for `full`.
fn parse_pressure(text: &str) -> Option<Pressure> {
    let avg10 = |kind: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(kind)?.strip_prefix(' '))
            .and_then(|rest| {
                rest.split_whitespace()
                    .find_map(|f| f.strip_prefix("avg10="))
            })
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    Some(Pressure {
        some_avg10: avg10("some")?,
        full_avg10: avg10("full"),
    })
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

fn read_u64(read: &mut ReadCgroupFile<'_>, dir: &Path, file: &str) -> Option<u64> {
    read(dir, file)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_is_located_by_its_path_on_both_layouts() {
        let v1 = tempfile::tempdir().unwrap();
        for mount in ["memory", "cpu,cpuacct", "pids"] {
            std::fs::create_dir(v1.path().join(mount)).unwrap();
        }
        let reader = CgroupReader::new(v1.path());
        let loc = reader.locate_path("/podlab/kubepods/pod1").unwrap();
        assert_eq!(loc.version, 1);
        assert_eq!(loc.path, "/podlab/kubepods/pod1");
        let under = |mount: &str| Some(v1.path().join(mount).join("podlab/kubepods/pod1"));
        assert_eq!(loc.memory, under("memory"));
        assert_eq!(loc.cpu, under("cpu,cpuacct"));
        assert_eq!(loc.pids, under("pids"));

        let v2 = tempfile::tempdir().unwrap();
        std::fs::write(v2.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        let loc = CgroupReader::new(v2.path())
            .locate_path("/podlab/kubepods/pod1")
            .unwrap();
        let dir = Some(v2.path().join("podlab/kubepods/pod1"));
        assert_eq!(
            (loc.version, &loc.cpu, &loc.memory, &loc.pids),
            (2, &dir, &dir, &dir)
        );
    }

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

    /// Found by fuzzing (fuzz/, target cgroup_files): values near u64::MAX in cpu.cfs_quota_us,
    /// cpu.shares or cpu.weight overflowed the conversions to millicores.
    #[test]
    fn huge_values_do_not_overflow() {
        assert_eq!(
            cpu_limit(Some(Limit::Value(u64::MAX)), Some(1)),
            Some(Limit::Value(u64::MAX))
        );
        assert_eq!(
            cpu_limit(Some(Limit::Value(u64::MAX)), Some(100_000)),
            Some(Limit::Value(184_467_440_737_095_517))
        );
        assert_eq!(shares_to_millis(u64::MAX), 18_014_398_509_481_984_000);
        assert_eq!(weight_to_shares_old(u64::MAX), weight_to_shares_old(10_000));
        assert_eq!(weight_to_shares_new(u64::MAX), 262_144);
        let loc = CgroupLocation {
            version: 1,
            path: "/p".into(),
            cpu: Some(PathBuf::from("/cpu")),
            memory: None,
            pids: None,
        };
        let max = u64::MAX.to_string();
        let info = info_from_files(&loc, &mut |_: &Path, file: &str| match file {
            V1_CFS_QUOTA => Some("9223372036854775807".to_string()),
            V1_CFS_PERIOD => Some("1".to_string()),
            V1_SHARES => Some(max.clone()),
            _ => None,
        });
        assert_eq!(info.cpu_limit_millis, Some(Limit::Value(u64::MAX)));
        assert!(info.cpu_request_millis.is_some());
    }

    #[test]
    fn pressure_files() {
        let cpu = "some avg10=12.50 avg60=3.00 avg300=0.61 total=123456\n\
                   full avg10=10.25 avg60=2.00 avg300=0.50 total=100000\n";
        assert_eq!(
            parse_pressure(cpu),
            Some(Pressure {
                some_avg10: 12.5,
                full_avg10: Some(10.25)
            })
        );
        // Before Linux 5.13 cpu.pressure has no "full" line.
        let old = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(
            parse_pressure(old),
            Some(Pressure {
                some_avg10: 0.0,
                full_avg10: None
            })
        );
        assert_eq!(parse_pressure(""), None);
        assert_eq!(parse_pressure("some avg10=NaN\n"), None);
        assert_eq!(parse_pressure("something avg10=1.0\n"), None);
    }

    #[test]
    fn keyed_values() {
        let t = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(t, "oom_kill"), Some(3));
        assert_eq!(keyed(t, "oom"), None);
    }
}
