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
