//! Crash-loop back-off: how long kubelet waits before restarting a container that exited.
//!
//! 10s after the first exit, doubling on every further exit up to 5 minutes; once a container
//! has run for 10 minutes the next exit starts again at 10s (kubernetes/website pod-lifecycle).
//! Older kubelets measured the 10 minutes between two exits instead (`flowcontrol.Backoff` GC
//! at 2×max); the documented rule is used here. A time scale lets lessons show the curve
//! without waiting minutes; the UI must say when it is not 1.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackOffPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Running at least this long forgets earlier crashes.
    pub reset_after: Duration,
}

impl BackOffPolicy {
    /// kubelet's values.
    pub const KUBELET: BackOffPolicy = BackOffPolicy {
        initial: Duration::from_secs(10),
        max: Duration::from_secs(300),
        reset_after: Duration::from_secs(600),
    };

    /// kubelet's values multiplied by `factor` (e.g. 0.1: 1s doubling to 30s, reset after 60s).
    /// A factor that is not a positive finite number keeps kubelet's values.
    pub fn scaled(factor: f64) -> BackOffPolicy {
        if !factor.is_finite() || factor <= 0.0 {
            return BackOffPolicy::KUBELET;
        }
        let scale =
            |d: Duration| Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(d);
        BackOffPolicy {
            initial: scale(BackOffPolicy::KUBELET.initial),
            max: scale(BackOffPolicy::KUBELET.max),
            reset_after: scale(BackOffPolicy::KUBELET.reset_after),
        }
    }
}

impl Default for BackOffPolicy {
    fn default() -> Self {
        BackOffPolicy::KUBELET
    }
}

/// The back-off of one container: feed it every exit, ask it when a restart may happen.
#[derive(Debug, Clone)]
pub struct CrashLoopBackOff {
    policy: BackOffPolicy,
    /// The delay chosen at the last exit; `None` before the first exit or after a reset.
    last_delay: Option<Duration>,
    /// No restart before this instant.
    restart_not_before: Option<Instant>,
}

impl CrashLoopBackOff {
    pub fn new(policy: BackOffPolicy) -> CrashLoopBackOff {
        CrashLoopBackOff {
            policy,
            last_delay: None,
            restart_not_before: None,
        }
    }

    pub fn policy(&self) -> BackOffPolicy {
        self.policy
    }

    /// Records an exit of a container that started at `started` and exited at `exited`;
    /// returns the delay before it may start again.
    pub fn on_exit(&mut self, started: Instant, exited: Instant) -> Duration {
        let ran = exited.saturating_duration_since(started);
        let delay = match self.last_delay {
            Some(previous) if ran < self.policy.reset_after => (previous * 2).min(self.policy.max),
            _ => self.policy.initial.min(self.policy.max),
        };
        self.last_delay = Some(delay);
        self.restart_not_before = Some(exited + delay);
        delay
    }

    /// How long until a restart is allowed; zero when it is allowed now.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.restart_not_before
            .map(|at| at.saturating_duration_since(now))
            .unwrap_or(Duration::ZERO)
    }

    /// The container is waiting in `CrashLoopBackOff`.
    pub fn in_back_off(&self, now: Instant) -> bool {
        !self.remaining(now).is_zero()
    }

    /// The delay chosen at the last exit (what "back-off 40s" in the event message shows).
    pub fn current_delay(&self) -> Option<Duration> {
        self.last_delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn delays_double_up_to_five_minutes() {
        let t0 = Instant::now();
        let mut backoff = CrashLoopBackOff::new(BackOffPolicy::KUBELET);
        let mut now = t0;
        let mut delays = vec![];
        for _ in 0..8 {
            let started = now;
            let exited = started + secs(1);
            let delay = backoff.on_exit(started, exited);
            assert!(backoff.in_back_off(exited));
            assert_eq!(backoff.remaining(exited + delay / 2), delay - delay / 2);
            assert!(!backoff.in_back_off(exited + delay));
            delays.push(delay.as_secs());
            now = exited + delay;
        }
        assert_eq!(delays, vec![10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn ten_minutes_of_running_resets_the_delay() {
        let t0 = Instant::now();
        let mut backoff = CrashLoopBackOff::new(BackOffPolicy::KUBELET);
        assert_eq!(backoff.on_exit(t0, t0 + secs(1)), secs(10));
        assert_eq!(backoff.on_exit(t0 + secs(11), t0 + secs(12)), secs(20));
        // Just under ten minutes: still doubling.
        assert_eq!(
            backoff.on_exit(t0 + secs(32), t0 + secs(32 + 599)),
            secs(40)
        );
        // Ten minutes: back to the start.
        assert_eq!(backoff.on_exit(t0 + secs(700), t0 + secs(1300)), secs(10));
    }

    #[test]
    fn scaled_policy_shrinks_every_duration() {
        let policy = BackOffPolicy::scaled(0.1);
        assert_eq!(policy.initial, secs(1));
        assert_eq!(policy.max, secs(30));
        assert_eq!(policy.reset_after, secs(60));
        assert_eq!(BackOffPolicy::scaled(0.0), BackOffPolicy::KUBELET);
        assert_eq!(BackOffPolicy::scaled(f64::NAN), BackOffPolicy::KUBELET);

        let t0 = Instant::now();
        let mut backoff = CrashLoopBackOff::new(policy);
        let delays: Vec<u64> = (0..7)
            .map(|i| {
                backoff
                    .on_exit(t0 + secs(i * 100), t0 + secs(i * 100 + 1))
                    .as_secs()
            })
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn nothing_to_wait_for_before_the_first_exit() {
        let backoff = CrashLoopBackOff::new(BackOffPolicy::KUBELET);
        assert!(!backoff.in_back_off(Instant::now()));
        assert_eq!(backoff.current_delay(), None);
    }
}
