//! Real cgroup v1 on this machine: kubelet's values land in each controller's files, and the
//! kernel enforces them. They need root and a v1 (legacy or hybrid) layout; on a machine with
//! only cgroup v2 they say so and skip. Their pod cgroups have no shim, so podlab's garbage
//! collection (which any podlab command of another test may run) would remove them: they hold
//! the machine alone.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use std::sync::Arc;

use podlab::kube::qos::QosClass;
use podlab::kube::qos::{pod_cgroup_values, pod_qos};
use podlab::kube::resources::CgroupValues;
use podlab::kube::resources::{
    container_cgroup_values, ContainerResources, PodResources, ResourceAmounts,
};
use podlab::observe::procfs_read::read_cgroup;
use podlab::runtime::cgroups::fs::HostFs;
use podlab::runtime::cgroups::layout::CgroupLayout;
use podlab::runtime::cgroups::v1::V1Manager;
use podlab::runtime::cgroups::{
    cpu, memory, CgroupError, CgroupManager, ContainerCgroup, PodCgroup,
};

const MI: i64 = 1024 * 1024;

/// A pod cgroup with the processes a test put in it; dropping it kills them and removes
/// the cgroups, also when the test fails.
struct TestPod {
    manager: V1Manager,
    pod: PodCgroup,
    children: Vec<Child>,
    _machine: common::Machine,
}

impl TestPod {
    /// None when the test cannot run here: no root (outside CI), or no cgroup v1 at all.
    fn create(qos: QosClass, values: &CgroupValues) -> Option<TestPod> {
        let machine = common::privileged_alone()?;
        let layout = CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}"));
        let CgroupLayout::Legacy { controllers, .. } = &layout else {
            common::skipped(
                "needs a cgroup v1 (legacy or hybrid) layout; this machine has only v2",
            );
            return None;
        };
        let manager =
            V1Manager::new(controllers, Arc::new(HostFs)).unwrap_or_else(|e| panic!("{e}"));
        let uid = format!("test-{}", uuid::Uuid::new_v4());
        let pod = manager
            .create_pod(&uid, qos, values)
            .unwrap_or_else(|e| panic!("{e}"));
        Some(TestPod {
            manager,
            pod,
            children: vec![],
            _machine: machine,
        })
    }

    fn spawn_into(&mut self, leaf: &ContainerCgroup, command: &mut Command) -> i32 {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("failed to spawn {command:?}: {e}"));
        let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
        self.children.push(child);
        leaf.add_process(pid).unwrap_or_else(|e| panic!("{e}"));
        pid
    }

    fn stop_children(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for TestPod {
    fn drop(&mut self) {
        self.stop_children();
        let _ = self.manager.remove_pod(&self.pod);
    }
}

/// `pid` is in `path` of the hierarchy of `controller`, as /proc/<pid>/cgroup says.
fn assert_in_cgroup(pid: i32, controller: &str, path: &str) {
    let memberships = read_cgroup(Path::new("/proc"), pid).expect("cgroup of the process");
    assert!(
        memberships
            .iter()
            .any(|m| m.path == path && m.controllers.iter().any(|c| c == controller)),
        "{pid} is not in {controller}:{path}: {memberships:?}"
    );
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("failed to read {file} in {dir:?}: {e}"))
        .trim()
        .to_string()
}

fn sleep_command() -> Command {
    let mut command = Command::new("sleep");
    command.arg("60");
    command
}

#[test]
fn real_v1_guaranteed_pod() {
    let amounts = ResourceAmounts::new(Some(500), Some(64 * MI));
    let web = ContainerResources::new("web", amounts, amounts);
    let resources = PodResources {
        containers: vec![web.clone()],
        init_containers: vec![],
        pod_level: None,
    };
    assert_eq!(pod_qos(&resources), QosClass::Guaranteed);
    let Some(mut test) = TestPod::create(QosClass::Guaranteed, &pod_cgroup_values(&resources))
    else {
        return;
    };
    let pod_path = test.pod.cgroup_path();
    assert!(
        pod_path
            .to_string_lossy()
            .starts_with("/podlab/kubepods/pod"),
        "{pod_path:?}"
    );

    let cpu_pod_dir = test.pod.cpu_dir().to_path_buf();
    let memory_pod_dir = test.pod.memory_dir().to_path_buf();
    assert_eq!(read(&cpu_pod_dir, cpu::V1_SHARES), "512");
    assert_eq!(read(&cpu_pod_dir, cpu::V1_CFS_QUOTA_US), "50000");
    assert_eq!(read(&cpu_pod_dir, cpu::V1_CFS_PERIOD_US), "100000");
    assert_eq!(
        read(&memory_pod_dir, memory::V1_LIMIT_IN_BYTES),
        (64 * MI).to_string()
    );

    let pause = test
        .manager
        .create_pause(&test.pod)
        .unwrap_or_else(|e| panic!("{e}"));
    let leaf = test
        .manager
        .create_container(&test.pod, "web", &container_cgroup_values(&web))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&cpu_pod_dir.join("pause"), cpu::V1_SHARES), "2");
    assert_eq!(read(&cpu_pod_dir.join("web"), cpu::V1_SHARES), "512");
    assert_eq!(
        read(&cpu_pod_dir.join("web"), cpu::V1_CFS_QUOTA_US),
        "50000"
    );
    assert_eq!(
        read(&memory_pod_dir.join("web"), memory::V1_LIMIT_IN_BYTES),
        (64 * MI).to_string()
    );

    let pause_pid = test.spawn_into(&pause, &mut sleep_command());
    let pid = test.spawn_into(&leaf, &mut sleep_command());
    let leaf_path = format!("{}/web", pod_path.display());
    assert_eq!(leaf.cgroup_path(), Path::new(&leaf_path));
    for controller in ["cpu", "memory", "pids"] {
        assert_in_cgroup(pid, controller, &leaf_path);
    }
    assert_in_cgroup(pause_pid, "cpu", &format!("{}/pause", pod_path.display()));
    assert_eq!(
        read(&cpu_pod_dir.join("web"), "cgroup.procs"),
        pid.to_string()
    );
    assert_eq!(leaf.oom_kill_count().ok(), Some(0));

    test.stop_children();
    leaf.remove().unwrap_or_else(|e| panic!("{e}"));
    test.manager
        .remove_pod(&test.pod)
        .unwrap_or_else(|e| panic!("{e}"));
    for dir in test.pod.dirs() {
        assert!(!dir.exists(), "{dir:?} is left behind");
    }
}

#[test]
fn real_v1_burstable_pod() {
    let limited = ContainerResources::new(
        "limited",
        ResourceAmounts::new(Some(100), Some(32 * MI)),
        ResourceAmounts::new(Some(300), Some(128 * MI)),
    );
    let open = ContainerResources::new(
        "open",
        ResourceAmounts::new(Some(100), None),
        ResourceAmounts::NONE,
    );
    let resources = PodResources {
        containers: vec![limited.clone(), open.clone()],
        init_containers: vec![],
        pod_level: None,
    };
    assert_eq!(pod_qos(&resources), QosClass::Burstable);
    let Some(mut test) = TestPod::create(QosClass::Burstable, &pod_cgroup_values(&resources))
    else {
        return;
    };
    let pod_path = test.pod.cgroup_path();
    assert!(
        pod_path
            .to_string_lossy()
            .starts_with("/podlab/kubepods/burstable/pod"),
        "{pod_path:?}"
    );

    let cpu_pod_dir = test.pod.cpu_dir().to_path_buf();
    let memory_pod_dir = test.pod.memory_dir().to_path_buf();
    assert_eq!(read(&cpu_pod_dir, cpu::V1_SHARES), "204");
    // "open" has no limits, so the pod has no cap.
    assert_eq!(read(&cpu_pod_dir, cpu::V1_CFS_QUOTA_US), "-1");
    let unlimited: u64 = read(&memory_pod_dir, memory::V1_LIMIT_IN_BYTES)
        .parse()
        .unwrap_or(0);
    assert!(unlimited > 1 << 60, "pod memory limit {unlimited}");

    let leaf = test
        .manager
        .create_container(&test.pod, "limited", &container_cgroup_values(&limited))
        .unwrap_or_else(|e| panic!("{e}"));
    let open_leaf = test
        .manager
        .create_container(&test.pod, "open", &container_cgroup_values(&open))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&cpu_pod_dir.join("limited"), cpu::V1_SHARES), "102");
    assert_eq!(
        read(&cpu_pod_dir.join("limited"), cpu::V1_CFS_QUOTA_US),
        "30000"
    );
    assert_eq!(
        read(&memory_pod_dir.join("limited"), memory::V1_LIMIT_IN_BYTES),
        (128 * MI).to_string()
    );
    assert_eq!(read(&cpu_pod_dir.join("open"), cpu::V1_CFS_QUOTA_US), "-1");

    let pid = test.spawn_into(&open_leaf, &mut sleep_command());
    assert_in_cgroup(
        pid,
        "memory",
        &open_leaf.cgroup_path().display().to_string(),
    );

    // A restart reuses the leaf.
    let again =
        test.manager
            .create_container(&test.pod, "limited", &container_cgroup_values(&limited));
    assert!(again.is_ok(), "{again:?}");

    // Removing while a process is inside fails (after a short wait) and names it.
    let busy = test.manager.remove_pod(&test.pod);
    assert!(
        matches!(&busy, Err(CgroupError::Busy { pids, .. }) if *pids == pid.to_string()),
        "{busy:?}"
    );

    test.stop_children();
    leaf.remove().unwrap_or_else(|e| panic!("{e}"));
    test.manager
        .remove_pod(&test.pod)
        .unwrap_or_else(|e| panic!("{e}"));
    for dir in test.pod.dirs() {
        assert!(!dir.exists(), "{dir:?} is left behind");
    }
}

#[test]
fn real_v1_besteffort_tier_has_min_shares() {
    let Some(test) = TestPod::create(QosClass::BestEffort, &CgroupValues::pause()) else {
        return;
    };
    let tier = test
        .pod
        .cpu_dir()
        .parent()
        .expect("the QoS tier")
        .to_path_buf();
    assert_eq!(read(&tier, cpu::V1_SHARES), "2");
    assert_eq!(read(test.pod.cpu_dir(), cpu::V1_SHARES), "2");
}

#[test]
fn real_v1_oom_kill_is_counted() {
    let limit = 16 * MI;
    let hog = ContainerResources::new(
        "hog",
        ResourceAmounts::NONE,
        ResourceAmounts::new(None, Some(limit)),
    );
    let resources = PodResources {
        containers: vec![hog.clone()],
        init_containers: vec![],
        pod_level: None,
    };
    let Some(mut test) = TestPod::create(pod_qos(&resources), &pod_cgroup_values(&resources))
    else {
        return;
    };
    let leaf = test
        .manager
        .create_container(&test.pod, "hog", &container_cgroup_values(&hog))
        .unwrap_or_else(|e| panic!("{e}"));
    // The shell waits for a line, so it is in the cgroup before dd allocates anything.
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "read go; exec dd if=/dev/zero of=/dev/null bs=64M count=1",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::null());
    test.spawn_into(&leaf, &mut command);
    let child = test
        .children
        .last_mut()
        .unwrap_or_else(|| panic!("no child"));
    if let Some(stdin) = child.stdin.as_mut() {
        stdin
            .write_all(b"go\n")
            .unwrap_or_else(|e| panic!("failed to release the shell: {e}"));
    }
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "dd was not OOM-killed: {status:?}"
    );
    assert!(
        leaf.oom_kill_count().is_ok_and(|n| n >= 1),
        "{:?}",
        leaf.oom_kill_count()
    );
}
