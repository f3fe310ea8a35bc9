//! The pod's lifecycle as kubelet drives it, as a state machine with no side effects: events
//! come in (a container started, exited or failed to start, a timer fired, a probe or a
//! postStart hook failed, the pod is deleted, pause died), the pod's status is updated and
//! actions come out (start, stop, record an event, arm a timer, shorten the stops, re-create
//! the sandbox). The shim (`runtime::shim`) executes the actions on the kernel and feeds back
//! what happened; the rules live here, so they are table-tested without root.
//!
//! Time comes in with each event ([`Clock`]); nothing here reads a clock.
//!
//! The rules follow kubelet 1.35: `computePodActions` and `doBackOff` in
//! `pkg/kubelet/kuberuntime/kuberuntime_manager.go`, `killContainer` in
//! `kuberuntime_container.go`, the back-off of `pkg/util/flowcontrol` ([`super::backoff`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::backoff::{BackOffPolicy, CrashLoopBackOff};
use super::events::{self, ProbeKind};
use super::lifecycle;
use super::pod_state::{ContainerKind, ContainerState, PodState};
use super::resize;
use crate::spec::RestartPolicy;

/// kubelet's `minimumGracePeriodInSeconds`: however short the grace period (even 0), a
/// container gets SIGTERM and this long before SIGKILL (`killContainer`).
pub const MINIMUM_GRACE: Duration = Duration::from_secs(2);

/// The time an event happened: monotonic for timers, wall-clock seconds for the status.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: Instant,
    /// Seconds since the Unix epoch.
    pub wall: f64,
}

/// Why a container is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// The pod is being deleted.
    PodDeleted,
    /// Every app container of a Never/OnFailure pod is done: its sidecars go.
    PodFinished,
    /// pause died: every container stops before the sandbox is re-created.
    SandboxChanged,
    /// A liveness or startup probe failed too often: restartPolicy decides what follows.
    Probe(ProbeKind),
    /// The postStart hook failed.
    PostStartFailed,
    /// An in-place resize changed a resource whose `resizePolicy` is RestartContainer.
    Resize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A container's main process is running.
    Started { container: String },
    /// A container's main process exited (or was killed by `signal`); `oom_killed` only when
    /// the cgroup's OOM-kill counter confirms it.
    Exited {
        container: String,
        exit_code: i32,
        signal: Option<i32>,
        oom_killed: bool,
    },
    /// Creating or starting the container failed (kubelet's StartError).
    StartFailed { container: String, error: String },
    /// The container's securityContext cannot be met (runAsNonRoot with a root user): kubelet's
    /// CreateContainerConfigError. It waits with the reason; nothing ran, no restart is counted.
    ConfigFailed { container: String, error: String },
    /// Pulling the container's image failed: it waits (ErrImagePull, then ImagePullBackOff)
    /// and the pull is tried again with kubelet's image back-off; no restart is counted.
    PullFailed { container: String, error: String },
    /// A timer armed by [`Action::ArmTimer`] is due.
    TimerFired,
    /// A liveness or startup probe reached its failure threshold.
    ProbeFailed { container: String, probe: ProbeKind },
    /// The postStart hook failed or timed out.
    PostStartFailed { container: String },
    /// `podlab delete` (a grace period of its own replaces terminationGracePeriodSeconds), or
    /// the shim was told to stop.
    DeleteRequested { grace_override: Option<i64> },
    /// pause exited.
    SandboxDied,
    /// The resize subresource accepted a new spec (already validated, see
    /// [`super::resize::apply_patch`]); `usage` is the memory in use now.
    ResizeRequested {
        spec: Box<crate::spec::PodSpec>,
        usage: resize::MemoryUsage,
    },
    /// The cgroup writes of a resize were carried out (`error`: the first that failed).
    ResizeWritten { error: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create and start the container (again).
    Start { container: String },
    /// Stop the container as kubelet's `killContainer` does (preStop, SIGTERM, SIGKILL after
    /// `grace`). With `wait_turn` (a sidecar in a delete), the Killing event and the preStop
    /// hook come now, but SIGTERM waits for [`Action::TakeTurn`] or the end of `grace`.
    Stop {
        container: String,
        grace: Duration,
        cause: StopCause,
        wait_turn: bool,
    },
    /// The sidecar's turn to get SIGTERM has come (every container after it has stopped).
    TakeTurn { container: String },
    /// Containers already stopping must be killed by `deadline` at the latest (a second
    /// delete with a shorter grace period).
    ShortenStops { deadline: Instant },
    /// Record an event about the pod (`container: None`) or one of its containers.
    Record {
        container: Option<String>,
        event: events::Event,
    },
    /// Send [`Event::TimerFired`] at `at`.
    ArmTimer { at: Instant },
    /// Every container has stopped after pause died: make a new sandbox and run the creation
    /// steps again from the namespaces on (the statuses are already reset).
    RecreateSandbox,
    /// Write one resource's new values into a cgroup (a resize), in the order given; the
    /// executor answers the last one with [`Event::ResizeWritten`].
    WriteCgroup(resize::CgroupWrite),
}

/// What the machine keeps of one container.
#[derive(Debug, Clone)]
struct Track {
    running: bool,
    stopping: Option<StopCause>,
    /// A sidecar stopping in a delete: its SIGTERM was let go.
    turn_given: bool,
    backoff: CrashLoopBackOff,
    /// When the last run ended (the point kubelet measures back-off from).
    exited_at: Option<Instant>,
    /// When a container waiting in back-off starts again.
    restart_at: Option<Instant>,
    /// kubelet's image back-off (10 s doubling to 300 s after each failed pull), apart from
    /// the crash-loop one.
    pull_backoff: CrashLoopBackOff,
    /// The start that is due is a pull tried again, not a restart.
    pull_again: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Live,
    /// Deleting: every container must be gone by `deadline`.
    Terminating {
        deadline: Instant,
    },
    /// pause died; the containers are stopping before the sandbox is re-created.
    SandboxLost,
}

/// The lifecycle of one pod.
#[derive(Debug, Clone)]
pub struct PodLifecycle {
    /// Multiplies kubelet's timers; 1 is real time. Messages show kubelet's values.
    scale: f64,
    mode: Mode,
    containers: BTreeMap<String, Track>,
    /// A resize under way: its cgroup writes are not confirmed yet.
    resize_writes_pending: bool,
    /// Containers a resize restarts (RestartContainer) that have not started again yet.
    resize_restarts: Vec<String>,
}

impl PodLifecycle {
    pub fn new(pod: &PodState, time_scale: f64) -> PodLifecycle {
        let policy = BackOffPolicy::scaled(time_scale);
        PodLifecycle {
            scale: time_scale,
            mode: Mode::Live,
            containers: pod
                .containers
                .iter()
                .map(|c| {
                    let track = Track {
                        running: false,
                        stopping: None,
                        turn_given: false,
                        backoff: CrashLoopBackOff::new(policy),
                        exited_at: None,
                        restart_at: None,
                        pull_backoff: CrashLoopBackOff::new(policy),
                        pull_again: false,
                    };
                    (c.name.clone(), track)
                })
                .collect(),
            resize_writes_pending: false,
            resize_restarts: Vec::new(),
        }
    }

    /// True while the containers stop before a lost sandbox is re-created.
    pub fn sandbox_lost(&self) -> bool {
        self.mode == Mode::SandboxLost
    }

    /// The next instant a restart is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.containers.values().filter_map(|t| t.restart_at).min()
    }

    fn unscaled(&self, d: Duration) -> Duration {
        if self.scale > 0.0 && self.scale.is_finite() {
            d.div_f64(self.scale)
        } else {
            d
        }
    }

    /// Take one event; the pod's status is updated in place and what the executor must do is
    /// returned, in order.
    pub fn handle(&mut self, pod: &mut PodState, event: Event, clock: Clock) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Started { container } => {
                if let Some(t) = self.containers.get_mut(&container) {
                    t.running = true;
                    t.stopping = None;
                    t.restart_at = None;
                }
                self.resources_in_use(pod, &container);
                if let Some(i) = self.resize_restarts.iter().position(|n| *n == container) {
                    self.resize_restarts.remove(i);
                    self.maybe_resize_done(pod, &mut out);
                }
            }
            Event::Exited {
                container,
                exit_code,
                signal,
                oom_killed,
            } => self.exited(
                pod, &container, exit_code, signal, oom_killed, clock, &mut out,
            ),
            Event::StartFailed { container, error } => {
                if let Some(s) = pod.container_mut(&container) {
                    s.state = ContainerState::Terminated {
                        exit_code: 128,
                        signal: None,
                        reason: "StartError".into(),
                        started_at: clock.wall,
                        finished_at: clock.wall,
                        message: None,
                    };
                    s.state_message = Some(error);
                    s.ready = false;
                    s.started = false;
                }
                if let Some(t) = self.containers.get_mut(&container) {
                    t.running = false;
                    t.stopping = None;
                    t.exited_at = Some(clock.now);
                }
                if self.mode == Mode::Live {
                    self.decide_restart(pod, &container, clock, &mut out);
                }
                self.after_exit(pod, &mut out);
            }
            Event::PullFailed { container, error } => {
                self.pull_failed(pod, &container, error, clock, &mut out)
            }
            Event::ConfigFailed { container, error } => {
                if let Some(t) = self.containers.get_mut(&container) {
                    t.running = false;
                }
                if let Some(s) = pod.container_mut(&container) {
                    s.state = ContainerState::Waiting {
                        reason: "CreateContainerConfigError".into(),
                    };
                    s.state_message = Some(error);
                    s.ready = false;
                    s.started = false;
                }
            }
            Event::TimerFired => self.run_due_restarts(pod, clock, &mut out),
            Event::ProbeFailed { container, probe } => {
                let grace = pod_grace(pod);
                self.stop(&container, grace, StopCause::Probe(probe), &mut out);
            }
            Event::PostStartFailed { container } => {
                let grace = pod_grace(pod);
                self.stop(&container, grace, StopCause::PostStartFailed, &mut out);
            }
            Event::DeleteRequested { grace_override } => {
                self.delete_requested(pod, grace_override, clock, &mut out)
            }
            Event::SandboxDied => self.sandbox_died(pod, &mut out),
            Event::ResizeRequested { spec, usage } => {
                self.resize_requested(pod, *spec, &usage, &mut out)
            }
            Event::ResizeWritten { error } => self.resize_written(pod, error, &mut out),
        }
        out
    }

    /// `allocatedResources` and `resources` of a container that runs with its spec's values.
    fn resources_in_use(&self, pod: &mut PodState, name: &str) {
        let Some(c) = pod
            .pod
            .spec
            .init_containers
            .iter()
            .chain(&pod.pod.spec.containers)
            .find(|c| c.name == name)
        else {
            return;
        };
        let (allocated, actual) = resize::status_resources(c);
        pod.resize.allocated.insert(name.to_string(), allocated);
        pod.resize.actual.insert(name.to_string(), actual);
    }

    /// kubelet's handling of an accepted resize (`handlePodResourcesResize`, then
    /// `doPodResizeAction` in `computePodActions`/`SyncPod`): allocate the new values, refuse
    /// a memory limit below what is in use, write the cgroups in kubelet's order for the
    /// containers resized in place, restart those whose policy asks for it.
    fn resize_requested(
        &mut self,
        pod: &mut PodState,
        spec: crate::spec::PodSpec,
        usage: &resize::MemoryUsage,
        out: &mut Vec<Action>,
    ) {
        use super::resources::PodResources;
        let old = PodResources::from_spec(&pod.pod.spec);
        let new = PodResources::from_spec(&spec);
        let mut in_place = Vec::new();
        let mut restart = Vec::new();
        let resizable = spec
            .init_containers
            .iter()
            .filter(|c| c.restart_policy.is_some())
            .chain(&spec.containers);
        for c in resizable {
            let (Some(o), Some(n)) = (old.find(&c.name), new.find(&c.name)) else {
                continue;
            };
            let changed = resize::changed(o, n);
            if changed.is_empty() {
                continue;
            }
            let running = self.containers.get(&c.name).is_some_and(|t| t.running);
            let needs_restart = changed.iter().any(|r| {
                resize::policy(c, *r) == crate::spec::ResizeRestartPolicy::RestartContainer
            });
            if needs_restart && running {
                restart.push(c.name.clone());
            } else if running {
                in_place.push((c.name.clone(), changed));
            }
        }
        pod.resize.generation = pod.resize.generation() + 1;
        let generation = pod.resize.generation;
        pod.pod.spec = spec;
        for name in in_place.iter().map(|(n, _)| n).chain(&restart) {
            if let Some(c) = pod
                .pod
                .spec
                .containers
                .iter()
                .chain(&pod.pod.spec.init_containers)
                .find(|c| c.name == *name)
            {
                pod.resize
                    .allocated
                    .insert(name.clone(), c.resources.requests.clone());
            }
        }
        if let Some(message) = resize::memory_below_usage(&old, &new, &in_place, usage) {
            return resize_failed(pod, message, out);
        }
        pod.resize.condition = Some(resize::ResizeCondition {
            kind: resize::POD_RESIZE_IN_PROGRESS.into(),
            reason: None,
            message: None,
        });
        out.push(Action::Record {
            container: None,
            event: resize::resize_started(&pod.pod.spec, generation),
        });
        let writes = resize::write_order(&old, &new, &in_place);
        self.resize_writes_pending = !writes.is_empty();
        out.extend(writes.into_iter().map(Action::WriteCgroup));
        let grace = pod_grace(pod);
        for name in restart {
            self.stop(&name, grace, StopCause::Resize, out);
            self.resize_restarts.push(name);
        }
        if !self.resize_writes_pending {
            self.maybe_resize_done(pod, out);
        }
    }

    fn resize_written(&mut self, pod: &mut PodState, error: Option<String>, out: &mut Vec<Action>) {
        self.resize_writes_pending = false;
        if let Some(error) = error {
            return resize_failed(pod, error, out);
        }
        let running: Vec<String> = self
            .containers
            .iter()
            .filter(|(n, t)| t.running && !self.resize_restarts.contains(n))
            .map(|(n, _)| n.clone())
            .collect();
        for name in running {
            self.resources_in_use(pod, &name);
        }
        self.maybe_resize_done(pod, out);
    }

    /// Every write done and every restarted container running again: the resize is complete.
    fn maybe_resize_done(&mut self, pod: &mut PodState, out: &mut Vec<Action>) {
        let in_progress = pod
            .resize
            .condition
            .as_ref()
            .is_some_and(|c| c.kind == resize::POD_RESIZE_IN_PROGRESS && c.reason.is_none());
        if !in_progress || self.resize_writes_pending || !self.resize_restarts.is_empty() {
            return;
        }
        pod.resize.condition = None;
        out.push(Action::Record {
            container: None,
            event: resize::resize_completed(&pod.pod.spec, pod.resize.generation()),
        });
    }

    /// Emit a stop unless the container is not running or already stopping.
    fn stop(&mut self, name: &str, grace: Duration, cause: StopCause, out: &mut Vec<Action>) {
        self.stop_with(name, grace, cause, false, out);
    }

    fn stop_with(
        &mut self,
        name: &str,
        grace: Duration,
        cause: StopCause,
        wait_turn: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(t) = self.containers.get_mut(name) else {
            return;
        };
        if !t.running || t.stopping.is_some() {
            return;
        }
        t.stopping = Some(cause);
        t.turn_given = !wait_turn;
        out.push(Action::Stop {
            container: name.to_string(),
            grace,
            cause,
            wait_turn,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn exited(
        &mut self,
        pod: &mut PodState,
        name: &str,
        exit_code: i32,
        signal: Option<i32>,
        oom_killed: bool,
        clock: Clock,
        out: &mut Vec<Action>,
    ) {
        let Some(t) = self.containers.get_mut(name) else {
            return;
        };
        let cause = t.stopping.take();
        t.running = false;
        t.exited_at = Some(clock.now);
        let Some(status) = pod.container_mut(name) else {
            return;
        };
        let started_at = match status.state {
            ContainerState::Running { started_at } => started_at,
            _ => clock.wall,
        };
        status.state = ContainerState::Terminated {
            exit_code,
            signal,
            reason: lifecycle::exit_reason(exit_code, oom_killed).to_string(),
            started_at,
            finished_at: clock.wall,
            // Read by the runtime from the container's file (`kube::termination_message`).
            message: None,
        };
        status.state_message = None;
        status.ready = false;
        status.started = false;
        if self.mode == Mode::Live && cause == Some(StopCause::Resize) {
            // A resize that needs a restart starts the container again at once, with the new
            // values; it counts as a restart but never backs off.
            restart_now(pod, name, out);
        } else if self.mode == Mode::Live && cause != Some(StopCause::PodFinished) {
            self.decide_restart(pod, name, clock, out);
        }
        self.after_exit(pod, out);
    }

    /// After an exit (or a failed start), per restartPolicy and the back-off: start again at
    /// once, wait in CrashLoopBackOff, or stay terminated.
    fn decide_restart(
        &mut self,
        pod: &mut PodState,
        name: &str,
        clock: Clock,
        out: &mut Vec<Action>,
    ) {
        pod.phase = lifecycle::pod_phase(pod);
        let policy = pod.pod.spec.restart_policy;
        let Some(status) = pod.container(name) else {
            return;
        };
        let ContainerState::Terminated { exit_code, .. } = status.state else {
            return;
        };
        let kind = status.kind;
        let spec = pod.pod.spec.containers.iter().find(|c| c.name == name);
        if !lifecycle::container_should_restart(spec, kind, policy, exit_code)
            || (kind == ContainerKind::Sidecar && lifecycle::is_terminal(pod.phase))
        {
            return;
        }
        let Some(t) = self.containers.get_mut(name) else {
            return;
        };
        let delay = t.backoff.delay_after_exit(clock.now);
        if delay.is_zero() {
            t.backoff.restarted(clock.now, clock.now);
            restart_now(pod, name, out);
            return;
        }
        let at = clock.now + delay;
        t.restart_at = Some(at);
        out.push(Action::ArmTimer { at });
        let pod_name = events::format_pod(&pod.name, &pod.namespace, &pod.uid);
        let message = lifecycle::backoff_message(self.unscaled(delay), self.scale, name, &pod_name);
        out.push(Action::Record {
            container: Some(name.to_string()),
            event: events::back_off(name, &pod_name),
        });
        if let Some(s) = pod.container_mut(name) {
            s.last_state = Some(s.state.clone());
            s.state = ContainerState::Waiting {
                reason: "CrashLoopBackOff".into(),
            };
            s.state_message = Some(message);
        }
    }

    /// kubelet's image puller: the first failure shows ErrImagePull, later ones
    /// ImagePullBackOff; the next try waits 10 s, then 20 s … up to 300 s.
    fn pull_failed(
        &mut self,
        pod: &mut PodState,
        name: &str,
        error: String,
        clock: Clock,
        out: &mut Vec<Action>,
    ) {
        let Some(t) = self.containers.get_mut(name) else {
            return;
        };
        let first = t.pull_backoff.current_delay().is_none();
        t.pull_backoff.restarted(clock.now, clock.now);
        let delay = t
            .pull_backoff
            .current_delay()
            .unwrap_or(t.pull_backoff.policy().initial);
        t.running = false;
        t.pull_again = true;
        if self.mode != Mode::Live {
            return;
        }
        let at = clock.now + delay;
        t.restart_at = Some(at);
        out.push(Action::ArmTimer { at });
        let image = pod
            .pod
            .spec
            .init_containers
            .iter()
            .chain(&pod.pod.spec.containers)
            .find(|c| c.name == name)
            .map(|c| c.image.clone())
            .unwrap_or_default();
        out.push(Action::Record {
            container: Some(name.to_string()),
            event: events::back_off_pulling(&image),
        });
        if let Some(s) = pod.container_mut(name) {
            s.state = ContainerState::Waiting {
                reason: if first {
                    "ErrImagePull"
                } else {
                    "ImagePullBackOff"
                }
                .into(),
            };
            s.state_message = Some(error);
        }
    }

    fn run_due_restarts(&mut self, pod: &mut PodState, clock: Clock, out: &mut Vec<Action>) {
        if self.mode != Mode::Live {
            return;
        }
        let due: Vec<String> = self
            .containers
            .iter()
            .filter(|(_, t)| t.restart_at.is_some_and(|at| at <= clock.now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            let Some(t) = self.containers.get_mut(&name) else {
                continue;
            };
            t.restart_at = None;
            // Pulling an image again is no restart.
            if std::mem::take(&mut t.pull_again) {
                out.push(Action::Start { container: name });
                continue;
            }
            let exited = t.exited_at.unwrap_or(clock.now);
            t.backoff.restarted(exited, clock.now);
            if let Some(s) = pod.container_mut(&name) {
                s.restart_count += 1;
            }
            out.push(Action::Start { container: name });
        }
    }

    /// What an exit changes beyond the container: the phase, the sidecars of a finished pod
    /// or of a deleted one, the re-creation of a lost sandbox.
    fn after_exit(&mut self, pod: &mut PodState, out: &mut Vec<Action>) {
        pod.phase = lifecycle::pod_phase(pod);
        match self.mode {
            Mode::Live => {
                if lifecycle::is_terminal(pod.phase) {
                    for t in self.containers.values_mut() {
                        t.restart_at = None;
                    }
                    if let Some(name) = self.next_sidecar_to_stop(pod) {
                        self.stop(&name, pod_grace(pod), StopCause::PodFinished, out);
                    }
                }
            }
            Mode::Terminating { .. } => self.give_next_turn(pod, out),
            Mode::SandboxLost => self.finish_sandbox_loss(pod, out),
        }
    }

    /// The sidecar to stop next: sidecars stop one at a time, in reverse order, after every
    /// other container. None while one is still stopping or another container still runs.
    fn next_sidecar_to_stop(&self, pod: &PodState) -> Option<String> {
        let running = |name: &str| self.containers.get(name).is_some_and(|t| t.running);
        if pod
            .containers
            .iter()
            .any(|c| c.kind != ContainerKind::Sidecar && running(&c.name))
        {
            return None;
        }
        let last = pod
            .containers
            .iter()
            .rev()
            .filter(|c| c.kind == ContainerKind::Sidecar)
            .find(|c| running(&c.name))?;
        let waiting = self
            .containers
            .get(&last.name)
            .is_some_and(|t| t.stopping.is_none() || !t.turn_given);
        waiting.then(|| last.name.clone())
    }

    /// In a delete: the next sidecar in reverse order gets its SIGTERM (it got its Killing
    /// event and preStop at the start, with everyone else).
    fn give_next_turn(&mut self, pod: &PodState, out: &mut Vec<Action>) {
        let Some(name) = self.next_sidecar_to_stop(pod) else {
            return;
        };
        let Some(t) = self.containers.get_mut(&name) else {
            return;
        };
        if t.stopping.is_some() && !t.turn_given {
            t.turn_given = true;
            out.push(Action::TakeTurn { container: name });
        }
    }

    fn delete_requested(
        &mut self,
        pod: &mut PodState,
        grace_override: Option<i64>,
        clock: Clock,
        out: &mut Vec<Action>,
    ) {
        if let Mode::Terminating { deadline } = self.mode {
            // A second delete can only shorten the grace period.
            if let Some(g) = grace_override {
                let shorter = clock.now + Duration::from_secs(g.max(0) as u64);
                if shorter < deadline {
                    self.mode = Mode::Terminating { deadline: shorter };
                    out.push(Action::ShortenStops { deadline: shorter });
                }
            }
            return;
        }
        let grace = grace_override
            .unwrap_or_else(|| pod.pod.spec.grace_period_seconds())
            .max(0);
        let grace = Duration::from_secs(grace as u64);
        let deadline = clock.now + grace;
        self.mode = Mode::Terminating { deadline };
        pod.terminating = true;
        for t in self.containers.values_mut() {
            t.restart_at = None;
        }
        // Every container gets its Killing event and preStop hook now (kubelet's killContainer
        // runs for all at once); app and init containers get SIGTERM now, sidecars wait for
        // their turn (kubelet's terminationOrdering). Containers already stopping for another
        // reason keep going, within the pod's grace period.
        let all: Vec<(String, bool)> = pod
            .containers
            .iter()
            .map(|c| (c.name.clone(), c.kind == ContainerKind::Sidecar))
            .collect();
        for (name, sidecar) in all {
            self.stop_with(&name, grace, StopCause::PodDeleted, sidecar, out);
        }
        out.push(Action::ShortenStops { deadline });
        self.give_next_turn(pod, out);
    }

    fn sandbox_died(&mut self, pod: &mut PodState, out: &mut Vec<Action>) {
        if matches!(self.mode, Mode::Terminating { .. }) {
            return; // expected: the pod is being deleted
        }
        out.push(Action::Record {
            container: None,
            event: events::sandbox_changed(),
        });
        self.mode = Mode::SandboxLost;
        for t in self.containers.values_mut() {
            t.restart_at = None;
        }
        let grace = pod_grace(pod);
        let names: Vec<String> = pod.containers.iter().map(|c| c.name.clone()).collect();
        for name in names {
            self.stop(&name, grace, StopCause::SandboxChanged, out);
        }
        self.finish_sandbox_loss(pod, out);
    }

    /// Once every container is gone: kubelet re-creates the sandbox and starts the containers
    /// again, each restart counted, except that a restartPolicy Never pod whose containers
    /// already ran keeps its last state (`computePodActions`), and a succeeded app container
    /// of an OnFailure pod is not started again.
    fn finish_sandbox_loss(&mut self, pod: &mut PodState, out: &mut Vec<Action>) {
        if self.containers.values().any(|t| t.running) {
            return;
        }
        self.mode = Mode::Live;
        let policy = pod.pod.spec.restart_policy;
        let ran = pod
            .containers
            .iter()
            .any(|c| !matches!(c.state, ContainerState::Waiting { .. }) || c.last_state.is_some());
        if policy == RestartPolicy::Never && ran {
            return;
        }
        let has_init = !pod.pod.spec.init_containers.is_empty();
        for c in &mut pod.containers {
            let succeeded = matches!(c.state, ContainerState::Terminated { exit_code: 0, .. });
            if policy == RestartPolicy::OnFailure && succeeded && c.kind == ContainerKind::App {
                continue;
            }
            if let ContainerState::Terminated { .. } = c.state {
                c.last_state = Some(c.state.clone());
            }
            if c.process.is_some() {
                c.restart_count += 1;
            }
            c.state = ContainerState::Waiting {
                reason: waiting_reason_before_start(has_init).into(),
            };
            c.state_message = None;
            c.ready = false;
            c.started = false;
        }
        out.push(Action::RecreateSandbox);
    }
}

/// The container goes back to the start at once: its last run becomes lastState.
/// A resize that could not be carried out stays in progress with reason Error (kubelet tries
/// again at its next sync), with a ResizeError event.
fn resize_failed(pod: &mut PodState, message: String, out: &mut Vec<Action>) {
    out.push(Action::Record {
        container: None,
        event: resize::resize_error(&pod.pod.spec, pod.resize.generation(), &message),
    });
    pod.resize.condition = Some(resize::ResizeCondition {
        kind: resize::POD_RESIZE_IN_PROGRESS.into(),
        reason: Some("Error".into()),
        message: Some(message),
    });
}

fn restart_now(pod: &mut PodState, name: &str, out: &mut Vec<Action>) {
    if let Some(s) = pod.container_mut(name) {
        s.last_state = Some(s.state.clone());
        s.restart_count += 1;
    }
    out.push(Action::Start {
        container: name.to_string(),
    });
}

/// The pod's terminationGracePeriodSeconds.
pub fn pod_grace(pod: &PodState) -> Duration {
    Duration::from_secs(pod.pod.spec.grace_period_seconds().max(0) as u64)
}

/// How long a container gets between SIGTERM and SIGKILL when `left` of its grace period
/// remains (after the preStop hook, if any): never less than [`MINIMUM_GRACE`].
pub fn signal_grace(left: Duration) -> Duration {
    left.max(MINIMUM_GRACE)
}

/// The waiting reason of a container that has not started yet: kubelet's default waiting state
/// (`convertToAPIContainerStatuses`) is PodInitializing for every container, init ones too, of
/// a pod with init containers, and ContainerCreating otherwise.
pub fn waiting_reason_before_start(has_init_containers: bool) -> &'static str {
    if has_init_containers {
        "PodInitializing"
    } else {
        "ContainerCreating"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::pod_state::{ContainerStatus, PodPhase, ProcessRef};

    /// A pod driven through the machine, with a test standing in for the shim: a Start action
    /// is carried out at once (the container runs), everything else is only collected.
    struct Run {
        pod: PodState,
        machine: PodLifecycle,
        t0: Instant,
    }

    impl Run {
        /// `spec` is the pod's spec as JSON; every container runs from the start.
        fn new(spec: serde_json::Value) -> Run {
            let pod: crate::spec::Pod = serde_json::from_value(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec
            }))
            .expect("pod");
            let kinds = pod
                .spec
                .init_containers
                .iter()
                .map(|c| {
                    let kind = if c.restart_policy.is_some() {
                        ContainerKind::Sidecar
                    } else {
                        ContainerKind::Init
                    };
                    (c.name.clone(), kind)
                })
                .chain(
                    pod.spec
                        .containers
                        .iter()
                        .map(|c| (c.name.clone(), ContainerKind::App)),
                );
            let containers = kinds
                .map(|(name, kind)| ContainerStatus {
                    name,
                    kind,
                    image: "busybox".into(),
                    image_served_by: String::new(),
                    process: None,
                    state: ContainerState::Waiting {
                        reason: "ContainerCreating".into(),
                    },
                    last_state: None,
                    restart_count: 0,
                    ready: false,
                    started: false,
                    state_message: None,
                    pull: None,
                    stop_signal: None,
                })
                .collect();
            let state = PodState::for_tests(pod, containers);
            let machine = PodLifecycle::new(&state, 1.0);
            let mut run = Run {
                pod: state,
                machine,
                t0: Instant::now(),
            };
            let names: Vec<String> = run.pod.containers.iter().map(|c| c.name.clone()).collect();
            for name in names {
                run.started(0.0, &name);
            }
            run
        }

        fn clock(&self, at: f64) -> Clock {
            Clock {
                now: self.t0 + Duration::from_secs_f64(at),
                wall: 1000.0 + at,
            }
        }

        /// Feed an event at `at` seconds; Start actions are carried out, all are returned.
        fn feed(&mut self, at: f64, event: Event) -> Vec<Action> {
            let clock = self.clock(at);
            let actions = self.machine.handle(&mut self.pod, event, clock);
            for a in &actions {
                if let Action::Start { container } = a {
                    self.started(at, container);
                }
            }
            actions
        }

        fn started(&mut self, at: f64, name: &str) {
            let wall = self.clock(at).wall;
            if let Some(s) = self.pod.container_mut(name) {
                s.state = ContainerState::Running { started_at: wall };
                s.process = Some(ProcessRef {
                    pid: 2,
                    start_time: 0,
                });
                s.state_message = None;
            }
            self.feed(
                at,
                Event::Started {
                    container: name.into(),
                },
            );
        }

        fn exit(&mut self, at: f64, name: &str, code: i32) -> Vec<Action> {
            self.feed(
                at,
                Event::Exited {
                    container: name.into(),
                    exit_code: code,
                    signal: None,
                    oom_killed: false,
                },
            )
        }

        fn status(&self, name: &str) -> &ContainerStatus {
            self.pod.container(name).expect("container")
        }

        fn at(&self, secs: f64) -> Instant {
            self.t0 + Duration::from_secs_f64(secs)
        }
    }

    fn one(policy: &str) -> serde_json::Value {
        serde_json::json!({"restartPolicy": policy, "containers": [{"name": "c", "image": "busybox"}]})
    }

    /// kubelet's base pod of TestComputePodActions: three containers foo1..foo3.
    fn three(policy: &str) -> serde_json::Value {
        serde_json::json!({"restartPolicy": policy, "containers": [
            {"name": "foo1", "image": "busybox"},
            {"name": "foo2", "image": "busybox"},
            {"name": "foo3", "image": "busybox"}]})
    }

    fn starts(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Start { container } => Some(container.as_str()),
                _ => None,
            })
            .collect()
    }

    fn stops(actions: &[Action]) -> Vec<(&str, u64, StopCause)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Stop {
                    container,
                    grace,
                    cause,
                    ..
                } => Some((container.as_str(), grace.as_secs(), *cause)),
                _ => None,
            })
            .collect()
    }

    fn recorded(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Record { event, .. } => Some(event.reason.as_str()),
                _ => None,
            })
            .collect()
    }

    // kubelet's TestComputePodActions (kuberuntime_manager_test.go): "restart exited
    // containers if RestartPolicy == Always", "restart failed containers if RestartPolicy ==
    // OnFailure", "don't restart containers if RestartPolicy == Never". The first exit of each
    // container starts it again at once.
    #[test]
    fn restart_policies_decide_which_exited_containers_start_again() {
        for (policy, want) in [
            ("Always", vec!["foo1", "foo2"]),
            ("OnFailure", vec!["foo2"]),
            ("Never", vec![]),
        ] {
            let mut run = Run::new(three(policy));
            let mut started = starts(&run.exit(5.0, "foo1", 0))
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>();
            started.extend(
                starts(&run.exit(5.0, "foo2", 111))
                    .into_iter()
                    .map(String::from),
            );
            assert_eq!(started, want, "{policy}");
            for name in &want {
                let s = run.status(name);
                assert_eq!(s.restart_count, 1, "{policy} {name}");
                assert!(matches!(s.state, ContainerState::Running { .. }));
                assert!(matches!(
                    s.last_state,
                    Some(ContainerState::Terminated { .. })
                ));
            }
            assert_eq!(
                run.pod.phase,
                PodPhase::Running,
                "{policy}: foo3 still runs"
            );
        }
    }

    // The documented rule (pod-lifecycle "Container restarts") and kubelet's doBackOff: the
    // first crash restarts at once; then CrashLoopBackOff for 10, 20, 40 s, with the BackOff
    // event and the waiting message only while backing off.
    #[test]
    fn a_crash_loop_restarts_at_once_then_backs_off_10_20_40() {
        let mut run = Run::new(one("Always"));
        let first = run.exit(1.0, "c", 1);
        assert_eq!(starts(&first), ["c"]);
        assert!(recorded(&first).is_empty(), "no BackOff on the first crash");
        let mut at = 2.0;
        for (restart, wait) in [(2, 10.0), (3, 20.0), (4, 40.0)] {
            let actions = run.exit(at, "c", 1);
            assert!(starts(&actions).is_empty());
            assert_eq!(recorded(&actions), ["BackOff"]);
            assert!(actions.contains(&Action::ArmTimer {
                at: run.at(at + wait)
            }));
            let s = run.status("c");
            assert_eq!(
                s.state,
                ContainerState::Waiting {
                    reason: "CrashLoopBackOff".into()
                }
            );
            assert_eq!(
                s.state_message.as_deref(),
                Some(
                    format!(
                        "back-off {}s restarting failed container=c pod=p_default(u)",
                        wait as u64
                    )
                    .as_str()
                )
            );
            assert_eq!(run.machine.next_deadline(), Some(run.at(at + wait)));
            // Nothing before the timer.
            assert!(run.feed(at + wait - 0.5, Event::TimerFired).is_empty());
            assert_eq!(starts(&run.feed(at + wait, Event::TimerFired)), ["c"]);
            assert_eq!(run.status("c").restart_count, restart);
            assert_eq!(run.status("c").state_message, None);
            at += wait + 1.0;
        }
    }

    // kubelet's backoff expires 2 × 5 min after the last restart: a container that then ran
    // for more than ten minutes is restarted at once again, and the next wait is 10 s.
    #[test]
    fn ten_minutes_of_running_make_the_next_crash_a_first_one() {
        let mut run = Run::new(one("Always"));
        run.exit(1.0, "c", 1);
        run.exit(2.0, "c", 1);
        run.feed(12.0, Event::TimerFired);
        assert_eq!(run.status("c").restart_count, 2);
        assert_eq!(starts(&run.exit(12.0 + 601.0, "c", 1)), ["c"]);
        let actions = run.exit(614.0, "c", 1);
        assert!(actions.contains(&Action::ArmTimer { at: run.at(624.0) }));
    }

    // A failed start (StartError) counts as an exit: the first is retried at once, the second
    // backs off.
    #[test]
    fn a_failed_start_is_retried_with_the_same_back_off() {
        let mut run = Run::new(one("Always"));
        let fail = |run: &mut Run, at: f64| {
            run.feed(
                at,
                Event::StartFailed {
                    container: "c".into(),
                    error: "exec: no such file".into(),
                },
            )
        };
        assert_eq!(starts(&fail(&mut run, 1.0)), ["c"]);
        let second = fail(&mut run, 1.5);
        assert_eq!(recorded(&second), ["BackOff"]);
        assert!(matches!(
            run.status("c").last_state,
            Some(ContainerState::Terminated { ref reason, exit_code: 128, .. }) if reason == "StartError"
        ));
    }

    /// kubelet's image puller: ErrImagePull, then ImagePullBackOff; tried again after 10 s,
    /// then 20 s; a pull tried again is no restart.
    #[test]
    fn a_failed_pull_waits_with_the_image_back_off_and_counts_no_restart() {
        let mut run = Run::new(one("Always"));
        let fail = |run: &mut Run, at: f64| {
            run.feed(
                at,
                Event::PullFailed {
                    container: "c".into(),
                    error: "manifest unknown".into(),
                },
            )
        };
        let first = fail(&mut run, 1.0);
        assert!(starts(&first).is_empty());
        assert_eq!(recorded(&first), ["BackOff"]);
        assert!(first.contains(&Action::ArmTimer { at: run.at(11.0) }));
        assert!(matches!(
            run.status("c").state,
            ContainerState::Waiting { ref reason } if reason == "ErrImagePull"
        ));
        assert_eq!(starts(&run.feed(11.0, Event::TimerFired)), ["c"]);
        assert_eq!(run.status("c").restart_count, 0);
        let second = fail(&mut run, 12.0);
        assert!(second.contains(&Action::ArmTimer { at: run.at(32.0) }));
        assert!(matches!(
            run.status("c").state,
            ContainerState::Waiting { ref reason } if reason == "ImagePullBackOff"
        ));
    }

    #[test]
    fn never_and_on_failure_pods_end_succeeded_or_failed() {
        for (policy, code, phase, restarts) in [
            ("Never", 0, PodPhase::Succeeded, false),
            ("Never", 1, PodPhase::Failed, false),
            ("OnFailure", 0, PodPhase::Succeeded, false),
            ("OnFailure", 1, PodPhase::Running, true),
            ("Always", 0, PodPhase::Running, true),
        ] {
            let mut run = Run::new(one(policy));
            let actions = run.exit(1.0, "c", code);
            assert_eq!(!starts(&actions).is_empty(), restarts, "{policy} {code}");
            assert_eq!(run.pod.phase, phase, "{policy} {code}");
        }
    }

    fn with_sidecars(policy: &str, grace: i64) -> serde_json::Value {
        serde_json::json!({
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": grace,
            "initContainers": [
                {"name": "log", "image": "busybox", "restartPolicy": "Always"},
                {"name": "proxy", "image": "busybox", "restartPolicy": "Always"}],
            "containers": [{"name": "app", "image": "busybox"}]})
    }

    fn turns(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::TakeTurn { container } => Some(container.as_str()),
                _ => None,
            })
            .collect()
    }

    // kubelet's sidecar termination order (KEP-753, kuberuntime_termination_order.go): every
    // container gets its Killing event and preStop at once; app containers get SIGTERM now,
    // sidecars one at a time in reverse order once everything after them has stopped.
    #[test]
    fn delete_stops_apps_first_then_sidecars_in_reverse_order() {
        let mut run = Run::new(with_sidecars("Always", 30));
        let actions = run.feed(
            1.0,
            Event::DeleteRequested {
                grace_override: None,
            },
        );
        assert_eq!(
            stops(&actions),
            [
                ("log", 30, StopCause::PodDeleted),
                ("proxy", 30, StopCause::PodDeleted),
                ("app", 30, StopCause::PodDeleted)
            ]
        );
        let waiting: Vec<(&str, bool)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Stop {
                    container,
                    wait_turn,
                    ..
                } => Some((container.as_str(), *wait_turn)),
                _ => None,
            })
            .collect();
        assert_eq!(waiting, [("log", true), ("proxy", true), ("app", false)]);
        assert!(turns(&actions).is_empty());
        assert!(run.pod.terminating);
        let actions = run.exit(5.0, "app", 0);
        assert!(
            starts(&actions).is_empty(),
            "nothing restarts while deleting"
        );
        assert_eq!(turns(&actions), ["proxy"]);
        assert_eq!(turns(&run.exit(7.0, "proxy", 0)), ["log"]);
        assert!(run.exit(8.0, "log", 0).is_empty());
    }

    #[test]
    fn a_second_delete_only_shortens_and_a_pending_restart_is_dropped() {
        let mut run = Run::new(one("Always"));
        run.exit(1.0, "c", 1);
        run.exit(2.0, "c", 1); // waits in back-off until 12 s
        run.feed(
            3.0,
            Event::DeleteRequested {
                grace_override: Some(30),
            },
        );
        assert!(run.feed(12.0, Event::TimerFired).is_empty());
        assert_eq!(
            run.feed(
                13.0,
                Event::DeleteRequested {
                    grace_override: Some(5)
                }
            ),
            [Action::ShortenStops {
                deadline: run.at(18.0)
            }]
        );
        assert!(run
            .feed(
                14.0,
                Event::DeleteRequested {
                    grace_override: Some(60)
                }
            )
            .is_empty());
    }

    // kubelet's killContainer: a grace period below minimumGracePeriodInSeconds (2 s) is
    // raised to it, so even 0 begins with SIGTERM.
    #[test]
    fn signals_always_leave_two_seconds_before_sigkill() {
        assert_eq!(signal_grace(Duration::ZERO), Duration::from_secs(2));
        assert_eq!(signal_grace(Duration::from_secs(1)), Duration::from_secs(2));
        assert_eq!(
            signal_grace(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
    }

    // A Never pod whose app is done stops its sidecars (reverse order) and keeps its phase; the
    // sidecars stopped so are not restarted.
    #[test]
    fn a_finished_pod_stops_its_sidecars_without_restarting_them() {
        let mut run = Run::new(with_sidecars("Never", 10));
        let actions = run.exit(1.0, "app", 0);
        assert_eq!(stops(&actions), [("proxy", 10, StopCause::PodFinished)]);
        assert_eq!(run.pod.phase, PodPhase::Succeeded);
        let actions = run.exit(2.0, "proxy", 143);
        assert!(starts(&actions).is_empty());
        assert_eq!(stops(&actions), [("log", 10, StopCause::PodFinished)]);
        assert!(starts(&run.exit(3.0, "log", 143)).is_empty());
        assert_eq!(run.pod.phase, PodPhase::Succeeded);
    }

    // kubelet's TestComputePodActions: "Kill and recreate the container if the liveness check
    // has failed" (with restartPolicy Always the killed container starts again).
    #[test]
    fn a_failed_liveness_probe_kills_and_the_policy_restarts() {
        let mut run = Run::new(one("Always"));
        let actions = run.feed(
            1.0,
            Event::ProbeFailed {
                container: "c".into(),
                probe: ProbeKind::Liveness,
            },
        );
        assert_eq!(
            stops(&actions),
            [("c", 30, StopCause::Probe(ProbeKind::Liveness))]
        );
        assert_eq!(starts(&run.exit(2.0, "c", 137)), ["c"]);
    }

    // kubelet's TestComputePodActions: "Kill pod and recreate everything if the pod sandbox is
    // dead, and RestartPolicy == Always" and "Kill pod and recreate all containers (except for
    // the succeeded one) if the pod sandbox is dead, and RestartPolicy == OnFailure"; and
    // computePodActions keeps a Never pod whose containers ran.
    #[test]
    fn a_dead_sandbox_is_re_created_after_every_container_stopped() {
        for (policy, recreated, waiting) in [
            ("Always", true, vec!["foo1", "foo2", "foo3"]),
            ("OnFailure", true, vec!["foo1", "foo3"]),
            ("Never", false, vec![]),
        ] {
            let mut run = Run::new(three(policy));
            // foo2 completed earlier (OnFailure and Never keep it done).
            run.exit(1.0, "foo2", 0);
            let actions = run.feed(2.0, Event::SandboxDied);
            assert_eq!(recorded(&actions), ["SandboxChanged"], "{policy}");
            let stopped: Vec<&str> = stops(&actions).iter().map(|s| s.0).collect();
            let running: Vec<String> = run
                .pod
                .containers
                .iter()
                .filter(|c| matches!(c.state, ContainerState::Running { .. }))
                .map(|c| c.name.clone())
                .collect();
            assert_eq!(stopped, running, "{policy}: every running container stops");
            assert!(run.machine.sandbox_lost());
            let mut last = vec![];
            for name in running {
                last = run.exit(3.0, &name, 137);
                assert!(
                    starts(&last).is_empty(),
                    "{policy}: no restart in a lost sandbox"
                );
            }
            assert_eq!(
                last.contains(&Action::RecreateSandbox),
                recreated,
                "{policy}"
            );
            assert!(!run.machine.sandbox_lost());
            let now_waiting: Vec<&str> = run
                .pod
                .containers
                .iter()
                .filter(|c| matches!(c.state, ContainerState::Waiting { .. }))
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(now_waiting, waiting, "{policy}");
        }
    }

    #[test]
    fn pause_dying_during_a_delete_changes_nothing() {
        let mut run = Run::new(one("Always"));
        run.feed(
            1.0,
            Event::DeleteRequested {
                grace_override: None,
            },
        );
        assert!(run.feed(2.0, Event::SandboxDied).is_empty());
        assert!(!run.machine.sandbox_lost());
    }

    fn resize_spec() -> serde_json::Value {
        serde_json::json!({"containers": [
            {"name": "app", "image": "busybox", "resources": {
                "requests": {"cpu": "250m", "memory": "64Mi"},
                "limits": {"cpu": "500m", "memory": "128Mi"}},
             "resizePolicy": [{"resourceName": "memory", "restartPolicy": "RestartContainer"}]}
        ]})
    }

    /// The resize subresource accepts `patch`; the machine gets it with `usage` in use.
    fn request_resize(run: &mut Run, patch: &str, usage: resize::MemoryUsage) -> Vec<Action> {
        let patch = resize::parse_patch(patch).expect("patch");
        let spec = resize::apply_patch("p", &run.pod.pod.spec, &patch).expect("valid");
        run.feed(
            1.0,
            Event::ResizeRequested {
                spec: Box::new(spec),
                usage,
            },
        )
    }

    /// CPU with NotRequired (the default): the cgroups are written in place, in kubelet's
    /// order (a growing limit: the pod first), nothing restarts, and the status follows.
    #[test]
    fn a_cpu_resize_is_written_in_place_pod_first_when_growing() {
        let mut run = Run::new(resize_spec());
        let actions = request_resize(
            &mut run,
            r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"500m"},"limits":{"cpu":"1"}}}]}}"#,
            resize::MemoryUsage::default(),
        );
        assert_eq!(recorded(&actions), ["ResizeStarted"]);
        let writes: Vec<(Option<String>, crate::spec::ResizeResource)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::WriteCgroup(w) => Some((w.container.clone(), w.resource)),
                _ => None,
            })
            .collect();
        use crate::spec::ResizeResource::Cpu;
        assert_eq!(writes, [(None, Cpu), (Some("app".into()), Cpu)]);
        assert!(!actions.iter().any(|a| matches!(a, Action::Stop { .. })));
        let condition = run.pod.resize.condition.clone().expect("in progress");
        assert_eq!(condition.kind, resize::POD_RESIZE_IN_PROGRESS);
        let done = run.feed(1.0, Event::ResizeWritten { error: None });
        assert_eq!(recorded(&done), ["ResizeCompleted"]);
        assert_eq!(run.pod.resize.condition, None);
        assert_eq!(run.pod.resize.generation(), 2);
        assert_eq!(run.status("app").restart_count, 0);
        let actual = &run.pod.resize.actual["app"];
        assert_eq!(
            actual.limits.cpu.as_ref().map(|q| q.to_string()),
            Some("1".into())
        );
        let allocated = &run.pod.resize.allocated["app"];
        assert_eq!(
            allocated.cpu.as_ref().map(|q| q.to_string()),
            Some("500m".into())
        );
    }

    /// Shrinking: the containers first, then the pod cgroup.
    #[test]
    fn a_shrinking_resize_writes_the_containers_before_the_pod() {
        let mut run = Run::new(resize_spec());
        let actions = request_resize(
            &mut run,
            r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"200m"}}}]}}"#,
            resize::MemoryUsage::default(),
        );
        let order: Vec<Option<String>> = actions
            .iter()
            .filter_map(|a| match a {
                Action::WriteCgroup(w) => Some(w.container.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(order, [Some("app".to_string()), None]);
    }

    /// Memory with RestartContainer: the container is stopped and started again at once
    /// (restartCount + 1, no back-off); the resize completes when it runs again.
    #[test]
    fn restart_container_policy_restarts_with_the_new_values() {
        let mut run = Run::new(resize_spec());
        let actions = request_resize(
            &mut run,
            r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"memory":"96Mi"},"limits":{"memory":"256Mi"}}}]}}"#,
            resize::MemoryUsage::default(),
        );
        assert!(actions.iter().any(|a| matches!(
            a,
            Action::Stop { container, cause: StopCause::Resize, .. } if container == "app"
        )));
        // Only the pod cgroup is written in place; the container gets its values on restart.
        assert!(actions
            .iter()
            .all(|a| !matches!(a, Action::WriteCgroup(w) if w.container.is_some())));
        let written = run.feed(1.0, Event::ResizeWritten { error: None });
        assert!(recorded(&written).is_empty(), "{written:?}");
        let after_exit = run.exit(2.0, "app", 137);
        assert!(after_exit
            .iter()
            .any(|a| matches!(a, Action::Start { container } if container == "app")));
        assert_eq!(run.status("app").restart_count, 1);
        // Started again (the test's stand-in for the shim starts it at once): complete.
        assert_eq!(run.pod.resize.condition, None);
        assert_eq!(run.pod.resize.generation(), 2);
    }

    /// kubelet 1.35 does not set a memory limit below what is in use: the resize stays in
    /// progress with reason Error and a ResizeError event, and nothing is written.
    #[test]
    fn a_memory_limit_below_usage_is_not_applied() {
        let mut spec = resize_spec();
        spec["containers"][0]["resizePolicy"] = serde_json::json!([]);
        let mut run = Run::new(spec);
        let used = 100 * 1024 * 1024;
        let actions = request_resize(
            &mut run,
            r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"memory":"32Mi"},"limits":{"memory":"64Mi"}}}]}}"#,
            resize::MemoryUsage {
                pod: Some(used),
                containers: [("app".to_string(), used)].into(),
            },
        );
        assert_eq!(recorded(&actions), ["ResizeError"]);
        assert!(!actions.iter().any(|a| matches!(a, Action::WriteCgroup(_))));
        let c = run.pod.resize.condition.clone().expect("condition");
        assert_eq!(c.reason.as_deref(), Some("Error"));
        assert_eq!(
            c.message.as_deref(),
            Some(
                "cannot decrease memory limits: [attempting to set pod memory limit (67108864) below current usage (104857600), attempting to set container \"app\" memory limit (67108864) below current usage (104857600)]"
            )
        );
    }

    /// A Never pod whose app container has a rule for exit code 42: that exit restarts it
    /// (at once, the first time), any other ends it.
    #[test]
    fn restart_rules_restart_on_matching_exit_codes_only() {
        let mut run = Run::new(serde_json::json!({
            "restartPolicy": "Never",
            "containers": [{"name": "app", "image": "busybox", "restartPolicy": "Never",
                "restartPolicyRules": [{"action": "Restart",
                    "exitCodes": {"operator": "In", "values": [42]}}]}]
        }));
        let again = run.exit(1.0, "app", 42);
        assert!(again
            .iter()
            .any(|a| matches!(a, Action::Start { container } if container == "app")));
        assert_eq!(run.status("app").restart_count, 1);
        let done = run.exit(2.0, "app", 1);
        assert!(!done
            .iter()
            .any(|a| matches!(a, Action::Start { .. } | Action::ArmTimer { .. })));
    }
}
