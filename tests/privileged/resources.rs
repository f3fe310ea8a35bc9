//! kubelet's cgroup values, QoS, OOMKilled and CPU throttling on real pods (root, cgroup v1 here).
//! The v2 manager is tested against a fake cgroup tree in the library's unit tests (`fake_v2`),
//! because this machine's cgroup2 mount has no controllers.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use podlab::kube::pod_state::ContainerState;
use podlab::observe::procfs_read::read_cgroup;

/// Unlimited memory as cgroup v1 reports it (PAGE_COUNTER_MAX pages, page aligned).
const V1_UNLIMITED: &str = "9223372036854771712";

fn v1(controller: &str, cgroup: &str, file: &str) -> String {
    let path = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(cgroup.trim_start_matches('/'))
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn is_v1_here() -> bool {
    Path::new("/sys/fs/cgroup/cpu/cpu.shares").exists()
}

/// (cpu.shares, cpu.cfs_quota_us, memory.limit_in_bytes) of a cgroup.
fn values(cgroup: &str) -> (String, String, String) {
    (
        v1("cpu", cgroup, "cpu.shares"),
        v1("cpu", cgroup, "cpu.cfs_quota_us"),
        v1("memory", cgroup, "memory.limit_in_bytes"),
    )
}

/// cpu.shares, cpu.cfs_quota_us and memory.limit_in_bytes, as read from the files.
type Values = (String, String, String);
/// (containers yaml, QoS class, tier dir, pod values, values per container)
type QosCase = (
    &'static str,
    &'static str,
    &'static str,
    Values,
    Vec<(&'static str, Values)>,
);

fn s(shares: u64, quota: i64, memory: &str) -> (String, String, String) {
    (shares.to_string(), quota.to_string(), memory.to_string())
}

#[test]
fn cgroup_files_hold_kubelets_values_for_each_qos_class() {
    let Some(_machine) = privileged() else {
        return;
    };
    if !is_v1_here() {
        // On v2: the fake_v2 unit tests, and cgroup_views' v2 test on a real v2 machine.
        common::skipped("reads cgroup v1 files; this machine has cgroup v2");
        return;
    }
    // (manifest spec, expected QoS, tier dir, pod values, [(container, values)])
    let cases: Vec<QosCase> = vec![
        (
            r#"
  containers:
  - {name: a, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: 500m, memory: 64Mi}, limits: {cpu: 500m, memory: 64Mi}}}
  - {name: b, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {cpu: 250m, memory: 32Mi}}}"#,
            "Guaranteed",
            "",
            s(768, 75000, "100663296"),
            vec![
                ("a", s(512, 50000, "67108864")),
                ("b", s(256, 25000, "33554432")),
            ],
        ),
        (
            r#"
  containers:
  - {name: a, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m}}}
  - {name: b, image: busybox, command: [sleep, "3600"]}"#,
            "Burstable",
            "burstable/",
            s(102, -1, V1_UNLIMITED),
            vec![
                ("a", s(102, 20000, V1_UNLIMITED)),
                ("b", s(2, -1, V1_UNLIMITED)),
            ],
        ),
        (
            r#"
  containers:
  - {name: a, image: busybox, command: [sleep, "3600"]}"#,
            "BestEffort",
            "besteffort/",
            s(2, -1, V1_UNLIMITED),
            vec![("a", s(2, -1, V1_UNLIMITED))],
        ),
        (
            // Limits without requests: the API server copies limits into requests → Guaranteed.
            r#"
  containers:
  - {name: a, image: busybox, command: [sleep, "3600"], resources: {limits: {cpu: 300m, memory: 48Mi}}}"#,
            "Guaranteed",
            "",
            s(307, 30000, "50331648"),
            vec![("a", s(307, 30000, "50331648"))],
        ),
        (
            // The app container alone would be Guaranteed; the init container without
            // resources makes the pod Burstable (kubelet counts init containers for QoS), and,
            // lacking limits, leaves the pod cgroup without CPU quota or memory limit
            // (ResourceConfigForPod: limits count only if every container declares them).
            r#"
  initContainers:
  - {name: init, image: busybox, command: ["true"]}
  containers:
  - {name: a, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: 200m, memory: 16Mi}, limits: {cpu: 200m, memory: 16Mi}}}"#,
            "Burstable",
            "burstable/",
            s(204, -1, V1_UNLIMITED),
            vec![("a", s(204, 20000, "16777216"))],
        ),
    ];
    for (i, (containers, qos, tier, pod_values, container_values)) in cases.into_iter().enumerate()
    {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {{name}}}}\nspec:\n  terminationGracePeriodSeconds: 0\n{}\n",
            containers.trim_start_matches('\n')
        );
        let pod = TestPod::run(&format!("qos{i}"), &yaml);
        let state = pod.wait_for("app containers running", Duration::from_secs(10), |s| {
            s.phase == podlab::kube::pod_state::PodPhase::Running
        });
        assert_eq!(state.qos_class, qos, "case {i}");
        let expected_path = format!("/podlab/kubepods/{tier}pod{}", state.uid);
        assert_eq!(state.cgroup, expected_path, "case {i}");
        assert_eq!(values(&state.cgroup), pod_values, "case {i}: pod cgroup");
        for (name, want) in container_values {
            let leaf = format!("{}/{name}", state.cgroup);
            assert_eq!(values(&leaf), want, "case {i}: container {name}");
            // The container's process is in its leaf, in every hierarchy podlab manages.
            let pid = pod.pid_of(name);
            let cgroups = read_cgroup(Path::new("/proc"), pid).expect("the container's cgroups");
            for controller in ["cpu", "memory", "pids"] {
                assert!(
                    cgroups
                        .iter()
                        .any(|m| m.path == leaf && m.controllers.iter().any(|c| c == controller)),
                    "case {i}: {name} not in {leaf} for {controller}: {cgroups:?}"
                );
            }
        }
        // pause sits in its own leaf with the minimum CPU shares.
        assert_eq!(
            v1("cpu", &format!("{}/pause", state.cgroup), "cpu.shares"),
            "2"
        );
        let pause_cgroups =
            read_cgroup(Path::new("/proc"), pod.pause_pid()).expect("pause's cgroups");
        let pause_leaf = format!("{}/pause", state.cgroup);
        assert!(
            pause_cgroups.iter().any(|m| m.path == pause_leaf),
            "{pause_cgroups:?}"
        );
        drop(pod);
        for controller in ["cpu", "memory", "pids"] {
            let dir = PathBuf::from("/sys/fs/cgroup")
                .join(controller)
                .join(state.cgroup.trim_start_matches('/'));
            assert!(!dir.exists(), "case {i}: {} left behind", dir.display());
        }
    }
}

#[test]
fn best_effort_and_burstable_containers_get_kubelets_oom_score_adj() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "oomscore",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: besteffort, image: busybox, command: [sleep, "3600"]}
"#,
    );
    let pid = pod.pid_of("besteffort");
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "1000");
}

#[test]
fn a_memory_hog_is_oom_killed_and_a_plain_kill_is_an_error() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "oom",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - name: hog
    image: busybox
    # dd allocates its 64 MiB block at once: more than the limit.
    command: ["sh", "-c", "sleep 0.5; exec dd if=/dev/zero of=/dev/null bs=64M count=1"]
    resources: {limits: {memory: 16Mi}}
  - name: victim
    image: busybox
    command: ["sleep", "3600"]
"#,
    );
    let state = pod.wait_for("the hog to be OOM killed", Duration::from_secs(10), |s| {
        matches!(
            s.container("hog").map(|c| &c.state),
            Some(ContainerState::Terminated { .. })
        )
    });
    match &state.container("hog").unwrap().state {
        ContainerState::Terminated {
            exit_code, reason, ..
        } => {
            assert_eq!((*exit_code, reason.as_str()), (137, "OOMKilled"));
        }
        other => panic!("{other:?}"),
    }
    // A SIGKILL from outside is not an OOM kill.
    let victim = pod.pid_of("victim");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let state = pod.wait_for("the victim to be terminated", Duration::from_secs(5), |s| {
        matches!(
            s.container("victim").map(|c| &c.state),
            Some(ContainerState::Terminated { .. })
        )
    });
    match &state.container("victim").unwrap().state {
        ContainerState::Terminated {
            exit_code,
            reason,
            signal,
            ..
        } => {
            assert_eq!(
                (*exit_code, reason.as_str(), *signal),
                (137, "Error", Some(9))
            );
        }
        other => panic!("{other:?}"),
    }
    // The phase follows the container's status a moment later (slowly on an emulated machine).
    pod.wait_for("the pod to fail", Duration::from_secs(30), |s| {
        s.phase == podlab::kube::pod_state::PodPhase::Failed
    });
}

fn cpu_ticks(pid: i32) -> u64 {
    let stat = proc_stat(pid).expect("the busy loop's stat");
    stat.utime + stat.stime
}

#[test]
fn a_busy_loop_with_a_200m_limit_gets_about_a_fifth_of_a_core_and_is_throttled() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "cpu",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: spin
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
    resources: {limits: {cpu: 200m}}
"#,
    );
    let pid = pod.pid_of("spin");
    let leaf = format!("{}/spin", pod.state().cgroup);
    let throttled = || -> u64 {
        v1("cpu", &leaf, "cpu.stat")
            .lines()
            .find_map(|l| l.strip_prefix("nr_throttled "))
            .unwrap()
            .parse()
            .unwrap()
    };
    std::thread::sleep(Duration::from_millis(300));
    let (t0, n0, start) = (cpu_ticks(pid), throttled(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (t1, n1) = (cpu_ticks(pid), throttled());
    let ticks_per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as f64;
    let share = (t1 - t0) as f64 / ticks_per_second / start.elapsed().as_secs_f64();
    assert!(
        (0.12..=0.30).contains(&share),
        "used {:.0}% of a core",
        share * 100.0
    );
    assert!(n1 > n0 + 5, "nr_throttled grew only from {n0} to {n1}");
}

const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: web, image: nginx}
  - {name: client, image: busybox, command: [sleep, "3600"]}
"#;

fn ipv4_of_eth0(pod: &TestPod, container: &str) -> String {
    let out = pod.sh(container, "ip -4 -o addr show eth0");
    out.split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .unwrap_or_else(|| panic!("no IPv4 on eth0: {out}"))
        .to_string()
}

/// GET / from the pod's IP. A running container has exec'd its server, which may not be
/// listening yet: a refused connection is tried again for a few seconds.
fn http_get(ip: &str, port: u16) -> String {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = format!("{ip}:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut stream = loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            Ok(stream) => break stream,
            Err(e)
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("connect to the pod IP {addr}: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body
}

fn assert_network_gone(state: &podlab::kube::pod_state::PodState) {
    let net = state
        .sandbox
        .as_ref()
        .and_then(|s| s.network.clone())
        .expect("the pod had a network");
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(
        !links.contains(&format!(" {}@", net.host_veth)),
        "veth {} left: {links}",
        net.host_veth
    );
    let addrs = std::process::Command::new("ip")
        .args(["-o", "-4", "addr"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&addrs.stdout).contains(&format!("{}/", net.ip)));
    assert!(
        !Path::new("/run/podlab/ipam")
            .join(net.ip.to_string())
            .exists(),
        "lease of {} left",
        net.ip
    );
}

#[test]
fn every_container_has_the_pods_one_ip_and_the_host_reaches_it() {
    let Some(_machine) = privileged() else {
        return;
    };
    let state;
    {
        let pod = TestPod::run("podip", WEB);
        state = pod.state();
        let ip = state
            .sandbox
            .as_ref()
            .and_then(|s| s.ip.clone())
            .expect("pod IP");
        assert!(ip.starts_with("10.88."), "{ip}");
        for c in ["web", "client"] {
            assert_eq!(ipv4_of_eth0(&pod, c), ip, "{c}");
        }
        assert!(pod
            .sh("client", "cat /etc/hosts")
            .contains(&format!("{ip}\t{}", pod.name)));
        let page = http_get(&ip, 80);
        assert!(
            page.contains("200 OK") && page.contains("Welcome to nginx!"),
            "{page}"
        );
        // The default route goes through the bridge's gateway.
        assert!(pod
            .sh("client", "ip route")
            .contains("default via 10.88.0.1"));
    }
    assert_network_gone(&state);
}

#[test]
fn pod_a_fetches_from_pod_b_and_they_have_different_ips_and_namespaces() {
    let Some(_machine) = privileged() else {
        return;
    };
    let a = TestPod::run("pod-a", WEB);
    let b = TestPod::run("pod-b", WEB);
    let ip_b = b.state().sandbox.unwrap().ip.unwrap();
    assert_ne!(a.state().sandbox.unwrap().ip.unwrap(), ip_b);
    for ns in ["net", "ipc", "uts"] {
        assert_ne!(
            ns_inode(a.pause_pid(), ns),
            ns_inode(b.pause_pid(), ns),
            "{ns}"
        );
    }
    let page = a.sh("client", &format!("wget -qO- http://{ip_b}/"));
    assert!(page.contains("Welcome to nginx!"), "{page}");
}

#[test]
fn cni_mode_runs_the_standard_plugins_and_cleans_up() {
    let Some(_machine) = privileged() else {
        return;
    };
    assert!(
        podlab::runtime::network::Mode::cni_if_installed().is_some(),
        "the CNI plugins are missing (scripts/test installs containernetworking-plugins)"
    );
    let state;
    {
        let pod = TestPod::run_with("cni", WEB, &["--network", "cni"]);
        state = pod.state();
        let net = state
            .sandbox
            .as_ref()
            .and_then(|s| s.network.clone())
            .unwrap();
        assert!(net.cni.is_some(), "{net:?}");
        let ip = net.ip.to_string();
        assert_eq!(ipv4_of_eth0(&pod, "client"), ip);
        assert!(http_get(&ip, 80).contains("Welcome to nginx!"));
    }
    let net = state
        .sandbox
        .as_ref()
        .and_then(|s| s.network.clone())
        .unwrap();
    let addrs = std::process::Command::new("ip")
        .args(["-o", "-4", "addr"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&addrs.stdout).contains(&format!("{}/", net.ip)));
}

#[test]
fn a_host_network_pod_sees_the_hosts_interfaces() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "hostnet",
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
    let me = std::process::id() as i32;
    assert_eq!(ns_inode(pod.pid_of("a"), "net"), ns_inode(me, "net"));
    assert!(pod.state().sandbox.unwrap().network.is_none());
}

/// A memory-backed emptyDir is sized as kubelet sizes it (SizeMemoryBackedVolumes): the pod's
/// memory limit when it has one, a smaller sizeLimit when given, not half the machine's RAM.
#[test]
fn a_memory_emptydir_is_as_big_as_the_pods_memory_limit() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "memvolume",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  volumes:
  - {name: cache, emptyDir: {medium: Memory}}
  - {name: small, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  containers:
  - name: app
    image: busybox
    command: [sleep, "3600"]
    resources: {limits: {memory: 64Mi, cpu: 100m}}
    volumeMounts: [{name: cache, mountPath: /cache}, {name: small, mountPath: /small}]
"#,
    );
    // busybox df -k: the second line's second column is the size in KiB.
    let size_kib = |path: &str| -> u64 {
        let out = pod.sh("app", &format!("df -k {path} | tail -1"));
        out.split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("df {path}: {out:?}"))
    };
    assert_eq!(size_kib("/cache"), 64 * 1024, "the pod's memory limit");
    assert_eq!(size_kib("/small"), 16 * 1024, "the smaller sizeLimit");
}
