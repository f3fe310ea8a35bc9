//! Pod-level resources (`spec.resources`, PodLevelResources, beta and on since 1.34) on a real
//! pod: the pod's own limits decide its QoS class and sit on its cgroup, and a container
//! without limits of its own gets the pod's in its leaf (kubelet's getCPULimit /
//! getMemoryLimit).

use std::path::PathBuf;
use std::time::Duration;

use crate::common::{self, TestPod};
use podlab::kube::pod_state::ContainerState;
use podlab::runtime::cgroups::layout::CgroupLayout;

const POD: &str = "apiVersion: v1
kind: Pod
metadata: {name: \"{name}\"}
spec:
  terminationGracePeriodSeconds: 0
  resources:
    limits: {cpu: 500m, memory: 64Mi}
  containers:
  - name: app
    image: busybox
    command: [sleep, \"3600\"]
";

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn pod_level_limits_set_the_qos_the_pod_cgroup_and_the_leaf_of_a_container_without_limits() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run("pod-level", POD);
    let state = pod.wait_for("app running", Duration::from_secs(60), |s| {
        s.container("app")
            .is_some_and(|c| matches!(c.state, ContainerState::Running { .. }))
    });
    // Limits only: the API server defaults the requests to them, so the pod is Guaranteed
    // and sits directly under kubepods.
    assert_eq!(state.qos_class, "Guaranteed");
    assert!(
        state.cgroup.starts_with("/podlab/kubepods/pod"),
        "{}",
        state.cgroup
    );
    let relative = state.cgroup.trim_start_matches('/').to_string();
    let mi64 = (64 * 1024 * 1024).to_string();
    match CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}")) {
        CgroupLayout::Unified { root } => {
            for dir in [root.join(&relative), root.join(&relative).join("app")] {
                assert_eq!(
                    read(dir.join("cpu.max")),
                    "50000 100000",
                    "{}",
                    dir.display()
                );
                assert_eq!(read(dir.join("memory.max")), mi64, "{}", dir.display());
            }
        }
        CgroupLayout::Legacy { controllers, .. } => {
            for sub in ["", "app"] {
                let cpu = controllers["cpu"].join(&relative).join(sub);
                let memory = controllers["memory"].join(&relative).join(sub);
                assert_eq!(
                    read(cpu.join("cpu.cfs_quota_us")),
                    "50000",
                    "{}",
                    cpu.display()
                );
                assert_eq!(
                    read(memory.join("memory.limit_in_bytes")),
                    mi64,
                    "{}",
                    memory.display()
                );
            }
        }
    }
}
