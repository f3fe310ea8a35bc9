//! The pod network on the real kernel (needs root): test "pods" are `unshare --net sleep`
//! processes, each test has its own range and bridge so tests can run in parallel with each
//! other and with other podlab tests, and guards remove everything even when a test fails.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use podlab::kube::pod_network::PodNetwork;
use podlab::runtime::network::{self, Config, Mode, NetworkError};

const IPAM_DIR: &str = "/run/podlab/ipam";

/// A stand-in for a pod sandbox: a process in a new net namespace, killed on drop.
struct Sandbox {
    child: Child,
}

impl Sandbox {
    fn start() -> Sandbox {
        let child = Command::new("unshare")
            .args(["--net", "sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn `unshare --net sleep` (util-linux)");
        let sandbox = Sandbox { child };
        // unshare(2) runs just after the spawn: wait until the child has its own namespace.
        let ours = std::fs::metadata("/proc/self/ns/net")
            .expect("our netns")
            .ino();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let theirs =
                std::fs::metadata(format!("/proc/{}/ns/net", sandbox.pid())).map(|m| m.ino());
            if matches!(theirs, Ok(ino) if ino != ours) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "sandbox did not get its own net namespace"
            );
            thread::sleep(Duration::from_millis(10));
        }
        sandbox
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Run a command inside the sandbox's net namespace.
    fn run(&self, args: &[&str]) -> (bool, String) {
        let pid = self.pid().to_string();
        let mut all = vec!["nsenter", "-t", &pid, "-n"];
        all.extend_from_slice(args);
        run(&all)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills a helper process on drop.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes whatever a test left in its range: leases, `pl-*` veths of its pods, the bridge, and
/// any extra commands (e.g. a route the test added). Declare it first so it drops last.
struct Cleanup {
    cfg: Config,
    undo: Vec<Vec<&'static str>>,
}

impl Cleanup {
    fn new(cfg: &Config) -> Cleanup {
        Cleanup {
            cfg: cfg.clone(),
            undo: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for command in &self.undo {
            let _ = run(command);
        }
        if let Err(e) = network::gc(&self.cfg, &[]) {
            eprintln!("cleanup of {}: {e}", self.cfg.cidr);
        }
    }
}

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .expect("run a command");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Each test gets its own /24 and bridge.
fn test_config(n: u8) -> Config {
    Config {
        cidr: format!("10.250.{n}.0/24").parse().expect("cidr"),
        bridge: format!("plnettest{n}"),
        mode: Mode::Native,
    }
}

fn link_exists(name: &str) -> bool {
    run(&["ip", "link", "show", "dev", name]).0
}

fn lease_exists(ip: Ipv4Addr) -> bool {
    Path::new(IPAM_DIR).join(ip.to_string()).exists()
}

fn ping(from: Option<&Sandbox>, ip: Ipv4Addr) -> (bool, String) {
    let ip = ip.to_string();
    let args = ["busybox", "ping", "-c", "1", "-W", "3", &ip];
    match from {
        Some(sandbox) => sandbox.run(&args),
        None => run(&args),
    }
}

#[test]
fn two_pods_get_their_own_ip_and_reach_the_host_and_each_other() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(1);
    let _cleanup = Cleanup::new(&cfg);
    let (a, b) = (Sandbox::start(), Sandbox::start());

    // The same pod name twice: the second host veth must get another name.
    let net_a = network::setup_pod(&cfg, "uid-net-test-1a", "nettest-same-name", a.pid())
        .expect("set up pod a");
    let net_b = network::setup_pod(&cfg, "uid-net-test-1b", "nettest-same-name", b.pid())
        .expect("set up pod b");
    assert_ne!(net_a.ip, net_b.ip);
    assert_ne!(net_a.host_veth, net_b.host_veth);
    assert_eq!(net_a.host_veth, "pl-nettest-same");
    assert_eq!(net_b.host_veth, "pl-nettest-sa-2");
    for net in [&net_a, &net_b] {
        assert!(
            cfg.cidr.contains(net.ip) && net.ip != cfg.cidr.gateway(),
            "{}",
            net.ip
        );
        assert_eq!(
            (net.gateway, net.prefix_len, net.pod_interface.as_str()),
            (Ipv4Addr::new(10, 250, 1, 1), 24, "eth0")
        );
        assert!(lease_exists(net.ip));
        let (_, shown) = run(&["ip", "-o", "link", "show", "dev", &net.host_veth]);
        assert!(
            shown.contains(&format!("master {}", cfg.bridge)) && shown.contains("state UP"),
            "{shown}"
        );
    }

    // Inside each pod: eth0 with its IP, lo up, a default route via the gateway.
    for (sandbox, net) in [(&a, &net_a), (&b, &net_b)] {
        let (_, addr) = sandbox.run(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
        assert!(addr.contains(&format!("inet {}/24", net.ip)), "{addr}");
        let (_, lo) = sandbox.run(&["ip", "-o", "link", "show", "dev", "lo"]);
        assert!(lo.contains(",UP"), "{lo}");
        let (_, routes) = sandbox.run(&["ip", "-4", "route", "show"]);
        assert!(
            routes.contains("default via 10.250.1.1 dev eth0"),
            "{routes}"
        );
    }

    // The narration shows the commands that did the same.
    let commands = net_a.commands();
    let pid = a.pid();
    for expected in [
        format!("ip link add {} type bridge", cfg.bridge),
        format!("ip addr add 10.250.1.1/24 dev {}", cfg.bridge),
        format!("ip link add pl-nettest-same type veth peer name eth0 netns {pid}"),
        format!("nsenter -t {pid} -n ip addr add {}/24 dev eth0", net_a.ip),
        format!("nsenter -t {pid} -n ip route add default via 10.250.1.1"),
    ] {
        assert!(
            commands.contains(&expected.as_str()),
            "{expected:?} not in {commands:#?}"
        );
    }
    assert!(
        net_b
            .commands()
            .contains(&format!("ip link show {}", cfg.bridge).as_str()),
        "bridge reused"
    );
    let json = serde_json::to_string(&net_a).expect("serialize");
    assert_eq!(
        serde_json::from_str::<PodNetwork>(&json).expect("parse"),
        net_a
    );

    // Host to pods, pod to pod.
    for net in [&net_a, &net_b] {
        let (ok, out) = ping(None, net.ip);
        assert!(ok, "host cannot ping {}: {out}", net.ip);
    }
    let (ok, out) = ping(Some(&a), net_b.ip);
    assert!(ok, "pod a cannot ping pod b: {out}");

    // A TCP server in pod b, reached from the host.
    let pid_b = b.pid().to_string();
    let server = Command::new("nsenter")
        .args(["-t", &pid_b, "-n", "busybox", "nc", "-l", "-p", "7777"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("start nc in pod b");
    let mut server = KillOnDrop(server);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect_timeout(&(net_b.ip, 7777).into(), Duration::from_secs(2)) {
            Ok(stream) => break stream,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "cannot connect to {}:7777: {e}",
                    net_b.ip
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
    };
    stream.write_all(b"hello pod\n").expect("send");
    drop(stream);
    let mut received = String::new();
    if let Some(out) = server.0.stdout.as_mut() {
        out.read_to_string(&mut received).expect("read nc output");
    }
    assert_eq!(received, "hello pod\n");

    // Teardown: veth and lease go; the bridge stays until the last pod goes.
    let steps = network::teardown_pod("uid-net-test-1a", &net_a).expect("tear down pod a");
    assert!(!steps.is_empty());
    assert!(!link_exists(&net_a.host_veth));
    assert!(!lease_exists(net_a.ip));
    assert!(link_exists(&cfg.bridge));
    assert!(
        network::teardown_pod("uid-net-test-1a", &net_a)
            .expect("again")
            .is_empty(),
        "idempotent"
    );
    let (ok, _) = sandbox_has_eth0(&a);
    assert!(!ok, "eth0 in pod a went with its peer");

    network::teardown_pod("uid-net-test-1b", &net_b).expect("tear down pod b");
    assert!(!link_exists(&net_b.host_veth));
    assert!(!lease_exists(net_b.ip));
    assert!(
        !link_exists(&cfg.bridge),
        "the bridge goes with the last pod"
    );
}

fn sandbox_has_eth0(sandbox: &Sandbox) -> (bool, String) {
    sandbox.run(&["ip", "link", "show", "dev", "eth0"])
}

#[test]
fn a_second_teardown_never_touches_a_pod_that_reused_the_name() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(2);
    let _cleanup = Cleanup::new(&cfg);
    let (a, b) = (Sandbox::start(), Sandbox::start());
    let old =
        network::setup_pod(&cfg, "uid-net-test-2a", "nettest-reuse", a.pid()).expect("set up a");
    network::teardown_pod("uid-net-test-2a", &old).expect("tear down a");
    let new =
        network::setup_pod(&cfg, "uid-net-test-2b", "nettest-reuse", b.pid()).expect("set up b");
    assert_eq!(new.host_veth, old.host_veth, "the name is free again");

    network::teardown_pod("uid-net-test-2a", &old).expect("late teardown of a");
    assert!(link_exists(&new.host_veth), "b's veth is untouched");
    assert!(lease_exists(new.ip));
    assert!(sandbox_has_eth0(&b).0);
    network::teardown_pod("uid-net-test-2b", &new).expect("tear down b");
}

#[test]
fn gc_removes_what_dead_pods_left_behind() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(3);
    let mut cleanup = Cleanup::new(&cfg);
    cleanup.undo.push(vec!["ip", "link", "del", "pl-nettest3x"]);
    let (a, b) = (Sandbox::start(), Sandbox::start());
    let live = network::setup_pod(&cfg, "uid-net-test-3live", "nettest3-live", a.pid())
        .expect("set up live pod");
    let dead = network::setup_pod(&cfg, "uid-net-test-3dead", "nettest3-dead", b.pid())
        .expect("set up dead pod");
    // A veth that lost its lease (as if a crash hit between the two).
    let (ok, out) = run(&[
        "ip",
        "link",
        "add",
        "pl-nettest3x",
        "type",
        "veth",
        "peer",
        "name",
        "nt3x-peer",
    ]);
    assert!(ok, "{out}");

    // The shim of `dead` is gone: its lease, its veth and the stray veth go; the live pod stays.
    let report = network::gc(&cfg, &["uid-net-test-3live".to_string()]).expect("gc");
    assert_eq!(
        report.released,
        vec![(dead.ip, "uid-net-test-3dead".to_string())]
    );
    assert!(report.removed_links.contains(&dead.host_veth), "{report:?}");
    // The stray veth has no owner in any range, so a gc of another test running at the same
    // time may be the one that removes it: only that it is gone is checked (below).
    assert!(!report.removed_bridge);
    assert!(
        !link_exists(&dead.host_veth) && !link_exists("pl-nettest3x") && !lease_exists(dead.ip)
    );
    assert!(link_exists(&live.host_veth) && lease_exists(live.ip) && link_exists(&cfg.bridge));
    assert!(ping(None, live.ip).0, "the live pod still works");

    // Then nothing is live: everything goes, the bridge too.
    let report = network::gc(&cfg, &[]).expect("gc");
    assert_eq!(
        report.released,
        vec![(live.ip, "uid-net-test-3live".to_string())]
    );
    assert!(report.removed_bridge);
    assert!(!link_exists(&live.host_veth) && !lease_exists(live.ip) && !link_exists(&cfg.bridge));
}

#[test]
fn gc_leaves_other_ranges_alone() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let (cfg, other) = (test_config(4), test_config(5));
    let (_cleanup, _cleanup_other) = (Cleanup::new(&cfg), Cleanup::new(&other));
    let a = Sandbox::start();
    let net = network::setup_pod(&other, "uid-net-test-5", "nettest5", a.pid()).expect("set up");
    let report = network::gc(&cfg, &[]).expect("gc of another range");
    assert_eq!(report, network::GcReport::default());
    assert!(link_exists(&net.host_veth) && lease_exists(net.ip) && link_exists(&other.bridge));
}

#[test]
fn concurrent_setups_never_share_an_ip() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(6);
    let _cleanup = Cleanup::new(&cfg);
    let sandboxes: Vec<Sandbox> = (0..6).map(|_| Sandbox::start()).collect();
    let nets: Vec<PodNetwork> = thread::scope(|scope| {
        let handles: Vec<_> = sandboxes
            .iter()
            .enumerate()
            .map(|(i, sandbox)| {
                let cfg = &cfg;
                scope.spawn(move || {
                    network::setup_pod(
                        cfg,
                        &format!("uid-net-test-6-{i}"),
                        "nettest6",
                        sandbox.pid(),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("set up"))
            .collect()
    });
    let mut ips: Vec<_> = nets.iter().map(|n| n.ip).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), nets.len(), "shared IPs: {nets:#?}");
    let mut veths: Vec<_> = nets.iter().map(|n| n.host_veth.clone()).collect();
    veths.sort();
    veths.dedup();
    assert_eq!(veths.len(), nets.len());
    for (i, net) in nets.iter().enumerate() {
        network::teardown_pod(&format!("uid-net-test-6-{i}"), net).expect("tear down");
    }
    assert!(!link_exists(&cfg.bridge));
}

/// Run by `concurrent_processes_never_share_an_ip` in child processes; does nothing otherwise.
#[test]
#[ignore = "helper: run by concurrent_processes_never_share_an_ip"]
fn helper_setup_in_child_process() {
    let (Ok(pid), Ok(uid)) = (
        std::env::var("PODLAB_NET_TEST_PID"),
        std::env::var("PODLAB_NET_TEST_UID"),
    ) else {
        return;
    };
    let pid: i32 = pid.parse().expect("pid");
    let net = network::setup_pod(&test_config(7), &uid, "nettest7", pid)
        .expect("set up in child process");
    println!("PODNET {}", serde_json::to_string(&net).expect("serialize"));
}

#[test]
fn concurrent_processes_never_share_an_ip() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(7);
    let _cleanup = Cleanup::new(&cfg);
    let sandboxes: Vec<Sandbox> = (0..4).map(|_| Sandbox::start()).collect();
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<Child> = sandboxes
        .iter()
        .enumerate()
        .map(|(i, sandbox)| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "network::helper_setup_in_child_process",
                    "--ignored",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("PODLAB_NET_TEST_PID", sandbox.pid().to_string())
                .env("PODLAB_NET_TEST_UID", format!("uid-net-test-7-{i}"))
                .stdout(Stdio::piped())
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn helper")
        })
        .collect();
    let mut nets = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("helper output");
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text
            .lines()
            .find_map(|l| l.split_once("PODNET ").map(|(_, json)| json))
            .unwrap_or_else(|| panic!("no result: {text}"));
        nets.push(serde_json::from_str::<PodNetwork>(line).expect("parse"));
    }
    let mut ips: Vec<_> = nets.iter().map(|n| n.ip).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 4, "shared IPs: {nets:#?}");
    for (sandbox, net) in sandboxes.iter().zip(&nets) {
        let (_, addr) = sandbox.run(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
        assert!(addr.contains(&net.ip.to_string()), "{addr}");
    }
}

#[test]
fn a_range_the_host_already_routes_is_refused_and_nothing_is_left() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(8);
    let mut cleanup = Cleanup::new(&cfg);
    let (ok, out) = run(&["ip", "route", "add", "blackhole", "10.250.8.0/24"]);
    assert!(ok, "{out}");
    cleanup
        .undo
        .push(vec!["ip", "route", "del", "blackhole", "10.250.8.0/24"]);
    let a = Sandbox::start();
    let err = network::setup_pod(&cfg, "uid-net-test-8", "nettest8", a.pid())
        .expect_err("overlap refused");
    match &err {
        NetworkError::Overlap {
            route, suggestion, ..
        } => {
            assert_eq!(route, "blackhole 10.250.8.0/24");
            assert!(suggestion.is_some_and(|s| !s.overlaps(&cfg.cidr)), "{err}");
        }
        other => panic!("expected an overlap error, got {other}"),
    }
    assert!(
        err.to_string()
            .contains("overlaps the host route blackhole 10.250.8.0/24"),
        "{err}"
    );
    assert!(!link_exists(&cfg.bridge));
    assert!(!sandbox_has_eth0(&a).0);
}

#[test]
fn a_pause_in_the_host_namespace_is_refused() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(9);
    let _cleanup = Cleanup::new(&cfg);
    let err = network::setup_pod(
        &cfg,
        "uid-net-test-9",
        "nettest9",
        std::process::id() as i32,
    )
    .expect_err("host namespace refused");
    assert!(matches!(err, NetworkError::HostNamespace { .. }), "{err}");
    let err = network::setup_pod(&cfg, "uid-net-test-9", "nettest9", i32::MAX)
        .expect_err("no such process");
    assert!(
        err.to_string()
            .starts_with("failed to open net namespace of pause"),
        "{err}"
    );
    assert!(!link_exists(&cfg.bridge));
}

#[test]
fn a_failure_inside_the_pod_undoes_everything() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = test_config(10);
    let _cleanup = Cleanup::new(&cfg);
    let a = Sandbox::start();
    // eth0 already exists in the pod: the veth peer cannot be created there.
    let (ok, out) = a.run(&[
        "ip",
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0-peer",
    ]);
    assert!(ok, "{out}");
    let err =
        network::setup_pod(&cfg, "uid-net-test-10", "nettest10", a.pid()).expect_err("eth0 taken");
    assert!(
        err.to_string()
            .contains("failed to create veth pair pl-nettest10 / eth0"),
        "{err}"
    );
    assert!(!link_exists("pl-nettest10"));
    assert!(
        !link_exists(&cfg.bridge),
        "the bridge this setup made is gone again"
    );
    let leases = std::fs::read_dir(IPAM_DIR).map(|d| d.count()).unwrap_or(0);
    let ours = (2..255)
        .filter(|i| lease_exists(Ipv4Addr::new(10, 250, 10, *i)))
        .count();
    assert_eq!(ours, 0, "{leases} files in {IPAM_DIR}");
}

fn cni_config(n: u8) -> Config {
    let plugin_dir = network::cni::find_plugin_dir()
        .expect("CNI plugins bridge, host-local and loopback are missing: apt-get install containernetworking-plugins");
    Config {
        mode: Mode::Cni { plugin_dir },
        ..test_config(n)
    }
}

fn ip_forward() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read ip_forward")
}

#[test]
fn cni_plugins_wire_pods_like_containerd_and_stay_host_only() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = cni_config(11);
    let _cleanup = Cleanup::new(&cfg);
    let forward_before = ip_forward();
    let (a, b) = (Sandbox::start(), Sandbox::start());
    let net_a =
        network::setup_pod(&cfg, "uid-net-test-11a", "nettest11a", a.pid()).expect("CNI ADD for a");
    let net_b =
        network::setup_pod(&cfg, "uid-net-test-11b", "nettest11b", b.pid()).expect("CNI ADD for b");
    assert_ne!(net_a.ip, net_b.ip);
    assert_eq!(
        (net_a.gateway, net_a.prefix_len),
        (Ipv4Addr::new(10, 250, 11, 1), 24)
    );
    assert!(
        net_a.host_veth.starts_with("veth") && link_exists(&net_a.host_veth),
        "{}",
        net_a.host_veth
    );
    let state = net_a.cni.as_ref().expect("CNI state kept");
    assert_eq!(
        state.result["ips"][0]["address"],
        serde_json::json!(format!("{}/24", net_a.ip))
    );
    assert!(net_a
        .commands()
        .iter()
        .any(|c| c.contains("CNI_COMMAND=ADD") && c.contains("CNI_IFNAME=eth0")));

    for (sandbox, net) in [(&a, &net_a), (&b, &net_b)] {
        let (_, addr) = sandbox.run(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
        assert!(addr.contains(&format!("inet {}/24", net.ip)), "{addr}");
        let (_, lo) = sandbox.run(&["ip", "-o", "link", "show", "dev", "lo"]);
        assert!(lo.contains(",UP"), "{lo}");
        let (_, routes) = sandbox.run(&["ip", "-4", "route", "show"]);
        assert!(
            routes.contains("default via 10.250.11.1 dev eth0"),
            "{routes}"
        );
        assert!(ping(None, net.ip).0, "host cannot ping {}", net.ip);
    }
    assert!(ping(Some(&a), net_b.ip).0, "pod a cannot ping pod b");
    assert_eq!(
        ip_forward(),
        forward_before,
        "host-only: forwarding was not switched on"
    );

    network::teardown_pod("uid-net-test-11a", &net_a).expect("CNI DEL for a");
    assert!(!link_exists(&net_a.host_veth));
    assert!(link_exists(&cfg.bridge));
    network::teardown_pod("uid-net-test-11b", &net_b).expect("CNI DEL for b");
    assert!(!link_exists(&net_b.host_veth));
    assert!(
        !link_exists(&cfg.bridge),
        "the bridge goes with the last pod"
    );
    assert!(!network::cni::ipam_data_dir()
        .join("podlab-plnettest11")
        .exists());
}

#[test]
fn gc_releases_cni_leases_of_dead_pods() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let cfg = cni_config(12);
    let _cleanup = Cleanup::new(&cfg);
    let a = Sandbox::start();
    let net = network::setup_pod(&cfg, "uid-net-test-12", "nettest12", a.pid()).expect("CNI ADD");
    drop(a); // pause dies: its namespace takes the veth pair along
    let report = network::gc(&cfg, &[]).expect("gc");
    assert_eq!(
        report.released,
        vec![(net.ip, "uid-net-test-12".to_string())]
    );
    assert!(report.removed_bridge);
    assert!(!network::cni::ipam_data_dir()
        .join("podlab-plnettest12")
        .exists());
    // Teardown after gc still succeeds (the shim may come late).
    network::teardown_pod("uid-net-test-12", &net).expect("late CNI DEL");
}
