//! kubelet's rules for what happens after a container exits: its reason, whether it restarts,
//! after which back-off, and the pod's phase.

use std::time::Duration;

use super::pod_state::{ContainerKind, ContainerState, PodPhase, PodState};
use crate::spec::RestartPolicy;

/// The reason kubelet gives a terminated container.
pub fn exit_reason(exit_code: i32, oom_killed: bool) -> &'static str {
    if oom_killed {
        "OOMKilled"
    } else if exit_code == 0 {
        "Completed"
    } else {
        "Error"
    }
}

pub fn should_restart(kind: ContainerKind, policy: RestartPolicy, exit_code: i32) -> bool {
    match kind {
        ContainerKind::Sidecar => true,
        ContainerKind::Init => policy != RestartPolicy::Never && exit_code != 0,
        ContainerKind::App => match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        },
    }
}

/// ContainerRestartRules (beta and on in 1.35): an app container's `restartPolicyRules` are
/// tried in order on its exit code (the first that matches restarts it), then its own
/// `restartPolicy`, then the pod's. Init containers and sidecars keep [`should_restart`].
pub fn container_should_restart(
    container: Option<&crate::spec::Container>,
    kind: ContainerKind,
    pod_policy: RestartPolicy,
    exit_code: i32,
) -> bool {
    use crate::spec::ContainerRestartPolicy as C;
    let Some(c) = container.filter(|_| kind == ContainerKind::App) else {
        return should_restart(kind, pod_policy, exit_code);
    };
    if c.restart_policy_rules.iter().any(|r| r.matches(exit_code)) {
        return true;
    }
    let policy = match c.restart_policy {
        Some(C::Always) => RestartPolicy::Always,
        Some(C::OnFailure) => RestartPolicy::OnFailure,
        Some(C::Never) => RestartPolicy::Never,
        None => pod_policy,
    };
    should_restart(kind, policy, exit_code)
}

/// kubelet's waiting message for a container in back-off, with the time scale when it is not 1:
/// "back-off 20s (×0.1) restarting failed container=app pod=web_default(uid)".
/// `delay` is what kubelet would wait; the shim waits `delay × scale`.
pub fn backoff_message(delay: Duration, scale: f64, container: &str, pod: &str) -> String {
    let scaled = if (scale - 1.0).abs() > f64::EPSILON {
        format!(" (×{scale})")
    } else {
        String::new()
    };
    format!(
        "back-off {}{scaled} restarting failed container={container} pod={pod}",
        go_duration(delay)
    )
}

/// A duration as Go prints it for whole seconds: 10s, 1m20s, 5m0s.
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs_f64().round() as u64;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// True if an app container has started at least once: the pod is past initialization then,
/// even if a sidecar restarts later.
fn initialized(state: &PodState) -> bool {
    state
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::App)
        .any(|c| !matches!(c.state, ContainerState::Waiting { .. }) || c.last_state.is_some())
}

/// The pod phase from its containers, following kubelet's `getPhase`.
pub fn pod_phase(state: &PodState) -> PodPhase {
    let policy = state.pod.spec.restart_policy;
    let (mut pending_init, mut failed_init) = (0, 0);
    if !initialized(state) {
        for c in &state.containers {
            match (c.kind, &c.state) {
                (ContainerKind::Sidecar, ContainerState::Running { .. }) if c.started => {}
                (ContainerKind::Sidecar, _) => pending_init += 1,
                (ContainerKind::Init, ContainerState::Terminated { exit_code: 0, .. }) => {}
                (ContainerKind::Init, ContainerState::Terminated { .. }) => failed_init += 1,
                (ContainerKind::Init, ContainerState::Waiting { .. }) if matches!(c.last_state, Some(ContainerState::Terminated { exit_code, .. }) if exit_code != 0) => {
                    failed_init += 1
                }
                (ContainerKind::Init, _) => pending_init += 1,
                (ContainerKind::App, _) => {}
            }
        }
    }
    if failed_init > 0 && policy == RestartPolicy::Never {
        return PodPhase::Failed;
    }
    if pending_init + failed_init > 0 {
        return PodPhase::Pending;
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in state
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::App)
    {
        match &c.state {
            ContainerState::Running { .. } => running += 1,
            ContainerState::Terminated { exit_code, .. } => {
                stopped += 1;
                if *exit_code == 0 {
                    succeeded += 1;
                }
            }
            // Waiting to restart after an exit counts as stopped, not as waiting to start.
            ContainerState::Waiting { .. } if c.last_state.is_some() => stopped += 1,
            ContainerState::Waiting { .. } => waiting += 1,
        }
    }
    if waiting > 0 {
        PodPhase::Pending
    } else if running > 0 {
        PodPhase::Running
    } else if stopped > 0 {
        match policy {
            RestartPolicy::Always => PodPhase::Running,
            _ if stopped == succeeded => PodPhase::Succeeded,
            RestartPolicy::Never => PodPhase::Failed,
            RestartPolicy::OnFailure => PodPhase::Running,
        }
    } else {
        PodPhase::Pending
    }
}

/// True once the pod can never run a container again (Succeeded or Failed).
pub fn is_terminal(phase: PodPhase) -> bool {
    matches!(phase, PodPhase::Succeeded | PodPhase::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_messages_say_kubelet_delay_and_scale() {
        let pod = "web_default(1)";
        assert_eq!(
            backoff_message(Duration::from_secs(10), 1.0, "app", pod),
            "back-off 10s restarting failed container=app pod=web_default(1)"
        );
        assert_eq!(
            backoff_message(Duration::from_secs(80), 0.1, "app", pod),
            "back-off 1m20s (×0.1) restarting failed container=app pod=web_default(1)"
        );
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }

    #[test]
    fn restart_policy_table() {
        use ContainerKind::*;
        use RestartPolicy::*;
        let cases = [
            (App, Always, 0, true),
            (App, Always, 1, true),
            (App, OnFailure, 0, false),
            (App, OnFailure, 2, true),
            (App, Never, 1, false),
            (Init, Always, 0, false),
            (Init, Always, 1, true),
            (Init, OnFailure, 1, true),
            (Init, Never, 1, false),
            (Sidecar, Never, 0, true),
        ];
        for (kind, policy, code, want) in cases {
            assert_eq!(
                should_restart(kind, policy, code),
                want,
                "{kind:?} {policy:?} {code}"
            );
        }
    }

    #[test]
    fn exit_reasons() {
        assert_eq!(exit_reason(0, false), "Completed");
        assert_eq!(exit_reason(1, false), "Error");
        assert_eq!(exit_reason(137, false), "Error");
        assert_eq!(exit_reason(137, true), "OOMKilled");
    }

    fn pod_with(
        policy: RestartPolicy,
        containers: Vec<(ContainerKind, ContainerState, bool)>,
    ) -> PodState {
        use crate::kube::pod_state::ContainerStatus;
        let mut pod: crate::spec::Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": []}
        }))
        .expect("pod");
        pod.spec.restart_policy = policy;
        PodState::for_tests(
            pod,
            containers
                .into_iter()
                .enumerate()
                .map(|(i, (kind, state, restarted))| ContainerStatus {
                    name: format!("c{i}"),
                    kind,
                    image: "busybox".into(),
                    image_served_by: String::new(),
                    process: None,
                    last_state: restarted.then(|| done(1)),
                    state,
                    restart_count: u32::from(restarted),
                    ready: false,
                    started: true,
                    state_message: None,
                    pull: None,
                    stop_signal: None,
                })
                .collect(),
        )
    }

    fn done(code: i32) -> ContainerState {
        ContainerState::Terminated {
            exit_code: code,
            signal: None,
            reason: exit_reason(code, false).into(),
            started_at: 0.0,
            finished_at: 1.0,
            message: None,
        }
    }

    fn running() -> ContainerState {
        ContainerState::Running { started_at: 0.0 }
    }

    fn waiting(reason: &str) -> ContainerState {
        ContainerState::Waiting {
            reason: reason.into(),
        }
    }

    #[test]
    fn phases_follow_kubelet_get_phase() {
        use ContainerKind::*;
        use RestartPolicy::*;
        let cases = [
            (
                Always,
                vec![(App, running(), false)],
                PodPhase::Running,
                "Running",
            ),
            (
                Always,
                vec![(App, waiting("ContainerCreating"), false)],
                PodPhase::Pending,
                "ContainerCreating",
            ),
            (
                Always,
                vec![(App, waiting("CrashLoopBackOff"), true)],
                PodPhase::Running,
                "CrashLoopBackOff",
            ),
            (
                Never,
                vec![(App, done(0), false)],
                PodPhase::Succeeded,
                "Completed",
            ),
            (
                Never,
                vec![(App, done(2), false)],
                PodPhase::Failed,
                "Error",
            ),
            (
                OnFailure,
                vec![(App, done(0), false), (App, done(0), false)],
                PodPhase::Succeeded,
                "Completed",
            ),
            (
                OnFailure,
                vec![(App, waiting("CrashLoopBackOff"), true)],
                PodPhase::Running,
                "CrashLoopBackOff",
            ),
            (
                Always,
                vec![
                    (Init, done(0), false),
                    (Init, running(), false),
                    (App, waiting("PodInitializing"), false),
                ],
                PodPhase::Pending,
                "Init:1/2",
            ),
            (
                Always,
                vec![
                    (Init, waiting("CrashLoopBackOff"), true),
                    (App, waiting("PodInitializing"), false),
                ],
                PodPhase::Pending,
                "Init:CrashLoopBackOff",
            ),
            (
                Never,
                vec![
                    (Init, done(1), false),
                    (App, waiting("PodInitializing"), false),
                ],
                PodPhase::Failed,
                "Init:Error",
            ),
            // kubectl's printPod turns Completed back to Running/NotReady only for a
            // container that is running and Ready; this one is not Ready.
            (
                Always,
                vec![(App, running(), false), (App, done(0), false)],
                PodPhase::Running,
                "Completed",
            ),
            // A running sidecar does not keep a finished Never pod from succeeding.
            (
                Never,
                vec![(Sidecar, running(), false), (App, done(0), false)],
                PodPhase::Succeeded,
                "Completed",
            ),
            (
                Always,
                vec![
                    (Sidecar, waiting("ContainerCreating"), false),
                    (App, waiting("PodInitializing"), false),
                ],
                PodPhase::Pending,
                "Init:0/1",
            ),
        ];
        for (policy, containers, phase, status) in cases {
            let mut pod = pod_with(policy, containers);
            pod.phase = pod_phase(&pod);
            assert_eq!(pod.phase, phase, "{policy:?} {:?}", pod.containers);
            assert_eq!(pod.status_text(), status, "{policy:?} {:?}", pod.containers);
        }
    }

    /// ContainerRestartRules: rules on the exit code first, then the container's own
    /// restartPolicy, then the pod's (cases after the KEP's examples).
    #[test]
    fn container_restart_rules_come_before_the_policies() {
        let container = |v: serde_json::Value| -> crate::spec::Container {
            serde_json::from_value(v).expect("container")
        };
        let retry_42 = container(serde_json::json!({
            "name": "app", "image": "busybox", "restartPolicy": "Never",
            "restartPolicyRules": [{"action": "Restart", "exitCodes": {"operator": "In", "values": [42]}}]
        }));
        let not_zero = container(serde_json::json!({
            "name": "app", "image": "busybox", "restartPolicy": "Never",
            "restartPolicyRules": [{"action": "Restart", "exitCodes": {"operator": "NotIn", "values": [0]}}]
        }));
        let own_always = container(serde_json::json!({
            "name": "app", "image": "busybox", "restartPolicy": "Always"
        }));
        let plain = container(serde_json::json!({"name": "app", "image": "busybox"}));
        let app = ContainerKind::App;
        let cases = [
            (&retry_42, RestartPolicy::Always, 42, true),
            (&retry_42, RestartPolicy::Always, 1, false),
            (&retry_42, RestartPolicy::Always, 0, false),
            (&not_zero, RestartPolicy::Always, 3, true),
            (&not_zero, RestartPolicy::OnFailure, 0, false),
            (&own_always, RestartPolicy::Never, 0, true),
            (&plain, RestartPolicy::Never, 1, false),
            (&plain, RestartPolicy::OnFailure, 1, true),
        ];
        for (c, pod_policy, code, want) in cases {
            assert_eq!(
                container_should_restart(Some(c), app, pod_policy, code),
                want,
                "{:?} {pod_policy:?} exit {code}",
                c.restart_policy_rules
            );
        }
        // Init containers keep the pod's rule.
        assert!(!container_should_restart(
            Some(&own_always),
            ContainerKind::Init,
            RestartPolicy::Never,
            1
        ));
    }
}
