//! Stopping one container the way kubelet's `killContainer` does: the preStop hook (inside the
//! container, within the grace period, and only when the grace period is not 0), then SIGTERM,
//! then SIGKILL. Whatever is left of the grace period, the container gets at least 2 seconds
//! between SIGTERM and SIGKILL (kubelet's `minimumGracePeriodInSeconds`), so a grace period of
//! 0 still begins with SIGTERM. Which containers stop, when and why is decided by
//! [`crate::kube::machine`].

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::probes::Action;
use super::tasks::{Finished, Outcome, Purpose};
use super::Shim;
use crate::kube::events;
use crate::kube::machine::{self, StopCause};
use crate::kube::pod_state::ContainerKind;
use crate::runtime::sys::{self, LiveProcess};
use crate::spec::RestartPolicy;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Stage {
    /// The preStop hook runs; SIGTERM follows when it ends (and the turn came) or at
    /// `grace_end`.
    PreStop {
        grace_end: Instant,
    },
    /// A sidecar in a delete: its preStop is done, SIGTERM waits for its turn or `grace_end`.
    WaitTurn {
        grace_end: Instant,
    },
    /// SIGTERM sent; SIGKILL at `kill_at`.
    Terminating {
        kill_at: Instant,
    },
    Killed,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Stopping {
    pub(super) stage: Stage,
    /// SIGTERM may be sent (false for a sidecar whose turn has not come).
    pub(super) turn: bool,
}

impl Stopping {
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::PreStop { grace_end } | Stage::WaitTurn { grace_end } => Some(grace_end),
            Stage::Terminating { kill_at } => Some(kill_at),
            Stage::Killed => None,
        }
    }
}

impl Shim {
    /// Begin stopping a running container; nothing happens if it is not running or already
    /// stopping.
    pub(super) fn stop_container(
        &mut self,
        name: &str,
        grace: Duration,
        cause: StopCause,
        wait_turn: bool,
    ) {
        let Some(s) = self.supervised.get(name) else {
            return;
        };
        if !s.alive() || s.stopping.is_some() {
            return;
        }
        let event = match cause {
            StopCause::Probe(kind) => {
                // A sidecar always restarts; any other container unless the pod says Never.
                let sidecar = self
                    .status(name)
                    .is_some_and(|c| c.kind == ContainerKind::Sidecar);
                let never = self.state.pod.spec.restart_policy == RestartPolicy::Never;
                events::killing_after_probe(name, kind, sidecar || !never)
            }
            StopCause::PostStartFailed => events::killing_after_post_start(name),
            _ => events::killing(name),
        };
        self.record_for(name, event);
        self.tasks.cancel_probes(name);
        if let Some(c) = self.status_mut(name) {
            c.ready = false;
        }
        let now = Instant::now();
        let pre_stop = self
            .container_spec(name)
            .and_then(|c| {
                let hook = c.lifecycle.as_ref()?.pre_stop.as_ref()?;
                Action::of_handler(hook, c)
            })
            .filter(|_| !grace.is_zero());
        let stage = match pre_stop {
            Some(action) => {
                let purpose = Purpose::PreStop {
                    container: name.to_string(),
                };
                match self.spawn_action(purpose, name, &action, grace) {
                    Ok(()) => Stage::PreStop {
                        grace_end: now + grace,
                    },
                    Err(e) => {
                        eprintln!("PreStopHook for container {name:?} failed: {e:#}");
                        self.record_for(name, events::failed_pre_stop_hook());
                        self.signal_or_wait(name, now + grace, !wait_turn)
                    }
                }
            }
            None => self.signal_or_wait(name, now + grace, !wait_turn),
        };
        if let Some(s) = self.supervised.get_mut(name) {
            s.stopping = Some(Stopping {
                stage,
                turn: !wait_turn,
            });
        }
    }

    /// SIGTERM now if the turn has come, else wait for it until `grace_end`.
    fn signal_or_wait(&mut self, name: &str, grace_end: Instant, turn: bool) -> Stage {
        if turn {
            self.send_stop_signal(name, grace_end.saturating_duration_since(Instant::now()))
        } else {
            Stage::WaitTurn { grace_end }
        }
    }

    /// A sidecar's turn came: SIGTERM now, or as soon as its preStop hook ends.
    pub(super) fn take_turn(&mut self, name: &str) {
        let Some(stopping) = self.supervised.get(name).and_then(|s| s.stopping) else {
            return;
        };
        let stage = match stopping.stage {
            Stage::WaitTurn { grace_end } => self.signal_or_wait(name, grace_end, true),
            other => other,
        };
        if let Some(s) = self.supervised.get_mut(name) {
            s.stopping = Some(Stopping { stage, turn: true });
        }
    }

    /// The stop signal (SIGTERM unless the pod or the image names another) now, and SIGKILL
    /// once `left` of the grace period is over (at least 2 s).
    fn send_stop_signal(&mut self, name: &str, left: Duration) -> Stage {
        let named = self.status(name).and_then(|c| c.stop_signal.clone());
        match named.as_deref().map(|n| (n, sys::signal_number(n))) {
            None => self.signal_container(name, Signal::SIGTERM),
            Some((_, Some(number))) => {
                if let Some(process) = self.status(name).and_then(|c| c.process) {
                    process.signal_number(number);
                }
            }
            Some((unknown, None)) => {
                // An image's STOPSIGNAL this machine has no number for (the pod's own was
                // checked when it was read): said in the shim's log, and SIGTERM instead.
                eprintln!("container {name:?}: unknown stop signal {unknown:?}, sending SIGTERM");
                self.signal_container(name, Signal::SIGTERM);
            }
        }
        Stage::Terminating {
            kill_at: Instant::now() + machine::signal_grace(left),
        }
    }

    pub(super) fn signal_container(&self, name: &str, signal: Signal) {
        if let Some(process) = self.status(name).and_then(|c| c.process) {
            process.signal(signal);
        }
    }

    /// The preStop hook ended (or its time ran out): on to SIGTERM.
    pub(super) fn pre_stop_finished(&mut self, name: &str, done: Finished) {
        let Some(stopping) = self.supervised.get(name).and_then(|s| s.stopping) else {
            return;
        };
        let Stage::PreStop { grace_end } = stopping.stage else {
            return;
        };
        if done.outcome != Outcome::Exited(0) {
            let command = match self
                .container_spec(name)
                .and_then(|c| c.lifecycle.as_ref()?.pre_stop.as_ref()?.exec.as_ref())
            {
                Some(exec) => exec.command.clone(),
                None => Vec::new(),
            };
            let error = match done.outcome {
                Outcome::Exited(code) => {
                    format!("command '{}' exited with {code}", command.join(" "))
                }
                Outcome::TimedOut => "the grace period ended before the hook did".to_string(),
            };
            let pod = events::format_pod(&self.state.name, &self.state.namespace, &self.state.uid);
            let message =
                events::exec_hook_failed_message(&command, name, &pod, &error, &done.output);
            eprintln!("{message}");
            self.record_for(name, events::failed_pre_stop_hook());
        }
        let stage = self.signal_or_wait(name, grace_end, stopping.turn);
        if let Some(s) = self.supervised.get_mut(name) {
            s.stopping = Some(Stopping { stage, ..stopping });
        }
    }

    /// SIGTERM after a preStop hook that overran, SIGKILL after the grace period.
    pub(super) fn advance_stops(&mut self) {
        let now = Instant::now();
        let overran: Vec<String> = self
            .supervised
            .iter()
            .filter(|(_, s)| {
                matches!(s.stopping, Some(Stopping { stage: Stage::PreStop { grace_end }, .. }) if grace_end <= now)
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in overran {
            self.tasks
                .cancel(|p| matches!(p, Purpose::PreStop { container } if *container == name));
            let done = Finished {
                purpose: Purpose::PreStop {
                    container: name.clone(),
                },
                outcome: Outcome::TimedOut,
                output: String::new(),
            };
            self.pre_stop_finished(&name, done);
        }
        // A sidecar whose turn did not come within the grace period gets SIGTERM anyway (kubelet's
        // waitForTurn gives up at the grace period), and its 2 s.
        let turn_over: Vec<String> = self
            .supervised
            .iter()
            .filter(|(_, s)| {
                matches!(s.stopping, Some(Stopping { stage: Stage::WaitTurn { grace_end }, .. }) if grace_end <= now)
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in turn_over {
            self.take_turn(&name);
        }
        // kubelet's ExceededGracePeriod belongs to its forced kill (killPodNow, eviction), which
        // podlab does not have: an ordinary delete that ends in SIGKILL records no such event.
        let late: Vec<String> = self
            .supervised
            .iter()
            .filter_map(|(n, s)| match s.stopping?.stage {
                Stage::Terminating { kill_at } if kill_at <= now => Some(n.clone()),
                _ => None,
            })
            .collect();
        for name in late {
            self.signal_container(&name, Signal::SIGKILL);
            if let Some(st) = self
                .supervised
                .get_mut(&name)
                .and_then(|s| s.stopping.as_mut())
            {
                st.stage = Stage::Killed;
            }
        }
    }

    /// A shorter grace period for containers already stopping (a second delete). As kubelet
    /// stops them again with the shorter period, each still gets SIGTERM and at least 2 s
    /// before SIGKILL from now.
    pub(super) fn shorten_stops(&mut self, deadline: Instant) {
        let now = Instant::now();
        let names: Vec<String> = self.supervised.keys().cloned().collect();
        for name in names {
            let Some(st) = self.supervised.get(&name).and_then(|s| s.stopping) else {
                continue;
            };
            let stage = match st.stage {
                Stage::PreStop { grace_end } if deadline < grace_end => {
                    if deadline <= now {
                        self.tasks.cancel(
                            |p| matches!(p, Purpose::PreStop { container } if *container == name),
                        );
                        self.send_stop_signal(&name, Duration::ZERO)
                    } else {
                        Stage::PreStop {
                            grace_end: deadline,
                        }
                    }
                }
                Stage::Terminating { kill_at } => Stage::Terminating {
                    kill_at: kill_at.min(deadline.max(now + machine::MINIMUM_GRACE)),
                },
                Stage::WaitTurn { grace_end } => Stage::WaitTurn {
                    grace_end: grace_end.min(deadline),
                },
                other => other,
            };
            if let Some(s) = self.supervised.get_mut(&name) {
                s.stopping = Some(Stopping { stage, ..st });
            }
        }
    }
}
