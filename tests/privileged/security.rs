//! What a container may do on the kernel: devices (runc's allow-list), no_new_privs, who it
//! runs as, its capabilities.

use crate::common;

use common::*;
use podlab::kube::pod_state::ContainerState;

/// A pod of busybox containers that sleep, each `(name, extra lines)` (a securityContext).
fn sleepers(containers: &[(&str, &str)]) -> String {
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  \
         terminationGracePeriodSeconds: 1\n  containers:\n",
    );
    for (name, extra) in containers {
        yaml.push_str(&format!(
            "  - name: {name}\n    image: registry.k8s.io/busybox:1.27.2\n    \
             command: [\"sleep\", \"3600\"]\n"
        ));
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            yaml.push_str(&format!("    {line}\n"));
        }
    }
    yaml
}

/// Make /tmp/kmsg (c 1:11, the kernel log, on every kernel) and /tmp/loop (b 7:0), then open
/// each, and /dev/null (each open in a subshell: a failed redirection of `:` ends the shell).
const MKNOD_AND_OPEN: &str = "mknod /tmp/kmsg c 1 11 && echo made-kmsg; \
     mknod /tmp/loop b 7 0 && echo made-loop; \
     (: < /tmp/kmsg) && echo opened-kmsg; \
     (: < /tmp/loop) && echo opened-loop; \
     (: < /dev/null) && echo opened-null; \
     echo x > /dev/null && echo wrote-null; true";

#[test]
fn a_container_may_make_but_not_open_a_device_outside_runcs_list() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "devices",
        &sleepers(&[
            ("plain", ""),
            ("privileged", "securityContext:\n  privileged: true"),
        ]),
    );
    let out = pod.exec("plain", &["sh", "-c", MKNOD_AND_OPEN]);
    let (said, errors) = (stdout(&out), stderr(&out));
    // runc allows mknod of any device ("c *:* m", "b *:* m")…
    assert!(
        said.contains("made-kmsg") && said.contains("made-loop"),
        "{said}{errors}"
    );
    // …but opening one outside its list is refused.
    assert!(
        !said.contains("opened-kmsg") && !said.contains("opened-loop"),
        "{said}"
    );
    assert_eq!(
        errors.matches("Operation not permitted").count(),
        2,
        "{said}{errors}"
    );
    assert!(
        said.contains("opened-null") && said.contains("wrote-null"),
        "{said}{errors}"
    );

    // A privileged container gets every device.
    let out = pod.exec("privileged", &["sh", "-c", MKNOD_AND_OPEN]);
    let said = stdout(&out);
    for word in [
        "made-kmsg",
        "made-loop",
        "opened-kmsg",
        "opened-loop",
        "opened-null",
    ] {
        assert!(said.contains(word), "{word}: {said}{}", stderr(&out));
    }

    // On cgroup v1 the rules are in the leaf's devices.list, as runc writes them.
    let pid = pod.pid_of("plain");
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    if let Some(path) = cgroups
        .lines()
        .find_map(|l| l.split_once(":devices:").map(|(_, p)| p.to_string()))
    {
        let list =
            std::fs::read_to_string(format!("/sys/fs/cgroup/devices{path}/devices.list")).unwrap();
        let rules: Vec<&str> = list.lines().collect();
        assert!(
            rules.contains(&"c 10:200 rwm") && rules.contains(&"b *:* m"),
            "{list}"
        );
        assert!(!rules.contains(&"a *:* rwm"), "{list}");
    }
}

#[test]
fn no_new_privs_only_with_allow_privilege_escalation_false() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "nnp",
        &sleepers(&[
            ("plain", ""),
            (
                "allowed",
                "securityContext:\n  allowPrivilegeEscalation: true",
            ),
            (
                "forbidden",
                "securityContext:\n  allowPrivilegeEscalation: false",
            ),
        ]),
    );
    for (container, nnp) in [("plain", "0"), ("allowed", "0"), ("forbidden", "1")] {
        let pid = pod.pid_of(container);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(
            status.contains(&format!("NoNewPrivs:\t{nnp}")),
            "{container}: {status}"
        );
    }
}

/// The `Uid:`, `Gid:`, `Groups:`, `CapEff:` and `CapBnd:` of a process, as `/proc` shows them
/// (Uid and Gid: the real one; Groups sorted).
fn identity(pid: i32) -> [String; 5] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let first = |name: &str| {
        field(name)
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let mut groups: Vec<u32> = field("Groups")
        .split_whitespace()
        .filter_map(|g| g.parse().ok())
        .collect();
    groups.sort();
    let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    [
        first("Uid"),
        first("Gid"),
        groups.join(" "),
        field("CapEff"),
        field("CapBnd"),
    ]
}

#[test]
fn users_groups_and_capabilities_from_the_pod_and_container_security_context() {
    let Some(_machine) = privileged() else {
        return;
    };
    let yaml = sleepers(&[
        ("inherits", ""),
        ("own-user", "securityContext:\n  runAsUser: 2001"),
        ("root", "securityContext:\n  runAsUser: 0"),
        (
            "caps",
            "securityContext:\n  runAsUser: 0\n  capabilities:\n    add: [NET_ADMIN]\n    drop: [NET_RAW]",
        ),
        (
            "only-bind",
            "securityContext:\n  runAsUser: 0\n  capabilities:\n    add: [NET_BIND_SERVICE]\n    drop: [ALL]",
        ),
    ])
    .replace(
        "  containers:\n",
        "  securityContext:\n    runAsUser: 1000\n    runAsGroup: 3000\n    fsGroup: 2000\n    \
         supplementalGroups: [4000]\n  containers:\n",
    );
    let pod = TestPod::run("users", &yaml);
    let default_caps = "00000000a80425fb";
    let want = |uid: &str, caps: &str, bounding: &str| {
        [
            uid.to_string(),
            "3000".to_string(),
            "2000 3000 4000".to_string(),
            caps.to_string(),
            bounding.to_string(),
        ]
    };
    // A non-root user keeps the bounding set but loses its capabilities at exec, as under runc.
    let zero = "0000000000000000";
    let cases = [
        ("inherits", want("1000", zero, default_caps)),
        ("own-user", want("2001", zero, default_caps)),
        ("root", want("0", default_caps, default_caps)),
        ("caps", want("0", "00000000a80415fb", "00000000a80415fb")),
        (
            "only-bind",
            want("0", "0000000000000400", "0000000000000400"),
        ),
    ];
    for (container, expected) in cases {
        assert_eq!(identity(pod.pid_of(container)), expected, "{container}");
    }
    // podlab exec runs as the container's process does.
    let id = pod.sh(
        "inherits",
        "id -u; id -g; cat /proc/self/status | grep CapEff",
    );
    assert_eq!(
        id.split_whitespace().collect::<Vec<_>>(),
        ["1000", "3000", "CapEff:", zero],
        "{id}"
    );
}

#[test]
fn read_only_root_filesystem_and_run_as_non_root() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "readonly",
        &sleepers(&[
            ("ro", "securityContext:\n  readOnlyRootFilesystem: true"),
            (
                "nonroot-ok",
                "securityContext:\n  runAsNonRoot: true\n  runAsUser: 1000",
            ),
            ("nonroot-refused", "securityContext:\n  runAsNonRoot: true"),
        ]),
    );
    let out = pod.exec(
        "ro",
        &[
            "sh",
            "-c",
            "touch /here; touch /dev/shm/there && echo shm-ok",
        ],
    );
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("shm-ok"), "{}", stdout(&out));
    assert_eq!(identity(pod.pid_of("nonroot-ok"))[0], "1000");
    // kubelet refuses to create a container whose image runs as root: it waits.
    let state = pod.wait_for("CreateContainerConfigError", std::time::Duration::from_secs(20), |s| {
        s.container("nonroot-refused").is_some_and(|c| {
            matches!(&c.state, ContainerState::Waiting { reason } if reason == "CreateContainerConfigError")
        })
    });
    let refused = state.container("nonroot-refused").unwrap();
    let expected = format!(
        "container has runAsNonRoot and image will run as root (pod: \"{}_default({})\", container: nonroot-refused)",
        pod.name, state.uid
    );
    assert_eq!(refused.state_message.as_deref(), Some(expected.as_str()));
    assert!(refused.process.is_none());
    let events = pod.events();
    assert!(
        events.contains(&format!("Failed Error: {expected}")),
        "{events:#?}"
    );
}

#[test]
fn pause_runs_as_65535_without_capabilities_with_no_new_privs_on_a_read_only_root() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("pause-user", &sleepers(&[("app", "")]));
    let pause = pod.pause_pid();
    let status = std::fs::read_to_string(format!("/proc/{pause}/status")).unwrap();
    assert_eq!(
        identity(pause),
        [
            "65535".to_string(),
            "65535".to_string(),
            "65535".to_string(),
            "0000000000000000".to_string(),
            "00000000a80425fb".to_string()
        ],
        "{status}"
    );
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    // Its root, in its own mount namespace, is read-only.
    let mountinfo = std::fs::read_to_string(format!("/proc/{pause}/mountinfo")).unwrap();
    let root = mountinfo
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap_or_default();
    let options = root.split_whitespace().nth(5).unwrap_or_default();
    assert!(options.split(',').any(|o| o == "ro"), "{root}");
    // A static binary: no program interpreter, no shared library.
    let exe = std::fs::read(format!("/proc/{pause}/exe")).unwrap();
    let elf = goblin::elf::Elf::parse(&exe).unwrap();
    assert!(
        elf.interpreter.is_none() && elf.libraries.is_empty(),
        "{:?}",
        elf.libraries
    );
    // The app container is root as before: pause's user is its own.
    assert_eq!(identity(pod.pid_of("app"))[0], "0");

    // The pod's runAsUser and runAsGroup are pause's too.
    let yaml = sleepers(&[("app", "")]).replace(
        "  containers:\n",
        "  securityContext:\n    runAsUser: 1000\n    runAsGroup: 3000\n  containers:\n",
    );
    let pod = TestPod::run("pause-pod-user", &yaml);
    let ids = identity(pod.pause_pid());
    assert_eq!((ids[0].as_str(), ids[1].as_str()), ("1000", "3000"));
}

/// The mount points of a process and their per-mount options, from its mountinfo.
fn mounts_of(pid: i32) -> Vec<(String, String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap()
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            Some((
                fields.get(4)?.to_string(),
                fields.get(5)?.to_string(),
                fields.get(dash + 1)?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn kubelets_masked_and_read_only_paths_only_in_unprivileged_containers() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "masked",
        &sleepers(&[
            ("plain", ""),
            ("privileged", "securityContext:\n  privileged: true"),
        ]),
    );
    let plain = mounts_of(pod.pid_of("plain"));
    let at = |mounts: &[(String, String, String)], path: &str| {
        mounts.iter().rev().find(|(p, _, _)| p == path).cloned()
    };
    // Files masked with /dev/null (a bind of a devtmpfs or tmpfs node), read-only paths ro;
    // only those this kernel has (some have no /proc/kcore).
    let present = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .filter(|f| std::path::Path::new(f).exists());
    for file in present {
        let (_, _, fs) = at(&plain, file).unwrap_or_else(|| panic!("{file} not masked"));
        assert!(fs == "devtmpfs" || fs == "tmpfs", "{file}: {fs}");
    }
    for dir in ["/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"] {
        let (_, options, _) = at(&plain, dir).unwrap_or_else(|| panic!("{dir} not read-only"));
        assert!(options.split(',').any(|o| o == "ro"), "{dir}: {options}");
    }
    let masked = pod.exec("plain", &["sh", "-c", "cat /proc/keys | wc -c"]);
    assert_eq!(stdout(&masked).trim(), "0");
    let privileged = mounts_of(pod.pid_of("privileged"));
    assert!(at(&privileged, "/proc/keys").is_none());
    assert!(at(&privileged, "/proc/sys").is_none());
}
