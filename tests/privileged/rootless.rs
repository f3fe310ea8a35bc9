//! Pods built without root: each test creates unprivileged users (`useradd`, removed when the
//! test ends, even when it fails) and runs podlab as them. Root is needed only to make the
//! users and to look at everything from the host.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{ns_inode, stderr, stdout, PODLAB};
use podlab::kube::pod_state::{PodState, ProcessRef};
use podlab::runtime::rootless::node::NodeRecord;
use podlab::runtime::sys::LiveProcess;

/// A pod with a web server and a container that says hello, then sleeps.
const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "echo hello from {name}; exec sleep 3600"]
  - name: web
    image: nginx
"#;

/// useradd, userdel and the /etc/subuid files they touch: one at a time.
static ACCOUNTS: Mutex<Accounts> = Mutex::new(Accounts {
    live: 0,
    subid_files_were_there: None,
});

struct Accounts {
    live: usize,
    /// Whether /etc/subuid and /etc/subgid existed before the first learner was made (useradd
    /// creates them); the last learner's removal puts the machine back as it was.
    subid_files_were_there: Option<bool>,
}

const SUBID_FILES: [&str; 4] = ["/etc/subuid", "/etc/subgid", "/etc/subuid-", "/etc/subgid-"];

/// An unprivileged user made for one test, and everything podlab did as them.
struct Learner {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

impl Learner {
    fn create(tag: &str) -> Learner {
        let name = format!("plrl{}{tag}", std::process::id() % 100_000);
        let mut accounts = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        accounts
            .subid_files_were_there
            .get_or_insert_with(|| Path::new("/etc/subuid").exists());
        let out = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", &name])
            .output()
            .expect("run useradd");
        assert!(out.status.success(), "useradd {name}: {}", stderr(&out));
        accounts.live += 1;
        let user = nix::unistd::User::from_name(&name)
            .expect("read passwd")
            .expect("the new user exists");
        Learner {
            name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        }
    }

    /// podlab as this user, with a login's plain environment (no XDG_RUNTIME_DIR, as after su).
    fn podlab(&self, args: &[&str]) -> Output {
        self.run(PODLAB, args)
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program, args)
            .output()
            .expect("run as the learner")
    }

    /// `program ARGS` as this user (setpriv execs it: the pid is the program's).
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .args(["--init-groups", "--", program])
            .args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("LANG", "C.UTF-8")
            // No test reaches a registry beyond loopback.
            .env("PODLAB_OFFLINE", "1")
            .current_dir(&self.home);
        cmd
    }

    /// `podlab ARGS` as this user must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.podlab(args);
        assert!(
            out.status.success(),
            "podlab {args:?} as {} failed: {}{}",
            self.name,
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// A manifest in the learner's home, theirs to read.
    fn manifest(&self, pod: &str, yaml: &str) -> String {
        let path = self.home.join(format!("{pod}.yaml"));
        std::fs::write(&path, yaml.replace("{name}", pod)).expect("write manifest");
        nix::unistd::chown(&path, Some(self.uid.into()), None).expect("chown manifest");
        path.display().to_string()
    }

    /// Where podlab keeps this user's state: no XDG_RUNTIME_DIR, so the named fallback.
    fn state_root(&self) -> PathBuf {
        PathBuf::from(format!("/tmp/podlab-{}", self.uid))
    }

    fn pod_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.state_root().join("pods"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// The state of this user's pod called `pod`, as its shim wrote it.
    fn state(&self, pod: &str) -> PodState {
        self.pod_dirs()
            .iter()
            .filter_map(|d| podlab::runtime::state_file::read(&d.join("state.json")).ok())
            .find(|s| s.name == pod)
            .unwrap_or_else(|| panic!("{} has no pod {pod}", self.name))
    }

    fn node(&self) -> Option<NodeRecord> {
        let text = std::fs::read(self.state_root().join("node.json")).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// This user's processes that still run (zombies are left to whoever reaps them).
    fn processes(&self) -> Vec<i32> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return vec![];
        };
        dir.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == self.uid)
            })
            .filter(|pid| common::is_running(*pid))
            .collect()
    }

    /// Wait until podlab left nothing of this user's: no process, no pod dir, no lease, no
    /// node.
    fn assert_nothing_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let processes = self.processes();
            let pods = self.pod_dirs();
            let leases: Vec<PathBuf> = std::fs::read_dir(self.state_root().join("ipam"))
                .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("10."))
                })
                .collect();
            let node = self.state_root().join("node.json").exists();
            if processes.is_empty() && pods.is_empty() && leases.is_empty() && !node {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} left: processes {processes:?}, pods {pods:?}, leases {leases:?}, node.json {node}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Learner {
    fn drop(&mut self) {
        // Whatever this test left running as the user, by pid, until none is left.
        for _ in 0..50 {
            let left = self.processes();
            if left.is_empty() {
                break;
            }
            for pid in left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir_all(self.state_root());
        let mut accounts = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel")
            .args(["--remove", &self.name])
            .output();
        accounts.live -= 1;
        let empty = |f: &str| std::fs::read_to_string(f).is_ok_and(|t| t.trim().is_empty());
        if accounts.live == 0
            && accounts.subid_files_were_there == Some(false)
            && empty("/etc/subuid")
            && empty("/etc/subgid")
        {
            for file in SUBID_FILES {
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// `GET /` on localhost:PORT; None if the connection broke.
fn http_get(port: u16) -> Option<String> {
    let mut http = TcpStream::connect(("127.0.0.1", port)).ok()?;
    http.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut page = String::new();
    http.read_to_string(&mut page).ok()?;
    Some(page)
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status;
        }
        assert!(Instant::now() < deadline, "the child did not end in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The real uid of a process, from /proc/PID/status.
fn uid_of(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .expect("a Uid line")
}

fn pod_processes(state: &PodState) -> Vec<(String, ProcessRef)> {
    let mut all = vec![("shim".to_string(), state.shim)];
    if let Some(sb) = &state.sandbox {
        all.push(("pause".into(), sb.pause));
    }
    for c in &state.containers {
        if let Some(p) = c.process {
            all.push((c.name.clone(), p));
        }
    }
    all
}

#[test]
fn a_rootless_pod_is_the_learners_own_and_goes_away_entirely() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let me = Learner::create("a");
    let manifest = me.manifest("rl", POD);
    let out = me.podlab(&["run", "--detach", &manifest]);
    assert!(out.status.success(), "podlab run: {}", stderr(&out));
    assert!(stdout(&out).contains("pod/rl created"), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(
        said.contains("rootless") && said.contains("podlab-node"),
        "{said}"
    );
    let node = me.node().expect("node.json names the node");
    if !Path::new("/usr/bin/newuidmap").exists() {
        // Without newuidmap: the learner alone is mapped, and podlab says why.
        assert!(said.contains("apt-get install uidmap"), "{said}");
        assert_eq!(node.ids.pause_id(), None);
    }
    let state = me.state("rl");
    let pause = state.sandbox.as_ref().expect("sandbox").pause.pid;

    // The containers join pause's net, ipc and uts; all live in the node's user namespace,
    // which is not the host's.
    for c in &state.containers {
        let pid = c.process.expect("running").pid;
        for kind in ["net", "ipc", "uts"] {
            assert_eq!(
                ns_inode(pid, kind),
                ns_inode(pause, kind),
                "{} {kind}",
                c.name
            );
        }
        assert_eq!(ns_inode(pid, "user"), ns_inode(node.holder.pid, "user"));
    }
    assert_ne!(
        ns_inode(pause, "user"),
        ns_inode(std::process::id() as i32, "user")
    );
    assert_eq!(
        ns_inode(state.shim.pid, "net"),
        ns_inode(node.holder.pid, "net")
    );
    assert_ne!(
        ns_inode(node.holder.pid, "net"),
        ns_inode(std::process::id() as i32, "net")
    );

    // Root inside, the learner outside.
    assert_eq!(
        me.ok(&["exec", "rl", "-c", "app", "--", "id", "-u"]).trim(),
        "0"
    );
    for (what, p) in pod_processes(&state) {
        let expected = match (what.as_str(), &node.ids) {
            ("pause", podlab::runtime::rootless::idmap::IdMapping::Range { sub_uid, .. }) => {
                sub_uid + 65534
            }
            _ => me.uid,
        };
        assert_eq!(uid_of(p.pid), expected, "owner of {what} (pid {})", p.pid);
    }
    assert_eq!(uid_of(node.holder.pid), me.uid);

    // logs; port-forward from the learner's localhost to the pod's.
    assert!(me
        .ok(&["logs", "rl", "-c", "app"])
        .contains("hello from rl"));
    let mut forward = me
        .command(PODLAB, &["port-forward", "rl", ":80"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start port-forward");
    let mut first = String::new();
    BufReader::new(forward.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read port-forward's first line");
    let port: u16 = first
        .strip_prefix("Forwarding from 127.0.0.1:")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    // httpd may still be starting: a refused connection inside the pod closes ours.
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        if let Some(page) = http_get(port).filter(|p| p.contains("Welcome to nginx")) {
            break page;
        }
        assert!(Instant::now() < deadline, "no page through port-forward");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.contains("Welcome to nginx"), "{page}");

    // The pod network between two of the learner's pods.
    let ip = state
        .sandbox
        .as_ref()
        .and_then(|s| s.ip.clone())
        .expect("pod IP");
    let other = me.manifest("rl2", POD);
    me.ok(&["run", "--detach", &other]);
    let page = me.ok(&[
        "exec",
        "rl2",
        "-c",
        "app",
        "--",
        "wget",
        "-qO-",
        &format!("http://{ip}/"),
    ]);
    assert!(page.contains("nginx"), "{page}");
    let ps = me.ok(&["ps"]);
    assert!(ps.contains("rl ") && ps.contains("rl2"), "{ps}");
    // Root's podlab does not list them: they are the learner's.
    let root_ps = common::podlab(&["ps"]);
    assert!(!stdout(&root_ps).contains("rl2"), "{}", stdout(&root_ps));

    // delete: nothing of rl is left.
    me.ok(&["delete", "--now", "rl"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pod_processes(&state).iter().any(|(_, p)| p.is_alive()) {
        assert!(
            Instant::now() < deadline,
            "rl's processes outlived its delete"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(me.pod_dirs().iter().all(|d| !d.ends_with(&state.uid)));
    // port-forward notices that its pod is gone and says so.
    let ended = wait_with_timeout(&mut forward, Duration::from_secs(10));
    assert!(!ended.success(), "port-forward outlived its pod");
    let mut said = String::new();
    forward
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut said)
        .expect("read port-forward's stderr");
    assert!(said.contains("lost connection to pod rl"), "{said}");

    // kill -9 of rl2's shim: its processes die with it, gc removes the rest, then the node
    // goes, and the kernel frees its namespaces.
    let rl2 = me.state("rl2");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(rl2.shim.pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the shim");
    let deadline = Instant::now() + Duration::from_secs(5);
    while common::is_running(rl2.shim.pid) {
        assert!(Instant::now() < deadline, "the shim survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    let gc = me.ok(&["gc"]);
    assert!(gc.contains("rl2"), "{gc}");
    me.assert_nothing_left();
    assert!(
        !common::is_running(node.holder.pid),
        "podlab-node outlived the last pod"
    );
}

#[test]
fn two_learners_do_not_see_each_others_pods() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let (a, b) = (Learner::create("x"), Learner::create("y"));
    for learner in [&a, &b] {
        let manifest = learner.manifest("twin", POD);
        learner.ok(&["run", "--detach", &manifest]);
    }
    let (twin_a, twin_b) = (a.state("twin"), b.state("twin"));
    assert_ne!(twin_a.uid, twin_b.uid);
    let (node_a, node_b) = (a.node().expect("a's node"), b.node().expect("b's node"));
    assert_ne!(node_a.holder, node_b.holder);
    assert_ne!(
        ns_inode(node_a.holder.pid, "user"),
        ns_inode(node_b.holder.pid, "user")
    );
    // Each sees one twin: their own.
    for (learner, state) in [(&a, &twin_a), (&b, &twin_b)] {
        let ps = learner.ok(&["ps"]);
        assert_eq!(ps.matches("twin").count(), 1, "{ps}");
        let hello = learner.ok(&["exec", "twin", "-c", "app", "--", "cat", "/proc/1/cmdline"]);
        assert!(hello.contains("sleep"), "{hello}");
        assert_eq!(learner.state("twin").uid, state.uid);
    }
    // a's delete and gc leave b's pod alone.
    a.ok(&["delete", "--now", "twin"]);
    a.ok(&["gc"]);
    assert!(pod_processes(&twin_b).iter().all(|(_, p)| p.is_alive()));
    assert!(b.ok(&["ps"]).contains("twin"));
    let out = a.podlab(&["exec", "twin", "--", "true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    a.assert_nothing_left();
    b.ok(&["delete", "--now", "twin"]);
    b.assert_nothing_left();
}

#[test]
fn lesson_01_and_its_try_lines_pass_without_root() {
    let Some(_machine) = common::privileged_shipped_pods() else {
        return;
    };
    let me = Learner::create("l");
    // The shipped lesson 01, stage by stage. Where no cgroup subtree is delegated (this
    // machine's v1 controllers) its pod gets no cgroup: the cgroup stage says so and passes,
    // and the try: lines naming the cgroup are skipped with why.
    let lesson = common::lessons_dir().join("01-process.yaml");
    let out = me.podlab(&[
        "lesson",
        lesson.to_str().expect("utf-8 path"),
        "--autoplay",
        "--headless",
        "--restart",
        // Its try: lines too, as the learner would type them.
        "--try",
    ]);
    assert!(
        out.status.success(),
        "lesson 01 without root: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("lesson complete"), "{}", stdout(&out));
    me.assert_nothing_left();
}

#[test]
fn host_users_false_is_refused_without_root_and_nothing_is_made() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let me = Learner::create("u");
    let own = POD.replace("spec:\n", "spec:\n  hostUsers: false\n");
    let manifest = me.manifest("ownusers", &own);
    let out = me.podlab(&["run", "--detach", &manifest]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let said = stderr(&out);
    for expected in ["hostUsers: false needs root", "podlab-node", "sudo"] {
        assert!(said.contains(expected), "{expected:?} missing from: {said}");
    }
    // Refused before anything: no pod, no node.
    assert!(me.pod_dirs().is_empty());
    assert!(me.node().is_none());
    me.assert_nothing_left();
}

#[test]
fn without_user_namespaces_nothing_is_made_and_podlab_says_why() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let me = Learner::create("n");
    let manifest = me.manifest("nons", POD);
    // A user namespace whose children may not make user namespaces: as a machine with
    // user.max_user_namespaces = 0 looks from inside.
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {PODLAB} run --detach {manifest}"
    );
    let out = me.run(
        "unshare",
        &["--user", "--map-root-user", "sh", "-c", &script],
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    let said = stderr(&out);
    for expected in [
        "user namespaces",
        "user.max_user_namespaces = 0",
        "sysctl -w user.max_user_namespaces=15000",
        "sudo",
        "podlab replay",
    ] {
        assert!(said.contains(expected), "{expected:?} missing from: {said}");
    }
    // Never a half-built pod.
    assert!(me.pod_dirs().is_empty());
    assert!(me.node().is_none());
    me.assert_nothing_left();
}

#[test]
fn a_lesson_that_needs_limits_is_refused_before_any_pod_when_none_are_enforced() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    if let podlab::runtime::rootless::delegation::Limits::Delegated { .. } =
        podlab::runtime::rootless::delegation::detect()
    {
        common::skipped("this machine delegates a cgroup subtree: lesson 08 can run");
        return;
    }
    let me = Learner::create("r");
    let lesson = common::lessons_dir().join("08-resources.yaml");
    let out = me.podlab(&[
        "lesson",
        lesson.to_str().expect("utf-8 path"),
        "--autoplay",
        "--headless",
    ]);
    assert!(!out.status.success());
    let said = stderr(&out);
    for expected in [
        "needs root here",
        "sudo podlab lesson 08-resources",
        "podlab replay assets/traces/lesson-08.trace.jsonl",
    ] {
        assert!(said.contains(expected), "{expected:?} missing from: {said}");
    }
    let list = me.ok(&["lessons", "list"]);
    assert!(list.contains("needs root here"), "{list}");
    me.assert_nothing_left();
}

/// An image loaded and run without root, as a `useradd` user: whiteouts (character devices
/// 0:0, which the kernel lets anyone make) and an opaque directory (`user.overlay.opaque`, read
/// by an overlay mounted with `userxattr`) hide the lower layers' files inside the container;
/// a file of uid 1000 in a layer is root's there, as with rootless podman's single mapping; a
/// file capability cannot be kept; `podlab load` says both.
#[test]
fn a_rootless_load_keeps_whiteouts_and_says_what_it_could_not_keep() {
    use crate::common::images::{cap_net_raw_ep, Layer, TestImage};
    let Some(_machine) = common::privileged() else {
        return;
    };
    let me = Learner::create("img");
    let base = Layer::busybox()
        .dir("etc/old")
        .file("etc/old/a", b"a")
        .file("etc/motd", b"hello\n")
        .finish();
    let top = Layer::new()
        .dir("etc")
        .file("etc/.wh.motd", b"")
        .dir("etc/old")
        .file("etc/old/.wh..wh..opq", b"")
        .file("etc/old/b", b"b")
        .file_owned("home/app/mine", b"mine\n", 0o644, 1000)
        .file_with_xattrs(
            "bin/pinger",
            b"#!/bin/sh\n",
            &[("security.capability", &cap_net_raw_ep())],
        )
        .finish();
    let reference = "localhost/rootless-layers:1";
    let archive = me.home.join("layers.tar");
    std::fs::write(
        &archive,
        TestImage::new(vec![base, top]).oci_archive(reference, false),
    )
    .expect("write the archive");
    nix::unistd::chown(&archive, Some(me.uid.into()), None).expect("chown the archive");
    let said = me.ok(&["load", archive.to_str().unwrap()]);
    assert!(
        said.contains("files owned by other users in the layers are yours now"),
        "{said}"
    );
    assert!(said.contains("other than user.*"), "{said}");
    let manifest = me.manifest(
        "layers",
        &format!(
            "apiVersion: v1
kind: Pod
metadata:
  name: {{name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {reference}
    imagePullPolicy: Never
    command: [sleep, '3600']
"
        ),
    );
    me.ok(&["run", "--detach", &manifest]);
    let inside = me.ok(&[
        "exec",
        "layers",
        "-c",
        "app",
        "--",
        "sh",
        "-c",
        "test -e /etc/motd && echo motd; echo old: $(ls /etc/old); stat -c 'mine: %u' /home/app/mine",
    ]);
    assert_eq!(inside, "old: b\nmine: 0\n");
    me.ok(&["delete", "--now", "layers"]);
    me.assert_nothing_left();
}
