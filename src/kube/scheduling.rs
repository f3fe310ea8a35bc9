//! What a scheduler would compare for a pod on this node, as kube-scheduler's NodeResourcesFit
//! plugin does: the pod's effective request (`PodRequests` of k8s.io/component-helpers: the app
//! containers summed, each init container at its own peak, the larger of the two) against the
//! node's allocatable (capacity minus kubelet's reservations and hard eviction threshold).
//!
//! podlab has no scheduler: it runs every pod it is given on this machine. It only computes
//! what a scheduler would weigh, so `podlab describe` can show it, with kube-scheduler's words
//! for a pod that would not fit. podlab's pods have no `overhead` (no RuntimeClass), so none is
//! added.

use super::qos::pod_requests;
use super::resources::{PodResources, ResourceAmounts};

/// kubelet's default hard eviction threshold for memory (`memory.available<100Mi`): allocatable
/// memory leaves it out.
pub const EVICTION_HARD_MEMORY_BYTES: i64 = 100 * 1024 * 1024;

/// What the node has: CPUs (in millicores) and memory (bytes), as cAdvisor reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeCapacity {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

/// kubelet's node allocatable: capacity minus kube-reserved and system-reserved (none by
/// default) and, for memory, the hard eviction threshold.
pub fn allocatable(capacity: NodeCapacity) -> ResourceAmounts {
    ResourceAmounts::new(
        Some(capacity.cpu_millis.max(0)),
        Some(
            capacity
                .memory_bytes
                .saturating_sub(EVICTION_HARD_MEMORY_BYTES)
                .max(0),
        ),
    )
}

/// The pod's effective request: what the scheduler adds to the node's requested resources.
pub fn effective_request(pod: &PodResources) -> ResourceAmounts {
    let r = pod_requests(pod);
    ResourceAmounts::new(Some(r.cpu()), Some(r.memory()))
}

/// The resources (`cpu`, `memory`) a node with `allocatable`, of which `requested` is already
/// requested by other pods, lacks for a pod requesting `request`, in kube-scheduler's order.
pub fn insufficient(
    request: &ResourceAmounts,
    allocatable: &ResourceAmounts,
    requested: &ResourceAmounts,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if request.cpu() > 0 && request.cpu() > allocatable.cpu() - requested.cpu() {
        out.push("cpu");
    }
    if request.memory() > 0 && request.memory() > allocatable.memory() - requested.memory() {
        out.push("memory");
    }
    out
}

/// kube-scheduler's FailedScheduling message on a one-node cluster, e.g.
/// `0/1 nodes are available: 1 Insufficient cpu.`; None when nothing is lacking.
pub fn failed_scheduling_message(lacking: &[&str]) -> Option<String> {
    if lacking.is_empty() {
        return None;
    }
    let reasons: Vec<String> = lacking
        .iter()
        .map(|r| format!("1 Insufficient {r}"))
        .collect();
    Some(format!("0/1 nodes are available: {}.", reasons.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::ContainerResources;

    const MI: i64 = 1024 * 1024;

    fn container(name: &str, cpu: Option<i64>, memory: Option<i64>) -> ContainerResources {
        ContainerResources {
            name: name.into(),
            requests: ResourceAmounts::new(cpu, memory),
            ..Default::default()
        }
    }

    fn pod(apps: Vec<ContainerResources>, inits: Vec<ContainerResources>) -> PodResources {
        PodResources {
            containers: apps,
            init_containers: inits,
            pod_level: None,
        }
    }

    #[test]
    fn app_containers_are_summed() {
        let p = pod(
            vec![
                container("web", Some(200), Some(64 * MI)),
                container("sidecar", Some(100), Some(32 * MI)),
            ],
            vec![],
        );
        assert_eq!(
            effective_request(&p),
            ResourceAmounts::new(Some(300), Some(96 * MI))
        );
    }

    #[test]
    fn an_init_container_counts_by_its_peak_not_added() {
        let small = pod(
            vec![
                container("web", Some(200), Some(64 * MI)),
                container("sidecar", Some(100), Some(32 * MI)),
            ],
            vec![container("prepare", Some(100), Some(16 * MI))],
        );
        assert_eq!(
            effective_request(&small),
            ResourceAmounts::new(Some(300), Some(96 * MI))
        );
        let big = pod(
            vec![
                container("web", Some(200), Some(64 * MI)),
                container("sidecar", Some(100), Some(32 * MI)),
            ],
            vec![
                container("prepare", Some(800), Some(16 * MI)),
                container("seed", Some(500), Some(128 * MI)),
            ],
        );
        // cpu: the largest init (800m) beats the apps' 300m; memory: seed's 128Mi beats 96Mi.
        assert_eq!(
            effective_request(&big),
            ResourceAmounts::new(Some(800), Some(128 * MI))
        );
    }

    #[test]
    fn allocatable_leaves_out_the_eviction_threshold() {
        let a = allocatable(NodeCapacity {
            cpu_millis: 2000,
            memory_bytes: 4096 * MI,
        });
        assert_eq!(a, ResourceAmounts::new(Some(2000), Some(3996 * MI)));
        let tiny = allocatable(NodeCapacity {
            cpu_millis: 1000,
            memory_bytes: 50 * MI,
        });
        assert_eq!(tiny.memory(), 0);
    }

    #[test]
    fn a_pod_that_does_not_fit_gets_kube_schedulers_words() {
        let node = ResourceAmounts::new(Some(2000), Some(3996 * MI));
        let none = ResourceAmounts::new(Some(0), Some(0));
        let fits = ResourceAmounts::new(Some(2000), Some(3996 * MI));
        assert!(insufficient(&fits, &node, &none).is_empty());
        assert_eq!(failed_scheduling_message(&[]), None);
        let too_much_cpu = ResourceAmounts::new(Some(2001), Some(MI));
        let lacking = insufficient(&too_much_cpu, &node, &none);
        assert_eq!(lacking, vec!["cpu"]);
        assert_eq!(
            failed_scheduling_message(&lacking).as_deref(),
            Some("0/1 nodes are available: 1 Insufficient cpu.")
        );
        let busy = ResourceAmounts::new(Some(1500), Some(3900 * MI));
        let both = insufficient(
            &ResourceAmounts::new(Some(600), Some(97 * MI)),
            &node,
            &busy,
        );
        assert_eq!(
            failed_scheduling_message(&both).as_deref(),
            Some("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.")
        );
    }

    #[test]
    fn a_pod_requesting_nothing_always_fits() {
        let node = ResourceAmounts::new(Some(0), Some(0));
        let nothing = ResourceAmounts::new(Some(0), Some(0));
        assert!(insufficient(&nothing, &node, &nothing).is_empty());
    }
}
