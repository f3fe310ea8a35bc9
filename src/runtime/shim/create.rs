//! The creation steps: pod cgroup, sandbox namespaces, pause, network, then the containers.
//!
//! A client runs them one at a time (Next) or all (RunAll, Start); after RunAll or Start the
//! shim goes on by itself, as kubelet does. A regular init container's step ends when it exits
//! 0; a sidecar's when it runs and its startup probe (if any) passed; an app container's when
//! it was started. A container that fails to start is not the end of the pod: like kubelet, the
//! shim records StartError and restarts it with back-off.

use std::time::Duration;

use eyre::{eyre, Result};

use super::probes::Action;
use super::tasks::{Finished, Outcome, Purpose};
use super::{open_log, Shim};
use crate::kube::events;
use crate::kube::machine;
use crate::kube::namespaces::SandboxNamespaces;
use crate::kube::pod_state::{ContainerKind, ContainerState, ProcessRef, SandboxState};
use crate::kube::protocol::Response;
use crate::kube::steps::{self, StepKind};
use crate::runtime::container::{self, PodContext};
use crate::runtime::network;
use crate::runtime::pod_cgroups::PodCgroups;
use crate::runtime::rootless::delegation::{self, Limits, NotEnforced};
use crate::runtime::sandbox;
use crate::runtime::sys::{self, LiveProcess};
use crate::runtime::volumes;
use crate::spec::RestartPolicy;

/// How long a postStart hook may run.
const POST_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the init container (or sidecar) a step waits for is.
enum Progress {
    Done,
    Underway,
    /// It cannot finish by itself for now: it failed and waits in back-off, or it failed for
    /// good (restartPolicy Never).
    Stuck(String),
}

impl Shim {
    pub(super) fn advance_steps(&mut self) {
        loop {
            if let Some(goal) = &self.goal {
                if self.next_step >= goal.until {
                    self.answer_goal();
                }
            }
            if !(self.auto || self.goal.is_some()) || self.next_step >= self.plan.len() {
                return;
            }
            if let Some(name) = self.pull_step.clone() {
                if self.pulling(&name) {
                    return;
                }
                // The pull ended, pulled or not: the container's step comes next.
                self.pull_step = None;
                self.complete_step();
                continue;
            }
            if let Some(name) = self.awaiting.clone() {
                match self.progress(&name) {
                    Progress::Done => {
                        self.awaiting = None;
                        self.complete_step();
                        continue;
                    }
                    Progress::Underway => return,
                    Progress::Stuck(why) => {
                        self.answer_stuck(why);
                        return;
                    }
                }
            }
            let index = self.next_step;
            if let Err(err) = self.run_step(index) {
                let step = self.plan[index].id.clone();
                self.auto = false;
                if let Some(goal) = self.goal.take() {
                    let message = format!("step {step} failed: {err:#}");
                    self.reply(goal.client, Response::Error { message });
                } else {
                    eprintln!("podlab-shim: step {step} failed: {err:#}");
                }
                return;
            }
            self.save();
        }
    }

    fn answer_goal(&mut self) {
        let Some(goal) = self.goal.take() else { return };
        let response = if goal.single {
            Response::StepDone {
                step: self.plan[self.next_step - 1].id.clone(),
                next: self.next_step,
            }
        } else {
            Response::Ok
        };
        self.reply(goal.client, response);
    }

    /// The pod exists and goes on by itself (or has failed): RunAll is answered Ok, a single
    /// step with why it cannot complete.
    fn answer_stuck(&mut self, why: String) {
        let Some(goal) = self.goal.take() else { return };
        let response = if goal.single {
            Response::Error { message: why }
        } else {
            Response::Ok
        };
        self.reply(goal.client, response);
    }

    fn progress(&self, name: &str) -> Progress {
        let Some(c) = self.status(name) else {
            return Progress::Done;
        };
        if c.kind == ContainerKind::App {
            return if self.post_start_running(name) {
                Progress::Underway
            } else {
                Progress::Done
            };
        }
        let last_exit = match &c.last_state {
            Some(ContainerState::Terminated { exit_code, .. }) => *exit_code,
            _ => -1,
        };
        match (&c.state, c.kind) {
            (ContainerState::Terminated { exit_code: 0, .. }, ContainerKind::Init) => Progress::Done,
            (ContainerState::Running { .. }, ContainerKind::Sidecar) if c.started => Progress::Done,
            (ContainerState::Terminated { exit_code, .. }, _)
                if self.state.pod.spec.restart_policy == RestartPolicy::Never =>
            {
                Progress::Stuck(format!(
                    "init container {name:?} failed (exit code {exit_code}); with restartPolicy Never the pod has failed"
                ))
            }
            (ContainerState::Waiting { reason }, _) if reason == "CrashLoopBackOff" => {
                Progress::Stuck(format!(
                    "init container {name:?} failed (exit code {last_exit}) and waits in back-off (Init:CrashLoopBackOff); the pod goes on once it succeeds"
                ))
            }
            _ => Progress::Underway,
        }
    }

    fn complete_step(&mut self) {
        self.state.steps[self.next_step].done = true;
        self.next_step += 1;
    }

    /// Run one step and record how long the kernel work took (shown with the step).
    fn run_step(&mut self, index: usize) -> Result<()> {
        let started = std::time::Instant::now();
        let result = self.run_step_work(index);
        self.state.steps[index].duration_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        result
    }

    fn run_step_work(&mut self, index: usize) -> Result<()> {
        let kind = self.plan[index].kind.clone();
        match kind {
            StepKind::PodCgroup => {
                match self.rootless_limits() {
                    Ok(manager) => {
                        let cgroups = PodCgroups::create_with(
                            &self.state.uid,
                            &self.state.pod.spec,
                            self.opts.pod_max_pids,
                            manager,
                        )?;
                        self.state.qos_class = cgroups.qos().as_str().to_string();
                        self.state.cgroup = cgroups.pod_path();
                        self.cgroups = Some(cgroups);
                    }
                    Err(why) => {
                        // Without root and without a delegated subtree: the pod runs, unlimited,
                        // and says so.
                        let resources =
                            crate::kube::resources::PodResources::from_spec(&self.state.pod.spec);
                        self.state.qos_class =
                            crate::kube::qos::pod_qos(&resources).as_str().to_string();
                        if let Some(rootless) = &mut self.state.rootless {
                            rootless.limits_not_enforced = Some(crate::i18n::Text::new(
                                why.explain(crate::i18n::Lang::En),
                                why.explain(crate::i18n::Lang::Zh),
                            ));
                        }
                    }
                }
                self.complete_step();
            }
            StepKind::Namespaces => {
                self.create_sandbox_namespaces()?;
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
            StepKind::Pull(name) => {
                let spec = self
                    .container_spec(&name)
                    .cloned()
                    .ok_or_else(|| eyre!("no container named {name:?}"))?;
                if super::image_pull::wants_pull(&self.images, &spec) {
                    self.begin_pull(&spec)?;
                    self.pull_step = Some(name);
                } else {
                    // Another pod's pull brought the image meanwhile.
                    self.complete_step();
                }
            }
            StepKind::InitContainer(name) => {
                // A failed start is recorded and retried with back-off: the step waits for it.
                if !self.waits_to_pull_again(&name) {
                    let _ = self.start_container(&name);
                }
                self.awaiting = Some(name);
            }
            StepKind::AppContainer(name) => {
                let succeeded_before = matches!(
                    self.status(&name).map(|c| &c.state),
                    Some(ContainerState::Terminated { exit_code: 0, .. })
                );
                // In a re-created sandbox, an OnFailure pod's succeeded container stays done.
                if !succeeded_before && !self.waits_to_pull_again(&name) {
                    let _ = self.start_container(&name);
                }
                if self.post_start_running(&name) {
                    // kubelet starts the next container only once postStart returned.
                    self.awaiting = Some(name);
                } else {
                    self.complete_step();
                }
            }
        }
        Ok(())
    }

    /// Whether the container's pull failed and the lifecycle pulls again after its back-off
    /// (ErrImagePull, ImagePullBackOff): its step does not start it now.
    fn waits_to_pull_again(&self, name: &str) -> bool {
        matches!(
            self.status(name).map(|c| &c.state),
            Some(ContainerState::Waiting { reason })
                if reason == "ErrImagePull" || reason == "ImagePullBackOff"
        )
    }

    /// The cgroup manager for this pod: the host's in root mode; without root, one over the
    /// user's delegated subtree, or why limits cannot be enforced.
    fn rootless_limits(
        &self,
    ) -> std::result::Result<Option<Box<dyn crate::runtime::cgroups::CgroupManager>>, NotEnforced>
    {
        if self.opts.node.is_none() {
            return Ok(None);
        }
        match delegation::detect() {
            Limits::Delegated { base } => {
                Ok(Some(Box::new(crate::runtime::cgroups::v2::V2Manager::new(
                    base,
                    std::sync::Arc::new(crate::runtime::cgroups::fs::HostFs),
                ))))
            }
            Limits::NotEnforced(why) => Err(why),
        }
    }

    fn create_sandbox_namespaces(&mut self) -> Result<()> {
        // The plan the namespaces step narrates, from the same function.
        let namespaces = SandboxNamespaces::for_pod(&self.state.pod);
        let hostname = steps::hostname_of(&self.state.pod);
        // kubelet decides the pod's DNS while it makes the sandbox's config.
        let pod = events::format_pod(&self.state.name, &self.state.namespace, &self.state.uid);
        for warning in volumes::write_resolv_conf(&self.state.uid, &self.state.pod.spec, &pod)? {
            self.record("pod", warning);
        }
        let log = open_log(&self.state.uid, "pause")?;
        // On cgroup v2 the sandbox process is born in pause's leaf; elsewhere it is moved there.
        let leaf = match &mut self.cgroups {
            Some(cgroups) => cgroups.prepare_pause()?,
            None => None,
        };
        // pause runs as 65535 like kubelet's (or the pod's runAsUser); without root only when
        // the node's user namespace has a range of ids.
        let pause_user = crate::kube::security::sandbox_user(&self.state.pod.spec);
        let run_as = match &self.opts.node {
            Some(node) => node.ids.pause_id().and(pause_user),
            None => pause_user,
        };
        // kubelet asks for RuntimeDefault for every sandbox (unless a container is privileged).
        let seccomp = crate::runtime::seccomp::for_sandbox(&self.state.pod);
        let created = seccomp
            .and_then(|seccomp| {
                sandbox::create(
                    namespaces,
                    &hostname,
                    &self.pause_binary,
                    &log,
                    leaf.as_deref(),
                    run_as.as_ref(),
                    crate::kube::security::sandbox_capabilities(&self.state.pod.spec),
                    self.state.user_namespace,
                    seccomp.as_ref(),
                )
            })
            .and_then(|pending| {
                if namespaces.user {
                    // The image must show its files as the pod's root's, or no container starts.
                    let userns = std::fs::File::open(format!("/proc/{}/ns/user", pending.pid))
                        .map_err(|e| eyre!("failed to open the pod's user namespace: {e}"))?;
                    crate::runtime::userns::check_image_idmap(&userns)?;
                }
                Ok(pending)
            });
        let pending = match created {
            Ok(p) => p,
            Err(e) => {
                self.record("pod", events::failed_create_pod_sandbox(&format!("{e:#}")));
                return Err(e);
            }
        };
        let pause = ProcessRef::of(pending.pid.as_raw())?;
        self.sandbox_namespaces = SandboxNamespaces::HELD
            .iter()
            .filter_map(|ns| {
                std::fs::File::open(format!("/proc/{}/ns/{}", pending.pid, ns.proc_name())).ok()
            })
            .collect();
        self.sandbox_pid = Some(pending.pid);
        if let Some(cgroups) = &mut self.cgroups {
            // In its leaf before it execs anything.
            cgroups.place_pause(pending.pid.as_raw(), pending.born_in_cgroup)?;
        }
        self.pending_sandbox = Some(pending);
        self.state.sandbox = Some(SandboxState {
            pause,
            // A hostNetwork pod has no hostname of its own: it sees the node's.
            hostname: volumes::container_hostname(&self.state.pod),
            ip: None,
            network: None,
        });
        volumes::write_etc_files(&self.state.uid, &self.state.pod, None)?;
        Ok(())
    }

    /// The CNI-like step: a veth into pause's net namespace only; containers get it by joining.
    fn wire_network(&mut self, cfg: &network::Config, pause_pid: i32) -> Result<()> {
        let net = network::setup_pod(cfg, &self.state.uid, &self.state.name, pause_pid)
            .map_err(|e| eyre!("{e}"))?;
        let ip = net.ip.to_string();
        volumes::write_etc_files(&self.state.uid, &self.state.pod, Some(&ip))?;
        if let Some(sandbox) = &mut self.state.sandbox {
            sandbox.ip = Some(ip);
            sandbox.network = Some(net);
        }
        Ok(())
    }

    /// Start one container; on failure it is Terminated with reason StartError and restarted
    /// with back-off per restartPolicy.
    pub(super) fn start_container(&mut self, name: &str) -> Result<()> {
        let spec = self
            .container_spec(name)
            .cloned()
            .ok_or_else(|| eyre!("no container named {name:?}"))?;
        let started = self.launch(&spec);
        let now = sys::now();
        if let Err(err) = &started {
            if err.is::<super::image_pull::PullUnderway>() {
                // Started when the pull has ended.
                return Ok(());
            }
            if let Some(failed) = err.downcast_ref::<container::ConfigError>() {
                // kubelet's startContainer: "Error: <message>", and the container waits.
                let error = failed.0.clone();
                self.record_for(name, events::failed(&error));
                self.feed(machine::Event::ConfigFailed {
                    container: name.to_string(),
                    error,
                });
                return started.map(|_| ());
            }
        }
        self.record_for(name, events::created());
        match started {
            Ok(process) => {
                if let Some(s) = self.supervised.get_mut(name) {
                    s.pid = Some(process.pid);
                    s.started_at = Some(now);
                }
                if let Some(s) = self.status_mut(name) {
                    s.process = Some(process);
                    // Running as the runtime sees it; kubelet reports it once postStart returned.
                    s.state = ContainerState::Running { started_at: now };
                    s.state_message = None;
                    s.ready = false;
                    s.started = false;
                }
                self.feed(machine::Event::Started {
                    container: name.to_string(),
                });
                self.record_for(name, events::started());
                // Like kubelet's startContainer, the container is Running (with its probes)
                // only once its postStart hook returned.
                if !self.run_post_start(name) {
                    self.now_running(name);
                }
                Ok(())
            }
            Err(err) => {
                self.record_for(name, events::failed(&format!("{err:#}")));
                self.feed(machine::Event::StartFailed {
                    container: name.to_string(),
                    error: format!("{err:#}"),
                });
                Err(err)
            }
        }
    }

    /// Resolve the image, prepare the cgroup leaf and start `podlab init`.
    fn launch(&mut self, spec: &crate::spec::Container) -> Result<ProcessRef> {
        let name = spec.name.as_str();
        let sandbox_pid = self
            .sandbox_pid
            .ok_or_else(|| eyre!("pause is not running"))?;
        let pulled_now = self.ensure_image(spec)?;
        let image = self.images.resolve(&spec.image)?;
        // kubelet's EnsureImageExists says Pulled before every start (a pull just done has
        // said "Successfully pulled" already); a stand-in says what serves the name.
        if !pulled_now {
            let event = if image.stored {
                events::pulled_already_present(&spec.image)
            } else {
                events::pulled_stand_in(&spec.image, &image.served_by)
            };
            self.record_for(name, event);
        }
        let stop_signal = crate::kube::stop_signal::effective(
            spec.lifecycle
                .as_ref()
                .and_then(|l| l.stop_signal.as_deref()),
            &image.config.stop_signal,
        );
        if let Some(s) = self.status_mut(name) {
            s.image_served_by = image.served_by.clone();
            s.stop_signal = stop_signal;
        }
        let ctx = PodContext {
            uid: &self.state.uid,
            pod: &self.state.pod,
            sandbox_pid: sandbox_pid.as_raw(),
            podlab_exe: &self.podlab_exe,
            user_ids: self.state.user_namespace,
            env: container::env_context(&self.state),
        };
        let log = open_log(&self.state.uid, name)?;
        let placement = match &mut self.cgroups {
            Some(cgroups) => Some(cgroups.prepare_container(name, spec.is_privileged())?),
            None => None,
        };
        container::init_config(&ctx, spec, &image, placement)
            .and_then(|config| container::start(&ctx, &config, &log))
    }

    /// The container is Running: its probes start (Ready follows them).
    fn now_running(&mut self, name: &str) {
        let Some(started_at) = self.supervised.get(name).and_then(|s| s.started_at) else {
            return;
        };
        if let Some(s) = self.status_mut(name) {
            s.state = ContainerState::Running { started_at };
        }
        self.start_probes(name);
        if let Some(s) = self.status_mut(name) {
            if s.kind == ContainerKind::Init {
                s.ready = false;
            }
        }
    }

    /// True while the container's postStart hook runs (the step that started it waits).
    fn post_start_running(&self, name: &str) -> bool {
        self.tasks.running(&Purpose::PostStart {
            container: name.to_string(),
        })
    }

    /// Run the postStart hook, if any, next to the container's command; true if it runs.
    /// Until it returns the container stays Waiting (ContainerCreating), not Ready.
    fn run_post_start(&mut self, name: &str) -> bool {
        let Some(action) = self.container_spec(name).and_then(|c| {
            let hook = c.lifecycle.as_ref()?.post_start.as_ref()?;
            Action::of_handler(hook, c)
        }) else {
            return false;
        };
        let purpose = Purpose::PostStart {
            container: name.to_string(),
        };
        match self.spawn_action(purpose, name, &action, POST_START_TIMEOUT) {
            Ok(()) => {
                if let Some(s) = self.status_mut(name) {
                    s.state = ContainerState::Waiting {
                        reason: "ContainerCreating".into(),
                    };
                }
                true
            }
            Err(e) => {
                eprintln!("PostStartHook for container {name:?} failed: {e:#}");
                self.record_for(name, events::failed_post_start_hook());
                self.feed(machine::Event::PostStartFailed {
                    container: name.to_string(),
                });
                false
            }
        }
    }

    /// The postStart hook returned: the container is Running; if the hook failed, kubelet
    /// kills it and restartPolicy decides what follows.
    pub(super) fn post_start_finished(&mut self, name: &str, done: Finished) {
        if !self.supervised.get(name).is_some_and(|s| s.alive()) {
            return;
        }
        if done.outcome == Outcome::Exited(0) {
            self.now_running(name);
            return;
        }
        let command = self
            .container_spec(name)
            .and_then(|c| c.lifecycle.as_ref()?.post_start.as_ref()?.exec.as_ref())
            .map(|e| e.command.clone())
            .unwrap_or_default();
        let error = match done.outcome {
            Outcome::Exited(code) => format!("command '{}' exited with {code}", command.join(" ")),
            Outcome::TimedOut => format!("timed out after {}s", POST_START_TIMEOUT.as_secs()),
        };
        let pod = events::format_pod(&self.state.name, &self.state.namespace, &self.state.uid);
        let message = events::exec_hook_failed_message(&command, name, &pod, &error, &done.output);
        eprintln!("{message}");
        self.record_for(name, events::failed_post_start_hook());
        self.feed(machine::Event::PostStartFailed {
            container: name.to_string(),
        });
    }
}
