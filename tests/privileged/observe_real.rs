//! The observe layer on real processes made with util-linux `unshare` and `nsenter`.
//!
//! Needs root (this machine and CI are root): a missing privilege fails the test, it does not
//! skip. Every process started here is killed and reaped by a guard, even when a test fails.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podlab::observe::procfs_read::read_stat;
use podlab::observe::{Collector, GapReason, NsKind, Proto, Role, SandboxKind, Sources, Target};
use podlab::present::text;

/// Kills and reaps the processes it holds when dropped.
#[derive(Default)]
struct Procs(Vec<Child>);

impl Procs {
    fn spawn(&mut self, cmd: &mut Command) -> u32 {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start {cmd:?}: {e}"));
        let pid = child.id();
        self.0.push(child);
        pid
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first child of `parent` (scanning /proc), waiting up to 5 s for it to appear.
fn child_of(parent: u32) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let Ok(stat) = read_stat(Path::new("/proc"), pid) else {
                    continue;
                };
                if u32::try_from(stat.ppid) == Ok(parent) {
                    return pid;
                }
            }
        }
        assert!(Instant::now() < deadline, "no child of {parent} appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_ok(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

#[test]
fn joined_process_shares_net_ipc_uts_and_keeps_its_own_mount() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let mut procs = Procs::default();
    let holder = procs.spawn(Command::new("unshare").args([
        "--net",
        "--ipc",
        "--uts",
        "--pid",
        "--kill-child",
        "--mount-proc",
        "sleep",
        "60",
    ]));
    let inner = child_of(holder);
    // Give the namespace an address, so the snapshot has something to find.
    let target = inner.to_string();
    for args in [
        vec![
            "link", "add", "podlabt0", "type", "veth", "peer", "name", "podlabt1",
        ],
        vec!["addr", "add", "10.199.0.5/24", "dev", "podlabt0"],
        vec!["link", "set", "podlabt0", "up"],
        vec!["link", "set", "lo", "up"],
    ] {
        run_ok(
            Command::new("nsenter")
                .args(["-t", &target, "-n", "ip"])
                .args(args),
        );
    }
    let joined = procs.spawn(Command::new("nsenter").args([
        "-t", &target, "-n", "-i", "-u", "busybox", "nc", "-l", "-p", "8080",
    ]));
    wait_for("the listener", || {
        // busybox listens dual-stack, so the socket is in tcp6.
        ["tcp", "tcp6"].iter().any(|f| {
            std::fs::read_to_string(format!("/proc/{inner}/net/{f}")).is_ok_and(|t| {
                t.lines()
                    .any(|l| l.contains(":1F90 ") && l.contains(" 0A "))
            })
        })
    });

    let mut collector = Collector::new(Sources::default());
    let snap = collector
        .snapshot(&Target::Pids(vec![holder as i32, joined as i32]))
        .expect("snapshot");

    let sleeper = snap
        .processes
        .iter()
        .find(|p| p.pid == inner)
        .expect("inner sleep shown");
    assert_eq!(
        sleeper.ns_pids,
        vec![inner, 1],
        "NSpid of the pid-namespace init"
    );
    assert_eq!(sleeper.comm, "sleep");
    assert_eq!(sleeper.cmdline, vec!["sleep", "60"]);

    // One tree holds net, ipc and uts, the other joined all three: shaped like a pod, with
    // the PID-namespace init of the holding tree as its pause.
    let sb = snap
        .sandboxes
        .iter()
        .find(|s| s.kind == SandboxKind::PodShaped)
        .expect("one pod-shaped sandbox");
    assert_eq!(
        sb.containers.len(),
        2,
        "two process trees: {:#?}",
        sb.containers
    );
    assert_eq!(sb.containers[0].main_pid, Some(holder as i32));
    assert!(sb.containers[0].is_pause);
    assert_eq!(sb.pause, Some(inner), "the sleeping PID 1 holds the pod");
    let c = &sb.containers[1];
    assert_eq!(c.main_pid, Some(joined as i32));
    for kind in [NsKind::Net, NsKind::Ipc, NsKind::Uts] {
        assert!(
            c.shared_with_pause.contains(&kind),
            "{kind:?} shared: {c:#?}"
        );
    }
    assert!(
        c.own.contains(&NsKind::Mnt),
        "mount namespace is its own: {c:#?}"
    );
    assert!(!c.shared_with_pause.contains(&NsKind::Mnt));

    let net = snap
        .networks
        .iter()
        .find(|n| Some(n.id) == sb.net)
        .expect("network of the sandbox");
    let veth = net
        .interfaces
        .iter()
        .find(|i| i.name == "podlabt0")
        .expect("veth");
    assert_eq!(veth.ipv4, vec!["10.199.0.5"]);
    assert!(net.routes.iter().any(|r| r.destination == "10.199.0.0/24"));
    let l = net
        .listeners
        .iter()
        .find(|l| l.port == 8080 && matches!(l.proto, Proto::Tcp | Proto::Tcp6))
        .expect("listener on 8080");
    assert_eq!(l.pids, vec![joined as i32]);
    assert_eq!(l.container.as_deref(), Some(c.name.as_str()));
    let role = &snap
        .processes
        .iter()
        .find(|p| p.pid == joined as i32)
        .expect("joined")
        .role;
    assert_eq!(role, &Role::Container(c.name.clone()));

    // Text views show inodes with the "same" symbol, and the inner PID.
    let shown = text::render(&snap, podlab::i18n::Lang::En);
    assert!(shown.contains(&format!("{inner} [1] sleep")), "{shown}");
    assert!(shown.contains(text::SHARED_MARK), "{shown}");
    assert!(shown.contains("10.199.0.5"), "{shown}");

    // Second tick from the cache agrees with the first.
    let again = collector
        .snapshot(&Target::Pids(vec![holder as i32, joined as i32]))
        .expect("second snapshot");
    assert_eq!(
        again.sandboxes[0].containers[1].shared_with_pause,
        c.shared_with_pause
    );

    // Recordable: JSON round trip gives the same value.
    let json = serde_json::to_string(&snap).expect("encode");
    let back: podlab::observe::Snapshot = serde_json::from_str(&json).expect("decode");
    assert_eq!(back, snap);
}

#[test]
fn zombies_and_vanished_processes_are_gaps_not_errors() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let mut procs = Procs::default();
    // The shell forks a short sleep and then becomes `sleep 60`, which never reaps it.
    let parent = procs.spawn(Command::new("sh").args(["-c", "sleep 0 & exec sleep 60"]));
    let zombie = child_of(parent);
    wait_for("the zombie", || {
        read_stat(Path::new("/proc"), zombie).is_ok_and(|s| s.state.is_zombie())
    });
    let gone = i32::MAX - 7;
    let snap = Collector::new(Sources::default())
        .snapshot(&Target::Pids(vec![parent as i32, gone]))
        .expect("a partial snapshot, not an error");
    let z = snap
        .processes
        .iter()
        .find(|p| p.pid == zombie)
        .expect("zombie shown");
    assert!(z.state.is_zombie());
    assert!(snap.gaps.iter().any(|g| g.pid == Some(zombie)
        && g.reason == GapReason::Zombie
        && g.what.starts_with("ns/")));
    assert!(snap
        .gaps
        .iter()
        .any(|g| g.pid == Some(gone) && g.reason == GapReason::Vanished));
    let shown = text::render(&snap, podlab::i18n::Lang::Zh);
    assert!(shown.contains("僵尸"), "{shown}");
}

#[test]
fn host_view_groups_an_unshared_process() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let mut procs = Procs::default();
    let holder = procs.spawn(Command::new("unshare").args(["--net", "--uts", "sleep", "60"]));
    wait_for("unshare to exec sleep", || {
        std::fs::read_to_string(format!("/proc/{holder}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    let snap = Collector::new(Sources::default())
        .snapshot(&Target::Host)
        .expect("host snapshot");
    let sb = snap
        .sandboxes
        .iter()
        .find(|s| {
            s.containers
                .iter()
                .any(|c| c.main_pid == Some(holder as i32))
        })
        .expect("the unshared sleep is a sandbox");
    assert_eq!(sb.kind, SandboxKind::Unshared);
    assert!(snap.processes.len() > 1);
}

/// `podlab inspect … --json` run as `nobody` (optionally under a fresh /proc mounted with
/// `proc_options`, in a private mount namespace), parsed.
fn inspect_as_nobody(proc_options: Option<&str>, args: &[&str]) -> podlab::observe::Snapshot {
    let podlab = env!("CARGO_BIN_EXE_podlab");
    let mut script = String::new();
    if let Some(options) = proc_options {
        script.push_str(&format!("mount -t proc -o {options} proc /proc && "));
    }
    script.push_str("exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$@\"");
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(podlab)
        .args(["inspect", "--json"])
        .args(args)
        .output()
        .expect("run podlab inspect as nobody");
    assert!(
        out.status.success(),
        "inspect as nobody failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a snapshot ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn unreadable_namespaces_of_another_user_are_gaps() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let mut procs = Procs::default();
    let sleeper = procs.spawn(Command::new("unshare").args(["--uts", "sleep", "60"])) as i32;
    wait_for("unshare to exec sleep", || {
        std::fs::read_to_string(format!("/proc/{sleeper}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    let snap = inspect_as_nobody(None, &["--pid", &sleeper.to_string()]);
    let p = snap
        .processes
        .iter()
        .find(|p| p.pid == sleeper)
        .expect("stat is readable for everyone");
    assert_eq!(p.comm, "sleep");
    assert!(p.namespaces.is_empty(), "{p:?}");
    for kind in ["ns/net", "ns/uts", "ns/mnt"] {
        assert!(
            snap.gaps.iter().any(|g| g.pid == Some(sleeper)
                && g.what == kind
                && g.reason == GapReason::PermissionDenied),
            "{kind}: {:?}",
            snap.gaps
        );
    }
}

#[test]
fn hidepid_gives_a_partial_snapshot_that_says_so() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    // invisible: other users' processes are not even listed.
    let hidden = inspect_as_nobody(Some("hidepid=invisible"), &["--host"]);
    assert!(hidden.processes.iter().all(|p| p.pid != 1));
    assert!(
        hidden.gaps.iter().any(|g| g.pid.is_none()
            && g.what.contains("hidepid")
            && g.reason == GapReason::PermissionDenied),
        "{:?}",
        hidden.gaps
    );
    // noaccess: listed, but their files cannot be opened.
    let listed = inspect_as_nobody(Some("hidepid=noaccess"), &["--host"]);
    assert!(
        listed.gaps.iter().any(|g| g.pid == Some(1)
            && g.what == "stat"
            && g.reason == GapReason::PermissionDenied),
        "{:?}",
        listed.gaps
    );
    assert!(
        !listed.gaps.iter().any(|g| g.what.contains("hidepid")),
        "listed processes are not hidden: {:?}",
        listed.gaps
    );
    let one = inspect_as_nobody(Some("hidepid=noaccess"), &["--pid", "1"]);
    assert!(one.processes.is_empty());
    assert!(
        one.gaps
            .iter()
            .any(|g| g.pid == Some(1) && g.reason == GapReason::PermissionDenied),
        "{:?}",
        one.gaps
    );
}

#[test]
fn a_process_that_exits_mid_read_is_vanished() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let mut child = Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("start sleep");
    let pid = child.id() as i32;
    let dir = podlab::observe::procfs_read::ProcDir::open(std::path::Path::new("/proc"), pid)
        .expect("open /proc/<pid>");
    let mut buf = Vec::new();
    dir.read("stat", &mut buf).expect("stat while alive");
    let _ = child.kill();
    let _ = child.wait();
    // The directory fd still names the dead process: ESRCH/ENOENT, never another process.
    let err = dir.read("status", &mut buf).expect_err("gone");
    assert_eq!(GapReason::from_io(&err), GapReason::Vanished, "{err}");
    assert!(dir.namespace(NsKind::Net).is_err());
}

#[test]
fn kernel_threads_are_marked_and_read_no_further() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let kthreadd = std::fs::read_to_string("/proc/2/comm").expect("pid 2");
    assert_eq!(
        kthreadd.trim(),
        "kthreadd",
        "this test expects the host's PID namespace"
    );
    let snap = Collector::new(Sources::default())
        .snapshot(&Target::Pids(vec![2]))
        .expect("snapshot of kthreadd and its threads");
    assert!(snap.processes.len() > 1);
    assert!(
        snap.processes.iter().all(|p| p.kernel_thread),
        "{:?}",
        snap.processes
    );
    assert!(snap.processes.iter().all(|p| p.namespaces.is_empty()));
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    assert!(snap.sandboxes.is_empty());
}
