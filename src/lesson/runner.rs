//! Playing a lesson: the [`Runner`] owns the lesson's pods (it holds each shim's socket, so a
//! pod dies with the runner), performs a step's action and polls its check.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eyre::{eyre, Context, Result};
use nix::sys::signal::Signal;

use crate::i18n::Text;
use crate::kube::pod_state::PodState;
use crate::kube::protocol::{Request, Response};
use crate::observe::{Collector, Sources};
use crate::runtime::client::{start_pod, ShimConnection, StartOptions};
use crate::runtime::network;
use crate::runtime::sys::LiveProcess;

use super::checks::{evaluate, PodMark, World};
use super::exec::exec_in;
use super::fill::fill_words;
use super::kubelet::{static_pods_of, LessonKubelet};
use super::load::Lesson;
use super::outcome::{ActionOutcome, CheckResult, StepOutcome};
use super::pace::Pace;
use super::progress::{Progress, ProgressStore};
use super::refs::{Ref, Who};
use super::schema::LESSON_HOST_DIR_PREFIX;
use super::schema::{Action, StepSpec};

mod learner;
pub mod teaching;

pub use learner::EditedManifest;

/// How long one command of a check may run.
const CHECK_EXEC_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a check is re-evaluated while waiting for it.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Default)]
pub struct RunnerOptions {
    /// The podlab binary for shims and `podlab exec` (None: this process's own binary).
    pub podlab_exe: Option<PathBuf>,
    /// Where progress is saved (None: nowhere).
    pub progress: Option<ProgressStore>,
    /// The pod network when the lesson wants one (None: podlab's default range and bridge).
    pub network: Option<network::Config>,
    /// Set (non-zero) by a signal handler: a check being waited for gives up at once.
    pub interrupt: Option<Arc<AtomicUsize>>,
}

struct LivePod {
    uid: String,
    conn: ShimConnection,
}

/// Plays one lesson. Not tied to any UI: every call returns values, and only `perform` and
/// `wait_check` block (for as long as the action or the step's timeout takes).
pub struct Runner {
    lesson: Lesson,
    exe: PathBuf,
    network: Option<network::Config>,
    /// Pods the runner started and holds, by name.
    pods: HashMap<String, LivePod>,
    /// Every live pod of the lesson (held, or run by the lesson's kubelet): name → UID.
    uids: HashMap<String, String>,
    /// The lesson's static pods: name → the name kubelet runs it under (NAME-<node>).
    live_names: HashMap<String, String>,
    kubelet: Option<LessonKubelet>,
    interrupt: Option<Arc<AtomicUsize>>,
    collector: Collector,
    marks: HashMap<String, HashMap<String, PodMark>>,
    last_delete: Option<Duration>,
    progress: Progress,
    store: Option<ProgressStore>,
    /// The learner's tasks being watched, by task id.
    watches: HashMap<String, learner::TaskWatch>,
    /// Pods whose manifest the learner (or a `replace_pod` step) edited: name → the edit.
    edited: HashMap<String, EditedManifest>,
}

impl Runner {
    pub fn new(lesson: Lesson, options: RunnerOptions) -> Result<Runner> {
        let exe = match options.podlab_exe {
            Some(exe) => exe,
            None => std::fs::read_link("/proc/self/exe")
                .wrap_err("failed to find podlab's own binary")?,
        };
        let progress = match &options.progress {
            Some(store) => store.load_lesson(&lesson),
            None => Progress {
                lesson: lesson.id().to_string(),
                ..Progress::default()
            },
        };
        let network = lesson
            .file
            .options
            .network
            .then(|| options.network.unwrap_or_default());
        let live_names = lesson
            .pods
            .iter()
            .map(|p| p.pod.metadata.name.clone())
            .filter(|name| lesson.is_static(name))
            .map(|name| {
                let live = lesson.live_name(&name);
                (name, live)
            })
            .collect();
        // What the learner will make by hand is the lesson's from now on (what a killed
        // player left of it is removed first).
        if let Some(owns) = &lesson.file.owns {
            crate::runtime::hand_made::claim(lesson.id(), &owns.prefix)?;
        }
        Ok(Runner {
            lesson,
            exe,
            network,
            pods: HashMap::new(),
            uids: HashMap::new(),
            live_names,
            kubelet: None,
            interrupt: options.interrupt.clone(),
            collector: Collector::new(Sources::default()),
            marks: HashMap::new(),
            last_delete: None,
            progress,
            store: options.progress,
            watches: HashMap::new(),
            edited: HashMap::new(),
        })
    }

    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The first step not done yet (the number of steps when all are done).
    pub fn first_undone(&self) -> usize {
        self.lesson
            .steps()
            .iter()
            .position(|s| !self.progress.is_done(&s.id))
            .unwrap_or(self.lesson.steps().len())
    }

    /// The lesson's live pods as (name, UID), for panels (`observe::Target::Pod(uid)`). A
    /// static pod is named as kubelet runs it (`Lesson::live_name`).
    pub fn live_pods(&self) -> Vec<(String, String)> {
        let mut pods: Vec<(String, String)> = self
            .uids
            .iter()
            .map(|(n, u)| (self.live_name(n).to_string(), u.clone()))
            .collect();
        pods.sort();
        pods
    }

    fn step(&self, index: usize) -> Result<StepSpec> {
        self.lesson
            .steps()
            .get(index)
            .cloned()
            .ok_or_else(|| eyre!("lesson {} has no step {}", self.lesson.id(), index + 1))
    }

    fn timeout_of(&self, step: &StepSpec) -> Duration {
        let secs = step
            .timeout_seconds
            .unwrap_or(self.lesson.file.options.check_timeout_seconds);
        Pace::of_machine().wall(Duration::from_secs_f64(secs.clamp(0.1, 600.0)))
    }

    /// Perform the action of step `index`.
    pub fn perform(&mut self, index: usize) -> Result<ActionOutcome> {
        self.refresh_static();
        if let Some(step) = self.lesson.steps().get(index) {
            if step.question.is_some() {
                // What the question asks about, as it is before the action (`changed` since
                // this very step compares with it).
                let id = step.id.clone();
                self.take_marks(&id);
            }
        }
        let outcome = self.perform_action(index);
        self.refresh_static();
        outcome
    }

    fn perform_action(&mut self, index: usize) -> Result<ActionOutcome> {
        let step = self.step(index)?;
        self.act(&step, &step.action)
    }

    /// Do `action` for `step` (its own action, or the solution of one of its tasks).
    fn act(&mut self, step: &StepSpec, action: &Action) -> Result<ActionOutcome> {
        let step = step.clone();
        let pod = self.lesson.pod_of(&step).to_string();
        let done = |en: String, zh: String| ActionOutcome {
            summary: Text::new(en, zh),
            output: String::new(),
        };
        match action {
            Action::Read => Ok(done(String::new(), String::new())),
            Action::RunTo(target) => {
                let taken = self.run_to(&pod, Some(target))?;
                Ok(done(
                    format!("pod {pod}: took {taken} creation step(s), up to {target}"),
                    format!("Pod {pod}：执行了 {taken} 个创建步骤，直到 {target}"),
                ))
            }
            Action::RunAll => {
                self.run_to(&pod, None)?;
                Ok(done(
                    format!("pod {pod} is created"),
                    format!("Pod {pod} 已创建"),
                ))
            }
            Action::Exec(exec) => {
                let r = Ref::parse(&exec.container, &pod);
                let Who::Container(container) = &r.who else {
                    return Err(eyre!("{} is not a container", exec.container));
                };
                self.require_live(&r.pod)?;
                let command = {
                    let mut world = self.world(CHECK_EXEC_TIMEOUT);
                    fill_words(&exec.command, &mut world, &pod)
                }
                .map_err(|why| eyre!("{}", why.en))?;
                let out = exec_in(
                    &self.exe,
                    self.live_name(&r.pod),
                    container,
                    &command,
                    self.timeout_of(&step),
                )?;
                let code = out
                    .exit_code
                    .map_or("killed at the deadline".into(), |c| format!("exit {c}"));
                let code_zh = out
                    .exit_code
                    .map_or("超时被杀".into(), |c| format!("退出码 {c}"));
                Ok(ActionOutcome {
                    summary: Text::new(
                        format!("{} in {r}: {code}", command.join(" ")),
                        format!("在 {r} 中运行 {}：{code_zh}", command.join(" ")),
                    ),
                    output: out.output,
                })
            }
            Action::Signal(signal) => {
                let r = Ref::parse(&signal.container, &pod);
                let sig = parse_signal(&signal.signal)
                    .ok_or_else(|| eyre!("{:?} is not a signal name", signal.signal))?;
                let state = self.status(&r.pod)?;
                let process = match &r.who {
                    Who::Pause => state.sandbox.as_ref().map(|s| s.pause),
                    Who::Container(name) => state.container(name).and_then(|c| c.process),
                    _ => None,
                };
                let process = process.ok_or_else(|| eyre!("{r} has no process to signal"))?;
                if !process.signal(sig) {
                    return Err(eyre!("failed to send {sig} to {r} (pid {})", process.pid));
                }
                Ok(done(
                    format!("sent {sig} to {r} (pid {})", process.pid),
                    format!("向 {r}（pid {}）发送了 {sig}", process.pid),
                ))
            }
            Action::Delete(delete) => {
                let took = self.delete_pod(&pod, delete.grace_seconds)?;
                let name = self.live_name(&pod);
                Ok(done(
                    format!("pod {name} deleted in {:.1}s", took.as_secs_f64()),
                    format!("Pod {name} 已删除，用时 {:.1} 秒", took.as_secs_f64()),
                ))
            }
            Action::Recreate => {
                let old = self.uids.get(&pod).cloned().unwrap_or_default();
                if self.pods.contains_key(&pod) {
                    self.delete_pod(&pod, None)?;
                }
                self.run_to(&pod, None)?;
                let new = short_uid(&self.uids.get(&pod).cloned().unwrap_or_default());
                // A pod an earlier step deleted has no UID left to compare with.
                if old.is_empty() {
                    return Ok(done(
                        format!("pod {pod} created again: new UID {new}"),
                        format!("Pod {pod} 已重新创建：新的 UID 为 {new}"),
                    ));
                }
                let old = short_uid(&old);
                Ok(done(
                    format!("pod {pod} re-created: UID {old} → {new}"),
                    format!("Pod {pod} 已重建：UID {old} → {new}"),
                ))
            }
            Action::Sleep(seconds) => {
                std::thread::sleep(Duration::from_secs_f64(*seconds));
                Ok(done(
                    format!("waited {seconds}s"),
                    format!("等待了 {seconds} 秒"),
                ))
            }
            Action::Kubelet(kubelet) => {
                if let Some(running) = &self.kubelet {
                    return Err(eyre!(
                        "the lesson's kubelet already watches {}",
                        running.dir().display()
                    ));
                }
                let started = LessonKubelet::start(
                    &self.exe,
                    Path::new(&kubelet.manifests),
                    self.lesson.file.options.time_scale,
                    self.network.as_ref(),
                )?;
                let kubelet = self.kubelet.insert(started);
                let pid = kubelet.view().pid;
                let dir = kubelet.dir().display().to_string();
                Ok(done(
                    format!("podlab kubelet (pid {pid}) watches {dir}"),
                    format!("podlab kubelet（pid {pid}）正在监视 {dir}"),
                ))
            }
            Action::PutManifest(put) => {
                let kubelet = self.kubelet()?;
                let source = self
                    .lesson
                    .pod_named(&pod)
                    .map(|p| p.manifest.clone())
                    .ok_or_else(|| eyre!("lesson {} has no pod {pod}", self.lesson.id()))?;
                let text = std::fs::read_to_string(&source)
                    .wrap_err_with(|| format!("failed to read {}", source.display()))?;
                let path = kubelet.put(&put.file, &text)?;
                Ok(done(
                    format!("copied the manifest of {pod} to {}", path.display()),
                    format!("已把 {pod} 的清单复制到 {}", path.display()),
                ))
            }
            Action::EditManifest(edit) => {
                let path = self
                    .kubelet()?
                    .edit(&edit.file, &edit.replace, &edit.with)?;
                Ok(done(
                    format!("{}: {:?} → {:?}", path.display(), edit.replace, edit.with),
                    format!("{}：「{}」→「{}」", path.display(), edit.replace, edit.with),
                ))
            }
            Action::RemoveManifest(remove) => {
                let path = self.kubelet()?.remove(&remove.file)?;
                Ok(done(
                    format!("removed {}", path.display()),
                    format!("已删除 {}", path.display()),
                ))
            }
            Action::ReplacePod(edit) => self.replace_pod_action(&pod, edit),
            Action::TryLine(line) => self.try_line_action(&step, *line),
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed) > 0)
    }

    fn kubelet(&self) -> Result<&LessonKubelet> {
        self.kubelet
            .as_ref()
            .ok_or_else(|| eyre!("no kubelet runs in lesson {} yet", self.lesson.id()))
    }

    /// The name a pod of the lesson runs under (kubelet's NAME-<node> for a static pod).
    fn live_name<'a>(&'a self, pod: &'a str) -> &'a str {
        self.live_names.get(pod).map_or(pod, String::as_str)
    }

    /// Find the static pods the kubelet runs now: one deleted by hand or replaced after an
    /// edit comes back under a new UID.
    fn refresh_static(&mut self) {
        if self.live_names.is_empty() {
            return;
        }
        let running = self
            .kubelet
            .as_ref()
            .map(|k| static_pods_of(k.dir()))
            .unwrap_or_default();
        let mut changed = false;
        for (name, live) in &self.live_names {
            let uid = running
                .iter()
                .find(|s| &s.name == live)
                .map(|s| s.uid.clone());
            let old = match &uid {
                Some(uid) => self.uids.insert(name.clone(), uid.clone()),
                None => self.uids.remove(name),
            };
            changed |= old != uid;
        }
        if changed {
            self.collector.forget();
        }
    }

    /// Evaluate the check of step `index` once (a step without a check passes).
    pub fn poll_check(&mut self, index: usize) -> CheckResult {
        let step = match self.step(index) {
            Ok(s) => s,
            Err(e) => return CheckResult::fail(e.to_string(), e.to_string()),
        };
        let Some(check) = &step.check else {
            return CheckResult::pass("", "");
        };
        self.evaluate_now(&step, check)
    }

    /// Evaluate `check` once, about `step`'s pod.
    fn evaluate_now(&mut self, step: &StepSpec, check: &super::schema::Check) -> CheckResult {
        let pod = self.lesson.pod_of(step).to_string();
        self.with_world(step, |world| evaluate(check, world, &pod))
    }

    /// A world to read for `step` (answers that are not checks).
    fn with_world<T>(&mut self, step: &StepSpec, read: impl FnOnce(&mut World<'_>) -> T) -> T {
        let exec_timeout = Pace::of_machine()
            .wall(CHECK_EXEC_TIMEOUT)
            .min(self.timeout_of(step));
        self.refresh_static();
        let mut world = self.world(exec_timeout);
        read(&mut world)
    }

    /// What a check (or a try: line) may look at now.
    fn world(&mut self, exec_timeout: Duration) -> World<'_> {
        let kubelet = self.kubelet.as_mut().map(LessonKubelet::view);
        let mut world = World::new(
            &mut self.collector,
            &self.uids,
            &self.marks,
            &self.live_names,
            &self.exe,
            exec_timeout,
        );
        world.last_delete = self.last_delete;
        world.kubelet = kubelet;
        world.owns = self.lesson.file.owns.clone();
        world
    }

    /// Poll the check of step `index` until it passes or the step's timeout is over.
    pub fn wait_check(&mut self, index: usize) -> CheckResult {
        let timeout = self
            .step(index)
            .map(|s| self.timeout_of(&s))
            .unwrap_or_default();
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.poll_check(index);
            if !result.passed && self.interrupted() {
                return CheckResult::fail(
                    format!("interrupted: {}", result.message.en),
                    format!("已中断：{}", result.message.zh),
                );
            }
            if result.passed || Instant::now() >= deadline {
                if !result.passed {
                    return timed_out(result, timeout);
                }
                return result;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Record step `index` as done: remember what the pods look like now (for later
    /// `changed` checks) and save the progress.
    pub fn complete(&mut self, index: usize) -> Result<()> {
        let step = self.step(index)?;
        self.take_marks(&step.id);
        self.progress.done.insert(step.id);
        if let Some(store) = &self.store {
            store.save(&self.progress)?;
        }
        Ok(())
    }

    /// What the lesson's pods look like now, kept under `step` for `changed` checks.
    fn take_marks(&mut self, step: &str) {
        self.refresh_static();
        let names: Vec<String> = self.uids.keys().cloned().collect();
        let mut marks = HashMap::new();
        for name in names {
            if let Ok(state) = self.status(&name) {
                marks.insert(name, PodMark::of(&state));
            }
        }
        self.marks.insert(step.to_string(), marks);
    }

    /// Perform step `index`, wait for its check, and complete it if the check passed. A step
    /// with tasks has its tasks' solutions performed in the learner's place, each waited for.
    pub fn run_step(&mut self, index: usize) -> Result<StepOutcome> {
        let step = self.step(index)?;
        if !step.tasks.is_empty() {
            return self.run_task_step(index);
        }
        let action = self.perform(index)?;
        let check = step.check.is_some().then(|| self.wait_check(index));
        let outcome = StepOutcome {
            step: step.id,
            action,
            check,
        };
        if outcome.passed() {
            self.complete(index)?;
        }
        Ok(outcome)
    }

    /// Bring the system back to where the saved progress says the learner was: replay the
    /// done steps in order, re-running their checks. Stops at the first step that is not done
    /// or whose check no longer passes (that step is then no longer counted as done).
    pub fn resume(&mut self) -> Result<Vec<StepOutcome>> {
        let mut outcomes = Vec::new();
        for index in 0..self.lesson.steps().len() {
            let id = self.lesson.steps()[index].id.clone();
            if !self.progress.is_done(&id) {
                break;
            }
            let outcome = self.run_step(index)?;
            let passed = outcome.passed();
            outcomes.push(outcome);
            if !passed {
                self.progress.done.retain(|d| d != &id);
                if let Some(store) = &self.store {
                    store.save(&self.progress)?;
                }
                break;
            }
        }
        self.redo_done_tasks(self.first_undone())?;
        Ok(outcomes)
    }

    /// Forget the saved progress of this lesson.
    pub fn reset_progress(&mut self) -> Result<()> {
        self.progress.done.clear();
        self.progress.tasks_done.clear();
        if let Some(store) = &self.store {
            store.reset_lesson(&self.lesson)?;
        }
        Ok(())
    }

    /// Stop the lesson's kubelet (its static pods and directory go with it), delete every
    /// pod of the lesson and the lesson's hostPath directories.
    pub fn finish(mut self) -> Result<()> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<()> {
        let mut first_error = None;
        if let Some(kubelet) = self.kubelet.take() {
            if let Err(e) = kubelet.stop() {
                first_error.get_or_insert(e);
            }
        }
        for name in self.live_names.keys() {
            self.uids.remove(name);
        }
        let names: Vec<String> = self.pods.keys().cloned().collect();
        for name in names {
            if let Err(e) = self.delete_pod(&name, Some(0)) {
                first_error.get_or_insert(e);
            }
        }
        if let Some(owns) = &self.lesson.file.owns {
            let removed = crate::runtime::hand_made::release(&owns.prefix);
            if let Some(problem) = removed.problems.first() {
                first_error.get_or_insert(eyre!(
                    "failed to remove what is named {}: {problem}",
                    owns.prefix
                ));
            }
        }
        for pod in &self.lesson.pods {
            for volume in &pod.pod.spec.volumes {
                if let Some(host) = &volume.host_path {
                    if host.path.starts_with(LESSON_HOST_DIR_PREFIX) {
                        let _ = std::fs::remove_dir_all(&host.path);
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn require_live(&self, pod: &str) -> Result<()> {
        if self.uids.contains_key(pod) {
            Ok(())
        } else {
            Err(eyre!("pod {pod} is not running yet"))
        }
    }

    fn status(&mut self, pod: &str) -> Result<PodState> {
        if let Some(live) = self.pods.get_mut(pod) {
            return live.conn.status();
        }
        // A static pod: its shim belongs to the kubelet; ask it on a connection of our own.
        let uid = self
            .uids
            .get(pod)
            .ok_or_else(|| eyre!("pod {pod} is not running"))?;
        ShimConnection::connect(uid)?.status()
    }

    fn start(&mut self, pod: &str) -> Result<()> {
        if self.pods.contains_key(pod) {
            return Ok(());
        }
        if self.live_names.contains_key(pod) {
            return Err(eyre!(
                "pod {pod} is a static pod: the lesson's kubelet runs it from its file"
            ));
        }
        let lesson_pod = self
            .lesson
            .pod_named(pod)
            .ok_or_else(|| eyre!("lesson {} has no pod {pod}", self.lesson.id()))?;
        // After an edit the pod is the edited one (`kubectl replace --force`).
        let (manifest, spec) = match self.edited.get(pod) {
            Some(edit) => (edit.label(), &edit.pod),
            None => (lesson_pod.manifest.display().to_string(), &lesson_pod.pod),
        };
        let options = StartOptions {
            manifest_path: manifest,
            detach: false,
            time_scale: self.lesson.file.options.time_scale,
            network: self.network.clone(),
            podlab_exe: Some(self.exe.clone()),
            pod_max_pids: self.lesson.file.options.pod_pids_limit,
            // Lessons run on the stand-ins, so that they work offline.
            offline: true,
        };
        let (uid, conn) =
            start_pod(spec, &options).wrap_err_with(|| format!("failed to start pod {pod}"))?;
        self.uids.insert(pod.to_string(), uid.clone());
        self.pods.insert(pod.to_string(), LivePod { uid, conn });
        self.collector.forget();
        Ok(())
    }

    /// Take creation steps up to `target` (None: all). Returns how many were taken.
    fn run_to(&mut self, pod: &str, target: Option<&str>) -> Result<usize> {
        self.start(pod)?;
        let live = self
            .pods
            .get_mut(pod)
            .ok_or_else(|| eyre!("pod {pod} is not running"))?;
        let (plan, mut next) = live.conn.plan()?;
        let last = match target {
            None => {
                let before = next;
                live.conn.request(&Request::RunAll)?;
                return Ok(plan.len().saturating_sub(before));
            }
            Some(id) => plan
                .iter()
                .position(|s| s.id == id)
                .ok_or_else(|| eyre!("pod {pod} has no creation step {id:?}"))?,
        };
        let mut taken = 0;
        while next <= last {
            match live.conn.request(&Request::Next)? {
                Response::StepDone { next: n, .. } => next = n,
                other => return Err(eyre!("unexpected answer from the shim: {other:?}")),
            }
            taken += 1;
        }
        Ok(taken)
    }

    fn delete_pod(&mut self, pod: &str, grace_seconds: Option<i64>) -> Result<Duration> {
        let started = Instant::now();
        if let Some(mut live) = self.pods.remove(pod) {
            live.conn
                .delete(grace_seconds)
                .wrap_err_with(|| format!("failed to delete pod {pod} (uid {})", live.uid))?;
        } else {
            // A static pod, deleted by name as `podlab delete` does; its kubelet sees it go.
            let uid = self
                .uids
                .get(pod)
                .cloned()
                .ok_or_else(|| eyre!("pod {pod} is not running"))?;
            let name = self.live_name(pod).to_string();
            ShimConnection::connect(&uid)
                .and_then(|mut conn| conn.delete(grace_seconds))
                .wrap_err_with(|| format!("failed to delete pod {name} (uid {uid})"))?;
        }
        let took = started.elapsed();
        self.uids.remove(pod);
        self.last_delete = Some(took);
        self.collector.forget();
        Ok(took)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

fn short_uid(uid: &str) -> String {
    uid.chars().take(8).collect()
}

fn timed_out(last: CheckResult, timeout: Duration) -> CheckResult {
    let secs = timeout.as_secs_f64();
    CheckResult::fail(
        format!("not seen within {secs:.0}s: {}", last.message.en),
        format!("{secs:.0} 秒内没有看到：{}", last.message.zh),
    )
}

/// `TERM`, `SIGTERM` or a number.
pub fn parse_signal(name: &str) -> Option<Signal> {
    if let Ok(n) = name.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_short_name_full_name_or_number() {
        assert_eq!(parse_signal("TERM"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("sigkill"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("NOPE"), None);
    }
}
