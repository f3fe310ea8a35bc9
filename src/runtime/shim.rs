//! `podlab-shim`: one per pod, like containerd-shim or conmon. Single-threaded: a poll loop over
//! its socket and a signalfd, so fork, clone and setns are safe here. It creates the pod step by
//! step on request, supervises the containers, records state and events, and tears the pod down.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eyre::{eyre, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::container::{self, PodContext};
use super::images::ImageStore;
use super::lifecycle;
use super::network;
use super::paths;
use super::pod_cgroups::PodCgroups;
use super::protocol::{Request, Response};
use super::sandbox::{self, PendingSandbox, SandboxNamespaces};
use super::state::*;
use super::steps::{self, StepKind, StepPlan};
use super::sys;
use super::volumes;
use crate::spec::Pod;

/// A holding client must connect within this time, or the pod is removed.
const HOLDER_DEADLINE: Duration = Duration::from_secs(15);

pub struct ShimOptions {
    pub uid: String,
    pub manifest_path: String,
    pub detach: bool,
    pub time_scale: f64,
    /// None: the pod gets only a loopback interface.
    pub network: Option<network::Config>,
}

struct Client {
    id: u64,
    stream: UnixStream,
    buf: Vec<u8>,
    hold: bool,
}

/// Creation steps a client asked for and waits on.
struct Goal {
    client: u64,
    until: usize,
    /// Reply with the step id (Next) or just Ok (RunAll).
    single: bool,
}

struct Termination {
    deadline: Instant,
    requester: Option<u64>,
    pause_signalled: bool,
}

pub struct Shim {
    opts: ShimOptions,
    state: PodState,
    plan: Vec<StepPlan>,
    next_step: usize,
    pending_sandbox: Option<PendingSandbox>,
    sandbox_pid: Option<Pid>,
    /// Host pid of each container's main process → container name.
    pids: HashMap<i32, String>,
    /// The last back-off delay of each container (unscaled), kept to double it.
    backoff: HashMap<String, Duration>,
    /// When each container waiting in back-off starts again.
    restart_at: HashMap<String, Instant>,
    awaiting_init: Option<String>,
    goal: Option<Goal>,
    clients: Vec<Client>,
    next_client: u64,
    held: bool,
    started: Instant,
    termination: Option<Termination>,
    cgroups: Option<PodCgroups>,
    images: ImageStore,
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

impl Shim {
    fn create(opts: ShimOptions, pod: Pod) -> Result<Shim> {
        sys::become_subreaper().wrap_err("failed to become a subreaper")?;
        private_mount_namespace()?;
        let uid = opts.uid.clone();
        let name = pod.metadata.name.clone();
        let lock = {
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
            std::fs::set_permissions(paths::STATE_ROOT, std::fs::Permissions::from_mode(0o700))?;
            sys::hold_lock(&paths::shim_lock(&uid))?
        };
        Shim::build(opts, pod, lock).inspect_err(|_| super::teardown::remove_pod_resources(&uid))
    }

    fn build(opts: ShimOptions, pod: Pod, lock: File) -> Result<Shim> {
        let uid = opts.uid.clone();
        let name = pod.metadata.name.clone();
        let shim_ref = ProcessRef::of(std::process::id() as i32)?;
        let cgroup_v2 = super::cgroups::CgroupLayout::detect()
            .is_ok_and(|l| matches!(l, super::cgroups::CgroupLayout::Unified { .. }));
        let plan_ctx = steps::PlanContext {
            cgroup_v2,
            pod_network: opts.network.is_some(),
        };
        let plan = steps::plan(&pod, plan_ctx);
        let containers = pod
            .spec
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
                    reason: if kind == ContainerKind::App && !pod.spec.init_containers.is_empty() {
                        "PodInitializing".into()
                    } else {
                        "ContainerCreating".into()
                    },
                },
                last_state: None,
                restart_count: 0,
                ready: false,
            })
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
            sandbox: None,
            containers,
            steps: plan
                .iter()
                .map(|s| StepStatus {
                    id: s.id.clone(),
                    done: false,
                })
                .collect(),
            events: Vec::new(),
        };
        let exe =
            std::fs::read_link("/proc/self/exe").wrap_err("failed to find podlab's own binary")?;
        let pause_binary = super::pause_binary_near(&exe)?;
        let mut shim = Shim {
            held: opts.detach,
            opts,
            state,
            plan,
            next_step: 0,
            pending_sandbox: None,
            sandbox_pid: None,
            pids: HashMap::new(),
            backoff: HashMap::new(),
            restart_at: HashMap::new(),
            awaiting_init: None,
            goal: None,
            clients: Vec::new(),
            next_client: 0,
            started: Instant::now(),
            termination: None,
            cgroups: None,
            images: ImageStore::default(),
            podlab_exe: exe,
            pause_binary,
            _lock: lock,
        };
        let node = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        let msg = format!(
            "Successfully assigned {}/{} to {node}",
            shim.state.namespace, name
        );
        shim.event(EventType::Normal, "Scheduled", "pod", msg);
        volumes::prepare(&uid, &pod)?;
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
        let _ = self.state.write(&paths::state_file(&self.state.uid));
    }

    fn event(&mut self, kind: EventType, reason: &str, object: &str, message: String) {
        self.state.events.push(Event {
            time: sys::now(),
            kind,
            reason: reason.into(),
            object: object.into(),
            message,
        });
    }

    fn event_loop(&mut self, listener: &UnixListener, signals: &mut SignalFd) -> Result<()> {
        loop {
            let timeout = self.next_timeout();
            let mut fds = vec![
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            ];
            for c in &self.clients {
                fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
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
            let ready_clients: Vec<u64> = self
                .clients
                .iter()
                .zip(&ready[2..])
                .filter(|(_, r)| **r)
                .map(|(c, _)| c.id)
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
            deadlines.push(t.deadline);
        }
        if !self.held {
            deadlines.push(self.started + HOLDER_DEADLINE);
        }
        deadlines.extend(self.restart_at.values().copied());
        deadlines
            .into_iter()
            .min()
            .map(|d| d.saturating_duration_since(now))
    }

    fn accept(&mut self, listener: &UnixListener) {
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(true);
            self.next_client += 1;
            self.clients.push(Client {
                id: self.next_client,
                stream,
                buf: Vec::new(),
                hold: false,
            });
        }
    }

    fn read_client(&mut self, id: u64) {
        let Some(pos) = self.clients.iter().position(|c| c.id == id) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        let closed = loop {
            match self.clients[pos].stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => self.clients[pos].buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        while let Some(nl) = self.clients[pos].buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.clients[pos].buf.drain(..=nl).collect();
            match serde_json::from_slice::<Request>(&line) {
                Ok(req) => self.handle(id, req),
                Err(e) => self.reply(
                    id,
                    Response::Error {
                        message: format!("bad request: {e}"),
                    },
                ),
            }
        }
        if closed {
            self.drop_client(id);
        }
    }

    fn drop_client(&mut self, id: u64) {
        let Some(pos) = self.clients.iter().position(|c| c.id == id) else {
            return;
        };
        let client = self.clients.remove(pos);
        if client.hold && !self.state.detached && !self.clients.iter().any(|c| c.hold) {
            // The client holding the pod went away (quit, crash or kill -9): remove the pod.
            self.begin_termination(None, None);
        }
    }

    fn reply(&mut self, id: u64, response: Response) {
        let Some(client) = self.clients.iter_mut().find(|c| c.id == id) else {
            return;
        };
        let mut line = serde_json::to_vec(&response).unwrap_or_default();
        line.push(b'\n');
        // Replies are small; a client that does not read them is dropped.
        let _ = client.stream.set_nonblocking(false);
        let _ = client
            .stream
            .set_write_timeout(Some(Duration::from_secs(2)));
        let ok = client.stream.write_all(&line).is_ok();
        let _ = client.stream.set_nonblocking(true);
        if !ok {
            self.drop_client(id);
        }
    }

    fn handle(&mut self, id: u64, req: Request) {
        match req {
            Request::Hello { hold } => {
                if hold {
                    if let Some(c) = self.clients.iter_mut().find(|c| c.id == id) {
                        c.hold = true;
                    }
                    self.held = true;
                }
                self.reply(id, Response::Ok);
            }
            Request::Plan => {
                let steps = self.plan.clone();
                self.reply(
                    id,
                    Response::Plan {
                        steps,
                        next: self.next_step,
                    },
                );
            }
            Request::Next | Request::RunAll => {
                if self.termination.is_some() {
                    self.reply(
                        id,
                        Response::Error {
                            message: "the pod is being deleted".into(),
                        },
                    );
                } else if self.goal.is_some() {
                    self.reply(
                        id,
                        Response::Error {
                            message: "a step is already running".into(),
                        },
                    );
                } else if self.next_step >= self.plan.len() {
                    self.reply(
                        id,
                        Response::Error {
                            message: "every step has already run".into(),
                        },
                    );
                } else {
                    let single = matches!(req, Request::Next);
                    let until = if single {
                        self.next_step + 1
                    } else {
                        self.plan.len()
                    };
                    self.goal = Some(Goal {
                        client: id,
                        until,
                        single,
                    });
                }
            }
            Request::Status => {
                let state = Box::new(self.state.clone());
                self.reply(id, Response::Status { state });
            }
            Request::Detach => {
                self.state.detached = true;
                self.held = true;
                self.save();
                self.reply(id, Response::Ok);
            }
            Request::Delete { grace_seconds } => self.begin_termination(Some(id), grace_seconds),
        }
    }

    /// Everything time- or event-driven: creation steps, restarts, termination.
    fn tick(&mut self) {
        if self.termination.is_none() && !self.held && self.started.elapsed() >= HOLDER_DEADLINE {
            self.begin_termination(None, None);
        }
        if self.termination.is_some() {
            self.advance_termination();
            return;
        }
        self.run_due_restarts();
        self.advance_steps();
        self.update_phase();
        self.save();
    }

    fn advance_steps(&mut self) {
        while let Some(goal) = &self.goal {
            let (client, until, single) = (goal.client, goal.until, goal.single);
            if let Some(name) = self.awaiting_init.clone() {
                match self.status(&name).map(|s| s.state.clone()) {
                    Some(ContainerState::Terminated { exit_code: 0, .. }) => {
                        self.awaiting_init = None;
                        self.complete_step();
                    }
                    Some(ContainerState::Terminated { .. })
                        if self.state.pod.spec.restart_policy
                            == crate::spec::RestartPolicy::Never =>
                    {
                        self.goal = None;
                        let message = format!("init container {name:?} failed; restartPolicy is Never, so the pod failed");
                        self.reply(client, Response::Error { message });
                        return;
                    }
                    _ => return, // still running, or waiting to be restarted
                }
                continue;
            }
            if self.next_step >= until {
                self.goal = None;
                let response = if single {
                    let step = self.plan[self.next_step - 1].id.clone();
                    Response::StepDone {
                        step,
                        next: self.next_step,
                    }
                } else {
                    Response::Ok
                };
                self.reply(client, response);
                return;
            }
            if let Err(err) = self.run_step(self.next_step) {
                self.goal = None;
                let step = self.plan[self.next_step].id.clone();
                self.reply(
                    client,
                    Response::Error {
                        message: format!("step {step} failed: {err:#}"),
                    },
                );
                return;
            }
        }
    }

    fn complete_step(&mut self) {
        self.state.steps[self.next_step].done = true;
        self.next_step += 1;
    }

    fn run_step(&mut self, index: usize) -> Result<()> {
        let kind = self.plan[index].kind.clone();
        match kind {
            StepKind::PodCgroup => {
                let cgroups = PodCgroups::create(&self.state.uid, &self.state.pod.spec)?;
                self.state.qos_class = cgroups.qos().as_str().to_string();
                self.state.cgroup = cgroups.pod_path();
                self.cgroups = Some(cgroups);
                self.complete_step();
            }
            StepKind::Namespaces => {
                let spec = &self.state.pod.spec;
                let namespaces = SandboxNamespaces {
                    net: !spec.host_network,
                    ipc: !spec.host_ipc,
                    pid: !spec.host_pid,
                    uts: !spec.host_network,
                };
                let hostname = steps::hostname_of(&self.state.pod);
                let log = open_log(&self.state.uid, "pause")?;
                let pending = sandbox::create(namespaces, &hostname, &self.pause_binary, &log)
                    .inspect_err(|e| {
                        let msg = format!("Failed to create pod sandbox: {e:#}");
                        self.event(EventType::Warning, "FailedCreatePodSandBox", "pod", msg);
                    })?;
                let pause = ProcessRef::of(pending.pid.as_raw())?;
                self.sandbox_pid = Some(pending.pid);
                if let Some(cgroups) = &mut self.cgroups {
                    // In its leaf before it execs anything.
                    cgroups.place_pause(pending.pid.as_raw())?;
                }
                self.pending_sandbox = Some(pending);
                self.state.sandbox = Some(SandboxState {
                    pause,
                    hostname: hostname.clone(),
                    ip: None,
                    network: None,
                });
                volumes::write_etc_files(&self.state.uid, &hostname, None)?;
                self.complete_step();
            }
            StepKind::StartPause => {
                let pending = self
                    .pending_sandbox
                    .take()
                    .ok_or_else(|| eyre!("the sandbox namespaces do not exist"))?;
                pending.start()?;
                self.complete_step();
            }
            StepKind::Network => {
                let pid = self
                    .sandbox_pid
                    .ok_or_else(|| eyre!("pause is not running"))?;
                match self.opts.network.clone() {
                    Some(cfg) => self.wire_network(&cfg, pid.as_raw())?,
                    None => sandbox::loopback_up(pid)?,
                }
                self.complete_step();
            }
            StepKind::InitContainer(name) => {
                self.start_container(&name)?;
                if self
                    .status(&name)
                    .is_some_and(|s| s.kind == ContainerKind::Sidecar)
                {
                    self.complete_step();
                } else {
                    self.awaiting_init = Some(name);
                }
            }
            StepKind::AppContainer(name) => {
                self.start_container(&name)?;
                self.complete_step();
            }
        }
        self.save();
        Ok(())
    }

    /// The CNI-like step: a veth into pause's net namespace only; containers get it by joining.
    fn wire_network(&mut self, cfg: &network::Config, pause_pid: i32) -> Result<()> {
        let net = network::setup_pod(cfg, &self.state.uid, &self.state.name, pause_pid)
            .map_err(|e| eyre!("{e}"))?;
        let ip = net.ip.to_string();
        let hostname = steps::hostname_of(&self.state.pod);
        volumes::write_etc_files(&self.state.uid, &hostname, Some(&ip))?;
        if let Some(sandbox) = &mut self.state.sandbox {
            sandbox.ip = Some(ip);
            sandbox.network = Some(net);
        }
        Ok(())
    }

    fn status(&self, name: &str) -> Option<&ContainerStatus> {
        self.state.containers.iter().find(|c| c.name == name)
    }

    fn status_mut(&mut self, name: &str) -> Option<&mut ContainerStatus> {
        self.state.containers.iter_mut().find(|c| c.name == name)
    }

    fn start_container(&mut self, name: &str) -> Result<()> {
        let object = format!("spec.containers{{{name}}}");
        let spec = self
            .state
            .pod
            .spec
            .init_containers
            .iter()
            .chain(&self.state.pod.spec.containers)
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| eyre!("no container named {name:?}"))?;
        let sandbox_pid = self
            .sandbox_pid
            .ok_or_else(|| eyre!("pause is not running"))?;
        let image = self.images.resolve(&spec.image)?;
        let first_start = self
            .status(name)
            .is_some_and(|s| s.image_served_by.is_empty());
        if first_start {
            let msg = format!(
                "Container image {:?} served by {}",
                spec.image, image.served_by
            );
            self.event(EventType::Normal, "Pulled", &object, msg);
        }
        if let Some(s) = self.status_mut(name) {
            s.image_served_by = image.served_by.clone();
        }
        let ctx = PodContext {
            uid: &self.state.uid,
            pod: &self.state.pod,
            sandbox_pid: sandbox_pid.as_raw(),
            podlab_exe: &self.podlab_exe,
        };
        let log = open_log(&self.state.uid, name)?;
        let placement = match &mut self.cgroups {
            Some(cgroups) => Some(cgroups.prepare_container(name)?),
            None => None,
        };
        let (procs, oom_score_adj) = placement.map_or((Vec::new(), None), |p| {
            (p.procs_files, Some(p.oom_score_adj))
        });
        let started = container::init_config(&ctx, &spec, &image, procs, oom_score_adj)
            .and_then(|config| container::start(&ctx, &config, &log));
        self.event(
            EventType::Normal,
            "Created",
            &object,
            format!("Created container: {name}"),
        );
        let now = sys::now();
        match started {
            Ok(process) => {
                self.pids.insert(process.pid, name.to_string());
                if let Some(s) = self.status_mut(name) {
                    s.process = Some(process);
                    s.state = ContainerState::Running { started_at: now };
                    // Without probes a running container is ready (probes come with their own step).
                    s.ready = s.kind != ContainerKind::Init;
                }
                self.event(
                    EventType::Normal,
                    "Started",
                    &object,
                    format!("Started container {name}"),
                );
                Ok(())
            }
            Err(err) => {
                let message = format!("Error: {err:#}");
                self.event(EventType::Warning, "Failed", &object, message);
                if let Some(s) = self.status_mut(name) {
                    s.state = ContainerState::Terminated {
                        exit_code: 128,
                        signal: None,
                        reason: "StartError".into(),
                        started_at: now,
                        finished_at: now,
                    };
                }
                self.schedule_restart(name);
                Err(err)
            }
        }
    }

    /// Collect every child that exited: containers, pause, and the short-lived `podlab init`s.
    fn reap(&mut self) {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => self.exited(pid, code, None),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.exited(pid, 128 + sig as i32, Some(sig as i32))
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }

    fn exited(&mut self, pid: Pid, exit_code: i32, signal: Option<i32>) {
        if Some(pid) == self.sandbox_pid {
            self.sandbox_pid = None;
            self.pending_sandbox = None;
            if self.termination.is_none() {
                // kubelet recreates a lost sandbox; until podlab does, the pod ends here.
                let msg = "Pod sandbox changed, it will be killed and re-created.".to_string();
                self.event(EventType::Normal, "SandboxChanged", "pod", msg);
                self.begin_termination(None, Some(0));
            }
            return;
        }
        let Some(name) = self.pids.remove(&pid.as_raw()) else {
            return;
        };
        let now = sys::now();
        // OOMKilled only when the cgroup's OOM-kill counter confirms it, never for a plain SIGKILL.
        let oom_killed = self.cgroups.as_ref().is_some_and(|c| c.oom_killed(&name));
        let terminating = self.termination.is_some();
        let Some(status) = self.status_mut(&name) else {
            return;
        };
        let started_at = match status.state {
            ContainerState::Running { started_at } => started_at,
            _ => now,
        };
        let reason = lifecycle::exit_reason(exit_code, oom_killed).to_string();
        status.state = ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            started_at,
            finished_at: now,
        };
        status.ready = false;
        if !terminating {
            self.schedule_restart(&name);
        }
        self.save();
    }

    /// After an exit, decide per restartPolicy whether and when the container starts again.
    fn schedule_restart(&mut self, name: &str) {
        let Some(status) = self.status(name) else {
            return;
        };
        let policy = self.state.pod.spec.restart_policy;
        let kind = status.kind;
        let ContainerState::Terminated {
            exit_code,
            started_at,
            finished_at,
            ..
        } = status.state.clone()
        else {
            return;
        };
        if !lifecycle::should_restart(kind, policy, exit_code) {
            return;
        }
        let delay =
            lifecycle::next_backoff(self.backoff.get(name).copied(), finished_at - started_at);
        self.backoff.insert(name.to_string(), delay);
        let scaled = delay.mul_f64(self.opts.time_scale);
        self.restart_at
            .insert(name.to_string(), Instant::now() + scaled);
        let msg = format!(
            "Back-off restarting failed container {name} in pod {}_{}({})",
            self.state.name, self.state.namespace, self.state.uid
        );
        self.event(
            EventType::Warning,
            "BackOff",
            &format!("spec.containers{{{name}}}"),
            msg,
        );
        if let Some(s) = self.status_mut(name) {
            s.last_state = Some(s.state.clone());
            s.state = ContainerState::Waiting {
                reason: "CrashLoopBackOff".into(),
            };
        }
    }

    fn run_due_restarts(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .restart_at
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            self.restart_at.remove(&name);
            if let Some(s) = self.status_mut(&name) {
                s.restart_count += 1;
            }
            let _ = self.start_container(&name);
        }
    }

    fn update_phase(&mut self) {
        self.state.phase = lifecycle::pod_phase(&self.state);
    }

    fn begin_termination(&mut self, requester: Option<u64>, grace_override: Option<i64>) {
        if let Some(t) = &mut self.termination {
            if requester.is_some() && t.requester.is_none() {
                t.requester = requester;
            }
            if let Some(g) = grace_override {
                let deadline = Instant::now() + Duration::from_secs(g.max(0) as u64);
                t.deadline = t.deadline.min(deadline);
            }
            return;
        }
        if let Some(goal) = self.goal.take() {
            self.reply(
                goal.client,
                Response::Error {
                    message: "the pod is being deleted".into(),
                },
            );
        }
        let grace = grace_override
            .unwrap_or_else(|| self.state.pod.spec.grace_period_seconds())
            .max(0);
        self.state.terminating = true;
        self.restart_at.clear();
        // App containers first, then sidecars in reverse order, as kubelet does.
        let mut order: Vec<(String, ProcessRef)> = Vec::new();
        for kind in [
            ContainerKind::App,
            ContainerKind::Init,
            ContainerKind::Sidecar,
        ] {
            let mut group: Vec<_> = self
                .state
                .containers
                .iter()
                .filter(|c| c.kind == kind && matches!(c.state, ContainerState::Running { .. }))
                .filter_map(|c| c.process.map(|p| (c.name.clone(), p)))
                .collect();
            if kind == ContainerKind::Sidecar {
                group.reverse();
            }
            order.extend(group);
        }
        for (name, process) in order {
            let object = format!("spec.containers{{{name}}}");
            self.event(
                EventType::Normal,
                "Killing",
                &object,
                format!("Stopping container {name}"),
            );
            process.signal(Signal::SIGTERM);
        }
        self.termination = Some(Termination {
            deadline: Instant::now() + Duration::from_secs(grace as u64),
            requester,
            pause_signalled: false,
        });
        self.save();
    }

    fn advance_termination(&mut self) {
        let Some(t) = &self.termination else { return };
        let deadline_passed = Instant::now() >= t.deadline;
        if !self.pids.is_empty() {
            if !deadline_passed {
                return;
            }
            let left: Vec<(i32, String)> = self.pids.iter().map(|(p, n)| (*p, n.clone())).collect();
            for (pid, name) in left {
                let object = format!("spec.containers{{{name}}}");
                let msg = format!(
                    "Container {name} did not stop within the grace period; sending SIGKILL"
                );
                self.event(EventType::Warning, "ExceededGracePeriod", &object, msg);
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        // Containers are gone (or killed): stop the sandbox.
        self.pending_sandbox = None; // a waiting sandbox process exits when its pipe closes
        let signalled = self.termination.as_ref().is_some_and(|t| t.pause_signalled);
        if let Some(pid) = self.sandbox_pid {
            if !signalled {
                let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
                if let Some(t) = &mut self.termination {
                    t.pause_signalled = true;
                    t.deadline = t.deadline.max(Instant::now()) + Duration::from_secs(2);
                }
            } else if deadline_passed {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
        }
        self.save();
    }

    fn finished(&self) -> bool {
        self.termination.is_some() && self.pids.is_empty() && self.sandbox_pid.is_none()
    }

    /// Remove everything the pod made, answer whoever asked, and exit.
    fn finish(&mut self) -> Result<()> {
        let uid = self.state.uid.clone();
        if let Some(net) = self.state.sandbox.as_ref().and_then(|s| s.network.clone()) {
            if let Err(e) = network::teardown_pod(&uid, &net) {
                eprintln!("podlab-shim: {e}");
            }
        }
        if let Some(cgroups) = &self.cgroups {
            if let Err(e) = cgroups.remove() {
                eprintln!("podlab-shim: {e:#}");
            }
        }
        super::teardown::remove_pod_resources(&uid);
        if let Some(id) = self.termination.as_ref().and_then(|t| t.requester) {
            self.reply(id, Response::Deleted);
        }
        Ok(())
    }
}

pub fn open_log(uid: &str, container: &str) -> Result<File> {
    let dir = paths::logs_dir(uid);
    std::fs::create_dir_all(&dir)?;
    let path = paths::log_file(uid, container);
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
