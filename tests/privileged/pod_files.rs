//! What kubelet gives each container besides the image, read from inside real pods: the
//! environment with `$(VAR)` expanded and values from the pod and its resources.

use crate::common::{self, TestPod};

/// The NUL-separated strings of `/proc/PID/FILE` (environ: NAME=value lines; cmdline: argv).
fn proc_strings(pid: i32, file: &str) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/{file}")).expect("read /proc");
    bytes
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn env_values_come_from_the_pod_and_expand_in_env_command_and_args() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run(
        "env",
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {app: shop}
spec:
  containers:
    - name: app
      image: busybox
      command: [sh, -c, 'echo "$1" > /tmp/seen; exec sleep 3600', $(APP)]
      args: ['$(GREETING) $$(GREETING) $(NOPE)']
      env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_UID
          valueFrom: {fieldRef: {fieldPath: metadata.uid}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: APP
          valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
        - name: MEMORY_MI
          valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
        - name: CPU_LIMIT
          valueFrom: {resourceFieldRef: {resource: limits.cpu}}
        - name: GREETING
          value: hi-$(POD_NAME)-$(LATER)
        - name: LATER
          value: late
      resources:
        limits: {memory: 64Mi}
"#,
    );
    let state = pod.state();
    let pid = pod.pid_of("app");
    let env = proc_strings(pid, "environ");
    let ip = state
        .sandbox
        .as_ref()
        .and_then(|s| s.ip.clone())
        .expect("pod IP");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for wanted in [
        format!("POD_NAME={}", pod.name),
        format!("POD_UID={}", state.uid),
        format!("POD_IP={ip}"),
        "APP=shop".to_string(),
        "MEMORY_MI=64".to_string(),
        // No CPU limit: the node's allocatable, in whole CPUs rounded up.
        format!("CPU_LIMIT={cpus}"),
        format!("GREETING=hi-{}-$(LATER)", pod.name),
        format!("HOSTNAME={}", pod.name),
    ] {
        assert!(env.contains(&wanted), "{wanted} not in {env:?}");
    }
    assert!(
        !env.iter().any(|v| v.starts_with("KUBERNETES_")),
        "no service links: {env:?}"
    );
    // command and args: expanded from the container's variables, `$$` an escaped `$`.
    assert_eq!(
        pod.sh("app", "cat /tmp/seen"),
        format!("hi-{}-$(LATER) $(GREETING) $(NOPE)\n", pod.name)
    );
    assert_eq!(
        proc_strings(pid, "cmdline"),
        ["sleep", "3600"],
        "the shell exec'd its last command"
    );
}

/// The pod's resolv.conf as the node's would become it (kubelet's parse, containerd's writing).
fn node_resolv_conf_for_pods() -> String {
    use podlab::kube::dns;
    let node = podlab::runtime::volumes::node_resolv_conf();
    dns::resolv_conf(&dns::parse_resolv_conf(&node)).unwrap_or(node)
}

#[test]
fn resolv_conf_follows_the_dns_policy_and_cluster_first_falls_back_with_a_warning() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run(
        "dns-default",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: '{name}'}\nspec:\n  containers:\n    - {name: app, image: busybox, command: [sleep, '3600']}\n",
    );
    assert_eq!(
        pod.sh("app", "cat /etc/resolv.conf"),
        node_resolv_conf_for_pods()
    );
    let warnings: Vec<String> = pod
        .events()
        .into_iter()
        .filter(|e| e.starts_with("MissingClusterDNS"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", pod.events());
    assert!(
        warnings[0].contains("kubelet does not have ClusterDNS IP configured"),
        "{warnings:?}"
    );
    drop(pod);

    let pod = TestPod::run(
        "dns-none",
        r#"apiVersion: v1
kind: Pod
metadata: {name: '{name}'}
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: [203.0.113.10, 203.0.113.11]
    searches: [ns1.svc.cluster-domain.example, my.dns.search.suffix]
    options:
      - {name: ndots, value: "2"}
      - {name: edns0}
  containers:
    - {name: app, image: busybox, command: [sleep, '3600']}
"#,
    );
    assert_eq!(
        pod.sh("app", "cat /etc/resolv.conf"),
        "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 203.0.113.10\nnameserver 203.0.113.11\noptions ndots:2 edns0\n"
    );
    assert!(
        !pod.events()
            .iter()
            .any(|e| e.starts_with("MissingClusterDNS")),
        "{:?}",
        pod.events()
    );
}

const ALIASES: &str = "  hostAliases:\n    - {ip: 203.0.113.7, hostnames: [db.local, db]}\n";
const ALIAS_LINES: &str = "\n# Entries added by HostAliases.\n203.0.113.7\tdb.local\tdb\n";

#[test]
fn a_host_network_pod_gets_the_nodes_hosts_file_and_hostname() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run(
        "hostnet-files",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: '{{name}}'}}\nspec:\n  hostNetwork: true\n{ALIASES}  containers:\n    - {{name: app, image: busybox, command: [sleep, '3600']}}\n"
        ),
    );
    let node_hosts = std::fs::read_to_string("/etc/hosts").expect("read /etc/hosts");
    assert_eq!(
        pod.sh("app", "cat /etc/hosts"),
        format!("# Kubernetes-managed hosts file (host network).\n{node_hosts}{ALIAS_LINES}")
    );
    let node = nix::unistd::gethostname()
        .expect("hostname")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        pod.sh("app", "hostname; cat /etc/hostname; echo $HOSTNAME"),
        format!("{node}\n{node}\n{node}\n")
    );
}

#[test]
fn a_pod_network_pods_hosts_file_ends_with_its_host_aliases() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run(
        "aliases",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: '{{name}}'}}\nspec:\n{ALIASES}  containers:\n    - {{name: app, image: busybox, command: [sleep, '3600']}}\n"
        ),
    );
    let ip = pod.state().sandbox.and_then(|s| s.ip).expect("pod IP");
    let hosts = pod.sh("app", "cat /etc/hosts");
    assert!(
        hosts.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"),
        "{hosts}"
    );
    assert!(
        hosts.ends_with(&format!("{ip}\t{}\n{ALIAS_LINES}", pod.name)),
        "{hosts}"
    );
}

/// The options of the mount at `path` in the container, as `/proc/self/mountinfo` lists them
/// (the mount's own and the superblock's).
fn mount_options(pod: &TestPod, container: &str, path: &str) -> String {
    let script = format!("awk '$5 == \"{path}\" {{ print $6 \",\" $NF }}' /proc/self/mountinfo");
    pod.sh(container, &script)
}

fn device_and_inode(pod: &TestPod, container: &str) -> String {
    pod.sh(container, "stat -c '%d %i' /dev/shm")
}

#[test]
fn dev_shm_is_one_noexec_64_mib_tmpfs_per_pod_unless_a_volume_or_host_ipc_takes_it() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let two = "    - {name: a, image: busybox, command: [sleep, '3600']}\n    - {name: b, image: busybox, command: [sleep, '3600']}\n";
    let pod = TestPod::run(
        "shm",
        &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: '{{name}}'}}\nspec:\n  containers:\n{two}"),
    );
    let options = mount_options(&pod, "a", "/dev/shm");
    for wanted in ["nosuid", "nodev", "noexec", "size=65536k"] {
        assert!(options.contains(wanted), "{wanted} not in {options:?}");
    }
    // tmpfs lists no mode=1777: it is its default.
    assert_eq!(pod.sh("a", "stat -c %a /dev/shm"), "1777\n");
    assert_eq!(device_and_inode(&pod, "a"), device_and_inode(&pod, "b"));
    pod.sh("a", "echo shared > /dev/shm/note");
    assert_eq!(pod.sh("b", "cat /dev/shm/note"), "shared\n");
    drop(pod);

    // The usual way to get a bigger /dev/shm: a Memory emptyDir mounted there wins.
    let pod = TestPod::run(
        "shm-volume",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: '{name}'}\nspec:\n  volumes:\n    - {name: dshm, emptyDir: {medium: Memory, sizeLimit: 128Mi}}\n  containers:\n    - name: a\n      image: busybox\n      command: [sleep, '3600']\n      volumeMounts: [{name: dshm, mountPath: /dev/shm}]\n",
    );
    let options = mount_options(&pod, "a", "/dev/shm");
    assert!(options.contains("size=131072k"), "{options:?}");
    assert_eq!(
        pod.sh("a", "grep -c ' /dev/shm ' /proc/self/mountinfo"),
        "1\n",
        "only the volume is mounted there"
    );
    drop(pod);

    let pod = TestPod::run(
        "shm-host-ipc",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: '{name}'}\nspec:\n  hostIPC: true\n  containers:\n    - {name: a, image: busybox, command: [sleep, '3600']}\n",
    );
    use std::os::unix::fs::MetadataExt;
    let host = std::fs::metadata("/dev/shm").expect("stat /dev/shm");
    assert_eq!(
        device_and_inode(&pod, "a"),
        format!("{} {}\n", host.dev(), host.ino())
    );
}

fn terminated_message(state: Option<&podlab::kube::pod_state::ContainerState>) -> Option<String> {
    match state {
        Some(podlab::kube::pod_state::ContainerState::Terminated { message, .. }) => {
            message.clone()
        }
        _ => None,
    }
}

#[test]
fn a_termination_message_is_read_from_the_file_or_the_end_of_the_log() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run(
        "tmsg",
        r#"apiVersion: v1
kind: Pod
metadata: {name: '{name}'}
spec:
  restartPolicy: Never
  containers:
    - name: file
      image: busybox
      command: [sh, -c, 'echo bye > /dev/termination-log; sleep 1; exit 1']
    - name: custom
      image: busybox
      terminationMessagePath: /tmp/why
      command: [sh, -c, 'echo custom > /tmp/why; sleep 1']
    - name: logs
      image: busybox
      terminationMessagePolicy: FallbackToLogsOnError
      command: [sh, -c, 'seq 1 100; echo oops >&2; sleep 1; exit 3']
"#,
    );
    let state = pod.wait_for(
        "every container to end",
        std::time::Duration::from_secs(20),
        |s| {
            s.containers.iter().all(|c| {
                matches!(
                    c.state,
                    podlab::kube::pod_state::ContainerState::Terminated { .. }
                )
            })
        },
    );
    use std::os::unix::fs::PermissionsExt;
    let file = podlab::runtime::paths::containers_dir(&state.uid).join("file/termination-log");
    let mode = std::fs::metadata(&file)
        .expect("the file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o666, "{}", file.display());
    let message = |name: &str| terminated_message(state.container(name).map(|c| &c.state));
    assert_eq!(message("file").as_deref(), Some("bye\n"));
    assert_eq!(message("custom").as_deref(), Some("custom\n"));
    let tail = message("logs").expect("the end of the log");
    assert!(
        tail.starts_with("22\n") && tail.ends_with("100\noops\n"),
        "{tail:?}"
    );
    assert_eq!(tail.lines().count(), 80);
    let describe = common::stdout(&common::podlab(&["describe", &pod.name]));
    assert!(describe.contains("      Message:      bye"), "{describe}");
    let yaml = common::stdout(&common::podlab(&["get", "pod", &pod.name, "-o", "yaml"]));
    assert!(
        yaml.contains("message: |\n") || yaml.contains("message: \"bye\\n\""),
        "{yaml}"
    );
}

#[test]
fn a_restarted_containers_last_state_keeps_its_message_in_a_fresh_file() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let pod = TestPod::run(
        "tmsg-restart",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: '{name}'}\nspec:\n  containers:\n    - name: app\n      image: busybox\n      command: [sh, -c, 'cat /dev/termination-log; echo run >> /dev/termination-log; sleep 1; exit 1']\n",
    );
    let state = pod.wait_for("a restart", std::time::Duration::from_secs(20), |s| {
        s.container("app").is_some_and(|c| c.restart_count >= 1)
    });
    let app = state.container("app").expect("app");
    // Each instance starts with an empty file: the message is one line, not two.
    assert_eq!(
        terminated_message(app.last_state.as_ref()).as_deref(),
        Some("run\n")
    );
}
