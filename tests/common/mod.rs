//! Helpers for tests that build real pods: they need root, and CI (which is root) must never
//! skip them.

#![allow(dead_code)]

pub mod corpus;
pub mod images;
pub mod screen;
pub mod tmux;
pub mod token_issuer;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use podlab::kube::pod_state::{ContainerState, PodState, ProcessRef};
use podlab::runtime::lookup;
use podlab::runtime::sys::LiveProcess;

pub const PODLAB: &str = env!("CARGO_BIN_EXE_podlab");

/// Held by a privileged test while it runs: most share the machine; a test that checks the
/// whole machine between its steps holds it alone ([`privileged_alone`]).
pub type Machine = Box<dyn std::any::Any>;

static MACHINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// The one rule for tests that need root and a real kernel: as root, the test goes on (Some);
/// under CI or with PODLAB_REQUIRE_PRIVILEGED set, a missing root fails the test; elsewhere the
/// test is skipped (None) and says so on the terminal.
pub fn privileged() -> Option<Machine> {
    may_run()?;
    let shared = MACHINE.read().unwrap_or_else(|e| e.into_inner());
    Some(Box::new(shared))
}

/// Like [`privileged`], but no other privileged test runs meanwhile (one that looks at
/// everything podlab made on the machine).
pub fn privileged_alone() -> Option<Machine> {
    may_run()?;
    let alone = MACHINE.write().unwrap_or_else(|e| e.into_inner());
    Some(Box::new(alone))
}

/// Like [`privileged`], for a test that plays shipped lessons or the explorer's default pod:
/// their pods have fixed names, so such tests take turns.
pub fn privileged_shipped_pods() -> Option<Machine> {
    may_run()?;
    let turn = SHIPPED_PODS.lock().unwrap_or_else(|e| e.into_inner());
    let shared = MACHINE.read().unwrap_or_else(|e| e.into_inner());
    Some(Box::new((turn, shared)))
}

static SHIPPED_PODS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn may_run() -> Option<()> {
    if nix::unistd::geteuid().is_root() {
        return Some(());
    }
    if std::env::var_os("CI").is_some() || std::env::var_os("PODLAB_REQUIRE_PRIVILEGED").is_some() {
        panic!("this test needs root, and the test suite must run it as root (scripts/test)");
    }
    skipped("needs root (namespaces, cgroups, network devices)");
    None
}

/// Says on the terminal that the running test is skipped, and why.
pub fn skipped(why: &str) {
    // Straight to the terminal: the test harness keeps a passing test's eprintln! to itself.
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// The lessons directory of this checkout.
pub fn lessons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// Every shipped lesson, loaded.
pub fn shipped_lessons() -> Vec<podlab::lesson::Lesson> {
    podlab::lesson::lesson_files(&lessons_dir())
        .expect("list lessons")
        .iter()
        .map(|f| podlab::lesson::load_lesson(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// A process's /proc/PID/stat, through observe's parser; None once it is gone.
pub fn proc_stat(pid: i32) -> Option<podlab::observe::procfs_read::StatFields> {
    let bytes = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    podlab::observe::procfs_read::parse_stat(&bytes)
}

/// Whether `pid` still runs: it exists and is not a zombie waiting to be reaped.
pub fn is_running(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|s| s.state.0 != 'Z')
}

/// Plays lesson `id` with `podlab lesson ID --autoplay --headless EXTRA…`, its progress kept
/// in `state_home`; `each` runs every 100 ms while it plays. Past `deadline` it gets SIGTERM
/// (it deletes its pods, as on Ctrl-C), and SIGKILL if it is still there 10 s later. Returns
/// how it ended and what it printed.
pub fn play_headless(
    id: &str,
    extra: &[&str],
    state_home: &Path,
    deadline: Duration,
    mut each: impl FnMut(),
) -> Output {
    let started = Instant::now();
    let mut child = Command::new(PODLAB)
        .args(["lesson", id, "--autoplay", "--headless"])
        .args(extra)
        .env("XDG_STATE_HOME", state_home)
        .env_remove("SUDO_USER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run podlab lesson");
    let mut signalled = None;
    loop {
        each();
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        match signalled {
            None if started.elapsed() > deadline => {
                let pid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                signalled = Some(Instant::now());
            }
            Some(at) if at.elapsed() > Duration::from_secs(10) => {
                let _ = child.kill();
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("output")
}

/// Run podlab, pulling nothing: a test reaches no registry but its own on loopback.
pub fn podlab(args: &[&str]) -> Output {
    Command::new(PODLAB)
        .args(args)
        .env("PODLAB_OFFLINE", "1")
        .output()
        .expect("run podlab")
}

/// Run podlab allowed to pull (for a test that serves its images on loopback).
pub fn podlab_online(args: &[&str]) -> Output {
    Command::new(PODLAB)
        .args(args)
        .env_remove("PODLAB_OFFLINE")
        .output()
        .expect("run podlab")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A unique pod name for this test in this run (tests run in parallel).
pub fn unique_name(base: &str) -> String {
    let n = std::process::id() % 100000;
    format!("{base}-{n}")
}

/// Writes a test manifest under cargo's scratch directory for tests (target/tmp), so nothing is
/// left on the machine outside the build.
pub fn write_manifest(name: &str, yaml: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("manifests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).expect("write manifest");
    path
}

/// A detached pod that is deleted (and checked for leftovers) when dropped, even on failure.
pub struct TestPod {
    pub name: String,
    pub manifest: PathBuf,
}

impl TestPod {
    /// `yaml` may use `{name}` for the pod's unique name.
    pub fn run(base: &str, yaml: &str) -> TestPod {
        TestPod::run_with(base, yaml, &[])
    }

    /// Like `run`, with more `podlab run` arguments (e.g. `--time-scale 0.1`).
    pub fn run_with(base: &str, yaml: &str, extra_args: &[&str]) -> TestPod {
        TestPod::start(base, yaml, extra_args, podlab)
    }

    /// Like `run_with`, allowed to pull its images (from the test's loopback registry).
    pub fn run_online(base: &str, yaml: &str, extra_args: &[&str]) -> TestPod {
        TestPod::start(base, yaml, extra_args, podlab_online)
    }

    fn start(base: &str, yaml: &str, extra_args: &[&str], run: fn(&[&str]) -> Output) -> TestPod {
        let name = unique_name(base);
        let manifest = write_manifest(&name, &yaml.replace("{name}", &name));
        let pod = TestPod { name, manifest };
        let mut args = vec!["run", "--detach"];
        args.extend_from_slice(extra_args);
        args.push(pod.manifest.to_str().unwrap());
        let out = run(&args);
        assert!(out.status.success(), "podlab run failed: {}", stderr(&out));
        pod
    }

    /// `podlab run --time-scale 0.1`: kubelet's timers ten times faster.
    pub fn run_fast(base: &str, yaml: &str) -> TestPod {
        TestPod::run_with(base, yaml, &["--time-scale", "0.1"])
    }

    /// The events as "Reason message" lines.
    pub fn events(&self) -> Vec<String> {
        self.state()
            .events
            .iter()
            .map(|e| format!("{} {}", e.reason, e.message))
            .collect()
    }

    pub fn state(&self) -> PodState {
        lookup::find_pod(&self.name).expect("pod is running")
    }

    pub fn exec(&self, container: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", &self.name, "-c", container, "--"];
        args.extend_from_slice(cmd);
        podlab(&args)
    }

    /// Exec and return stdout, failing the test if the command failed.
    pub fn sh(&self, container: &str, script: &str) -> String {
        let out = self.exec(container, &["sh", "-c", script]);
        assert!(
            out.status.success(),
            "{script:?} in {container} failed: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    pub fn pid_of(&self, container: &str) -> i32 {
        let state = self.state();
        let c = state.container(container).expect("container exists");
        assert!(
            matches!(c.state, ContainerState::Running { .. }),
            "{container} is not running: {:?}",
            c.state
        );
        c.process.expect("running container has a process").pid
    }

    pub fn pause_pid(&self) -> i32 {
        self.state().sandbox.expect("sandbox").pause.pid
    }

    /// Wait until `check` holds or fail after `timeout`.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&PodState) -> bool,
    ) -> PodState {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state();
            if check(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {state:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestPod {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.manifest);
        // A test may have deleted the pod itself already.
        let Ok(state) = lookup::find_pod(&self.name) else {
            return;
        };
        let out = podlab(&["delete", "--grace-period", "0", &self.name]);
        if std::thread::panicking() {
            return;
        }
        assert!(out.status.success(), "delete failed: {}", stderr(&out));
        assert_nothing_left(&state);
    }
}

pub fn ns_inode(pid: i32, kind: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("stat /proc/{pid}/ns/{kind}: {e}"))
        .ino()
}

/// Nothing of this pod remains: no state dir, no processes.
pub fn assert_nothing_left(state: &PodState) {
    let dir = podlab::runtime::paths::pod_dir(&state.uid);
    let deadline = Instant::now() + Duration::from_secs(5);
    let processes: Vec<ProcessRef> = state
        .sandbox
        .iter()
        .map(|s| s.pause)
        .chain(state.containers.iter().filter_map(|c| c.process))
        .chain([state.shim])
        .collect();
    loop {
        let alive: Vec<_> = processes.iter().filter(|p| p.is_alive()).collect();
        if !dir.exists() && alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pod {} left things behind: dir exists={}, processes alive={alive:?}",
            state.name,
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Live `podlab kubelet` processes watching `dir`.
pub fn kubelet_processes(dir: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let zombie = proc_stat(*pid).is_some_and(|s| s.state.is_zombie());
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            !zombie && args.contains(&&b"kubelet"[..]) && args.contains(&dir.as_bytes())
        })
        .collect()
}
