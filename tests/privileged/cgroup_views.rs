//! A container's cgroup as it really is, on each layout: kubelet's values and no swap in its
//! cgroup, what it sees at /sys/fs/cgroup and in /proc/self/cgroup, and the request read back
//! as written. The v2 test needs a pure cgroup v2 machine (scripts/v2-vm boots one and runs
//! it there); the v1 test a legacy or hybrid one. Each skips elsewhere and says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{self, TestPod};
use podlab::kube::pod_state::ContainerState;
use podlab::kube::resources::{milli_cpu_to_shares, KUBELET_WEIGHT_FORMULA, WEIGHT_FORMULA_IN_USE};
use podlab::observe::{Collector, CpuRequestSource, Sources, Target};
use podlab::runtime::cgroups::layout::CgroupLayout;

/// 150m is the request whose weight read back as 158m before (weight 24 in runc ≥ 1.3.2).
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
      requests: {cpu: 150m, memory: 32Mi}
      limits: {cpu: 250m, memory: 48Mi}
  - name: admin
    image: busybox
    command: [sleep, \"3600\"]
    securityContext: {privileged: true}
";

const LIMIT: u64 = 48 * 1024 * 1024;

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

fn running(base: &str) -> TestPod {
    let pod = TestPod::run(base, POD);
    pod.wait_for("both containers running", Duration::from_secs(60), |s| {
        s.containers
            .iter()
            .all(|c| matches!(c.state, ContainerState::Running { .. }))
    });
    pod
}

/// The request the observer reads back for `container`, and how it got it.
fn request_read_back(pod: &TestPod, container: &str) -> (Option<u64>, Option<CpuRequestSource>) {
    let snapshot = Collector::new(Sources::default())
        .snapshot(&Target::Pod(pod.name.clone()))
        .unwrap_or_else(|e| panic!("snapshot: {e:#}"));
    let cgroup = snapshot
        .sandboxes
        .iter()
        .flat_map(|sb| &sb.containers)
        .find(|c| c.name == container)
        .and_then(|c| c.cgroup.clone())
        .unwrap_or_else(|| panic!("no cgroup read for {container}"));
    (cgroup.cpu_request_millis, cgroup.cpu_request_source)
}

#[test]
fn cgroup_v2_container_has_kubelets_values_no_swap_and_its_own_cgroup_namespace() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let root = match CgroupLayout::detect() {
        Ok(CgroupLayout::Unified { root }) => root,
        _ => {
            common::skipped("needs a pure cgroup v2 machine (scripts/v2-vm boots one)");
            return;
        }
    };
    let pod = running("cgroup-v2");
    let state = pod.state();
    let leaf: PathBuf = root.join(state.cgroup.trim_start_matches('/')).join("app");

    // kubelet's values, written by podlab, on the host's side.
    assert_eq!(read(&leaf, "cpu.max"), "25000 100000");
    let weight = WEIGHT_FORMULA_IN_USE.shares_to_weight(milli_cpu_to_shares(150));
    assert_eq!(read(&leaf, "cpu.weight"), weight.to_string());
    assert_eq!(read(&leaf, "memory.max"), LIMIT.to_string());
    assert_eq!(read(&leaf, "memory.oom.group"), "1");
    // The pod cgroup's weight is kubelet's own (linear), not runc's: 150m → 6 there, 24 on
    // the leaf.
    let pod_dir = leaf.parent().unwrap_or(&leaf).to_path_buf();
    let pod_weight = KUBELET_WEIGHT_FORMULA.shares_to_weight(milli_cpu_to_shares(150));
    assert_eq!(read(&pod_dir, "cpu.weight"), pod_weight.to_string());
    assert_ne!(pod_weight, weight);
    // No huge pages for the container or the pod, where the kernel has the controller.
    for dir in [&leaf, &pod_dir] {
        if dir.join("hugetlb.2MB.max").exists() {
            assert_eq!(read(dir, "hugetlb.2MB.max"), "0", "{}", dir.display());
        } else {
            common::skipped("no hugetlb controller with 2MB pages here");
        }
    }
    // kubelet's NoSwap: the container may not swap at all.
    assert_eq!(read(&leaf, "memory.swap.max"), "0");
    // Born in its leaf (clone3 into the cgroup): the container is the leaf's only process.
    let pid = pod.pid_of("app");
    assert_eq!(read(&leaf, "cgroup.procs"), pid.to_string());

    // Inside: its own cgroup namespace rooted at its leaf, and a read-only cgroup2 mount.
    assert_eq!(pod.sh("app", "cat /proc/self/cgroup"), "0::/\n");
    assert_eq!(
        pod.sh("app", "cat /sys/fs/cgroup/memory.max"),
        format!("{LIMIT}\n")
    );
    assert_eq!(pod.sh("app", "cat /sys/fs/cgroup/memory.swap.max"), "0\n");
    let write = pod.exec("app", &["sh", "-c", "echo 1 > /sys/fs/cgroup/cpu.weight"]);
    assert!(!write.status.success(), "/sys/fs/cgroup is writable inside");
    assert_ne!(
        common::ns_inode(pid, "cgroup"),
        common::ns_inode(std::process::id() as i32, "cgroup")
    );
    // A privileged container keeps the host's cgroup namespace, as containerd does.
    let admin = pod.sh("admin", "cat /proc/self/cgroup");
    assert!(admin.contains(&state.cgroup), "{admin}");

    // The request reads back as written, though 158m has the same weight.
    assert_eq!(
        request_read_back(&pod, "app"),
        (Some(150), Some(CpuRequestSource::WeightAsWritten))
    );
}

#[test]
fn cgroup_v1_container_sees_its_own_directories_read_only_and_no_swap() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let CgroupLayout::Legacy { .. } = CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}"))
    else {
        common::skipped("needs a cgroup v1 (legacy or hybrid) layout");
        return;
    };
    let pod = running("cgroup-v1");
    let state = pod.state();

    // No cgroup namespace on v1 (containerd makes none): the host's paths show.
    let own = pod.sh("app", "cat /proc/self/cgroup");
    assert!(own.contains(&format!("{}/app", state.cgroup)), "{own}");
    // /sys/fs/cgroup/memory is the container's own memory cgroup, read-only.
    assert_eq!(
        pod.sh("app", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"),
        format!("{LIMIT}\n")
    );
    let write = pod.exec(
        "app",
        &[
            "sh",
            "-c",
            "echo 1 > /sys/fs/cgroup/memory/memory.soft_limit_in_bytes",
        ],
    );
    assert!(
        !write.status.success(),
        "/sys/fs/cgroup/memory is writable inside"
    );
    // No swap where the kernel accounts it: memory + swap may not exceed memory alone.
    let memsw = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes";
    if Path::new(memsw).exists() {
        assert_eq!(pod.sh("app", &format!("cat {memsw}")), format!("{LIMIT}\n"));
    } else {
        common::skipped("no swap accounting on this kernel (memory.memsw.*)");
    }
    // v1 keeps shares exactly: the request reads back as written there too.
    assert_eq!(request_read_back(&pod, "app").0, Some(150));
}
