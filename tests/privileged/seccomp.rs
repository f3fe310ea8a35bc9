//! seccomp on the kernel: RuntimeDefault filters a container (and whatever `podlab exec` runs
//! in it), a container that sets nothing runs Unconfined as under kubelet 1.35, pause is always
//! filtered, and the observer reads `Seccomp:` back.

use std::time::Duration;

use crate::common::{self, TestPod};
use podlab::kube::pod_state::ContainerState;
use podlab::observe::{Collector, Role, Sources, Target};

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: filtered
    image: busybox
    command: [sleep, '3600']
    securityContext:
      seccompProfile:
        type: RuntimeDefault
  - name: plain
    image: busybox
    command: [sleep, '3600']
";

fn status_field(pid: i32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

#[test]
fn runtime_default_filters_the_container_and_pause_and_unset_stays_unconfined() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run("seccomp", POD);
    pod.wait_for("both containers running", Duration::from_secs(60), |s| {
        s.containers
            .iter()
            .all(|c| matches!(c.state, ContainerState::Running { .. }))
    });

    // What /proc says, read from the host.
    assert_eq!(status_field(pod.pid_of("filtered"), "Seccomp"), "2");
    assert_eq!(status_field(pod.pid_of("filtered"), "Seccomp_filters"), "1");
    assert_eq!(status_field(pod.pid_of("plain"), "Seccomp"), "0");
    assert_eq!(status_field(pod.pause_pid(), "Seccomp"), "2");

    // A call the profile denies fails with EPERM inside; exec'd processes get the filter too.
    let inside = pod.exec("filtered", &["unshare", "-U", "true"]);
    assert!(
        !inside.status.success(),
        "unshare -U ran under RuntimeDefault"
    );
    let err = common::stderr(&inside);
    assert!(err.contains("Operation not permitted"), "{err}");
    assert_eq!(
        pod.sh("filtered", "grep '^Seccomp:' /proc/self/status")
            .trim(),
        "Seccomp:\t2"
    );
    // clone3 answers ENOSYS (so C libraries fall back to clone), and forking still works.
    assert_eq!(pod.sh("filtered", "echo forked | cat").trim(), "forked");
    // The same call in the Unconfined container is allowed (a user namespace needs no
    // capability).
    let plain = pod.exec("plain", &["unshare", "-U", "true"]);
    assert!(plain.status.success(), "{}", common::stderr(&plain));

    // The observer reads it back for the process tree.
    let snapshot = Collector::new(Sources::default())
        .snapshot(&Target::Pod(pod.name.clone()))
        .unwrap_or_else(|e| panic!("snapshot: {e:#}"));
    let mode_of = |role: &Role| {
        snapshot
            .processes
            .iter()
            .find(|p| &p.role == role)
            .and_then(|p| p.seccomp)
            .map(|s| (s.mode, s.filters))
    };
    assert_eq!(mode_of(&Role::Pause), Some((2, Some(1))));
    assert_eq!(
        mode_of(&Role::Container("filtered".into())),
        Some((2, Some(1)))
    );
    assert_eq!(
        mode_of(&Role::Container("plain".into())),
        Some((0, Some(0)))
    );

    let describe = common::stdout(&common::podlab(&["describe", &pod.name]));
    assert!(
        describe.contains("Seccomp:        RuntimeDefault"),
        "{describe}"
    );
    assert!(
        describe.contains("Seccomp:        Unconfined (not set"),
        "{describe}"
    );
    let yaml = common::stdout(&common::podlab(&["get", "pod", &pod.name, "-o", "yaml"]));
    assert!(yaml.contains("type: RuntimeDefault"), "{yaml}");
}

#[test]
fn a_localhost_profile_is_read_from_the_profile_directory_and_a_missing_one_fails_the_start() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let dir = podlab::runtime::seccomp::localhost_dir();
    std::fs::create_dir_all(&dir).expect("create the profile directory");
    let name = common::unique_name("no-mkdir");
    let file = dir.join(format!("{name}.json"));
    std::fs::write(
        &file,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .expect("write the profile");
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
            // The directory too, unless it holds someone's profiles.
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
    let _remove = Remove(file);
    let yaml = POD
        .replace(
            "type: RuntimeDefault",
            "type: Localhost\n        localhostProfile: PROFILE",
        )
        .replace("PROFILE", &format!("{name}.json"));
    let pod = TestPod::run("seccomp-local", &yaml);
    pod.wait_for(
        "the filtered container running",
        Duration::from_secs(60),
        |s| {
            s.container("filtered")
                .is_some_and(|c| matches!(c.state, ContainerState::Running { .. }))
        },
    );
    // EACCES, the profile's own errno, where RuntimeDefault would allow mkdir.
    let out = pod.exec("filtered", &["mkdir", "/tmp/x"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("Permission denied"),
        "{}",
        common::stderr(&out)
    );
    // Everything else is allowed by this profile.
    assert_eq!(
        pod.sh("filtered", "unshare -U true && echo ok").trim(),
        "ok"
    );
    drop(pod);

    let missing = POD.replace(
        "type: RuntimeDefault",
        "type: Localhost\n        localhostProfile: no-such-profile.json",
    );
    let pod = TestPod::run("seccomp-missing", &missing);
    let state = pod.wait_for("a failed start", Duration::from_secs(60), |s| {
        s.events
            .iter()
            .any(|e| e.message.contains("no-such-profile.json"))
    });
    let c = state.container("filtered").expect("container");
    assert!(
        !matches!(c.state, ContainerState::Running { .. }),
        "{:?}",
        c.state
    );
}
