//! kubelet's rules for what happens after a container exits: its reason, whether it restarts,
//! after which back-off, and the pod's phase.

use std::time::Duration;

use super::state::{ContainerKind, ContainerState, PodPhase, PodState};
use crate::spec::RestartPolicy;

pub const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A container that ran this long before exiting starts its back-off from the beginning.
pub const BACKOFF_RESET_AFTER_SECS: f64 = 600.0;

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

/// 10s, doubling, capped at 300s; back to 10s after a run of 10 minutes.
pub fn next_backoff(previous: Option<Duration>, ran_seconds: f64) -> Duration {
    match previous {
        Some(prev) if ran_seconds < BACKOFF_RESET_AFTER_SECS => (prev * 2).min(BACKOFF_MAX),
        _ => BACKOFF_INITIAL,
    }
}

/// The pod phase from its containers, following kubelet's `getPhase`.
pub fn pod_phase(state: &PodState) -> PodPhase {
    let policy = state.pod.spec.restart_policy;
    let mut init_pending = false;
    for c in state
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::Init)
    {
        match &c.state {
            ContainerState::Terminated { exit_code: 0, .. } => {}
            ContainerState::Terminated { .. } if policy == RestartPolicy::Never => {
                return PodPhase::Failed
            }
            _ => init_pending = true,
        }
    }
    if init_pending {
        return PodPhase::Pending;
    }
    let (mut running, mut waiting, mut succeeded, mut failed) = (0, 0, 0, 0);
    for c in state
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::App)
    {
        match &c.state {
            ContainerState::Running { .. } => running += 1,
            ContainerState::Terminated { exit_code: 0, .. } => succeeded += 1,
            ContainerState::Terminated { .. } => failed += 1,
            // Waiting to restart after an exit: kubelet still counts the pod as running.
            ContainerState::Waiting { .. } if c.last_state.is_some() => running += 1,
            ContainerState::Waiting { .. } => waiting += 1,
        }
    }
    if waiting > 0 {
        PodPhase::Pending
    } else if running > 0 {
        PodPhase::Running
    } else if failed > 0 {
        PodPhase::Failed
    } else if succeeded > 0 {
        PodPhase::Succeeded
    } else {
        PodPhase::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut d = None;
        let mut seen = vec![];
        for _ in 0..7 {
            let next = next_backoff(d, 1.0);
            seen.push(next.as_secs());
            d = Some(next);
        }
        assert_eq!(seen, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(next_backoff(d, 600.0).as_secs(), 10);
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
}
