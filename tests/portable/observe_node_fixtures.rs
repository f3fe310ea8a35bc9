//! The host view of a fake Kubernetes node (tests/fixtures/proc/k8s-*), in both cgroup drivers:
//! `k8s-cgroupfs` (v1 hybrid, `/kubepods/burstable/pod<UID>/<id>`, docker at `/docker/<id>`)
//! and `k8s-systemd` (v2, `kubepods-burstable-pod<UID_>.slice/cri-containerd-<id>.scope`,
//! docker at `system.slice/docker-<id>.scope`).
//!
//! On each: containerd-shim 200 → pause 201 + nginx 202 (→ worker 203, whose `ns/uts` link
//! cannot be read); a hostNetwork pod under shim 210 (pause 211, kube-proxy 212); a docker
//! container under shim 400 (redis 401); kubelet, containerd, dockerd, sshd on the host.

use std::path::PathBuf;

use podlab::observe::{
    CgroupLayout, Collector, GapReason, Limit, NsKind, Role, Sandbox, SandboxKind, Snapshot,
    Sources, Target,
};

const UID: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const HOSTNET_UID: &str = "7a2b3c4d-5e6f-4a1b-9c8d-1e2f3a4b5c6d";
const DOCKER_SHORT: &str = "e5e5e5e5e5e5";
const APP_SHORT: &str = "b2b2b2b2b2b2";

fn host(fixture: &str) -> Snapshot {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/proc")
        .join(fixture);
    let sources = Sources {
        proc_root: root.join("proc"),
        cgroup_root: root.join("cgroup"),
        pods_dir: root.join("pods"),
    };
    Collector::new(sources)
        .snapshot(&Target::Host)
        .expect("host snapshot of a fixture")
}

fn sandbox<'a>(s: &'a Snapshot, uid: &str) -> &'a Sandbox {
    s.sandboxes
        .iter()
        .find(|sb| sb.uid.as_deref() == Some(uid))
        .unwrap_or_else(|| panic!("no sandbox {uid} in {:#?}", s.sandboxes))
}

fn role(s: &Snapshot, pid: i32) -> Role {
    s.processes
        .iter()
        .find(|p| p.pid == pid)
        .map(|p| p.role.clone())
        .unwrap_or_else(|| panic!("pid {pid} not in the snapshot"))
}

fn check_node(s: &Snapshot) {
    // The pod: containerd-shim above pause (first) and the app, named by short container ID.
    let pod = sandbox(s, UID);
    assert_eq!(pod.kind, SandboxKind::KubernetesPod);
    assert_eq!((pod.shim, pod.pause), (Some(200), Some(201)));
    assert!(pod.containers[0].is_pause);
    let app = &pod.containers[1];
    assert_eq!(app.name, APP_SHORT);
    assert_eq!(app.pids, vec![202, 203]);
    for kind in [NsKind::Net, NsKind::Ipc, NsKind::Uts] {
        assert!(app.shared_with_pause.contains(&kind), "{kind:?}: {app:#?}");
    }
    for kind in [NsKind::Pid, NsKind::Mnt] {
        assert!(app.own.contains(&kind), "{kind:?}: {app:#?}");
    }
    assert_eq!(role(s, 200), Role::Shim);
    assert_eq!(role(s, 201), Role::Pause);
    assert_eq!(role(s, 203), Role::Container(APP_SHORT.into()));
    assert_eq!(pod.net.map(|n| n.inode), Some(4026532101));

    // The pod cgroup is the common parent of the containers' cgroups.
    let pod_cg = pod.cgroup.as_ref().expect("pod cgroup");
    assert!(
        pod_cg.path.contains(&UID.replace('-', "_")) || pod_cg.path.ends_with(UID),
        "{}",
        pod_cg.path
    );
    assert_eq!(pod_cg.memory_limit, Some(Limit::Value(128 * 1024 * 1024)));
    assert_eq!(pod_cg.cpu_limit_millis, Some(Limit::Value(250)));
    let app_cg = app.cgroup.as_ref().expect("app cgroup");
    assert_eq!(app_cg.memory_usage, Some(1024 * 1024));

    // One unreadable namespace link hides only itself.
    let worker = s.processes.iter().find(|p| p.pid == 203).expect("worker");
    assert!(!worker.namespaces.contains_key(&NsKind::Uts));
    assert_eq!(worker.namespaces.len(), NsKind::ALL.len() - 1);
    assert!(s.gaps.iter().any(|g| g.pid == Some(203)
        && g.what == "ns/uts"
        && matches!(g.reason, GapReason::Other(_))));

    // A hostNetwork pod shares the host's net namespace: its shim and cgroup find it.
    let hostnet = sandbox(s, HOSTNET_UID);
    assert_eq!(hostnet.kind, SandboxKind::KubernetesPod);
    assert_eq!((hostnet.shim, hostnet.pause), (Some(210), Some(211)));
    assert_eq!(
        hostnet.net.map(|n| n.inode),
        s.host.namespaces.get(&NsKind::Net).map(|n| n.inode)
    );
    assert_eq!(role(s, 212), Role::Container("d4d4d4d4d4d4".into()));

    // Docker: no pause, the container named by its short ID.
    let docker = s
        .sandboxes
        .iter()
        .find(|sb| sb.kind == SandboxKind::Docker)
        .expect("docker container");
    assert_eq!(docker.name, DOCKER_SHORT);
    assert_eq!(docker.shim, Some(400));
    assert_eq!(docker.pause, None);
    assert_eq!(docker.containers[0].main_pid, Some(401));
    assert_eq!(docker.net.map(|n| n.inode), Some(4026532301));

    // Host daemons are in no sandbox, and only `stat` was read for them.
    assert_eq!(s.sandboxes.len(), 3, "{:#?}", s.sandboxes);
    for pid in [1, 50, 60, 70, 300] {
        assert_eq!(role(s, pid), Role::Other, "pid {pid}");
    }
    let sshd = s.processes.iter().find(|p| p.pid == 300).expect("sshd");
    assert_eq!(sshd.comm, "sshd");
    assert!(sshd.namespaces.is_empty() && sshd.cmdline.is_empty());
    assert!(s.processes.iter().any(|p| p.pid == 2 && p.kernel_thread));
}

#[test]
fn kubelet_node_with_cgroupfs_driver() {
    let s = host("k8s-cgroupfs");
    assert_eq!(s.host.cgroup_layout, CgroupLayout::Hybrid);
    check_node(&s);
    let app = &sandbox(&s, UID).containers[1];
    assert_eq!(
        app.cgroup.as_ref().map(|c| c.cpu_request_millis),
        Some(Some(100))
    );
}

#[test]
fn kubelet_node_with_systemd_driver() {
    let s = host("k8s-systemd");
    assert_eq!(s.host.cgroup_layout, CgroupLayout::Unified);
    check_node(&s);
    let pod = sandbox(&s, UID);
    assert!(
        pod.cgroup
            .as_ref()
            .is_some_and(|c| c.path.ends_with(&format!(
                "kubepods-burstable-pod{}.slice",
                UID.replace('-', "_")
            ))),
        "{:?}",
        pod.cgroup
    );
}

#[test]
fn node_text_view_names_the_runtimes() {
    let s = host("k8s-systemd");
    let en = podlab::present::text::render(&s, podlab::i18n::Lang::En);
    for want in [APP_SHORT, DOCKER_SHORT, "10.88.0.7"] {
        assert!(en.contains(want), "{want} in {en}");
    }
}

#[test]
#[ignore = "prints the node fixture's text view for a look"]
fn show_node_text() {
    let s = host("k8s-cgroupfs");
    println!(
        "{}",
        podlab::present::text::render(&s, podlab::i18n::Lang::En)
    );
}
