//! In-place resize on a real pod (`podlab patch POD --subresource resize`): the new CPU and
//! memory values appear in the container's leaf and the pod cgroup under the same process,
//! a QoS change is refused with the API server's message, a memory limit below what is in
//! use is not applied (kubelet 1.35), and `resizePolicy: RestartContainer` restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{self, TestPod};
use podlab::kube::pod_state::ContainerState;
use podlab::runtime::cgroups::layout::CgroupLayout;

const POD: &str = "apiVersion: v1
kind: Pod
metadata: {name: \"{name}\"}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: busybox
    command: [sleep, \"3600\"]
    resources:
      requests: {cpu: 100m, memory: 32Mi}
      limits: {cpu: 200m, memory: 64Mi}
  - name: worker
    image: busybox
    command: [sleep, \"3600\"]
    resources:
      requests: {cpu: 100m, memory: 32Mi}
      limits: {cpu: 200m, memory: 64Mi}
    resizePolicy:
    - {resourceName: memory, restartPolicy: RestartContainer}
";

const MI: u64 = 1024 * 1024;

/// Where one cgroup's CPU limit and memory limit are read, on this machine's layout.
struct Files {
    cpu_limit: PathBuf,
    memory_limit: PathBuf,
    v2: bool,
}

impl Files {
    fn of(cgroup: &str) -> Files {
        let relative = cgroup.trim_start_matches('/');
        match CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}")) {
            CgroupLayout::Unified { root } => Files {
                cpu_limit: root.join(relative).join("cpu.max"),
                memory_limit: root.join(relative).join("memory.max"),
                v2: true,
            },
            CgroupLayout::Legacy { controllers, .. } => Files {
                cpu_limit: controllers["cpu"].join(relative).join("cpu.cfs_quota_us"),
                memory_limit: controllers["memory"]
                    .join(relative)
                    .join("memory.limit_in_bytes"),
                v2: false,
            },
        }
    }

    /// The CFS quota in µs (period 100000).
    fn quota(&self) -> String {
        let text = read(&self.cpu_limit);
        if self.v2 {
            text.split_whitespace().next().unwrap_or("").to_string()
        } else {
            text
        }
    }

    fn memory(&self) -> u64 {
        read(&self.memory_limit)
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", self.memory_limit.display()))
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn patch(pod: &TestPod, json: &str) -> std::process::Output {
    common::podlab(&[
        "patch",
        &pod.name,
        "--subresource",
        "resize",
        "--patch",
        json,
    ])
}

#[test]
fn resize_writes_new_values_under_the_same_process_and_refuses_what_kubelet_refuses() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run("resize", POD);
    pod.wait_for("both containers running", Duration::from_secs(60), |s| {
        s.containers
            .iter()
            .all(|c| matches!(c.state, ContainerState::Running { .. }))
    });
    let state = pod.state();
    let pod_files = Files::of(&state.cgroup);
    let app_files = Files::of(&format!("{}/app", state.cgroup));
    assert_eq!(app_files.quota(), "20000");
    assert_eq!(pod_files.quota(), "40000");
    let pid = pod.pid_of("app");

    // Grow CPU and memory of app in place (NotRequired, the default).
    let out = patch(
        &pod,
        r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"200m"},"limits":{"cpu":"400m","memory":"96Mi"}}}]}}"#,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(common::stdout(&out).contains("patched"));
    assert_eq!(app_files.quota(), "40000");
    assert_eq!(app_files.memory(), 96 * MI);
    assert_eq!(pod_files.quota(), "60000");
    assert_eq!(pod_files.memory(), 160 * MI);
    assert_eq!(pod.pid_of("app"), pid, "the process must stay the same");
    let state = pod.state();
    assert_eq!(state.container("app").map(|c| c.restart_count), Some(0));
    assert_eq!(state.resize.condition, None);
    assert_eq!(
        state.resize.actual["app"]
            .limits
            .cpu
            .as_ref()
            .map(|q| q.to_string()),
        Some("400m".into())
    );
    let events = pod.events();
    assert!(
        events.iter().any(|e| e.starts_with("ResizeCompleted")),
        "{events:?}"
    );

    // Shrink back: the containers first, then the pod (on v1 the kernel refuses a child's
    // quota above its parent's, so the wrong order would fail here).
    let out = patch(
        &pod,
        r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"150m"}}}]}}"#,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(app_files.quota(), "15000");
    assert_eq!(pod_files.quota(), "35000");
    assert_eq!(pod.pid_of("app"), pid);

    // The QoS class may not change: requests = limits would make the pod Guaranteed.
    let out = patch(
        &pod,
        r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"150m","memory":"96Mi"}}},{"name":"worker","resources":{"requests":{"cpu":"200m","memory":"64Mi"}}}]}}"#,
    );
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains(
            "spec: Invalid value: \"Burstable\": Pod QOS Class may not change as a result of resizing"
        ),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(app_files.quota(), "15000");

    // A memory limit below what app uses now is not applied (kubelet 1.35).
    let fill = pod.exec(
        "app",
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/dev/shm/fill bs=1M count=48 2>&1",
        ],
    );
    assert!(fill.status.success(), "{}", common::stdout(&fill));
    let out = patch(
        &pod,
        r#"{"spec":{"containers":[{"name":"app","resources":{"limits":{"memory":"40Mi"}}}]}}"#,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(app_files.memory(), 96 * MI, "the limit must stay");
    let condition = pod.state().resize.condition.expect("in progress");
    assert_eq!(condition.reason.as_deref(), Some("Error"));
    let message = condition.message.unwrap_or_default();
    assert!(
        message.starts_with("cannot decrease memory limits: ")
            && message.contains("memory limit (41943040) below current usage"),
        "{message}"
    );
    let _ = pod.exec("app", &["rm", "/dev/shm/fill"]);

    // worker's memory has resizePolicy RestartContainer: a new process with the new limit.
    let worker_pid = pod.pid_of("worker");
    let out = patch(
        &pod,
        r#"{"spec":{"containers":[{"name":"worker","resources":{"limits":{"memory":"80Mi"}}}]}}"#,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    pod.wait_for("worker restarted", Duration::from_secs(30), |s| {
        s.container("worker").is_some_and(|c| {
            c.restart_count == 1 && matches!(c.state, ContainerState::Running { .. })
        })
    });
    assert_ne!(pod.pid_of("worker"), worker_pid);
    let worker_files = Files::of(&format!("{}/worker", pod.state().cgroup));
    assert_eq!(worker_files.memory(), 80 * MI);
}
