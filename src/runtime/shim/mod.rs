//! `podlab-shim`: one per pod, like containerd-shim or conmon, doing what kubelet does for it.
//! Single-threaded: a poll loop over its socket, a signalfd and the output pipes of its probes
//! and hooks, so fork, clone and setns are safe here.
//!
//! * `clients`: the socket protocol (plan, steps, status, delete).
//! * `create`: the creation steps (cgroup, namespaces, pause, network, containers).
//! * `supervise`: reaping exits.
//! * `probes` and `tasks`: startup, liveness and readiness probes, and hooks, as child processes.
//! * `stop`: stopping one container (preStop, SIGTERM, grace period, SIGKILL).
//! * `terminate`: deleting the pod; `sandbox_loss`: re-creating a sandbox whose pause died.
//!
//! What follows an exit, a probe or hook failure, a delete or pause's death (restarts and their
//! back-off, which container stops when, the pod's phase) is decided by the pod's lifecycle,
//! [`crate::kube::machine`]: the shim feeds it events and executes the actions it returns.

mod clients;
mod create;
mod image_pull;
mod probes;
mod resize;
mod sandbox_loss;
mod stop;
mod supervise;
mod tasks;
mod terminate;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eyre::{eyre, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use super::images::ImageStore;
use super::network;
use super::paths;
use super::pod_cgroups::PodCgroups;
use super::sandbox::PendingSandbox;
use super::state_file;
use super::sys::{self, LiveProcess};
use super::volumes;
use crate::kube::events;
use crate::kube::machine::{self, PodLifecycle};
use crate::kube::pod_state::*;
use crate::kube::protocol::Response;
use crate::kube::steps::{self, StepPlan};
use crate::spec::Pod;

use clients::{Client, Goal};
use supervise::Supervised;
use tasks::Tasks;
use terminate::Termination;

/// A holding client must connect within this time, or the pod is removed.
const HOLDER_DEADLINE: Duration = Duration::from_secs(15);
/// The longest the loop sleeps without looking at its timers.
const HEARTBEAT: Duration = Duration::from_secs(1);

pub struct ShimOptions {
    pub uid: String,
    pub manifest_path: String,
    pub detach: bool,
    /// Multiplies kubelet's timers (back-off, probe periods); 1 is real time.
    pub time_scale: f64,
    /// None: the pod gets only a loopback interface.
    pub network: Option<network::Config>,
    /// Without root: the user's node, whose user and net namespaces the shim joins first.
    pub node: Option<super::rootless::node::NodeRecord>,
    /// kubelet's podPidsLimit (None: podlab's, `POD_PIDS_LIMIT`).
    pub pod_max_pids: Option<i64>,
}

pub struct Shim {
    opts: ShimOptions,
    state: PodState,
    plan: Vec<StepPlan>,
    next_step: usize,
    /// The init container (or sidecar) the current step waits for.
    awaiting: Option<String>,
    /// Take the remaining steps without being asked, as kubelet does (after RunAll or Start).
    auto: bool,
    goal: Option<Goal>,
    pending_sandbox: Option<PendingSandbox>,
    sandbox_pid: Option<Pid>,
    /// The sandbox's namespaces, held open: a re-created sandbox then gets new inode numbers
    /// while the old ones are still held (as containerd pins a pod's netns until it is removed).
    sandbox_namespaces: Vec<File>,
    /// What the shim knows of each container beyond state.json: its process, probes, stop.
    supervised: HashMap<String, Supervised>,
    /// kubelet's rules for the pod: restarts, back-off, termination order, sandbox loss.
    lifecycle: PodLifecycle,
    /// When the lifecycle wants to hear [`machine::Event::TimerFired`].
    timers: Vec<Instant>,
    tasks: Tasks,
    clients: Vec<Client>,
    next_client: u64,
    held: bool,
    started: Instant,
    termination: Option<Termination>,
    cgroups: Option<PodCgroups>,
    images: ImageStore,
    /// The containers whose image a creation step pulls now (`pull:NAME`).
    pull_step: Option<String>,
    /// The pulls running now, by container.
    pulls: HashMap<String, image_pull::PullUnderwayFor>,
    /// Containers whose pull ended for their next start: whether the image was pulled (false:
    /// offline, and the store's image or a stand-in serves).
    pulled: HashMap<String, bool>,
    podlab_exe: PathBuf,
    pause_binary: PathBuf,
    _lock: File,
}

/// Entry point of `podlab shim`. The manifest arrives as JSON on stdin (already validated by
/// the client), so the shim runs exactly what was checked.
pub fn run(opts: ShimOptions) -> Result<()> {
    // Fork away from the client so the shim is nobody's child to wait for: it outlives a
    // detached client and is reparented to init (or a subreaper).
    // SAFETY: still single-threaded; the parent half exits at once.
    match unsafe { nix::unistd::fork() }.map_err(|e| eyre!("failed to fork the shim: {e}"))? {
        nix::unistd::ForkResult::Parent { .. } => std::process::exit(0),
        nix::unistd::ForkResult::Child => {}
    }
    if let Some(node) = &opts.node {
        super::rootless::node::join(node)?;
    }
    sys::set_process_name("podlab-shim");
    let mut text = Vec::new();
    std::io::stdin().read_to_end(&mut text)?;
    let pod: Pod = serde_json::from_slice(&text).wrap_err("failed to decode the pod")?;
    let mut shim = Shim::create(opts, pod)?;
    let listener = shim.listen()?;
    let mut signals = block_signals()?;
    // Tell the client we are ready, then let go of its pipe.
    println!("ready {}", shim.state.uid);
    std::io::stdout().flush()?;
    redirect_stdio(&paths::pod_dir(&shim.state.uid).join("shim.log"))?;
    shim.event_loop(&listener, &mut signals)
}

fn block_signals() -> Result<SignalFd> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    mask.thread_block()
        .map_err(|e| eyre!("failed to block signals: {e}"))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| eyre!("failed to create a signalfd: {e}"))
}

fn redirect_stdio(log: &std::path::Path) -> Result<()> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let null = File::open("/dev/null")?;
    nix::unistd::dup2(null.as_raw_fd(), 0)?;
    nix::unistd::dup2(log.as_raw_fd(), 1)?;
    nix::unistd::dup2(log.as_raw_fd(), 2)?;
    Ok(())
}

/// A private mount namespace: tmpfs volumes and /dev/shm live and die with the pod's processes,
/// so a killed shim cannot leave a mount on the host.
fn private_mount_namespace() -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| eyre!("failed to create the shim's mount namespace: {e}"))?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| eyre!("failed to make the shim's mounts private: {e}"))
}

/// Why a pod with `hostUsers: false` is refused without root.
pub const HOST_USERS_ROOTLESS: &str = "hostUsers: false needs root: without root every pod already runs in your own user namespace (podlab-node), whose ids are only yours and your subordinate range, too few to give a pod 65536 ids of its own as kubelet does; run podlab with sudo for this pod, or remove hostUsers: false";

impl Shim {
    fn create(opts: ShimOptions, pod: Pod) -> Result<Shim> {
        sys::become_subreaper().wrap_err("failed to become a subreaper")?;
        private_mount_namespace()?;
        let uid = opts.uid.clone();
        let name = pod.metadata.name.clone();
        if pod.spec.own_user_namespace() && opts.node.is_some() {
            return Err(eyre!("{}", HOST_USERS_ROOTLESS));
        }
        let (lock, user_ids) = {
            let _global = super::lock::global()?;
            if let Some(other) = super::lookup::live_pod_named(&name)? {
                return Err(eyre!(
                    "a pod named {name:?} already exists (uid {}); delete it first: podlab delete {name}",
                    other.uid
                ));
            }
            let dir = paths::pod_dir(&uid);
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .wrap_err_with(|| format!("failed to create {}", dir.display()))?;
            let lock = sys::hold_lock(&paths::shim_lock(&uid))?;
            // kubelet's user namespace manager: a range of the node's ids, kept while the pod
            // exists (in its directory, which delete and gc remove).
            let user_ids = if pod.spec.own_user_namespace() {
                match super::userns::allocate(&uid) {
                    Ok(range) => Some(range),
                    Err(e) => {
                        super::teardown::remove_pod_resources(&uid);
                        return Err(e);
                    }
                }
            } else {
                None
            };
            (lock, user_ids)
        };
        Shim::build(opts, pod, lock, user_ids)
            .inspect_err(|_| super::teardown::remove_pod_resources(&uid))
    }

    fn build(
        opts: ShimOptions,
        pod: Pod,
        lock: File,
        user_ids: Option<crate::kube::userns::IdRange>,
    ) -> Result<Shim> {
        let uid = opts.uid.clone();
        let name = pod.metadata.name.clone();
        let shim_ref = ProcessRef::of(std::process::id() as i32)?;
        let cgroup_v2 = super::cgroups::CgroupLayout::detect()
            .is_ok_and(|l| matches!(l, super::cgroups::CgroupLayout::Unified { .. }));
        let plan_ctx = steps::PlanContext {
            cgroup_v2,
            pod_network: opts.network.is_some(),
            rootless: opts.node.as_ref().map(|_| steps::Rootless {
                limits_enforced: matches!(
                    super::rootless::delegation::detect(),
                    super::rootless::delegation::Limits::Delegated { .. }
                ),
            }),
            pod_max_pids: opts.pod_max_pids,
        };
        let images = ImageStore::default();
        let mut plan = steps::plan(&pod, plan_ctx);
        steps::insert_pulls(&mut plan, &pod, |c| image_pull::wants_pull(&images, c));
        let containers = initial_statuses(&pod);
        let supervised = containers
            .iter()
            .map(|c| (c.name.clone(), Supervised::default()))
            .collect();
        let state = PodState {
            uid: uid.clone(),
            name: name.clone(),
            namespace: pod
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            manifest_path: opts.manifest_path.clone(),
            pod: pod.clone(),
            created_at: sys::now(),
            shim: shim_ref,
            detached: opts.detach,
            phase: PodPhase::Pending,
            terminating: false,
            qos_class: String::new(),
            cgroup: String::new(),
            rootless: opts.node.as_ref().map(|n| RootlessState {
                node: n.holder,
                uid_map: n.ids.uid_map().trim_end().to_string(),
                limits_not_enforced: None,
            }),
            user_namespace: user_ids,
            resize: Default::default(),
            sandbox: None,
            containers,
            steps: plan
                .iter()
                .map(|s| StepStatus {
                    id: s.id.clone(),
                    done: false,
                    duration_ms: None,
                })
                .collect(),
            events: Vec::new(),
        };
        let lifecycle = PodLifecycle::new(&state, opts.time_scale);
        let exe =
            std::fs::read_link("/proc/self/exe").wrap_err("failed to find podlab's own binary")?;
        let pause_binary = super::pause_binary_near(&exe)?;
        let mut shim = Shim {
            held: opts.detach,
            opts,
            state,
            plan,
            next_step: 0,
            awaiting: None,
            auto: false,
            goal: None,
            pending_sandbox: None,
            sandbox_pid: None,
            sandbox_namespaces: Vec::new(),
            supervised,
            lifecycle,
            timers: Vec::new(),
            tasks: Tasks::default(),
            clients: Vec::new(),
            next_client: 0,
            started: Instant::now(),
            termination: None,
            cgroups: None,
            images,
            pull_step: None,
            pulls: HashMap::new(),
            pulled: HashMap::new(),
            podlab_exe: exe,
            pause_binary,
            _lock: lock,
        };
        let node = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        let namespace = shim.state.namespace.clone();
        // No scheduler places a static pod: kubelet runs it where its file is.
        if !crate::kube::static_pods::is_static(&shim.state.pod) {
            shim.record("pod", events::scheduled(&namespace, &name, &node));
        }
        volumes::prepare(&uid, &pod, shim.state.user_namespace)?;
        shim.save();
        Ok(shim)
    }

    fn listen(&self) -> Result<UnixListener> {
        let path = paths::shim_socket(&self.state.uid);
        let listener = UnixListener::bind(&path)
            .wrap_err_with(|| format!("failed to listen on {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    fn save(&self) {
        let _ = state_file::write(&self.state, &paths::state_file(&self.state.uid));
    }

    /// Record an event; a repeat of the last identical one only counts up, as in a cluster.
    fn record(&mut self, object: &str, event: events::Event) {
        let now = sys::now();
        if let Some(same) =
            self.state.events.iter_mut().rev().find(|e| {
                e.object == object && e.reason == event.reason && e.message == event.message
            })
        {
            if same.first_time == 0.0 {
                same.first_time = same.time;
            }
            same.time = now;
            same.count += 1;
            return;
        }
        self.state.events.push(Event {
            time: now,
            kind: event.kind,
            reason: event.reason,
            object: object.into(),
            message: event.message,
            count: 1,
            first_time: now,
        });
    }

    /// A container event, filed under kubelet's field path of the container
    /// (`spec.containers{name}`, `spec.initContainers{name}`).
    fn record_for(&mut self, container: &str, event: events::Event) {
        let object = events::container_field_path(&self.state.pod.spec, container);
        self.record(&object, event);
    }

    fn event_loop(&mut self, listener: &UnixListener, signals: &mut SignalFd) -> Result<()> {
        loop {
            let timeout = self.next_timeout();
            let task_fds = self.tasks.output_fds();
            let polled_clients: Vec<u64> = self.clients.iter().map(|c| c.id).collect();
            let mut fds = vec![
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            ];
            for c in &self.clients {
                fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
            }
            for fd in &task_fds {
                // SAFETY: the tasks own these descriptors and outlive this poll.
                let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(*fd) };
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
            let ms = timeout.map_or(PollTimeout::NONE, |d| {
                PollTimeout::from(u16::try_from(d.as_millis().max(1)).unwrap_or(u16::MAX))
            });
            match poll(&mut fds, ms) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(eyre!("poll failed: {e}")),
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            self.tasks.drain_output();
            self.read_pull_progress();
            if ready[0] {
                while let Ok(Some(info)) = signals.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        Ok(Signal::SIGCHLD) => {}
                        _ => self.begin_termination(None, None),
                    }
                }
                self.reap();
            }
            if ready[1] {
                self.accept(listener);
            }
            let ready_clients: Vec<u64> = polled_clients
                .iter()
                .zip(&ready[2..])
                .filter(|(_, r)| **r)
                .map(|(id, _)| *id)
                .collect();
            for id in ready_clients {
                self.read_client(id);
            }
            self.tick();
            if self.finished() {
                return self.finish();
            }
        }
    }

    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut deadlines = vec![];
        if let Some(t) = &self.termination {
            deadlines.extend(t.next_check());
        }
        deadlines.extend(self.timers.iter().copied());
        if !self.held {
            deadlines.push(self.started + HOLDER_DEADLINE);
        }
        deadlines.extend(self.tasks.next_deadline());
        for s in self.supervised.values() {
            deadlines.extend(s.next_deadline());
        }
        // A heartbeat, so that no state change can leave the loop waiting for nothing.
        deadlines.push(now + HEARTBEAT);
        deadlines
            .into_iter()
            .min()
            .map(|d| d.saturating_duration_since(now))
    }

    /// Everything time- or event-driven: tasks, creation steps, restarts, probes, termination.
    fn tick(&mut self) {
        self.update_phase();
        if self.termination.is_none() && !self.held && self.started.elapsed() >= HOLDER_DEADLINE {
            self.begin_termination(None, None);
        }
        for finished in self.tasks.expire(Instant::now()) {
            self.task_finished(finished);
        }
        self.advance_stops();
        let now = Instant::now();
        if self.timers.iter().any(|t| *t <= now) {
            self.timers.retain(|t| *t > now);
            self.feed(machine::Event::TimerFired);
        }
        if self.termination.is_some() {
            self.advance_termination();
        } else if !self.lifecycle.sandbox_lost() {
            self.advance_steps();
            self.run_due_probes();
        }
        self.update_phase();
        self.save();
    }

    /// Give the lifecycle an event and carry out what it decides.
    fn feed(&mut self, event: machine::Event) {
        let clock = machine::Clock {
            now: Instant::now(),
            wall: sys::now(),
        };
        for action in self.lifecycle.handle(&mut self.state, event, clock) {
            self.execute(action);
        }
    }

    fn execute(&mut self, action: machine::Action) {
        match action {
            machine::Action::Start { container } => {
                // A failed start is reported back to the lifecycle by start_container itself.
                let _ = self.start_container(&container);
            }
            machine::Action::Stop {
                container,
                grace,
                cause,
                wait_turn,
            } => self.stop_container(&container, grace, cause, wait_turn),
            machine::Action::TakeTurn { container } => self.take_turn(&container),
            machine::Action::ShortenStops { deadline } => self.shorten_stops(deadline),
            machine::Action::Record {
                container: Some(container),
                event,
            } => self.record_for(&container, event),
            machine::Action::Record {
                container: None,
                event,
            } => self.record("pod", event),
            machine::Action::ArmTimer { at } => self.timers.push(at),
            machine::Action::RecreateSandbox => self.recreate_sandbox(),
            machine::Action::WriteCgroup(write) => {
                let error = self.write_cgroup(&write).err();
                self.feed(machine::Event::ResizeWritten { error });
            }
        }
    }

    fn task_finished(&mut self, done: tasks::Finished) {
        match done.purpose.clone() {
            tasks::Purpose::Probe { container, kind } => {
                self.probe_finished(&container, kind, done)
            }
            tasks::Purpose::PreStop { container } => self.pre_stop_finished(&container, done),
            tasks::Purpose::PostStart { container } => self.post_start_finished(&container, done),
            tasks::Purpose::Pull { container } => self.pull_finished(&container, done),
        }
    }

    fn status(&self, name: &str) -> Option<&ContainerStatus> {
        self.state.containers.iter().find(|c| c.name == name)
    }

    fn status_mut(&mut self, name: &str) -> Option<&mut ContainerStatus> {
        self.state.containers.iter_mut().find(|c| c.name == name)
    }

    fn container_spec(&self, name: &str) -> Option<&crate::spec::Container> {
        self.state
            .pod
            .spec
            .init_containers
            .iter()
            .chain(&self.state.pod.spec.containers)
            .find(|c| c.name == name)
    }
}

/// Every container before anything ran: Waiting, as kubelet reports them.
fn initial_statuses(pod: &Pod) -> Vec<ContainerStatus> {
    pod.spec
        .init_containers
        .iter()
        .map(|c| {
            (
                c,
                if c.restart_policy.is_some() {
                    ContainerKind::Sidecar
                } else {
                    ContainerKind::Init
                },
            )
        })
        .chain(pod.spec.containers.iter().map(|c| (c, ContainerKind::App)))
        .map(|(c, kind)| ContainerStatus {
            name: c.name.clone(),
            kind,
            image: c.image.clone(),
            image_served_by: String::new(),
            process: None,
            state: ContainerState::Waiting {
                reason: machine::waiting_reason_before_start(!pod.spec.init_containers.is_empty())
                    .into(),
            },
            last_state: None,
            restart_count: 0,
            ready: false,
            started: false,
            state_message: None,
            pull: None,
            stop_signal: None,
        })
        .collect()
}

/// A fresh log for a container instance that is starting. The last instance's log becomes the
/// previous one: as under kubelet, `logs` shows the current (or last) instance and
/// `logs --previous` the one before it, not every restart's output run together.
pub fn open_log(uid: &str, container: &str) -> Result<File> {
    let dir = paths::logs_dir(uid);
    std::fs::create_dir_all(&dir)?;
    let path = paths::log_file(uid, container);
    if path.exists() {
        let previous = paths::previous_log_file(uid, container);
        std::fs::rename(&path, &previous)
            .wrap_err_with(|| format!("failed to keep the previous log {}", previous.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .wrap_err_with(|| format!("failed to open log {}", path.display()))
}

/// Read one response line from a shim connection (used by clients).
pub fn read_response(reader: &mut impl BufRead) -> Result<Response> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(eyre!("the shim closed the connection"));
    }
    serde_json::from_str(&line).wrap_err("failed to decode the shim's answer")
}
