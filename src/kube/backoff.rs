//! Crash-loop back-off, as kubelet 1.35 keeps it (`pkg/util/flowcontrol` Backoff, used by
//! `doBackOff` in `kuberuntime_manager.go`).
//!
//! One entry per container, made at its first restart. A container that exits is in back-off
//! while less than the entry's delay has passed since the exit; otherwise it starts again at
//! once and the entry moves on: the first restart sets the delay to 10 s, every later one
//! doubles it up to 5 minutes. An exit more than twice the maximum (10 minutes) after the last
//! restart finds the entry expired: that crash counts as a first one again. So the first crash
//! restarts at once, the next ones after 10, 20, 40 … 300 s.
//!
//! A time scale lets lessons show the curve without waiting minutes; the UI must say when it is
//! not 1.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackOffPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// An exit this long after the last restart forgets earlier crashes (kubelet: twice `max`).
    pub reset_after: Duration,
}

impl BackOffPolicy {
    /// kubelet's values (`initialCrashLoopBackOff`, `MaxCrashLoopBackOff`; the entry expires
    /// after 2 × max).
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

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Duration,
    /// When the container was last restarted.
    last_restart: Instant,
}

/// The back-off of one container: ask it how long an exit must wait, tell it every restart.
#[derive(Debug, Clone)]
pub struct CrashLoopBackOff {
    policy: BackOffPolicy,
    entry: Option<Entry>,
}

impl CrashLoopBackOff {
    pub fn new(policy: BackOffPolicy) -> CrashLoopBackOff {
        CrashLoopBackOff {
            policy,
            entry: None,
        }
    }

    pub fn policy(&self) -> BackOffPolicy {
        self.policy
    }

    fn live_entry(&self, exited: Instant) -> Option<Entry> {
        self.entry
            .filter(|e| exited.saturating_duration_since(e.last_restart) <= self.policy.reset_after)
    }

    /// How long after an exit at `exited` the container must wait before it starts again:
    /// zero for a first crash (or the first after a reset), else the current delay
    /// (kubelet's `IsInBackOffSince`, measured from the exit).
    pub fn delay_after_exit(&self, exited: Instant) -> Duration {
        self.live_entry(exited).map_or(Duration::ZERO, |e| e.delay)
    }

    /// The container starts again at `now` after an exit at `exited` (kubelet's `Next`): the
    /// first restart arms the initial delay, every later one doubles it up to the maximum.
    pub fn restarted(&mut self, exited: Instant, now: Instant) {
        let delay = match self.live_entry(exited) {
            Some(e) => (e.delay * 2).min(self.policy.max),
            None => self.policy.initial.min(self.policy.max),
        };
        self.entry = Some(Entry {
            delay,
            last_restart: now,
        });
    }

    /// The current delay (what "back-off 40s" in the waiting message shows); `None` before
    /// the first restart.
    pub fn current_delay(&self) -> Option<Duration> {
        self.entry.map(|e| e.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A container that crashes one second after every start; the waits between an exit and
    /// the next start.
    fn waits(policy: BackOffPolicy, crashes: usize) -> Vec<u64> {
        let t0 = Instant::now();
        let mut backoff = CrashLoopBackOff::new(policy);
        let mut now = t0;
        let mut waits = vec![];
        for _ in 0..crashes {
            let exited = now + secs(1);
            let wait = backoff.delay_after_exit(exited);
            now = exited + wait;
            backoff.restarted(exited, now);
            waits.push(wait.as_secs());
        }
        waits
    }

    // kubelet's TestSlowBackoff (pkg/util/flowcontrol/backoff_test.go): the delay doubles per
    // restart up to the maximum; here seen from the container's side.
    #[test]
    fn first_crash_restarts_at_once_then_ten_seconds_doubling_to_five_minutes() {
        assert_eq!(
            waits(BackOffPolicy::KUBELET, 9),
            vec![0, 10, 20, 40, 80, 160, 300, 300, 300]
        );
    }

    // hasExpired in pkg/util/flowcontrol/backoff.go: an exit more than 2 × max after the last
    // restart starts over.
    #[test]
    fn ten_minutes_after_the_last_restart_a_crash_counts_as_the_first() {
        let t0 = Instant::now();
        let mut backoff = CrashLoopBackOff::new(BackOffPolicy::KUBELET);
        assert_eq!(backoff.delay_after_exit(t0 + secs(1)), Duration::ZERO);
        backoff.restarted(t0 + secs(1), t0 + secs(1));
        assert_eq!(backoff.delay_after_exit(t0 + secs(2)), secs(10));
        backoff.restarted(t0 + secs(2), t0 + secs(12));
        assert_eq!(backoff.current_delay(), Some(secs(20)));
        // Exactly ten minutes after that restart: still in the loop.
        assert_eq!(backoff.delay_after_exit(t0 + secs(612)), secs(20));
        // Just over: a first crash again, restarted at once, and the next wait is 10 s.
        assert_eq!(backoff.delay_after_exit(t0 + secs(613)), Duration::ZERO);
        backoff.restarted(t0 + secs(613), t0 + secs(613));
        assert_eq!(backoff.current_delay(), Some(secs(10)));
        assert_eq!(backoff.delay_after_exit(t0 + secs(614)), secs(10));
    }

    // kubelet's TestBackoffReset and TestBackoffHighWaterMark (pkg/util/flowcontrol/
    // backoff_test.go): step 1 s, max 5 s. At the maximum, an exit within 2 × max of the last
    // restart stays at the maximum; 2 × max + 1 s later it is out of back-off.
    #[test]
    fn flowcontrol_reset_and_high_water_mark() {
        let policy = BackOffPolicy {
            initial: secs(1),
            max: secs(5),
            reset_after: secs(10),
        };
        let t0 = Instant::now();
        let mut backoff = CrashLoopBackOff::new(policy);
        for i in 1..=6 {
            backoff.restarted(t0 + secs(i), t0 + secs(i));
        }
        assert_eq!(backoff.current_delay(), Some(secs(5)));
        // High water mark: 6 s after the last restart (< 2 × max), the delay stays at 5 s.
        backoff.restarted(t0 + secs(12), t0 + secs(12));
        assert_eq!(backoff.current_delay(), Some(secs(5)));
        // Reset: 11 s after the last restart (> 2 × max), no back-off.
        assert_eq!(backoff.delay_after_exit(t0 + secs(12 + 11)), Duration::ZERO);
        assert_eq!(backoff.delay_after_exit(t0 + secs(12 + 10)), secs(5));
    }

    #[test]
    fn scaled_policy_shrinks_every_duration() {
        let policy = BackOffPolicy::scaled(0.1);
        assert_eq!(policy.initial, secs(1));
        assert_eq!(policy.max, secs(30));
        assert_eq!(policy.reset_after, secs(60));
        assert_eq!(BackOffPolicy::scaled(0.0), BackOffPolicy::KUBELET);
        assert_eq!(BackOffPolicy::scaled(f64::NAN), BackOffPolicy::KUBELET);
        assert_eq!(waits(policy, 8), vec![0, 1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn nothing_to_wait_for_before_the_first_restart() {
        let backoff = CrashLoopBackOff::new(BackOffPolicy::KUBELET);
        assert_eq!(backoff.delay_after_exit(Instant::now()), Duration::ZERO);
        assert_eq!(backoff.current_delay(), None);
    }
}
