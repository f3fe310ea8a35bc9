//! CPU and memory values as kubelet writes them into cgroups (`cm/helpers_linux.go`,
//! `kuberuntime_container_linux.go`), and runc's conversion of CPU shares to a cgroup v2 weight.
//!
//! Amounts come in already converted: CPU in millicores (`Quantity::milli_value`), memory in
//! bytes (`Quantity::value`), `None` where the manifest says nothing.

use crate::i18n::Text;
use crate::spec::{Container, ContainerRestartPolicy, PodSpec, ResourceList};

/// The smallest `cpu.shares` the kernel accepts; also what a pod or container with no CPU
/// request gets.
pub const MIN_SHARES: u64 = 2;
/// The largest `cpu.shares` the kernel accepts (`MAX_SHARES`, 1 << 18).
pub const MAX_SHARES: u64 = 262_144;
/// `cpu.shares` of one whole CPU.
pub const SHARES_PER_CPU: u64 = 1024;
pub const MILLI_CPU_PER_CPU: i64 = 1000;
/// The CFS period kubelet uses: 100ms.
pub const QUOTA_PERIOD_US: u64 = 100_000;
/// The kernel refuses a CFS quota below 1ms.
pub const MIN_QUOTA_US: i64 = 1000;
/// `cpu.cfs_quota_us` value meaning "no limit" (written as `max` in cgroup v2 `cpu.max`).
pub const NO_QUOTA: i64 = -1;
/// cgroup v2 `cpu.weight` range.
pub const MIN_WEIGHT: u64 = 1;
pub const MAX_WEIGHT: u64 = 10_000;

/// CPU and memory of one container or of the whole pod, as numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceAmounts {
    /// Millicores (`250m` → 250, `1` → 1000).
    pub cpu_millis: Option<i64>,
    /// Bytes (`64Mi` → 67108864).
    pub memory_bytes: Option<i64>,
}

impl ResourceAmounts {
    pub const NONE: ResourceAmounts = ResourceAmounts {
        cpu_millis: None,
        memory_bytes: None,
    };

    pub fn new(cpu_millis: Option<i64>, memory_bytes: Option<i64>) -> ResourceAmounts {
        ResourceAmounts {
            cpu_millis,
            memory_bytes,
        }
    }

    /// The CPU amount, absent counting as zero (like `ResourceList.Cpu()` in Go).
    pub fn cpu(&self) -> i64 {
        self.cpu_millis.unwrap_or(0)
    }

    /// The memory amount, absent counting as zero (like `ResourceList.Memory()` in Go).
    pub fn memory(&self) -> i64 {
        self.memory_bytes.unwrap_or(0)
    }
}

/// Requests and limits of one container, as numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerResources {
    pub name: String,
    pub requests: ResourceAmounts,
    pub limits: ResourceAmounts,
    /// An init container with `restartPolicy: Always` (a native sidecar): it keeps running next
    /// to the app containers, so its resources add up with theirs.
    pub sidecar: bool,
}

impl ContainerResources {
    pub fn new(
        name: &str,
        requests: ResourceAmounts,
        limits: ResourceAmounts,
    ) -> ContainerResources {
        ContainerResources {
            name: name.to_string(),
            requests,
            limits,
            sidecar: false,
        }
    }

    /// The API server's defaulting: a resource with a limit but no request gets request = limit.
    /// podlab has no API server, so this is applied when a manifest is read.
    pub fn with_defaulted_requests(mut self) -> ContainerResources {
        if self.requests.cpu_millis.is_none() {
            self.requests.cpu_millis = self.limits.cpu_millis;
        }
        if self.requests.memory_bytes.is_none() {
            self.requests.memory_bytes = self.limits.memory_bytes;
        }
        self
    }
}

/// Requests and limits of every container of a pod, as numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodResources {
    pub containers: Vec<ContainerResources>,
    pub init_containers: Vec<ContainerResources>,
    /// `spec.resources` (PodLevelResources), with the API server's defaulting of requests
    /// from limits; None when the pod sets none.
    pub pod_level: Option<PodLevel>,
}

/// A pod's own requests and limits (`spec.resources`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodLevel {
    pub requests: ResourceAmounts,
    pub limits: ResourceAmounts,
}

impl PodResources {
    /// kubelet's `getCPULimit` / `getMemoryLimit` (`kuberuntime_container_linux.go`): a
    /// container with no limit of its own runs under the pod-level limit, so its leaf gets it.
    pub fn effective_container(&self, container: &ContainerResources) -> ContainerResources {
        let mut c = container.clone();
        if let Some(pod) = &self.pod_level {
            c.limits.cpu_millis = c.limits.cpu_millis.or(pod.limits.cpu_millis);
            c.limits.memory_bytes = c.limits.memory_bytes.or(pod.limits.memory_bytes);
        }
        c
    }
}

impl PodResources {
    pub fn find(&self, name: &str) -> Option<&ContainerResources> {
        self.containers
            .iter()
            .chain(self.init_containers.iter())
            .find(|c| c.name == name)
    }
}

impl ResourceAmounts {
    /// CPU via `milli_value`, memory via `value`, both rounded up like kubelet's.
    pub fn from_list(list: &ResourceList) -> ResourceAmounts {
        ResourceAmounts {
            cpu_millis: list.cpu.as_ref().map(|q| q.milli_value()),
            memory_bytes: list.memory.as_ref().map(|q| q.value()),
        }
    }
}

impl ContainerResources {
    /// The numbers of a manifest container, with the API server's request defaulting applied.
    pub fn from_container(container: &Container, is_init: bool) -> ContainerResources {
        ContainerResources {
            name: container.name.clone(),
            requests: ResourceAmounts::from_list(&container.resources.requests),
            limits: ResourceAmounts::from_list(&container.resources.limits),
            sidecar: is_init && container.restart_policy == Some(ContainerRestartPolicy::Always),
        }
        .with_defaulted_requests()
    }
}

impl PodResources {
    pub fn from_spec(spec: &PodSpec) -> PodResources {
        let pod_level = spec.resources.as_ref().and_then(|r| {
            let limits = ResourceAmounts::from_list(&r.limits);
            let mut requests = ResourceAmounts::from_list(&r.requests);
            requests.cpu_millis = requests.cpu_millis.or(limits.cpu_millis);
            requests.memory_bytes = requests.memory_bytes.or(limits.memory_bytes);
            let level = PodLevel { requests, limits };
            (level != PodLevel::default()).then_some(level)
        });
        PodResources {
            pod_level,
            containers: spec
                .containers
                .iter()
                .map(|c| ContainerResources::from_container(c, false))
                .collect(),
            init_containers: spec
                .init_containers
                .iter()
                .map(|c| ContainerResources::from_container(c, true))
                .collect(),
        }
    }
}

/// Values for one cgroup; `None` leaves the kernel's default in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupValues {
    /// cgroup v1 `cpu.shares`; on v2 turned into `cpu.weight` with [`WEIGHT_FORMULA_IN_USE`].
    pub cpu_shares: Option<u64>,
    /// `cpu.cfs_quota_us` / first field of `cpu.max`; [`NO_QUOTA`] means unlimited.
    pub cpu_quota_us: Option<i64>,
    /// `cpu.cfs_period_us` / second field of `cpu.max`.
    pub cpu_period_us: Option<u64>,
    /// `memory.limit_in_bytes` / `memory.max`.
    pub memory_limit_bytes: Option<i64>,
    /// cgroup v2 `memory.oom.group`: an OOM kill takes the whole container, not one process.
    /// kubelet asks for it on every container on cgroup v2 (unless `singleProcessOOMKill`).
    pub oom_group: bool,
    /// `pids.max`: the most processes and threads the cgroup may hold. Only the pod cgroup
    /// gets one (kubelet's `podPidsLimit`, see [`pod_pids_limit`]).
    pub pids_limit: Option<i64>,
    /// No swap (kubelet's default swap behaviour, NoSwap, for every container): v2
    /// `memory.swap.max` = 0; v1 `memory.memsw.limit_in_bytes` = the memory limit, so memory
    /// plus swap may not exceed memory alone. Only where the kernel has the file (swap
    /// accounting), as kubelet checks.
    pub no_swap: bool,
    /// No huge pages: `hugetlb.<size>.max` = 0 for every page size the kernel offers, where
    /// the hugetlb controller is there. kubelet asks for it for every container and the pod
    /// when nothing requests `hugepages-<size>` (`GetHugepageLimitsFromResources`).
    pub no_hugetlb: bool,
    /// Who turns `cpu_shares` into a v2 `cpu.weight`: runc for container leaves (the OCI spec
    /// speaks in shares), kubelet itself for the pod and QoS cgroups, each with its own formula.
    pub weight_formula: WeightFormula,
}

impl CgroupValues {
    /// The pause container's leaf: the minimum CPU shares, nothing else (containerd gives the
    /// sandbox no requests or limits).
    pub fn pause() -> CgroupValues {
        CgroupValues {
            cpu_shares: Some(MIN_SHARES),
            ..CgroupValues::default()
        }
    }

    /// A QoS tier (`kubepods/burstable`, `kubepods/besteffort`): CPU shares only, written by
    /// kubelet (`setCPUCgroupConfig`), so on v2 with kubelet's own linear weight.
    pub fn qos_tier(shares: u64) -> CgroupValues {
        CgroupValues {
            cpu_shares: Some(shares),
            weight_formula: KUBELET_WEIGHT_FORMULA,
            ..CgroupValues::default()
        }
    }

    /// The `cpu.weight` these values give on cgroup v2 (None: no shares to write).
    pub fn cpu_weight(&self) -> Option<u64> {
        self.cpu_shares
            .map(|shares| self.weight_formula.shares_to_weight(shares))
    }
}

/// kubelet's `setCPUCgroupConfig` for the burstable tier: the shares of the sum of the CPU
/// requests of every burstable pod on the node (no pod: the minimum, 2).
pub fn burstable_tier_shares(cpu_requests_millis: impl IntoIterator<Item = i64>) -> u64 {
    let sum = cpu_requests_millis
        .into_iter()
        .fold(0i64, |sum, m| sum.saturating_add(m.max(0)));
    milli_cpu_to_shares(sum)
}

/// podlab's `podPidsLimit` (kubelet's `--pod-max-pids`): the most processes and threads one
/// pod may have. kubelet's default is -1, no limit; podlab sets one so that a fork bomb in a
/// lesson stops at its pod (fork gets EAGAIN) instead of filling the learner's machine.
pub const POD_PIDS_LIMIT: i64 = 1024;

/// kubelet's rule for `podPidsLimit` (`pod_container_manager_linux.go`): a positive value is
/// written to the pod cgroup's `pids.max`; zero or -1 leaves the pod unlimited.
pub fn pod_pids_limit(pod_max_pids: i64) -> Option<i64> {
    (pod_max_pids > 0).then_some(pod_max_pids)
}

/// kubelet's `MilliCPUToShares`: 0 → 2, else m*1024/1000 clamped to [2, 262144].
pub fn milli_cpu_to_shares(milli_cpu: i64) -> u64 {
    if milli_cpu <= 0 {
        // Zero would mean "unset" (1024) to the runtime; 2 is what zero CPU really means.
        return MIN_SHARES;
    }
    let shares = i128::from(milli_cpu) * i128::from(SHARES_PER_CPU) / i128::from(MILLI_CPU_PER_CPU);
    shares.clamp(i128::from(MIN_SHARES), i128::from(MAX_SHARES)) as u64
}

/// kubelet's `MilliCPUToQuota`: no limit → [`NO_QUOTA`]; else m*period/1000, at least 1ms.
pub fn milli_cpu_to_quota(milli_cpu: i64, period_us: u64) -> i64 {
    if milli_cpu <= 0 {
        return NO_QUOTA;
    }
    let quota = i128::from(milli_cpu) * i128::from(period_us) / i128::from(MILLI_CPU_PER_CPU);
    quota.clamp(i128::from(MIN_QUOTA_US), i128::from(i64::MAX)) as i64
}

/// kubelet's `sharesToMilliCPU`, for display: ceil(shares*1000/1024), 0 below the minimum.
pub fn shares_to_milli_cpu(shares: u64) -> i64 {
    if shares < MIN_SHARES {
        return 0;
    }
    let numerator = u128::from(shares) * MILLI_CPU_PER_CPU as u128;
    numerator
        .div_ceil(u128::from(SHARES_PER_CPU))
        .min(i64::MAX as u128) as i64
}

/// kubelet's `quotaToMilliCPU`, for display: quota*1000/period, 0 when unlimited.
pub fn quota_to_milli_cpu(quota_us: i64, period_us: u64) -> i64 {
    if quota_us <= 0 || period_us == 0 {
        return 0;
    }
    let milli = i128::from(quota_us) * i128::from(MILLI_CPU_PER_CPU) / i128::from(period_us);
    milli.min(i128::from(i64::MAX)) as i64
}

/// The cgroup values kubelet asks the runtime to set for one container.
pub fn container_cgroup_values(container: &ContainerResources) -> CgroupValues {
    let request = container.requests.cpu();
    let limit = container.limits.cpu();
    // kubelet repeats the API server's defaulting here: no CPU request but a limit → shares
    // from the limit.
    let shares_from = if request == 0 && limit != 0 {
        limit
    } else {
        request
    };
    let memory_limit = container.limits.memory();
    CgroupValues {
        cpu_shares: Some(milli_cpu_to_shares(shares_from)),
        cpu_quota_us: Some(milli_cpu_to_quota(limit, QUOTA_PERIOD_US)),
        cpu_period_us: Some(QUOTA_PERIOD_US),
        memory_limit_bytes: (memory_limit != 0).then_some(memory_limit),
        oom_group: true,
        pids_limit: None,
        no_swap: true,
        no_hugetlb: true,
        weight_formula: WEIGHT_FORMULA_IN_USE,
    }
}

/// How a v1 `cpu.shares` value becomes a v2 `cpu.weight`. The OCI spec speaks in shares, so
/// runc (and crun) convert; the formula changed in runc 1.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormula {
    /// runc ≤ 1.3.1: `1 + ((shares-2)*9999)/262142`. Maps 1024 shares (one CPU) to 39.
    /// kubelet's own `CpuSharesToCpuWeight` (`pkg/kubelet/cm/cgroup_manager_linux.go`) is the
    /// same line, still in 1.35, for the cgroups it writes itself.
    Linear,
    /// runc ≥ 1.3.2: `ceil(10^((l²+125l)/612 − 7/34))`, l = log2(shares). Maps 2 → 1,
    /// 1024 → 100, 262144 → 10000.
    #[default]
    Logarithmic,
}

/// podlab writes a container leaf's `cpu.weight` the way the runc of a Kubernetes 1.35 node
/// does (containerd 2.2 ships runc ≥ 1.3.2; crun ≥ 1.23 agrees): the logarithmic curve maps one
/// CPU's 1024 shares to weight 100, the v2 default, so a container requesting one CPU competes
/// like an ordinary process — the linear formula gave it only 39.
pub const WEIGHT_FORMULA_IN_USE: WeightFormula = WeightFormula::Logarithmic;

/// The pod cgroup and the QoS tiers are written by kubelet itself, not by runc, with its own
/// linear `CpuSharesToCpuWeight`: on a 1.35 node a pod requesting one CPU shows weight 39 on
/// `pod<UID>/cpu.weight` and 100 on its container's leaf.
pub const KUBELET_WEIGHT_FORMULA: WeightFormula = WeightFormula::Linear;

impl WeightFormula {
    pub fn shares_to_weight(self, shares: u64) -> u64 {
        match self {
            WeightFormula::Linear => weight_linear(shares),
            WeightFormula::Logarithmic => weight_log(shares),
        }
    }

    /// The inverse, for display (the logarithmic one rounds, so it is approximate).
    pub fn weight_to_shares(self, weight: u64) -> u64 {
        match self {
            WeightFormula::Linear => shares_from_weight_linear(weight),
            WeightFormula::Logarithmic => shares_from_weight_log(weight),
        }
    }

    /// Millicores a `cpu.weight` stands for, for display.
    pub fn weight_to_milli_cpu(self, weight: u64) -> i64 {
        shares_to_milli_cpu(self.weight_to_shares(weight))
    }

    pub fn formula(self) -> &'static str {
        match self {
            WeightFormula::Linear => "weight = 1 + ((shares - 2) * 9999) / 262142",
            WeightFormula::Logarithmic => {
                "weight = ceil(10^((l² + 125·l) / 612 − 7/34)), l = log2(shares)"
            }
        }
    }

    /// Who uses this formula on a 1.35 node, for the narration.
    pub fn writer(self) -> Text {
        match self {
            WeightFormula::Linear => Text::new(
                "kubelet's linear CpuSharesToCpuWeight",
                "kubelet 自己的线性换算 CpuSharesToCpuWeight",
            ),
            WeightFormula::Logarithmic => Text::new("runc ≥ 1.3.2", "runc ≥ 1.3.2"),
        }
    }

    pub fn description(self) -> Text {
        match self {
            WeightFormula::Linear => Text::new(
                "runc up to 1.3.1 converts cpu.shares to cpu.weight linearly: one CPU (1024 shares) becomes weight 39",
                "runc 1.3.1 及更早版本把 cpu.shares 线性换算成 cpu.weight：一个 CPU（1024 shares）变成权重 39",
            ),
            WeightFormula::Logarithmic => Text::new(
                "runc 1.3.2 and later convert cpu.shares to cpu.weight on a log curve: one CPU (1024 shares) becomes weight 100, the cgroup v2 default",
                "runc 1.3.2 及更新版本按对数曲线把 cpu.shares 换算成 cpu.weight：一个 CPU（1024 shares）变成权重 100，即 cgroup v2 的默认值",
            ),
        }
    }
}

/// runc ≤ 1.3.1: `1 + ((shares-2)*9999)/262142`; 0 (unset) stays 0.
pub fn weight_linear(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(MIN_SHARES, MAX_SHARES);
    1 + ((shares - MIN_SHARES) * 9999) / (MAX_SHARES - MIN_SHARES)
}

/// runc ≥ 1.3.2: `ceil(10^((l²+125l)/612 − 7/34))`, l = log2(shares); ≤2 → 1, ≥262144 → 10000;
/// 0 (unset) stays 0.
pub fn weight_log(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= MIN_SHARES {
        return MIN_WEIGHT;
    }
    if shares >= MAX_SHARES {
        return MAX_WEIGHT;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    (10f64.powf(exponent).ceil() as u64).clamp(MIN_WEIGHT, MAX_WEIGHT)
}

/// Inverse of [`weight_linear`] as kubelet reads a v2 cgroup back (`cpuWeightToCPUShares`):
/// `((weight-1)*262142)/9999 + 2`. It rounds down, so the round trip can lose a little
/// (100m → 102 shares → weight 4 → 80 shares).
pub fn shares_from_weight_linear(weight: u64) -> u64 {
    if weight == 0 {
        return 0;
    }
    let weight = weight.clamp(MIN_WEIGHT, MAX_WEIGHT);
    ((weight - 1) * (MAX_SHARES - MIN_SHARES)) / 9999 + MIN_SHARES
}

/// Inverse of [`weight_log`]: the largest shares that give `weight` (the curve rounds up, so
/// weight w stands for the shares just above w-1's up to w's). Solves
/// l² + 125l − 612(log10 w + 7/34) = 0 for l, then steps to the exact boundary.
pub fn shares_from_weight_log(weight: u64) -> u64 {
    if weight == 0 {
        return 0;
    }
    if weight <= MIN_WEIGHT {
        return MIN_SHARES;
    }
    if weight >= MAX_WEIGHT {
        return MAX_SHARES;
    }
    let c = 612.0 * ((weight as f64).log10() + 7.0 / 34.0);
    let l = (-125.0 + (125.0f64 * 125.0 + 4.0 * c).sqrt()) / 2.0;
    let mut shares = (2f64.powf(l).floor() as u64).clamp(MIN_SHARES, MAX_SHARES);
    while shares > MIN_SHARES && weight_log(shares) > weight {
        shares -= 1;
    }
    while shares < MAX_SHARES && weight_log(shares + 1) <= weight {
        shares += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_pids_limit_like_kubelet() {
        assert_eq!(pod_pids_limit(POD_PIDS_LIMIT), Some(1024));
        assert_eq!(pod_pids_limit(1), Some(1));
        // kubelet: 0 and -1 (its default) mean no limit.
        assert_eq!(pod_pids_limit(0), None);
        assert_eq!(pod_pids_limit(-1), None);
    }

    // Cases from kubelet's helpers_linux_test.go (TestMilliCPUToQuota / TestMilliCPUToShares).
    #[test]
    fn milli_cpu_to_shares_matches_kubelet() {
        let cases = [
            (0, 2),
            (1, 2),
            (9, 9),
            (10, 10),
            (100, 102),
            (200, 204),
            (1000, 1024),
            (4000, 4096),
            (256_000, 262_144),
            (262_144_000, 262_144),
            (-5, 2),
            (i64::MAX, 262_144),
        ];
        for (milli, want) in cases {
            assert_eq!(
                milli_cpu_to_shares(milli),
                want,
                "milli_cpu_to_shares({milli})"
            );
        }
    }

    #[test]
    fn milli_cpu_to_quota_matches_kubelet() {
        let cases = [
            (0, 100_000, NO_QUOTA),
            (5, 100_000, 1000),
            (9, 100_000, 1000),
            (10, 100_000, 1000),
            (200, 100_000, 20_000),
            (500, 100_000, 50_000),
            (1000, 100_000, 100_000),
            (1500, 100_000, 150_000),
            (1500, 50_000, 75_000),
            (-1, 100_000, NO_QUOTA),
        ];
        for (milli, period, want) in cases {
            assert_eq!(
                milli_cpu_to_quota(milli, period),
                want,
                "milli_cpu_to_quota({milli}, {period})"
            );
        }
    }

    #[test]
    fn shares_and_quota_back_to_millicores() {
        assert_eq!(shares_to_milli_cpu(0), 0);
        assert_eq!(shares_to_milli_cpu(2), 2);
        assert_eq!(shares_to_milli_cpu(102), 100);
        assert_eq!(shares_to_milli_cpu(1024), 1000);
        assert_eq!(quota_to_milli_cpu(NO_QUOTA, 100_000), 0);
        assert_eq!(quota_to_milli_cpu(50_000, 100_000), 500);
        assert_eq!(quota_to_milli_cpu(1000, 100_000), 10);
    }

    // Cases from opencontainers/cgroups utils_test.go (both the old and the new conversion).
    #[test]
    fn weight_linear_matches_runc_1_3_1() {
        let cases = [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 1),
            (1024, 39),
            (262_143, 9999),
            (262_144, 10_000),
            (262_145, 10_000),
        ];
        for (shares, want) in cases {
            assert_eq!(weight_linear(shares), want, "weight_linear({shares})");
        }
    }

    #[test]
    fn weight_log_matches_runc_1_3_2() {
        let cases = [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (102, 17),
            (1024, 100),
            (2048, 174),
            (262_143, 10_000),
            (262_144, 10_000),
            (262_145, 10_000),
        ];
        for (shares, want) in cases {
            assert_eq!(weight_log(shares), want, "weight_log({shares})");
        }
    }

    #[test]
    fn weight_inverses_round_trip() {
        for shares in [2u64, 3, 10, 102, 512, 1024, 2048, 4096, 100_000, 262_144] {
            let formula = WeightFormula::Logarithmic;
            let weight = formula.shares_to_weight(shares);
            let back = formula.weight_to_shares(weight);
            assert_eq!(
                formula.shares_to_weight(back),
                weight,
                "shares {shares} → weight {weight} → shares {back}"
            );
        }
        // kubelet's own lossy read-back on v2 (TestCPUSharesEqualAfterV2RoundTrip).
        assert_eq!(
            WeightFormula::Linear.weight_to_shares(weight_linear(milli_cpu_to_shares(100))),
            80
        );
        assert_eq!(
            WeightFormula::Linear.weight_to_shares(weight_linear(milli_cpu_to_shares(50))),
            28
        );
        assert_eq!(WeightFormula::Logarithmic.weight_to_shares(100), 1024);
        assert_eq!(WeightFormula::Logarithmic.weight_to_milli_cpu(100), 1000);
        assert_eq!(WeightFormula::Linear.weight_to_shares(1), 2);
        assert_eq!(WeightFormula::Linear.weight_to_shares(10_000), 262_144);
    }

    #[test]
    fn container_values_follow_kuberuntime() {
        let mi = 1024 * 1024;
        // (requests, limits) → (shares, quota, memory)
        let cases = [
            (
                ResourceAmounts::NONE,
                ResourceAmounts::NONE,
                2,
                NO_QUOTA,
                None,
            ),
            (
                ResourceAmounts::new(Some(250), Some(64 * mi)),
                ResourceAmounts::NONE,
                256,
                NO_QUOTA,
                None,
            ),
            (
                ResourceAmounts::NONE,
                ResourceAmounts::new(Some(500), Some(128 * mi)),
                512,
                50_000,
                Some(128 * mi),
            ),
            (
                ResourceAmounts::new(Some(0), None),
                ResourceAmounts::new(Some(500), None),
                512,
                50_000,
                None,
            ),
            (
                ResourceAmounts::new(Some(100), Some(mi)),
                ResourceAmounts::new(Some(1000), Some(2 * mi)),
                102,
                100_000,
                Some(2 * mi),
            ),
        ];
        for (requests, limits, shares, quota, memory) in cases {
            let values = container_cgroup_values(&ContainerResources::new("c", requests, limits));
            assert_eq!(values.cpu_shares, Some(shares), "{requests:?} {limits:?}");
            assert_eq!(values.cpu_quota_us, Some(quota), "{requests:?} {limits:?}");
            assert_eq!(values.cpu_period_us, Some(QUOTA_PERIOD_US));
            assert_eq!(values.memory_limit_bytes, memory, "{requests:?} {limits:?}");
        }
    }

    /// A 1.35 node: a container requesting one CPU has leaf weight 100 (runc ≥ 1.3.2) and its
    /// pod cgroup weight 39 (kubelet's `CpuSharesToCpuWeight`, TestCpuSharesToCpuWeight).
    #[test]
    fn leaf_and_pod_weights_differ_like_a_1_35_node() {
        let one_cpu = ResourceAmounts::new(Some(1000), None);
        let leaf = container_cgroup_values(&ContainerResources::new("c", one_cpu, one_cpu));
        assert_eq!(leaf.cpu_weight(), Some(100));
        assert_eq!(KUBELET_WEIGHT_FORMULA.shares_to_weight(1024), 39);
        assert_eq!(CgroupValues::qos_tier(1024).cpu_weight(), Some(39));
        // kubelet's own cases.
        for (shares, weight) in [(2, 1), (3, 1), (1024, 39), (262_144, 10_000)] {
            assert_eq!(KUBELET_WEIGHT_FORMULA.shares_to_weight(shares), weight);
        }
        assert!(leaf.no_hugetlb);
        assert!(!CgroupValues::pause().no_hugetlb);
    }

    /// `setCPUCgroupConfig`: the burstable tier's shares are those of the summed requests.
    #[test]
    fn burstable_tier_shares_from_the_sum_of_requests() {
        assert_eq!(burstable_tier_shares([]), 2);
        assert_eq!(burstable_tier_shares([500]), 512);
        assert_eq!(burstable_tier_shares([500, 250, 0]), 768);
        assert_eq!(burstable_tier_shares([i64::MAX, i64::MAX]), 262_144);
    }

    #[test]
    fn defaulting_copies_limits_into_missing_requests() {
        let c = ContainerResources::new(
            "c",
            ResourceAmounts::new(Some(100), None),
            ResourceAmounts::new(Some(200), Some(5)),
        )
        .with_defaulted_requests();
        assert_eq!(c.requests, ResourceAmounts::new(Some(100), Some(5)));
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;
    use crate::spec::quantity::Quantity;
    use crate::spec::ResourceRequirements;

    fn list(cpu: Option<&str>, memory: Option<&str>) -> ResourceList {
        let parse = |s: &str| Quantity::parse(s).ok();
        ResourceList {
            cpu: cpu.and_then(parse),
            memory: memory.and_then(parse),
        }
    }

    #[test]
    fn manifest_quantities_become_numbers() {
        let container = Container {
            name: "app".into(),
            resources: ResourceRequirements {
                requests: list(Some("250m"), None),
                limits: list(Some("0.5"), Some("64Mi")),
            },
            restart_policy: Some(ContainerRestartPolicy::Always),
            ..Container::default()
        };
        let spec = PodSpec {
            containers: vec![container.clone()],
            init_containers: vec![container],
            ..PodSpec::default()
        };
        let pod = PodResources::from_spec(&spec);
        assert_eq!(
            pod.containers[0].requests,
            ResourceAmounts::new(Some(250), Some(64 * 1024 * 1024))
        );
        assert_eq!(
            pod.containers[0].limits,
            ResourceAmounts::new(Some(500), Some(64 * 1024 * 1024))
        );
        assert!(!pod.containers[0].sidecar);
        assert!(pod.init_containers[0].sidecar);
    }
}
