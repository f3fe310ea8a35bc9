//! kubelet's pod lifecycle on real pods (root): probes, init containers, sidecars, restart
//! back-off, termination, sandbox loss. Timers run ten times faster (--time-scale 0.1).

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use podlab::kube::pod_state::{ContainerState, PodPhase, PodState};

/// A host directory for a hostPath volume, removed when dropped.
struct HostDir(PathBuf);

impl HostDir {
    fn new(base: &str) -> HostDir {
        let dir = std::env::temp_dir().join(format!("podlab-{base}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create host dir");
        HostDir(dir)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.0.join(file)).unwrap_or_default()
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn running_started_at(state: &PodState, container: &str) -> f64 {
    match state.container(container).map(|c| &c.state) {
        Some(ContainerState::Running { started_at }) => *started_at,
        other => panic!("{container} is not running: {other:?}"),
    }
}

fn terminated_times(state: &PodState, container: &str) -> (f64, f64) {
    match state.container(container).map(|c| &c.state) {
        Some(ContainerState::Terminated {
            started_at,
            finished_at,
            exit_code: 0,
            ..
        }) => (*started_at, *finished_at),
        other => panic!("{container} did not complete: {other:?}"),
    }
}

#[test]
fn a_failing_liveness_probe_restarts_the_container() {
    let Some(_machine) = privileged() else {
        return;
    };
    // The liveness example of the Kubernetes docs, with seconds instead of half a minute.
    let pod = TestPod::run_fast(
        "liveness",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: liveness
    image: busybox
    args: [/bin/sh, -c, "touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
      initialDelaySeconds: 5
      periodSeconds: 5
"#,
    );
    let state = pod.wait_for("the first restart", Duration::from_secs(20), |s| {
        s.container("liveness").is_some_and(|c| {
            c.restart_count == 1 && matches!(c.state, ContainerState::Running { .. })
        })
    });
    let events = pod.events();
    assert!(
        events.iter().any(|e| e.starts_with(
            "Unhealthy Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory"
        )),
        "{events:#?}"
    );
    assert!(
        events.contains(
            &"Killing Container liveness failed liveness probe, will be restarted".to_string()
        ),
        "{events:#?}"
    );
    let last = state
        .container("liveness")
        .and_then(|c| c.last_state.clone());
    assert!(
        matches!(
            last,
            Some(ContainerState::Terminated { exit_code: 137, .. })
        ),
        "sh as PID 1 ignores SIGTERM and is killed after the grace period: {last:?}"
    );
    let describe = stdout(&podlab(&["describe", &pod.name]));
    assert!(
        describe.contains("Liveness:       exec [cat /tmp/healthy] delay=5s timeout=1s period=5s #success=1 #failure=3"),
        "{describe}"
    );
    assert!(describe.contains("Restart Count:  1"), "{describe}");
}

#[test]
fn init_containers_run_one_at_a_time_before_the_app() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run_fast(
        "initorder",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  initContainers:
  - {name: first, image: busybox, command: [sh, -c, "sleep 0.3"]}
  - {name: second, image: busybox, command: [sh, -c, "sleep 0.3"]}
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
"#,
    );
    let state = pod.state();
    let (first_start, first_end) = terminated_times(&state, "first");
    let (second_start, second_end) = terminated_times(&state, "second");
    let app_start = running_started_at(&state, "app");
    assert!(
        first_start < first_end && first_end <= second_start,
        "{state:#?}"
    );
    assert!(second_end <= app_start, "{state:#?}");
    assert!(second_end - second_start >= 0.25, "{state:#?}");
    assert_eq!(state.phase, PodPhase::Running);
    assert_eq!(state.status_text(), "Running");
    let describe = stdout(&podlab(&["describe", &pod.name]));
    assert!(
        describe.contains("Init Containers:") && describe.contains("Reason:       Completed"),
        "{describe}"
    );
}

#[test]
fn an_init_container_that_keeps_failing_holds_the_app_back_in_crash_loop() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run_fast(
        "initloop",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  initContainers:
  - {name: setup, image: busybox, command: [sh, -c, "exit 3"]}
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
"#,
    );
    pod.wait_for("two restarts", Duration::from_secs(15), |s| {
        s.container("setup").is_some_and(|c| c.restart_count >= 2)
    });
    let state = pod.wait_for("the back-off", Duration::from_secs(10), |s| {
        s.status_text() == "Init:CrashLoopBackOff"
    });
    assert_eq!(state.phase, PodPhase::Pending);
    let app = state.container("app").expect("app");
    assert!(app.process.is_none(), "the app never started: {app:?}");
    assert_eq!(
        app.state,
        ContainerState::Waiting {
            reason: "PodInitializing".into()
        }
    );
    let ps = stdout(&podlab(&["ps"]));
    let line = ps
        .lines()
        .find(|l| l.starts_with(&pod.name))
        .expect("listed");
    assert!(line.contains("Init:CrashLoopBackOff"), "{line}");
    let setup = state.container("setup").expect("setup");
    assert!(
        matches!(setup.last_state, Some(ContainerState::Terminated { exit_code: 3, ref reason, .. }) if reason == "Error"),
        "{setup:?}"
    );
    assert!(
        setup
            .state_message
            .as_deref()
            .is_some_and(|m| m.contains("(×0.1) restarting failed container=setup")),
        "{setup:?}"
    );
}

#[test]
fn with_restart_policy_never_a_failed_init_container_fails_the_pod() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run_fast(
        "initnever",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  initContainers:
  - {name: setup, image: busybox, command: [sh, -c, "exit 1"]}
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
"#,
    );
    // The shim keeps the failed pod, as kubelet does, until it is deleted.
    let state = pod.wait_for("Failed", Duration::from_secs(5), |s| {
        s.phase == PodPhase::Failed
    });
    assert_eq!(state.status_text(), "Init:Error");
    assert_eq!(state.container("setup").expect("setup").restart_count, 0);
    assert!(state.container("app").expect("app").process.is_none());
}

#[test]
fn a_sidecar_starts_before_the_app_and_stops_after_it() {
    let Some(_machine) = privileged() else {
        return;
    };
    let log = HostDir::new("sidecar");
    let yaml = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {{name}}}}
spec:
  terminationGracePeriodSeconds: 5
  volumes: [{{name: log, hostPath: {{path: {}}}}}]
  initContainers:
  - name: proxy
    image: busybox
    restartPolicy: Always
    command: [sh, -c, "trap 'sleep 0.3; echo proxy-stop >> /log/order; exit 0' TERM; echo proxy-start >> /log/order; while true; do sleep 0.1; done"]
    volumeMounts: [{{name: log, mountPath: /log}}]
    lifecycle:
      preStop: {{exec: {{command: [sh, -c, "echo proxy-prestop >> /log/order"]}}}}
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "trap 'sleep 0.5; echo app-stop >> /log/order; exit 0' TERM; echo app-start >> /log/order; while true; do sleep 0.1; done"]
    volumeMounts: [{{name: log, mountPath: /log}}]
"#,
        log.0.display()
    );
    let pod = TestPod::run_fast("sidecar", &yaml);
    let state = pod.state();
    assert!(running_started_at(&state, "proxy") <= running_started_at(&state, "app"));
    assert_eq!(state.ready_text(), "2/2", "a sidecar counts in READY");
    assert_eq!(state.status_text(), "Running");
    pod.wait_for("both to log their start", Duration::from_secs(5), |_| {
        log.read("order").lines().count() == 2
    });
    let out = podlab(&["delete", &pod.name]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        log.read("order").lines().collect::<Vec<_>>(),
        // The sidecar's preStop runs at the start, with everyone's (kubelet's killContainer
        // runs for all at once); only its SIGTERM waits for the app to be gone.
        [
            "proxy-start",
            "app-start",
            "proxy-prestop",
            "app-stop",
            "proxy-stop"
        ]
    );
}

/// A pod whose one container, "crash", runs `script` and is restarted (restartPolicy Always).
fn crashing(script: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {{name}}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {{name: crash, image: busybox, command: [sh, -c, {script:?}]}}\n"
    )
}

#[test]
fn crash_loop_back_off_restarts_at_once_then_doubles_from_ten_seconds() {
    let Some(_machine) = privileged() else {
        return;
    };
    // Each run lasts 0.3 s, so that every run shows as the last state while the next runs.
    let pod = TestPod::run_fast("backoff", &crashing("sleep 0.3; exit 1"));
    // Each run's (start, end), from the last state the container shows after it.
    let mut runs: Vec<(f64, f64)> = Vec::new();
    let mut messages: Vec<(usize, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while runs.len() < 5 {
        assert!(Instant::now() < deadline, "only saw runs {runs:?}");
        let state = pod.state();
        let c = state.container("crash").expect("crash");
        if let Some(ContainerState::Terminated {
            started_at,
            finished_at,
            ..
        }) = c.last_state
        {
            if runs.last().map(|r| r.0) != Some(started_at) {
                runs.push((started_at, finished_at));
            }
        }
        if let Some(m) = &c.state_message {
            if messages.last().map(|(_, last)| last) != Some(m) {
                messages.push((runs.len(), m.clone()));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // From each exit to the next start: at once, then 10s, 20s, 40s scaled by 0.1, plus the
    // time a start takes.
    let waits: Vec<f64> = runs.windows(2).map(|w| w[1].0 - w[0].1).collect();
    assert!(
        waits[0] < 0.5,
        "the first crash restarts at once: {waits:?}"
    );
    for (wait, want) in waits[1..].iter().zip([1.0, 2.0, 4.0]) {
        assert!(
            *wait >= want - 0.05 && *wait < want + 0.5,
            "waits {waits:?}, want about 0, 1, 2, 4 s"
        );
    }
    // The waiting message names kubelet's delay; none after the first crash.
    let first_wait = messages
        .iter()
        .find(|(_, m)| m.starts_with("back-off "))
        .expect("a back-off message");
    assert!(
        first_wait
            .1
            .starts_with("back-off 10s (×0.1) restarting failed container=crash pod="),
        "{messages:?}"
    );
    assert!(
        first_wait.0 >= 2,
        "no back-off before the second run: {messages:?}"
    );
    let events = pod.events();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("BackOff Back-off restarting failed container crash in pod")),
        "{events:#?}"
    );
    let describe = stdout(&podlab(&["describe", &pod.name]));
    assert!(
        describe.contains(" over ") && describe.contains("(x"),
        "repeats are counted: {describe}"
    );
}

/// kubelet's own timing, not scaled: a crashing container is started again at once after its
/// first exit and 10 s after its second, and CrashLoopBackOff (with its BackOff event) shows
/// only in that wait.
#[test]
fn a_crashing_container_restarts_at_once_then_after_ten_seconds_in_real_time() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("crashreal", &crashing("sleep 1; exit 1"));
    let restart_gap = |state: &PodState| -> f64 {
        let c = state.container("crash").expect("crash");
        let Some(ContainerState::Terminated { finished_at, .. }) = c.last_state else {
            panic!("no last state: {c:?}");
        };
        running_started_at(state, "crash") - finished_at
    };
    let running_again = |n: u32| {
        move |s: &PodState| {
            s.container("crash").is_some_and(|c| {
                c.restart_count == n && matches!(c.state, ContainerState::Running { .. })
            })
        }
    };
    let first = pod.wait_for(
        "the first restart",
        Duration::from_secs(5),
        running_again(1),
    );
    let gap = restart_gap(&first);
    assert!(gap < 2.0, "first restart {gap:.2}s after the exit");
    assert!(
        !pod.events().iter().any(|e| e.starts_with("BackOff ")),
        "no BackOff after the first crash: {:#?}",
        pod.events()
    );
    let waiting = pod.wait_for("CrashLoopBackOff", Duration::from_secs(5), |s| {
        s.status_text() == "CrashLoopBackOff"
    });
    let message = waiting
        .container("crash")
        .and_then(|c| c.state_message.clone())
        .unwrap_or_default();
    assert!(
        message.starts_with("back-off 10s restarting failed container=crash pod="),
        "{message}"
    );
    let second = pod.wait_for(
        "the second restart",
        Duration::from_secs(15),
        running_again(2),
    );
    let gap = restart_gap(&second);
    assert!(
        (9.9..11.5).contains(&gap),
        "second restart {gap:.2}s after the exit, want about 10 s"
    );
    let events = second.events;
    let started = events
        .iter()
        .find(|e| e.reason == "Started")
        .expect("Started");
    assert_eq!(started.count, 3, "{events:#?}");
    let backoff = events
        .iter()
        .find(|e| e.reason == "BackOff")
        .expect("BackOff");
    assert!(backoff.count >= 1, "{events:#?}");
}

#[test]
fn term_trapping_and_term_ignoring_containers_stop_at_the_right_times() {
    let Some(_machine) = privileged() else {
        return;
    };
    let yaml = |command: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {{name}}}}\nspec:\n  terminationGracePeriodSeconds: 2\n  containers:\n  - {{name: c, image: busybox, command: [sh, -c, {command:?}]}}\n"
        )
    };
    let trapping = TestPod::run(
        "trapper",
        &yaml("trap 'exit 0' TERM; while true; do sleep 0.1; done"),
    );
    let ignoring = TestPod::run(
        "ignorer",
        &yaml("trap '' TERM; while true; do sleep 0.1; done"),
    );
    let timed_delete = |name: &str| {
        let started = Instant::now();
        let out = podlab(&["delete", name]);
        assert!(out.status.success(), "{}", stderr(&out));
        started.elapsed()
    };
    let fast = timed_delete(&trapping.name);
    assert!(
        fast < Duration::from_millis(1500),
        "a TERM trap exits early: {fast:?}"
    );
    let slow = timed_delete(&ignoring.name);
    assert!(
        slow >= Duration::from_millis(1900) && slow < Duration::from_secs(5),
        "ignoring TERM means SIGKILL at the 2s deadline: {slow:?}"
    );
}

/// kubelet's `killContainer` raises any grace period below 2 s to 2 s: with 0, a container
/// still gets SIGTERM first, and one that ignores it is killed 2 s later.
#[test]
fn grace_zero_still_sends_sigterm_first() {
    let Some(_machine) = privileged() else {
        return;
    };
    let dir = HostDir::new("gracezero");
    let yaml = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {{name}}}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{{name: out, hostPath: {{path: {}}}}}]
  containers:
  - name: polite
    image: busybox
    command: [sh, -c, "trap 'echo term > /out/polite; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{{name: out, mountPath: /out}}]
  - name: stubborn
    image: busybox
    command: [sh, -c, "trap 'echo term > /out/stubborn' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{{name: out, mountPath: /out}}]
"#,
        dir.0.display()
    );
    let pod = TestPod::run("gracezero", &yaml);
    let started = Instant::now();
    let out = podlab(&["delete", &pod.name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let took = started.elapsed();
    assert_eq!(
        dir.read("polite"),
        "term\n",
        "SIGTERM first, even with grace 0"
    );
    assert_eq!(dir.read("stubborn"), "term\n");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "the TERM-ignoring container is killed 2 s after SIGTERM: {took:?}"
    );
}

/// `lifecycle.stopSignal` (ContainerStopSignals) replaces SIGTERM for its container only; an
/// init container's events are filed under `spec.initContainers{NAME}`, with kubelet 1.35's
/// wording.
#[test]
fn a_stop_signal_replaces_sigterm_and_init_events_name_their_field_path() {
    let Some(_machine) = privileged() else {
        return;
    };
    let dir = HostDir::new("stopsignal");
    let trap = |who: &str| {
        format!("trap 'echo usr1 > /out/{who}; exit 0' USR1; trap 'echo term > /out/{who}; exit 0' TERM; while true; do sleep 0.1; done")
    };
    let yaml = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {{name}}}}
spec:
  os: {{name: linux}}
  volumes: [{{name: out, hostPath: {{path: {}}}}}]
  initContainers:
  - {{name: init, image: busybox, command: ["true"]}}
  containers:
  - name: custom
    image: busybox
    command: [sh, -c, "{}"]
    lifecycle: {{stopSignal: SIGUSR1}}
    volumeMounts: [{{name: out, mountPath: /out}}]
  - name: default
    image: busybox
    command: [sh, -c, "{}"]
    volumeMounts: [{{name: out, mountPath: /out}}]
"#,
        dir.0.display(),
        trap("custom"),
        trap("default")
    );
    let pod = TestPod::run("stopsignal", &yaml);
    let state = pod.state();
    let filed: Vec<(String, String, String)> = state
        .events
        .iter()
        .map(|e| (e.object.clone(), e.reason.clone(), e.message.clone()))
        .collect();
    for (object, reason, message) in [
        ("spec.initContainers{init}", "Created", "Container created"),
        ("spec.initContainers{init}", "Started", "Container started"),
        ("spec.containers{custom}", "Started", "Container started"),
    ] {
        assert!(
            filed.contains(&(object.into(), reason.into(), message.into())),
            "{object} {reason} {message} in {filed:#?}"
        );
    }
    assert_eq!(
        state
            .container("custom")
            .and_then(|c| c.stop_signal.clone()),
        Some("SIGUSR1".to_string())
    );
    let out = podlab(&["delete", &pod.name]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dir.read("custom"), "usr1\n", "the stop signal, not SIGTERM");
    assert_eq!(
        dir.read("default"),
        "term\n",
        "the others still get SIGTERM"
    );
}

/// kubelet records ExceededGracePeriod only when it force-kills a pod (eviction); an ordinary
/// delete that ends in SIGKILL has none. A sidecar that also ignores SIGTERM keeps the pod
/// alive for 2 s after the app was killed, long enough to read its events.
#[test]
fn an_ordinary_delete_records_no_exceeded_grace_period() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "noexceeded",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: proxy, image: busybox, restartPolicy: Always, command: [sh, -c, "trap '' TERM; while true; do sleep 0.1; done"]}
  containers:
  - {name: app, image: busybox, command: [sh, -c, "trap '' TERM; while true; do sleep 0.1; done"]}
"#,
    );
    let name = pod.name.clone();
    let delete = std::thread::spawn(move || podlab(&["delete", &name]));
    let mut seen: Vec<String> = Vec::new();
    while let Ok(state) = podlab::runtime::lookup::find_pod(&pod.name) {
        for e in state.events {
            let line = format!("{} {} {}", e.object, e.reason, e.message);
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = delete.join().expect("delete thread");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        seen.iter()
            .any(|l| l.starts_with("spec.initContainers{proxy} Killing")),
        "the sidecar's stop was seen: {seen:#?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("ExceededGracePeriod")),
        "{seen:#?}"
    );
}

/// A pod whose container "app" writes "term" to `dir`/order on SIGTERM and exits, with the
/// given `lifecycle` (flow YAML); deleted, it returns how long the delete took and the order.
fn delete_term_logging_pod(base: &str, lifecycle: &str) -> (Duration, String) {
    let dir = HostDir::new(base);
    let yaml = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {{name}}}}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{{name: out, hostPath: {{path: {}}}}}]
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "trap 'echo term >> /out/order; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle: {lifecycle}
"#,
        dir.0.display()
    );
    let pod = TestPod::run(base, &yaml);
    let app = pod.pid_of("app");
    let started = Instant::now();
    let out = podlab(&["delete", &pod.name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let took = started.elapsed();
    assert!(!is_running(app));
    (took, dir.read("order"))
}

#[test]
fn pre_stop_runs_before_sigterm() {
    let Some(_machine) = privileged() else {
        return;
    };
    let (took, order) = delete_term_logging_pod(
        "prestop",
        r#"{preStop: {exec: {command: [sh, -c, "echo prestop >> /out/order; sleep 0.5"]}}}"#,
    );
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert_eq!(order, "prestop\nterm\n");
}

/// The `sleep` hook action (GA in 1.34): kubelet itself waits before SIGTERM, so the image
/// needs no `sleep` binary; a sleep of 0 is allowed.
#[test]
fn a_pre_stop_sleep_delays_sigterm_by_its_seconds() {
    let Some(_machine) = privileged() else {
        return;
    };
    let (took, order) = delete_term_logging_pod(
        "sleephook",
        "{postStart: {sleep: {seconds: 0}}, preStop: {sleep: {seconds: 1}}}",
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "SIGTERM after the 1 s sleep: {took:?}"
    );
    assert_eq!(order, "term\n");
}

/// kubelet's startContainer returns only after postStart: the next container waits for the
/// hook, and the container is Running (and Ready) only then. A failing hook kills it.
#[test]
fn post_start_blocks_the_next_container_and_a_failing_one_kills_its_own() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "poststart",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  containers:
  - name: first
    image: busybox
    command: [sleep, "3600"]
    lifecycle: {postStart: {exec: {command: [sh, -c, "sleep 1"]}}}
  - name: second
    image: busybox
    command: [sleep, "3600"]
  - name: broken
    image: busybox
    command: [sleep, "3600"]
    lifecycle: {postStart: {exec: {command: [sh, -c, "exit 3"]}}}
"#,
    );
    let state = pod.wait_for("broken to be killed", Duration::from_secs(10), |s| {
        s.container("broken")
            .is_some_and(|c| matches!(c.state, ContainerState::Terminated { .. }))
    });
    let first = running_started_at(&state, "first");
    let second = running_started_at(&state, "second");
    assert!(
        second - first >= 0.95,
        "second started {:.2}s after first, whose postStart sleeps 1 s",
        second - first
    );
    assert!(state.container("first").expect("first").ready);
    let events = pod.events();
    assert!(
        events.iter().any(|e| e.starts_with("FailedPostStartHook ")),
        "{events:#?}"
    );
    assert!(
        events.contains(&"Killing FailedPostStartHook".to_string()),
        "{events:#?}"
    );
}

#[test]
fn when_pause_dies_the_sandbox_is_re_created_with_new_namespaces_and_ip() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run_fast(
        "sandboxloss",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
  - {name: other, image: busybox, command: [sleep, "3600"]}
"#,
    );
    let before = pod.state();
    let old_pause = before.sandbox.as_ref().expect("sandbox").pause;
    let old_ip = before.sandbox.as_ref().and_then(|s| s.ip.clone());
    assert!(old_ip.is_some(), "the pod has an IP");
    let old_ns: Vec<u64> = ["net", "ipc", "uts"]
        .iter()
        .map(|ns| ns_inode(old_pause.pid, ns))
        .collect();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old_pause.pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill pause");
    let after = pod.wait_for("a new sandbox", Duration::from_secs(15), |s| {
        s.sandbox
            .as_ref()
            .is_some_and(|sb| sb.pause != old_pause && sb.ip.is_some())
            && s.containers
                .iter()
                .all(|c| c.restart_count == 1 && matches!(c.state, ContainerState::Running { .. }))
    });
    let events = pod.events();
    assert!(
        events.contains(
            &"SandboxChanged Pod sandbox changed, it will be killed and re-created.".to_string()
        ),
        "{events:#?}"
    );
    let new_pause = after.sandbox.as_ref().expect("sandbox").pause.pid;
    for (ns, old) in ["net", "ipc", "uts"].iter().zip(&old_ns) {
        assert_ne!(ns_inode(new_pause, ns), *old, "a new {ns} namespace");
        assert_eq!(
            ns_inode(pod.pid_of("app"), ns),
            ns_inode(new_pause, ns),
            "app joined the new {ns} namespace"
        );
    }
    let new_ip = after.sandbox.as_ref().and_then(|s| s.ip.clone());
    assert_ne!(new_ip, old_ip, "a new IP");
    let addresses = pod.sh("app", "ip -4 addr show eth0");
    assert!(
        addresses.contains(new_ip.as_deref().unwrap_or("?")),
        "{addresses}"
    );
}

#[test]
fn a_failing_readiness_probe_flips_ready_without_a_restart() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run_fast(
        "readiness",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "touch /tmp/ready; exec sleep 3600"]
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 2
      failureThreshold: 1
"#,
    );
    pod.wait_for("ready", Duration::from_secs(5), |s| s.ready_text() == "1/1");
    pod.sh("app", "rm /tmp/ready");
    let state = pod.wait_for("not ready", Duration::from_secs(5), |s| {
        s.ready_text() == "0/1"
    });
    assert_eq!(state.restarts(), 0);
    assert_eq!(state.phase, PodPhase::Running);
    let ps = stdout(&podlab(&["ps"]));
    let line = ps
        .lines()
        .find(|l| l.starts_with(&pod.name))
        .expect("listed");
    assert!(line.contains("0/1") && line.contains("Running"), "{line}");
    assert!(
        pod.events().iter().any(
            |e| e.starts_with("Unhealthy Readiness probe failed: cat: can't open '/tmp/ready'")
        ),
        "{:#?}",
        pod.events()
    );
    pod.sh("app", "touch /tmp/ready");
    pod.wait_for("ready again", Duration::from_secs(5), |s| {
        s.ready_text() == "1/1"
    });
    assert_eq!(pod.state().restarts(), 0);
}

#[test]
fn http_and_tcp_probes_reach_the_pod_ip() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run_fast(
        "netprobes",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: nginx
    ports: [{name: http, containerPort: 80}]
    readinessProbe:
      httpGet: {path: /, port: http}
      periodSeconds: 2
    livenessProbe:
      # Starts late, so the readiness probe has time to see httpd up before it is killed.
      tcpSocket: {port: 81}
      initialDelaySeconds: 20
      periodSeconds: 2
      failureThreshold: 2
"#,
    );
    pod.wait_for("ready over HTTP", Duration::from_secs(5), |s| {
        s.ready_text() == "1/1"
    });
    let state = pod.wait_for("a restart by the tcp probe", Duration::from_secs(15), |s| {
        s.restarts() >= 1
    });
    let ip = state.sandbox.and_then(|s| s.ip).expect("pod IP");
    let events = pod.events();
    let refused =
        format!("Unhealthy Liveness probe failed: dial tcp {ip}:81: connect: connection refused");
    assert!(events.contains(&refused), "{events:#?}");
}
