//! `hostUsers: false` as root: the pod's own user namespace with kubelet's range of ids.
//!
//! One test does every allocation in order (the ranges are machine-wide, so two tests making
//! such pods at once would race for the lowest free one).

use crate::common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::{podlab, stderr, stdout, TestPod};
use podlab::kube::userns::{IdRange, RANGE_LENGTH};
use podlab::runtime::paths;
use podlab::runtime::sys::LiveProcess;

const OWN: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  hostUsers: false
  terminationGracePeriodSeconds: 1
  volumes:
  - name: scratch
    emptyDir: {}
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "echo hi > /scratch/by-root; exec sleep 3600"]
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
"#;

/// The lines of a uid_map or gid_map, as numbers.
fn map_of(pid: i32, file: &str) -> Vec<(u64, u64, u64)> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/{file}: {e}"))
        .lines()
        .map(|line| {
            let n: Vec<u64> = line
                .split_whitespace()
                .map(|f| f.parse().expect("a number"))
                .collect();
            (n[0], n[1], n[2])
        })
        .collect()
}

/// The host's (real) uid and gid of a process.
fn host_ids(pid: i32) -> (u32, u32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| -> u32 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("Uid:"), field("Gid:"))
}

/// The ranges the pods on this machine hold now, from their records.
fn recorded_ranges() -> Vec<IdRange> {
    std::fs::read_dir(paths::pods_dir())
        .map(|dirs| {
            dirs.flatten()
                .filter_map(|d| std::fs::read_to_string(d.path().join("userns")).ok())
                .filter_map(|text| IdRange::from_record(&text).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one running pod with hostUsers: false and returns its range.
fn check_own_user_namespace(pod: &TestPod) -> IdRange {
    let state = pod.state();
    let range = state
        .user_namespace
        .expect("the pod's state records its range");
    assert_eq!(range.length, RANGE_LENGTH);
    assert!(range.first_id >= RANGE_LENGTH && range.first_id.is_multiple_of(RANGE_LENGTH));
    let first = u64::from(range.first_id);
    let app = pod.pid_of("app");
    let pause = pod.pause_pid();
    // Root inside is 65536·N outside: no process of the pod is the host's root. pause runs as
    // 65535 inside (the pause image's user), 65536·N + 65535 outside.
    for (pid, inside) in [(pause, 65535), (app, 0)] {
        for file in ["uid_map", "gid_map"] {
            assert_eq!(map_of(pid, file), [(0, first, 65536)], "{file} of {pid}");
        }
        let outside = range.first_id + inside;
        assert_eq!(host_ids(pid), (outside, outside), "pid {pid}");
    }
    // One user namespace for the pod, the sandbox's, joined by its container; not the host's.
    let user_ns = common::ns_inode(pause, "user");
    assert_eq!(common::ns_inode(app, "user"), user_ns);
    assert_ne!(user_ns, common::ns_inode(std::process::id() as i32, "user"));
    // Inside, it is root, and the image is root's (idmapped), so root owns its `/`.
    assert_eq!(pod.sh("app", "id -u; id -g").trim(), "0\n0");
    assert_eq!(
        pod.sh("app", "stat -c %u:%g /bin/busybox /").trim(),
        "0:0\n0:0"
    );
    // What root writes is 65536·N on the host: in the emptyDir, and in the writable layer.
    let volume = paths::volumes_dir(&state.uid).join("scratch");
    common::tmux::wait_for_file(&volume.join("by-root"), Duration::from_secs(10));
    let meta = std::fs::metadata(volume.join("by-root")).expect("by-root");
    assert_eq!((meta.uid(), meta.gid()), (range.first_id, range.first_id));
    pod.sh("app", "touch /made-here");
    let upper = paths::containers_dir(&state.uid).join("app/upper/made-here");
    assert_eq!(
        std::fs::metadata(&upper).expect("upper").uid(),
        range.first_id
    );
    // kubectl's views show it.
    let yaml = stdout(&podlab(&["get", "pod", &pod.name, "-o", "yaml"]));
    assert!(yaml.contains("hostUsers: false"), "{yaml}");
    let described = stdout(&podlab(&["describe", &pod.name]));
    assert!(
        described.contains("Host Users:   false") && described.contains(&range.map_line()),
        "{described}"
    );
    range
}

#[test]
fn host_users_false_gives_the_pod_its_own_range_which_delete_and_gc_free() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    // The default: the host's user namespace, root is root.
    let hosts = TestPod::run("userns-host", &OWN.replace("  hostUsers: false\n", ""));
    let app = hosts.pid_of("app");
    assert_eq!(map_of(app, "uid_map"), [(0, 0, 4294967295)]);
    assert_eq!(host_ids(app), (0, 0));
    assert_eq!(
        common::ns_inode(app, "user"),
        common::ns_inode(std::process::id() as i32, "user")
    );
    assert!(hosts.state().user_namespace.is_none());

    let a = TestPod::run("userns-a", OWN);
    let range_a = check_own_user_namespace(&a);
    let b = TestPod::run("userns-b", OWN);
    let range_b = check_own_user_namespace(&b);
    assert_ne!(range_a, range_b, "two pods, two ranges");
    assert!(recorded_ranges().contains(&range_a) && recorded_ranges().contains(&range_b));

    // Delete frees the range: the next pod gets it again (the lowest free one).
    let a_state = a.state();
    drop(a);
    common::assert_nothing_left(&a_state);
    assert!(!recorded_ranges().contains(&range_a));
    let c = TestPod::run("userns-c", OWN);
    let c_state = c.state();
    assert_eq!(c_state.user_namespace, Some(range_a));

    // kill -9 of the shim: the range is held until gc removes what the pod left.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c_state.shim.pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the shim");
    // PR_SET_PDEATHSIG: pause and the container die with their shim; gc collects a pod only
    // once its shim is gone.
    let processes = [
        c_state.shim,
        c_state.sandbox.as_ref().expect("sandbox").pause,
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while processes.iter().any(|p| p.is_alive()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the pod outlived its shim"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = podlab(&["gc"]);
    assert!(out.status.success(), "gc: {}", stderr(&out));
    common::assert_nothing_left(&c_state);
    assert!(!recorded_ranges().contains(&range_a));
    drop(c);
    let d = TestPod::run("userns-d", OWN);
    assert_eq!(d.state().user_namespace, Some(range_a));
    // No process of those pods is left under their ids.
    drop(d);
    drop(b);
    for range in [range_a, range_b] {
        let owned: Vec<String> = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<i32>().is_ok())
            .filter(|e| e.metadata().is_ok_and(|m| m.uid() == range.first_id))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(owned.is_empty(), "processes of {range:?} left: {owned:?}");
    }
}
