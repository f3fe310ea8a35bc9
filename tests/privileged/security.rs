//! What a container may do on the kernel: devices (runc's allow-list), no_new_privs, who it
//! runs as, its capabilities.

use crate::common;

use common::*;

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
