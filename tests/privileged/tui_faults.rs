//! Faults in the TUI (root, in tmux): the explorer with its pod built, and lesson 03 in the
//! player with its pod running, each ended by SIGINT, SIGTERM or SIGHUP sent to podlab, by a
//! real panic in its loop (the `PODLAB_TEST_PANIC=after-steps:N` hook), and by the terminal
//! window closing (exit status 129, as for SIGHUP). After each, the pane is back on the normal screen with a visible cursor
//! in cooked mode with echo (`stty -a` run in the pane right after podlab), podlab's exit
//! status is 128 + the signal's number (101 for the panic), and the pod is gone with nothing
//! left.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::tmux::{wait_for_file, Tmux};
use common::{
    assert_nothing_left, privileged, privileged_shipped_pods, unique_name, write_manifest, TestPod,
    PODLAB,
};
use nix::sys::signal::Signal;
use podlab::kube::pod_state::PodState;
use podlab::runtime::lookup;

const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: nginx:1.27
    - name: sidecar
      image: busybox:1.36
      command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']
";

const LONG: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Fault {
    Signal(Signal),
    /// A panic in the loop once this many steps are done.
    Panic(usize),
    /// The tmux server goes away: the terminal hangs up (SIGHUP), nobody sees the screen.
    CloseWindow,
}

impl Fault {
    fn tag(self) -> &'static str {
        match self {
            Fault::Signal(Signal::SIGINT) => "int",
            Fault::Signal(Signal::SIGTERM) => "term",
            Fault::Signal(Signal::SIGHUP) => "hup",
            Fault::Signal(_) => "sig",
            Fault::Panic(_) => "panic",
            Fault::CloseWindow => "close",
        }
    }

    /// The variables podlab runs with.
    fn env(self) -> String {
        match self {
            Fault::Panic(n) => format!("PODLAB_TEST_PANIC=after-steps:{n} "),
            _ => String::new(),
        }
    }

    fn exit_status(self) -> i32 {
        match self {
            Fault::Signal(signal) => 128 + signal as i32,
            Fault::Panic(_) => 101,
            // A closed terminal ends podlab as SIGHUP does.
            Fault::CloseWindow => 128 + libc::SIGHUP,
        }
    }
}

/// One podlab run in a pane of its own: the command line runs podlab, then writes its exit
/// status and `stty -a` to a file (renamed into place, so it is read whole).
struct Pane {
    tmux: Tmux,
    after: PathBuf,
}

impl Pane {
    fn start(name: &str, scratch: &Path, fault: Fault, podlab_args: &str) -> Pane {
        let tmux = Tmux::start(&format!("podlab-{name}"), 100, 30);
        let after = scratch.join("after");
        let partial = scratch.join("after.partial");
        let state = scratch.join("state");
        tmux.keys(&[
            &format!(
                "trap '' HUP; {}XDG_STATE_HOME={} {PODLAB} {podlab_args}; echo status=$? > {p}; \
                 stty -a >> {p}; mv {p} {a}",
                fault.env(),
                state.display(),
                p = partial.display(),
                a = after.display()
            ),
            "Enter",
        ]);
        Pane { tmux, after }
    }

    fn step_until(&self, shown: &str) {
        self.tmux.keys(&["Space"]);
        self.tmux
            .wait_for(&format!("{shown:?}"), LONG, |s| s.contains(shown));
    }

    /// Deliver the fault to the running podlab `pid`, then check the pane, the exit status
    /// and that the pod is gone.
    fn deliver_and_check(&self, fault: Fault, pid: i32, pod: &PodState, trigger_panic: &[&str]) {
        match fault {
            Fault::Signal(signal) => {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
                    .unwrap_or_else(|e| panic!("kill -{signal} {pid}: {e}"));
            }
            Fault::Panic(_) => self.tmux.keys(trigger_panic),
            Fault::CloseWindow => {
                // The pane's shell ignores SIGHUP (podlab does not), so it lives on to
                // write podlab's exit status.
                let _ = self.tmux.run(&["kill-server"]);
                wait_for_exit(pid);
                let after = wait_for_file(&self.after, LONG);
                assert!(
                    after.starts_with(&format!("status={}\n", fault.exit_status())),
                    "podlab's exit status after its window closed; the file: {after}"
                );
                assert_pod_gone(pod);
                return;
            }
        }
        let after = wait_for_file(&self.after, LONG);
        let status = after
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("status="))
            .and_then(|s| s.trim().parse::<i32>().ok());
        assert_eq!(
            status,
            Some(fault.exit_status()),
            "podlab's exit status after {fault:?}; the file: {after}"
        );
        let modes: Vec<&str> = after
            .split(|c: char| c.is_whitespace() || c == ';')
            .collect();
        for mode in ["icanon", "echo", "icrnl", "opost"] {
            assert!(
                modes.contains(&mode),
                "the terminal is not back in cooked mode ({mode} is off) after {fault:?}: {after}"
            );
        }
        assert_eq!(
            self.tmux.pane_format("#{alternate_on}"),
            "0",
            "still on the alternate screen after {fault:?}"
        );
        assert_eq!(
            self.tmux.pane_format("#{cursor_flag}"),
            "1",
            "the cursor is hidden after {fault:?}"
        );
        if let Fault::Panic(_) = fault {
            let screen = self.tmux.history();
            assert!(
                screen.contains("a planned panic"),
                "the panic report is not readable on the normal screen: {screen}"
            );
        }
        assert_pod_gone(pod);
    }
}

fn wait_for_exit(pid: i32) {
    let deadline = Instant::now() + LONG;
    loop {
        // Gone, or a zombie its new parent has not reaped yet.
        let running = common::is_running(pid);
        if !running {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "podlab (pid {pid}) still runs after its window closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_pod_gone(pod: &PodState) {
    assert_nothing_left(pod);
    assert!(
        lookup::live_pod_named(&pod.name)
            .expect("list pods")
            .is_none(),
        "pod {} is still listed",
        pod.name
    );
}

const FAULTS: [Fault; 5] = [
    Fault::Signal(Signal::SIGINT),
    Fault::Signal(Signal::SIGTERM),
    Fault::Signal(Signal::SIGHUP),
    Fault::Panic(6),
    Fault::CloseWindow,
];

/// The explorer on a two-container pod: five steps (pause and web run), then the fault; a
/// signal comes once both containers run, the panic right after the sixth step.
fn explorer_fault(fault: Fault) {
    let name = unique_name(&format!("flt-ex-{}", fault.tag()));
    let manifest = write_manifest(&name, &MANIFEST.replace("{name}", &name));
    let scratch = tempfile::tempdir().expect("temporary directory");
    let pane = Pane::start(
        &name,
        scratch.path(),
        fault,
        &format!("explore {}", manifest.display()),
    );
    pane.tmux
        .wait_for("the explorer", LONG, |s| s.contains("Step 1/6"));
    // Deletes the pod if the test fails before podlab does.
    let guard = TestPod {
        name: name.clone(),
        manifest,
    };
    let podlab = pane.tmux.podlab_pid(LONG);
    let pid = podlab.pid;
    for step in 1..=5 {
        pane.step_until(&format!("Steps {step}/6"));
    }
    let mut pod = guard.state();
    if !matches!(fault, Fault::Panic(_)) {
        pane.step_until("Steps 6/6");
        pane.tmux
            .wait_for("the pod running", LONG, |s| s.contains("Running 2/2"));
        pod = guard.state();
    }
    pane.deliver_and_check(fault, pid, &pod, &["Space"]);
    drop(guard);
}

/// Lesson 03 (a copy naming a pod of this test, so nothing else shares its name): step 1
/// creates the pod, then the fault; the panic comes right after step 2.
fn lesson_fault(fault: Fault) {
    let fault = match fault {
        Fault::Panic(_) => Fault::Panic(2),
        other => other,
    };
    let name = unique_name(&format!("flt-ls-{}", fault.tag()));
    let scratch = tempfile::tempdir().expect("temporary directory");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped_pod =
        std::fs::read_to_string(root.join("assets/pods/web-sidecar.yaml")).expect("read pod");
    let manifest = write_manifest(
        &name,
        &shipped_pod.replace("name: web-sidecar", &format!("name: {name}")),
    );
    // The schema-1 copy of lesson 03: Space takes every step (no tasks, no questions).
    let lesson = std::fs::read_to_string(root.join("tests/fixtures/lessons/sharing-schema1.yaml"))
        .expect("read lesson 03")
        .replace(
            "manifest: ../../../assets/pods/web-sidecar.yaml",
            &format!("manifest: {}", manifest.display()),
        );
    let lesson_file = scratch.path().join("03-sharing.yaml");
    std::fs::write(&lesson_file, lesson).expect("write lesson");
    let pane = Pane::start(
        &name,
        scratch.path(),
        fault,
        &format!("lesson {} --restart", lesson_file.display()),
    );
    pane.tmux
        .wait_for("the player", LONG, |s| s.contains("Steps 0/7"));
    let guard = TestPod {
        name: name.clone(),
        manifest,
    };
    let podlab = pane.tmux.podlab_pid(LONG);
    let pid = podlab.pid;
    pane.step_until("Steps 1/7");
    pane.tmux
        .wait_for("the pod running", LONG, |s| s.contains("Running 2/2"));
    let pod = guard.state();
    pane.deliver_and_check(fault, pid, &pod, &["Space"]);
    drop(guard);
}

#[test]
fn explorer_survives_signals_panic_and_a_closed_window() {
    let Some(_machine) = privileged() else {
        return;
    };
    for fault in FAULTS {
        explorer_fault(fault);
    }
}

#[test]
fn lesson_player_survives_signals_panic_and_a_closed_window() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    for fault in FAULTS {
        lesson_fault(fault);
    }
}

#[test]
fn a_malformed_panic_hook_is_refused_before_the_screen() {
    let out = std::process::Command::new(PODLAB)
        .args(["explore"])
        .env("PODLAB_TEST_PANIC", "sometimes")
        .output()
        .expect("run podlab");
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("PODLAB_TEST_PANIC=\"sometimes\": expected after-steps:N"),
        "{}",
        common::stderr(&out)
    );
}
