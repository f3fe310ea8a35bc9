//! QoS class (`pkg/apis/core/v1/helper/qos/qos.go`) and the pod-level cgroup values that follow
//! from it (`cm/helpers_linux.go` `ResourceConfigForPod`).

use serde::{Deserialize, Serialize};

use super::resources::{
    milli_cpu_to_quota, milli_cpu_to_shares, CgroupValues, ContainerResources, PodResources,
    ResourceAmounts, KUBELET_WEIGHT_FORMULA, MIN_SHARES, QUOTA_PERIOD_US,
};
use crate::i18n::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }

    /// The directory between `kubepods` and `pod<UID>`: Guaranteed pods sit directly under
    /// `kubepods`.
    pub fn cgroup_dir(self) -> Option<&'static str> {
        match self {
            QosClass::Guaranteed => None,
            QosClass::Burstable => Some("burstable"),
            QosClass::BestEffort => Some("besteffort"),
        }
    }

    pub fn explanation(self) -> Text {
        match self {
            QosClass::Guaranteed => Text::new(
                "every container sets CPU and memory limits equal to its requests: last to be OOM-killed",
                "每个容器都设置了 CPU 和内存的 limits，且与 requests 相等：最后才会被 OOM 杀死",
            ),
            QosClass::Burstable => Text::new(
                "some container requests or limits CPU or memory, but not all equal: may burst above requests",
                "有容器设置了 CPU 或内存的 requests/limits，但不全相等：可以超出 requests 使用资源",
            ),
            QosClass::BestEffort => Text::new(
                "no container requests or limits CPU or memory: first to be OOM-killed",
                "没有任何容器设置 CPU 或内存的 requests/limits：最先被 OOM 杀死",
            ),
        }
    }
}

impl std::fmt::Display for QosClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// kubelet's `GetPodQOS` over app and init containers, cpu and memory only.
pub fn pod_qos(pod: &PodResources) -> QosClass {
    if let Some(level) = &pod.pod_level {
        return pod_level_qos(level);
    }
    let mut requests = ResourceAmounts::NONE;
    let mut limits = ResourceAmounts::NONE;
    let mut is_guaranteed = true;
    for container in pod.containers.iter().chain(pod.init_containers.iter()) {
        requests.add(&positive(container.requests));
        let container_limits = positive(container.limits);
        limits.add(&container_limits);
        // Guaranteed needs a (positive) CPU and memory limit on every container.
        if container_limits.cpu_millis.is_none() || container_limits.memory_bytes.is_none() {
            is_guaranteed = false;
        }
    }
    if requests == ResourceAmounts::NONE && limits == ResourceAmounts::NONE {
        return QosClass::BestEffort;
    }
    // Every requested resource must have the same total limit, and nothing may be limited
    // without being requested.
    let matches = |request: Option<i64>, limit: Option<i64>| request.is_none() || request == limit;
    if is_guaranteed
        && matches(requests.cpu_millis, limits.cpu_millis)
        && matches(requests.memory_bytes, limits.memory_bytes)
        && requests.count() == limits.count()
    {
        return QosClass::Guaranteed;
    }
    QosClass::Burstable
}

/// `ComputePodQOS` with pod-level resources (PodLevelResources): the pod's own requests and
/// limits decide, not the containers'.
fn pod_level_qos(level: &super::resources::PodLevel) -> QosClass {
    let requests = positive(level.requests);
    let limits = positive(level.limits);
    if requests == ResourceAmounts::NONE && limits == ResourceAmounts::NONE {
        return QosClass::BestEffort;
    }
    let both_limited = limits.cpu_millis.is_some() && limits.memory_bytes.is_some();
    if both_limited && requests == limits {
        return QosClass::Guaranteed;
    }
    QosClass::Burstable
}

/// Only amounts above zero count for QoS (`quantity.Cmp(zero) == 1`).
fn positive(amounts: ResourceAmounts) -> ResourceAmounts {
    ResourceAmounts {
        cpu_millis: amounts.cpu_millis.filter(|v| *v > 0),
        memory_bytes: amounts.memory_bytes.filter(|v| *v > 0),
    }
}

impl ResourceAmounts {
    /// `addResourceList`: sums what `other` names, keeping what it does not.
    fn add(&mut self, other: &ResourceAmounts) {
        let sum = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (a, None) => a,
            (a, Some(b)) => Some(a.unwrap_or(0).saturating_add(b)),
        };
        self.cpu_millis = sum(self.cpu_millis, other.cpu_millis);
        self.memory_bytes = sum(self.memory_bytes, other.memory_bytes);
    }

    /// `maxResourceList`: the larger of the two for what `other` names.
    fn max_with(&mut self, other: &ResourceAmounts) {
        let max = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (a, None) => a,
            (None, b) => b,
            (Some(a), Some(b)) => Some(a.max(b)),
        };
        self.cpu_millis = max(self.cpu_millis, other.cpu_millis);
        self.memory_bytes = max(self.memory_bytes, other.memory_bytes);
    }

    fn count(&self) -> usize {
        usize::from(self.cpu_millis.is_some()) + usize::from(self.memory_bytes.is_some())
    }
}

/// What the pod needs at its peak (`PodRequests` / `PodLimits`): app containers and native
/// sidecars add up; a plain init container runs alone (next to the sidecars started before
/// it), so the pod needs the larger of the two. `each` sees every container's contribution.
fn aggregate(
    pod: &PodResources,
    select: impl Fn(&ContainerResources) -> ResourceAmounts,
    mut each: impl FnMut(&ResourceAmounts),
) -> ResourceAmounts {
    let mut total = ResourceAmounts::NONE;
    for container in &pod.containers {
        let amounts = select(container);
        each(&amounts);
        total.add(&amounts);
    }
    let mut sidecars = ResourceAmounts::NONE;
    let mut init_peak = ResourceAmounts::NONE;
    for container in &pod.init_containers {
        let amounts = select(container);
        let while_running = if container.sidecar {
            total.add(&amounts);
            sidecars.add(&amounts);
            sidecars
        } else {
            let mut with_sidecars = amounts;
            with_sidecars.add(&sidecars);
            with_sidecars
        };
        each(&while_running);
        init_peak.max_with(&while_running);
    }
    total.max_with(&init_peak);
    total
}

/// The pod's effective requests (`PodRequests`): a pod-level request wins for its resource.
pub fn pod_requests(pod: &PodResources) -> ResourceAmounts {
    let summed = aggregate(pod, |c| c.requests, |_| {});
    match &pod.pod_level {
        Some(level) => override_with(summed, level.requests),
        None => summed,
    }
}

/// The pod's effective limits (`PodLimits`): a pod-level limit wins for its resource.
pub fn pod_limits(pod: &PodResources) -> ResourceAmounts {
    let summed = aggregate(pod, |c| c.limits, |_| {});
    match &pod.pod_level {
        Some(level) => override_with(summed, level.limits),
        None => summed,
    }
}

fn override_with(summed: ResourceAmounts, pod: ResourceAmounts) -> ResourceAmounts {
    ResourceAmounts {
        cpu_millis: pod.cpu_millis.or(summed.cpu_millis),
        memory_bytes: pod.memory_bytes.or(summed.memory_bytes),
    }
}

/// kubelet's `ResourceConfigForPod` (CFS quota enforced, period 100ms): the values of the
/// `pod<UID>` cgroup.
pub fn pod_cgroup_values(pod: &PodResources) -> CgroupValues {
    let requests = pod_requests(pod);
    let mut cpu_limits_declared = true;
    let mut memory_limits_declared = true;
    let limits = aggregate(
        pod,
        |c| c.limits,
        |amounts| {
            if amounts.cpu() == 0 {
                cpu_limits_declared = false;
            }
            if amounts.memory() == 0 {
                memory_limits_declared = false;
            }
        },
    );
    // `ResourceConfigForPod` with pod-level resources: a pod-level limit is the pod's limit,
    // whatever its containers declare.
    let mut limits = limits;
    if let Some(level) = &pod.pod_level {
        limits = override_with(limits, level.limits);
        cpu_limits_declared |= level.limits.cpu_millis.is_some();
        memory_limits_declared |= level.limits.memory_bytes.is_some();
    }
    let shares = milli_cpu_to_shares(requests.cpu());
    let quota = milli_cpu_to_quota(limits.cpu(), QUOTA_PERIOD_US);
    let memory = limits.memory();
    match pod_qos(pod) {
        QosClass::Guaranteed => CgroupValues {
            cpu_shares: Some(shares),
            cpu_quota_us: Some(quota),
            cpu_period_us: Some(QUOTA_PERIOD_US),
            memory_limit_bytes: Some(memory),
            ..kubelet_pod_values()
        },
        QosClass::Burstable => CgroupValues {
            cpu_shares: Some(shares),
            cpu_quota_us: cpu_limits_declared.then_some(quota),
            cpu_period_us: cpu_limits_declared.then_some(QUOTA_PERIOD_US),
            memory_limit_bytes: memory_limits_declared.then_some(memory),
            ..kubelet_pod_values()
        },
        QosClass::BestEffort => CgroupValues {
            cpu_shares: Some(MIN_SHARES),
            ..kubelet_pod_values()
        },
    }
}

/// What every pod cgroup gets besides CPU and memory: no huge pages (`maybeSetHugetlb`, no pod
/// requests any), and kubelet's own shares-to-weight line, since kubelet writes it itself.
fn kubelet_pod_values() -> CgroupValues {
    CgroupValues {
        no_hugetlb: true,
        weight_formula: KUBELET_WEIGHT_FORMULA,
        ..CgroupValues::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kube::resources::milli_cpu_to_shares;

    pub(crate) const MI: i64 = 1024 * 1024;

    /// `getResourceList("100m", "100Mi")` of kubelet's tests: None for "".
    pub(crate) fn amounts(cpu_millis: Option<i64>, memory_mi: Option<i64>) -> ResourceAmounts {
        ResourceAmounts::new(cpu_millis, memory_mi.map(|m| m * MI))
    }

    pub(crate) fn container(
        requests: ResourceAmounts,
        limits: ResourceAmounts,
    ) -> ContainerResources {
        ContainerResources::new("c", requests, limits)
    }

    pub(crate) fn pod(containers: Vec<ContainerResources>) -> PodResources {
        PodResources {
            containers,
            init_containers: vec![],
            pod_level: None,
        }
    }

    // TestComputePodQOS in kubelet's qos_test.go (the cases without pod-level resources).
    #[test]
    fn qos_matches_kubelet_cases() {
        let none = amounts(None, None);
        let g = |cpu, mem| container(amounts(Some(cpu), Some(mem)), amounts(Some(cpu), Some(mem)));
        let cases: Vec<(&str, PodResources, QosClass)> = vec![
            ("guaranteed", pod(vec![g(100, 100)]), QosClass::Guaranteed),
            (
                "guaranteed-guaranteed",
                pod(vec![g(100, 100), g(100, 100)]),
                QosClass::Guaranteed,
            ),
            (
                "best-effort-best-effort",
                pod(vec![container(none, none), container(none, none)]),
                QosClass::BestEffort,
            ),
            (
                "best-effort",
                pod(vec![container(none, none)]),
                QosClass::BestEffort,
            ),
            (
                "best-effort-burstable",
                pod(vec![
                    container(none, none),
                    container(amounts(Some(1000), None), amounts(Some(2000), None)),
                ]),
                QosClass::Burstable,
            ),
            (
                "best-effort-guaranteed",
                pod(vec![container(none, none), g(10, 100)]),
                QosClass::Burstable,
            ),
            (
                "burstable-cpu-guaranteed-memory",
                pod(vec![container(
                    amounts(None, Some(100)),
                    amounts(None, Some(100)),
                )]),
                QosClass::Burstable,
            ),
            (
                "burstable-no-limits",
                pod(vec![container(amounts(Some(100), Some(100)), none)]),
                QosClass::Burstable,
            ),
            (
                "burstable-guaranteed",
                pod(vec![
                    container(
                        amounts(Some(1000), Some(100)),
                        amounts(Some(2000), Some(100)),
                    ),
                    g(100, 100),
                ]),
                QosClass::Burstable,
            ),
            (
                "burstable-unbounded-but-requests-match-limits",
                pod(vec![
                    container(amounts(Some(100), Some(100)), amounts(Some(200), Some(200))),
                    container(amounts(Some(100), Some(100)), none),
                ]),
                QosClass::Burstable,
            ),
            (
                "burstable-1",
                pod(vec![container(
                    amounts(Some(10), Some(100)),
                    amounts(Some(100), Some(200)),
                )]),
                QosClass::Burstable,
            ),
            (
                "burstable-2",
                pod(vec![container(
                    amounts(Some(0), Some(0)),
                    amounts(Some(100), Some(200)),
                )]),
                QosClass::Burstable,
            ),
            (
                "best-effort-zero",
                pod(vec![container(
                    amounts(Some(0), Some(0)),
                    amounts(Some(0), Some(0)),
                )]),
                QosClass::BestEffort,
            ),
            (
                "init-container",
                PodResources {
                    containers: vec![container(none, none)],
                    init_containers: vec![container(
                        amounts(Some(10), Some(100)),
                        amounts(Some(100), Some(200)),
                    )],
                    pod_level: None,
                },
                QosClass::Burstable,
            ),
            (
                "limits-only-without-defaulting",
                pod(vec![container(none, amounts(Some(100), Some(100)))]),
                QosClass::Burstable,
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(pod_qos(&pod), want, "{name}");
        }
    }

    #[test]
    fn limits_only_is_guaranteed_after_api_defaulting() {
        let c =
            container(amounts(None, None), amounts(Some(100), Some(100))).with_defaulted_requests();
        assert_eq!(pod_qos(&pod(vec![c])), QosClass::Guaranteed);
    }

    // TestResourceConfigForPod in kubelet's helpers_linux_test.go (CFS quota enforced, default
    // period, no pod-level resources).
    #[test]
    fn pod_values_match_kubelet_cases() {
        let none = amounts(None, None);
        let burstable_shares = Some(milli_cpu_to_shares(100));
        let burstable_partial_shares = Some(milli_cpu_to_shares(200));
        let cases: Vec<(&str, PodResources, CgroupValues)> = vec![
            (
                "besteffort",
                pod(vec![container(none, none)]),
                CgroupValues {
                    cpu_shares: Some(2),
                    ..kubelet_pod_values()
                },
            ),
            (
                "burstable-no-limits",
                pod(vec![container(amounts(Some(100), Some(100)), none)]),
                CgroupValues {
                    cpu_shares: burstable_shares,
                    ..kubelet_pod_values()
                },
            ),
            (
                "burstable-with-limits",
                pod(vec![container(
                    amounts(Some(100), Some(100)),
                    amounts(Some(200), Some(200)),
                )]),
                CgroupValues {
                    cpu_shares: burstable_shares,
                    cpu_quota_us: Some(20_000),
                    cpu_period_us: Some(100_000),
                    memory_limit_bytes: Some(200 * MI),
                    ..kubelet_pod_values()
                },
            ),
            (
                "burstable-partial-limits",
                pod(vec![
                    container(amounts(Some(100), Some(100)), amounts(Some(200), Some(200))),
                    container(amounts(Some(100), Some(100)), none),
                ]),
                CgroupValues {
                    cpu_shares: burstable_partial_shares,
                    ..kubelet_pod_values()
                },
            ),
            (
                "guaranteed",
                pod(vec![container(
                    amounts(Some(100), Some(100)),
                    amounts(Some(100), Some(100)),
                )]),
                CgroupValues {
                    cpu_shares: Some(milli_cpu_to_shares(100)),
                    cpu_quota_us: Some(10_000),
                    cpu_period_us: Some(100_000),
                    memory_limit_bytes: Some(100 * MI),
                    ..kubelet_pod_values()
                },
            ),
            (
                // "100m" of memory in kubelet's case is 0.1 byte, rounded up to 1.
                "burstable-partial-limits-with-init-containers",
                PodResources {
                    containers: vec![
                        container(
                            ResourceAmounts::new(Some(100), Some(1)),
                            amounts(Some(100), Some(100)),
                        ),
                        container(ResourceAmounts::new(Some(100), Some(1)), none),
                    ],
                    init_containers: vec![
                        container(
                            ResourceAmounts::new(Some(100), Some(1)),
                            amounts(Some(100), Some(100)),
                        ),
                        container(ResourceAmounts::new(Some(100), Some(1)), none),
                    ],
                    pod_level: None,
                },
                CgroupValues {
                    cpu_shares: burstable_partial_shares,
                    ..kubelet_pod_values()
                },
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(pod_cgroup_values(&pod), want, "{name}");
        }
    }

    #[test]
    fn guaranteed_pod_sums_containers() {
        let g = |cpu, mem| container(amounts(Some(cpu), Some(mem)), amounts(Some(cpu), Some(mem)));
        let values = pod_cgroup_values(&pod(vec![g(250, 64), g(500, 128)]));
        assert_eq!(values.cpu_shares, Some(milli_cpu_to_shares(750)));
        assert_eq!(values.cpu_quota_us, Some(75_000));
        assert_eq!(values.memory_limit_bytes, Some(192 * MI));
    }

    #[test]
    fn init_containers_count_as_max_of_init_and_sum_of_apps() {
        let app =
            |cpu, mem| container(amounts(Some(cpu), Some(mem)), amounts(Some(cpu), Some(mem)));
        // A big init container: the pod needs what it needs while it runs alone.
        let big_init = PodResources {
            containers: vec![app(100, 64), app(100, 64)],
            init_containers: vec![app(500, 32)],
            pod_level: None,
        };
        assert_eq!(pod_requests(&big_init), amounts(Some(500), Some(128)));
        assert_eq!(pod_limits(&big_init), amounts(Some(500), Some(128)));
        assert_eq!(pod_qos(&big_init), QosClass::Guaranteed);
        let values = pod_cgroup_values(&big_init);
        assert_eq!(values.cpu_quota_us, Some(50_000));
        assert_eq!(values.memory_limit_bytes, Some(128 * MI));

        // A native sidecar runs next to the apps, so it adds up with them and with later inits.
        let mut sidecar = app(200, 16);
        sidecar.sidecar = true;
        let with_sidecar = PodResources {
            containers: vec![app(100, 64)],
            init_containers: vec![sidecar, app(250, 8)],
            pod_level: None,
        };
        assert_eq!(pod_requests(&with_sidecar), amounts(Some(450), Some(80)));
    }

    #[test]
    fn burstable_quota_needs_limits_on_init_containers_too() {
        let limited = container(amounts(Some(100), Some(64)), amounts(Some(200), Some(128)));
        let unlimited_init = container(amounts(Some(50), Some(8)), amounts(None, Some(16)));
        let values = pod_cgroup_values(&PodResources {
            containers: vec![limited],
            init_containers: vec![unlimited_init],
            pod_level: None,
        });
        assert_eq!(values.cpu_quota_us, None);
        assert_eq!(values.memory_limit_bytes, Some(128 * MI));
    }

    fn with_pod_level(
        containers: Vec<ContainerResources>,
        requests: ResourceAmounts,
        limits: ResourceAmounts,
    ) -> PodResources {
        let spec_requests = requests;
        PodResources {
            pod_level: Some(crate::kube::resources::PodLevel {
                requests: ResourceAmounts {
                    cpu_millis: spec_requests.cpu_millis.or(limits.cpu_millis),
                    memory_bytes: spec_requests.memory_bytes.or(limits.memory_bytes),
                },
                limits,
            }),
            ..pod(containers)
        }
    }

    /// ComputePodQOS with pod-level resources (cases after kubelet's qos_test.go): the pod's
    /// own values decide, whatever the containers say.
    #[test]
    fn pod_level_resources_decide_the_qos_class() {
        let none = amounts(None, None);
        let bare = || vec![container(none, none)];
        let cases = [
            (
                "requests only",
                with_pod_level(bare(), amounts(Some(100), None), none),
                QosClass::Burstable,
            ),
            (
                "limits only, requests defaulted",
                with_pod_level(bare(), none, amounts(Some(100), Some(100))),
                QosClass::Guaranteed,
            ),
            (
                "equal",
                with_pod_level(
                    bare(),
                    amounts(Some(100), Some(100)),
                    amounts(Some(100), Some(100)),
                ),
                QosClass::Guaranteed,
            ),
            (
                "cpu limit only",
                with_pod_level(bare(), none, amounts(Some(100), None)),
                QosClass::Burstable,
            ),
            (
                "requests below limits",
                with_pod_level(
                    bare(),
                    amounts(Some(50), Some(50)),
                    amounts(Some(100), Some(100)),
                ),
                QosClass::Burstable,
            ),
            (
                "containers guaranteed, pod level burstable",
                with_pod_level(
                    vec![container(
                        amounts(Some(10), Some(10)),
                        amounts(Some(10), Some(10)),
                    )],
                    amounts(Some(50), None),
                    none,
                ),
                QosClass::Burstable,
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(pod_qos(&pod), want, "{name}");
        }
    }

    /// ResourceConfigForPod with pod-level resources, and getCPULimit / getMemoryLimit: the
    /// pod cgroup holds the pod's limits, and a container without its own limit runs under
    /// the pod's.
    #[test]
    fn pod_level_limits_go_to_the_pod_cgroup_and_to_containers_without_limits() {
        let none = amounts(None, None);
        let pod = with_pod_level(
            vec![
                container(amounts(Some(100), None), none),
                container(amounts(Some(100), Some(16)), amounts(Some(200), None)),
            ],
            amounts(Some(500), Some(64)),
            amounts(Some(1000), Some(128)),
        );
        assert_eq!(pod_qos(&pod), QosClass::Burstable);
        let values = pod_cgroup_values(&pod);
        assert_eq!(values.cpu_shares, Some(milli_cpu_to_shares(500)));
        assert_eq!(values.cpu_quota_us, Some(100_000));
        assert_eq!(values.memory_limit_bytes, Some(128 * MI));
        let first = pod.effective_container(&pod.containers[0]);
        assert_eq!(first.limits, amounts(Some(1000), Some(128)));
        let second = pod.effective_container(&pod.containers[1]);
        assert_eq!(second.limits, amounts(Some(200), Some(128)));
        assert_eq!(pod_requests(&pod), amounts(Some(500), Some(64)));
    }
}
