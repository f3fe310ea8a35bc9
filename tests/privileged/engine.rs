//! The engine on real pods (root): pause first, then containers joining its namespaces.

use crate::common;

use std::time::Duration;

use common::*;

const TWO_CONTAINERS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: shared
    emptyDir: {}
  containers:
  - name: web
    image: nginx:1.29
    volumeMounts:
    - name: shared
      mountPath: /usr/share/nginx/html/shared
  - name: helper
    image: registry.k8s.io/busybox:1.27.2
    command: ["sh", "-c", "echo written-by-helper > /data/note.txt; exec sleep 3600"]
    volumeMounts:
    - name: shared
      mountPath: /data
"#;

#[test]
fn containers_join_pause_net_ipc_uts_but_keep_their_own_mnt_and_pid() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("join", TWO_CONTAINERS);
    let pause = pod.pause_pid();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pause}/comm"))
            .unwrap()
            .trim(),
        "pause"
    );
    for container in ["web", "helper"] {
        let pid = pod.pid_of(container);
        for shared in ["net", "ipc", "uts"] {
            assert_eq!(
                ns_inode(pid, shared),
                ns_inode(pause, shared),
                "{container} shares {shared}"
            );
        }
        for own in ["mnt", "pid"] {
            assert_ne!(
                ns_inode(pid, own),
                ns_inode(pause, own),
                "{container} has its own {own}"
            );
        }
    }
    assert_ne!(
        ns_inode(pod.pid_of("web"), "mnt"),
        ns_inode(pod.pid_of("helper"), "mnt")
    );
    // The host's namespaces are not the pod's.
    assert_ne!(
        ns_inode(pause, "net"),
        ns_inode(std::process::id() as i32, "net")
    );
}

#[test]
fn every_container_sees_the_pod_name_as_hostname() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("hostname", TWO_CONTAINERS);
    for container in ["web", "helper"] {
        assert_eq!(pod.sh(container, "hostname").trim(), pod.name);
        assert_eq!(pod.sh(container, "cat /etc/hostname").trim(), pod.name);
        assert!(pod
            .sh(container, "cat /etc/hosts")
            .starts_with("# Kubernetes-managed hosts file."));
    }
}

#[test]
fn a_file_written_to_an_empty_dir_by_one_container_is_read_by_the_other() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("emptydir", TWO_CONTAINERS);
    pod.sh(
        "web",
        "echo from-web > /usr/share/nginx/html/shared/web.txt",
    );
    assert_eq!(pod.sh("helper", "cat /data/web.txt").trim(), "from-web");
    let note = pod.sh("web", "cat /usr/share/nginx/html/shared/note.txt");
    assert_eq!(note.trim(), "written-by-helper");
}

#[test]
fn one_container_serves_http_and_the_other_fetches_it_on_localhost() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("localhost", TWO_CONTAINERS);
    pod.wait_for("helper to write its note", Duration::from_secs(5), |_| {
        pod.exec(
            "web",
            &["test", "-f", "/usr/share/nginx/html/shared/note.txt"],
        )
        .status
        .success()
    });
    let page = pod.sh("helper", "wget -qO- http://localhost:80/");
    assert!(page.contains("Welcome to nginx!"), "{page}");
    let note = pod.sh("helper", "wget -qO- http://127.0.0.1/shared/note.txt");
    assert_eq!(note.trim(), "written-by-helper");
}

#[test]
fn containers_get_their_own_root_and_proc_and_default_capabilities() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("isolation", TWO_CONTAINERS);
    // Own PID namespace: the container's command is PID 1 and sees nothing else.
    let ps = pod.sh("helper", "ps -o pid,comm");
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep"]),
        "{ps}"
    );
    assert!(!ps.contains("pause") && !ps.contains("httpd"), "{ps}");
    // The image's root, not the host's.
    assert!(
        pod.exec("helper", &["test", "-e", "/run/podlab"])
            .status
            .code()
            == Some(1)
    );
    // containerd's default capability set, and no_new_privs.
    let pid = pod.pid_of("helper");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("CapEff:\t00000000a80425fb"), "{status}");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    // runc's masked paths read as empty (/dev/null over them) and /proc/sys is read-only.
    assert!(!std::fs::read_to_string("/proc/timer_list")
        .unwrap_or_default()
        .is_empty());
    assert_eq!(pod.sh("helper", "wc -c < /proc/timer_list").trim(), "0");
    assert!(!pod
        .exec(
            "helper",
            &["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"]
        )
        .status
        .success());
}

#[test]
fn share_process_namespace_makes_pause_pid_1_and_it_reaps_orphans() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "sharedpid",
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    # The subshell exits at once: its "sleep 1" is orphaned and re-parented to PID 1.
    command: ["sh", "-c", "(sleep 1 &); exec sleep 3600"]
  - name: other
    image: busybox
    command: ["sleep", "3600"]
"#,
    );
    let pause = pod.pause_pid();
    for c in ["app", "other"] {
        assert_eq!(
            ns_inode(pod.pid_of(c), "pid"),
            ns_inode(pause, "pid"),
            "{c} shares pid"
        );
    }
    let ps = pod.sh("other", "ps -o pid,comm");
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "pause"]),
        "{ps}"
    );
    assert!(ps.contains("sleep"), "{ps}");
    // The orphan's parent is pause while it runs...
    let orphan_parent = pod.sh("other", "for p in /proc/[0-9]*; do if grep -q '^sleep 1$' $p/cmdline 2>/dev/null || tr '\\0' ' ' < $p/cmdline | grep -q '^sleep 1 $'; then awk '{print $4}' $p/stat; fi; done");
    assert_eq!(
        orphan_parent.trim(),
        "1",
        "orphaned sleep is re-parented to pause (PID 1)"
    );
    // ...and once it exits, pause reaps it: no zombie stays in the pod.
    std::thread::sleep(Duration::from_millis(1500));
    let states = pod.sh("other", "cat /proc/[0-9]*/stat | awk '{print $3}'");
    assert!(
        !states.split_whitespace().any(|s| s == "Z"),
        "a zombie was left: {states}"
    );
}

#[test]
fn exec_returns_the_exit_code_of_the_command() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("exitcode", TWO_CONTAINERS);
    assert_eq!(
        pod.exec("helper", &["sh", "-c", "exit 7"]).status.code(),
        Some(7)
    );
    assert_eq!(
        pod.exec("helper", &["no-such-command"]).status.code(),
        Some(127)
    );
    let out = pod.exec("nope", &["true"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("its containers: web, helper"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn empty_dir_dies_with_the_pod_and_host_path_stays() {
    let Some(_machine) = privileged() else {
        return;
    };
    let host_dir = std::env::temp_dir().join(format!("podlab-hostpath-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&host_dir);
    let yaml = format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {{name}}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - name: scratch
    emptyDir: {{}}
  - name: keep
    hostPath:
      path: {}
      type: DirectoryOrCreate
  containers:
  - name: writer
    image: busybox
    command: ["sh", "-c", "echo a > /scratch/a; echo b > /keep/b; exec sleep 3600"]
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
    - {{name: keep, mountPath: /keep}}
"#,
        host_dir.display()
    );
    let scratch;
    {
        let pod = TestPod::run("volumes", &yaml);
        pod.wait_for("the writer", Duration::from_secs(5), |_| {
            host_dir.join("b").exists()
        });
        scratch = podlab::runtime::paths::volumes_dir(&pod.state().uid).join("scratch");
        assert_eq!(pod.sh("writer", "cat /scratch/a").trim(), "a");
    }
    assert!(!scratch.exists(), "emptyDir must go with the pod");
    assert_eq!(
        std::fs::read_to_string(host_dir.join("b")).unwrap().trim(),
        "b"
    );
    let _ = std::fs::remove_dir_all(&host_dir);
}

#[test]
fn read_only_volume_mounts_cannot_be_written() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "readonly",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: v, emptyDir: {}}]
  containers:
  - name: a
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{name: v, mountPath: /ro, readOnly: true}]
"#,
    );
    let out = pod.exec("a", &["touch", "/ro/x"]);
    assert!(!out.status.success(), "writing a readOnly mount must fail");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_image_is_a_clear_error_and_nothing_starts() {
    let Some(_machine) = privileged() else {
        return;
    };
    let name = unique_name("badimage");
    let manifest = write_manifest(
        &name,
        &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - {{name: a, image: redis:7}}\n"),
    );
    let out = podlab(&["run", "-d", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("\"redis:7\" is not in podlab's image store")
            && err.contains("busybox and nginx"),
        "{err}"
    );
    assert!(podlab::runtime::lookup::find_pod(&name).is_err());
}

#[test]
fn events_say_what_served_each_image() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("events", TWO_CONTAINERS);
    let state = pod.state();
    let messages: Vec<String> = state
        .events
        .iter()
        .map(|e| format!("{} {}", e.reason, e.message))
        .collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "Pulled Container image \"nginx:1.29\" served by podlab's stand-in (busybox httpd"
        )),
        "{messages:#?}"
    );
    assert!(
        messages.contains(&"Started Container started".to_string()),
        "{messages:#?}"
    );
    let describe = stdout(&podlab(&["describe", &pod.name]));
    assert!(
        describe.contains("Events:")
            && describe.contains("spec.containers{helper}: Container created"),
        "{describe}"
    );
    let ps = stdout(&podlab(&["ps"]));
    let line = ps
        .lines()
        .find(|l| l.starts_with(&pod.name))
        .expect("pod listed");
    assert!(line.contains("2/2") && line.contains("Running"), "{line}");
}

#[test]
fn logs_show_what_a_container_printed() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "logs",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: talker, image: busybox, command: ["sh", "-c", "echo hello from talker; echo oops >&2; exec sleep 3600"]}
  - {name: quiet, image: busybox, command: ["sleep", "3600"]}
"#,
    );
    let state = pod.wait_for("the talker to print", Duration::from_secs(5), |_| {
        stdout(&podlab(&["logs", &pod.name, "-c", "talker"])).contains("oops")
    });
    let out = podlab(&["logs", &state.name]);
    assert_eq!(stdout(&out), "hello from talker\noops\n");
    assert!(
        stderr(&out).contains("Defaulted container \"talker\" out of: talker, quiet"),
        "{}",
        stderr(&out)
    );
    let missing = podlab(&["logs", &state.name, "-c", "nope"]);
    assert!(
        !missing.status.success() && stderr(&missing).contains("its containers: talker, quiet")
    );
    // quiet never restarted: it has no previous instance to show.
    let none = podlab(&["logs", &state.name, "-c", "quiet", "-p"]);
    assert!(
        !none.status.success() && stderr(&none).contains("previous terminated container"),
        "{}",
        stderr(&none)
    );
}

#[test]
fn logs_show_the_last_instance_and_previous_the_one_before() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "logs-restart",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: d, emptyDir: {}}]
  containers:
  - name: crasher
    image: busybox
    command: ["sh", "-c", "n=$(( $(cat /d/n 2>/dev/null || echo 0) + 1 )); echo $n > /d/n; echo run $n; exit 1"]
    volumeMounts: [{name: d, mountPath: /d}]
"#,
    );
    // The first restart comes after the 10 s back-off, the next 20 s later: run 2 stays the
    // last instance for a while.
    let state = pod.wait_for("the second run", Duration::from_secs(20), |_| {
        stdout(&podlab(&["logs", &pod.name])).contains("run 2")
    });
    assert_eq!(stdout(&podlab(&["logs", &state.name])), "run 2\n");
    assert_eq!(
        stdout(&podlab(&["logs", &state.name, "--previous"])),
        "run 1\n"
    );
}

/// A hostNetwork pod's sandbox keeps the host's net and uts namespaces (so its name too), and
/// the steps the shim narrates for it say exactly that: no CLONE_NEWNET, CLONE_NEWUTS or
/// sethostname.
#[test]
fn a_host_network_pods_sandbox_keeps_the_hosts_net_and_uts_as_its_steps_say() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "hostnet-ns",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
  - {name: a, image: busybox, command: [sleep, "3600"]}
"#,
    );
    let pause = pod.pause_pid();
    let me = std::process::id() as i32;
    for shared in ["net", "uts"] {
        assert_eq!(ns_inode(pause, shared), ns_inode(me, shared), "{shared}");
    }
    for own in ["pid", "ipc", "mnt"] {
        assert_ne!(ns_inode(pause, own), ns_inode(me, own), "{own}");
    }
    let uid = pod.state().uid;
    let mut shim = podlab::runtime::client::ShimConnection::connect(&uid).expect("connect");
    let (steps, _) = shim.plan().expect("the shim's plan");
    let namespaces = steps
        .iter()
        .find(|s| s.id == "namespaces")
        .expect("a namespaces step");
    let said = namespaces.syscalls.join("\n");
    assert!(
        said.contains("CLONE_NEWPID") && said.contains("CLONE_NEWIPC"),
        "{said}"
    );
    for unsaid in ["CLONE_NEWNET", "CLONE_NEWUTS", "sethostname"] {
        assert!(!said.contains(unsaid), "{unsaid} in {said}");
    }
    assert!(!steps.iter().any(|s| s.id == "network"), "no network step");
}

/// containerd 2.x opens low ports and ping to every user of a pod with a network namespace of
/// its own (`ip_unprivileged_port_start=0`, `ping_group_range=0 2147483647`); the host keeps
/// its own values.
#[test]
fn a_pods_net_namespace_has_containerds_sysctls() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "sysctls",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: {name}}\nspec:\n  containers:\n  - {name: app, image: busybox, command: [sleep, \"3600\"]}\n",
    );
    let read = |file: &str| pod.sh("app", &format!("cat /proc/sys/net/ipv4/{file}"));
    assert_eq!(read("ip_unprivileged_port_start").trim(), "0");
    let range: Vec<String> = read("ping_group_range")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(range, ["0", "2147483647"]);
    // A user other than root may listen on port 80 inside.
    let listen = pod.exec(
        "app",
        &[
            "su",
            "nobody",
            "-s",
            "/bin/sh",
            "-c",
            "nc -l -p 80 -w 1 </dev/null; true",
        ],
    );
    assert!(listen.status.success(), "{}", stderr(&listen));
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .expect("host value");
    assert_ne!(host.trim(), "0", "the host keeps its own value");
}
