//! `oom_score_adj` per kubelet's `pkg/kubelet/qos/policy.go`.

use super::qos::{pod_qos, QosClass};
use super::resources::{ContainerResources, PodResources};

/// Guaranteed containers: the last to be OOM-killed (kubelet itself runs at -999).
pub const GUARANTEED_OOM_SCORE_ADJ: i32 = -997;
/// BestEffort containers: the first to go.
pub const BEST_EFFORT_OOM_SCORE_ADJ: i32 = 1000;
/// The pause (sandbox) process (`PodInfraOOMAdj`, still what containerd and CRI-O use).
pub const PAUSE_OOM_SCORE_ADJ: i32 = -998;

/// The `oom_score_adj` kubelet gives `container` of `pod` on a node with `memory_capacity`
/// bytes of memory.
pub fn container_oom_score_adj(
    pod: &PodResources,
    container: &ContainerResources,
    memory_capacity: i64,
) -> i32 {
    match pod_qos(pod) {
        QosClass::Guaranteed => return GUARANTEED_OOM_SCORE_ADJ,
        QosClass::BestEffort => return BEST_EFFORT_OOM_SCORE_ADJ,
        QosClass::Burstable => {}
    }
    // A container requesting 10% of the node's memory gets 900: using more than its request
    // makes it a prime target.
    let request = container.requests.memory() + remaining_pod_memory_per_container(pod);
    let mut adj = burstable_adj(request, memory_capacity);
    // A native sidecar must not be killed before the app containers it serves.
    let is_sidecar =
        container.sidecar && pod.init_containers.iter().any(|c| c.name == container.name);
    if is_sidecar {
        let min_regular = pod
            .containers
            .iter()
            .map(|c| c.requests.memory())
            .min()
            .unwrap_or(0);
        adj = adj.min(burstable_adj(min_regular, memory_capacity));
    }
    // Stay above any Guaranteed container (1000 - 997 = 3) and below BestEffort.
    if adj < 1000 + i64::from(GUARANTEED_OOM_SCORE_ADJ) {
        return 1000 + GUARANTEED_OOM_SCORE_ADJ;
    }
    if adj >= i64::from(BEST_EFFORT_OOM_SCORE_ADJ) {
        return BEST_EFFORT_OOM_SCORE_ADJ - 1;
    }
    adj as i32
}

/// kubelet's `remainingPodMemReqPerContainer`: with a pod-level memory request, what it
/// leaves beyond its containers' own requests is shared out evenly among them.
fn remaining_pod_memory_per_container(pod: &PodResources) -> i64 {
    let Some(pod_request) = pod.pod_level.and_then(|l| l.requests.memory_bytes) else {
        return 0;
    };
    let containers = pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().filter(|c| c.sidecar));
    let (count, sum) = containers.fold((0i64, 0i64), |(n, sum), c| {
        (n + 1, sum.saturating_add(c.requests.memory()))
    });
    if count == 0 {
        return 0;
    }
    (pod_request - sum).max(0) / count
}

fn burstable_adj(memory_request: i64, memory_capacity: i64) -> i64 {
    if memory_capacity <= 0 {
        // No capacity known: treat the request as covering nothing.
        return 1000;
    }
    let share = i128::from(memory_request.max(0)) * 1000 / i128::from(memory_capacity);
    1000 - share.min(i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::qos::tests::{amounts, container, pod};
    use crate::kube::resources::ResourceAmounts;

    const STANDARD_MEMORY: i64 = 8_000_000_000;

    // TestGetContainerOOMScoreAdjust in kubelet's policy_test.go.
    #[test]
    fn oom_score_adj_matches_kubelet_cases() {
        let none = amounts(None, None);
        let cases: Vec<(&str, PodResources, i64, i32, i32)> = vec![
            (
                "cpu-limit",
                pod(vec![container(none, amounts(Some(10_000), None))]),
                4_000_000_000,
                999,
                999,
            ),
            (
                "memory-limit-cpu-request",
                pod(vec![container(
                    amounts(Some(0), None),
                    ResourceAmounts::new(None, Some(10_000_000_000)),
                )]),
                8_000_000_000,
                999,
                999,
            ),
            (
                "zero-memory-limit",
                pod(vec![container(none, ResourceAmounts::new(None, Some(0)))]),
                7_230_457_451,
                1000,
                1000,
            ),
            (
                "no-request-limit",
                pod(vec![container(none, none)]),
                4_000_000_000,
                1000,
                1000,
            ),
            (
                "equal-request-limit",
                pod(vec![container(
                    ResourceAmounts::new(Some(5), Some(10_000_000_000)),
                    ResourceAmounts::new(Some(5), Some(10_000_000_000)),
                )]),
                123_456_789,
                -997,
                -997,
            ),
            (
                "memory-limited-with-requests",
                pod(vec![container(
                    ResourceAmounts::new(Some(5), Some(STANDARD_MEMORY / 2)),
                    ResourceAmounts::new(None, Some(10_000_000_000)),
                )]),
                STANDARD_MEMORY,
                495,
                505,
            ),
            (
                "request-no-limit",
                pod(vec![container(
                    ResourceAmounts::new(Some(5), Some(STANDARD_MEMORY - 1)),
                    none,
                )]),
                STANDARD_MEMORY,
                3,
                3,
            ),
        ];
        for (name, pod, capacity, low, high) in cases {
            let adj = container_oom_score_adj(&pod, &pod.containers[0], capacity);
            assert!(
                (low..=high).contains(&adj),
                "{name}: {adj} not in {low}..={high}"
            );
        }
    }

    #[test]
    fn sidecar_is_not_killed_before_app_containers() {
        let mut sidecar = container(ResourceAmounts::new(None, Some(100)), amounts(None, None));
        sidecar.name = "log-shipper".into();
        sidecar.sidecar = true;
        let app = ContainerResources::new(
            "app",
            ResourceAmounts::new(None, Some(4_000)),
            amounts(None, None),
        );
        let pod = PodResources {
            containers: vec![app],
            init_containers: vec![sidecar.clone()],
            pod_level: None,
        };
        assert_eq!(
            container_oom_score_adj(&pod, &pod.containers[0], 10_000),
            600
        );
        assert_eq!(container_oom_score_adj(&pod, &sidecar, 10_000), 600);
    }

    /// With a pod-level memory request, what the containers do not request themselves is
    /// shared out among them before the Burstable formula.
    #[test]
    fn a_pod_level_request_is_shared_out() {
        let none = amounts(None, None);
        let mut pod = pod(vec![
            container(amounts(None, Some(100)), none),
            container(none, none),
        ]);
        pod.pod_level = Some(crate::kube::resources::PodLevel {
            requests: amounts(None, Some(500)),
            limits: none,
        });
        let mi = 1024 * 1024;
        // 400Mi left over, 200Mi each: 300Mi and 200Mi.
        let first = container_oom_score_adj(&pod, &pod.containers[0], STANDARD_MEMORY);
        let second = container_oom_score_adj(&pod, &pod.containers[1], STANDARD_MEMORY);
        assert_eq!(i64::from(first), 1000 - 300 * mi * 1000 / STANDARD_MEMORY);
        assert_eq!(i64::from(second), 1000 - 200 * mi * 1000 / STANDARD_MEMORY);
    }
}
