//! Playing schema 2 (`lesson::learner`): the learner's tasks (a baseline taken when the step
//! is shown, then each task's check polled until the learner's work is seen), questions (the
//! right answer computed once the action is done: from the live system or from podlab's own
//! kubelet formulas) and the learner's copy of a manifest (edited, checked with
//! `file:line:column`, applied by deleting and creating the pod again, as
//! `kubectl replace --force` does).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eyre::{eyre, Result};

use super::{Runner, POLL_INTERVAL};
use crate::i18n::{Lang, Text};
use crate::kube::resources::{
    container_cgroup_values, ContainerResources, QUOTA_PERIOD_US, WEIGHT_FORMULA_IN_USE,
};
use crate::lesson::checks::{evaluate, namespaces_of, pid_namespace_members};
use crate::lesson::learner::{
    is_right, status_answer, task_order, Answer, CgroupValueKind, Grade, TaskState, TaskStatus,
};
use crate::lesson::outcome::{ActionOutcome, CheckResult, StepOutcome};
use crate::lesson::refs::{Ref, Who};
use crate::lesson::schema::{EditPodAction, StepSpec};
use crate::observe::Limit;
use crate::spec::{self, Pod};

/// A task being watched.
#[derive(Debug, Clone)]
pub(super) struct TaskWatch {
    /// Its check was seen failing since the task began: it may pass now.
    seen_failing: bool,
    last: Text,
}

/// A pod's manifest as an edit left it.
#[derive(Debug, Clone)]
pub struct EditedManifest {
    pub text: String,
    pub pod: Pod,
    /// The learner's copy, when there is one (the player's `m`); a self-test edits in memory.
    pub path: Option<PathBuf>,
}

impl EditedManifest {
    /// What the pod's state records as its manifest.
    pub(super) fn label(&self) -> String {
        self.path
            .as_ref()
            .map_or("(edited in memory)".into(), |p| p.display().to_string())
    }
}

impl Runner {
    /// The step's tasks as they stand, without evaluating anything.
    fn statuses(&self, step: &StepSpec) -> Vec<TaskStatus> {
        let order = task_order(&step.tasks).unwrap_or_default();
        order
            .into_iter()
            .map(|i| {
                let task = &step.tasks[i];
                let state = if self.progress.tasks_done.contains(&task.id) {
                    TaskState::Done
                } else if !self.needs_done(&task.needs) {
                    TaskState::Blocked
                } else {
                    match self.watches.get(&task.id) {
                        Some(w) if !w.seen_failing => TaskState::AlreadyTrue,
                        _ => TaskState::Waiting,
                    }
                };
                let message = self
                    .watches
                    .get(&task.id)
                    .map(|w| w.last.clone())
                    .unwrap_or_else(|| Text::new("", ""));
                TaskStatus {
                    id: task.id.clone(),
                    state,
                    message,
                }
            })
            .collect()
    }

    fn needs_done(&self, needs: &[String]) -> bool {
        needs.iter().all(|n| self.progress.tasks_done.contains(n))
    }

    /// The step is shown: from now on a task counts only if its check is seen failing and then
    /// passing (a `changed` check since this step compares with now). Returns the tasks.
    pub fn begin_tasks(&mut self, index: usize) -> Vec<TaskStatus> {
        let Ok(step) = self.step(index) else {
            return Vec::new();
        };
        self.take_marks(&step.id);
        for task in &step.tasks {
            if self.progress.tasks_done.contains(&task.id) {
                continue;
            }
            let baseline = self.evaluate_now(&step, &task.check);
            self.watches.insert(
                task.id.clone(),
                TaskWatch {
                    seen_failing: !baseline.passed,
                    last: baseline.message,
                },
            );
        }
        self.statuses(&step)
    }

    /// Evaluate every task whose needs are done once; a task seen done is saved as done.
    pub fn poll_tasks(&mut self, index: usize) -> Vec<TaskStatus> {
        let Ok(step) = self.step(index) else {
            return Vec::new();
        };
        for i in task_order(&step.tasks).unwrap_or_default() {
            let task = &step.tasks[i];
            if self.progress.tasks_done.contains(&task.id) || !self.needs_done(&task.needs) {
                continue;
            }
            if !self.watches.contains_key(&task.id) {
                // Begun before its needs were done: its baseline is its first evaluation.
                self.watches.insert(
                    task.id.clone(),
                    TaskWatch {
                        seen_failing: false,
                        last: Text::new("", ""),
                    },
                );
            }
            let result = self.evaluate_now(&step, &task.check);
            let seen_failing = {
                let watch = self.watches.get_mut(&task.id).expect("inserted above");
                watch.seen_failing |= !result.passed;
                watch.last = result.message.clone();
                watch.seen_failing
            };
            if result.passed && seen_failing {
                self.progress.tasks_done.insert(task.id.clone());
                if let Some(store) = &self.store {
                    let _ = store.save(&self.progress);
                }
            }
        }
        self.statuses(&step)
    }

    /// Do task `task` of step `index` in the learner's place: its solution.
    pub fn solve_task(&mut self, index: usize, task: &str) -> Result<ActionOutcome> {
        let step = self.step(index)?;
        let spec = step
            .tasks
            .iter()
            .find(|t| t.id == task)
            .ok_or_else(|| eyre!("step {} has no task {task:?}", step.id))?;
        let solution = spec
            .solution
            .clone()
            .ok_or_else(|| eyre!("task {task:?} has no solution"))?;
        self.refresh_static();
        let outcome = self.act(&step, &solution);
        self.refresh_static();
        outcome
    }

    /// Whether every task of step `index` is done.
    pub fn tasks_done(&self, index: usize) -> bool {
        self.lesson.steps().get(index).is_some_and(|s| {
            s.tasks
                .iter()
                .all(|t| self.progress.tasks_done.contains(&t.id))
        })
    }

    /// Poll the step's tasks until `task` is done or `timeout` is over.
    pub fn wait_task(&mut self, index: usize, task: &str, timeout: Duration) -> TaskStatus {
        let deadline = Instant::now() + timeout;
        loop {
            let statuses = self.poll_tasks(index);
            let status = statuses
                .into_iter()
                .find(|s| s.id == task)
                .unwrap_or_else(|| TaskStatus {
                    id: task.to_string(),
                    state: TaskState::Waiting,
                    message: Text::new("no such task", "没有这个任务"),
                });
            if status.done() || Instant::now() >= deadline || self.interrupted() {
                return status;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The self-test's (and resume's) way through a step with tasks: each task, in the order
    /// of its needs, must not be done before its solution and must be seen after it.
    pub(super) fn run_task_step(&mut self, index: usize) -> Result<StepOutcome> {
        let step = self.step(index)?;
        let timeout = self.timeout_of(&step);
        let already: Vec<String> = step
            .tasks
            .iter()
            .filter(|t| self.progress.tasks_done.contains(&t.id))
            .map(|t| t.id.clone())
            .collect();
        self.begin_tasks(index);
        let mut summaries = (Vec::new(), Vec::new());
        let mut found = (Vec::new(), Vec::new());
        let outcome = |action: (Vec<String>, Vec<String>), check: CheckResult| StepOutcome {
            step: step.id.clone(),
            action: ActionOutcome {
                summary: Text::new(action.0.join("; "), action.1.join("；")),
                output: String::new(),
            },
            check: Some(check),
        };
        for i in task_order(&step.tasks).unwrap_or_default() {
            let task = step.tasks[i].clone();
            let redo = already.contains(&task.id);
            if !redo {
                let before = self.poll_tasks(index);
                if before.iter().any(|s| s.id == task.id && s.done()) {
                    return Ok(outcome(
                        summaries,
                        CheckResult::fail(
                            format!(
                                "task {} passed before anything was done: its check must see \
                                 the learner's change",
                                task.id
                            ),
                            format!(
                                "任务 {} 还没做就通过了：它的检查必须看到学习者做的改变",
                                task.id
                            ),
                        ),
                    ));
                }
            }
            let done = self.solve_task(index, &task.id)?;
            summaries
                .0
                .push(format!("{}: {}", task.id, done.summary.en));
            summaries
                .1
                .push(format!("{}：{}", task.id, done.summary.zh));
            let status = self.wait_task(index, &task.id, timeout);
            if !status.done() {
                let secs = timeout.as_secs_f64();
                return Ok(outcome(
                    summaries,
                    CheckResult::fail(
                        format!(
                            "task {} not seen within {secs:.0}s after its solution: {}",
                            task.id, status.message.en
                        ),
                        format!(
                            "做完任务 {} 的解法后 {secs:.0} 秒内没有看到结果：{}",
                            task.id, status.message.zh
                        ),
                    ),
                ));
            }
            found.0.push(format!("{}: {}", task.id, status.message.en));
            found.1.push(format!("{}：{}", task.id, status.message.zh));
        }
        let check = if step.check.is_some() {
            self.wait_check(index)
        } else {
            CheckResult::pass("", "")
        };
        if !check.passed {
            return Ok(outcome(summaries, check));
        }
        found.0.push(check.message.en);
        found.1.push(check.message.zh);
        let en: Vec<String> = found.0.into_iter().filter(|s| !s.is_empty()).collect();
        let zh: Vec<String> = found.1.into_iter().filter(|s| !s.is_empty()).collect();
        let result = outcome(summaries, CheckResult::pass(en.join("\n"), zh.join("\n")));
        self.complete(index)?;
        Ok(result)
    }

    /// On resume: the tasks of step `index` done in an earlier session are done again by their
    /// solutions, so the machine is where the learner left it.
    pub(super) fn redo_done_tasks(&mut self, index: usize) -> Result<()> {
        let Ok(step) = self.step(index) else {
            return Ok(());
        };
        for i in task_order(&step.tasks).unwrap_or_default() {
            let task = &step.tasks[i];
            if self.progress.tasks_done.contains(&task.id) {
                self.solve_task(index, &task.id)?;
            }
        }
        Ok(())
    }

    /// The right answer of step `index`'s question, with where it came from. Called once the
    /// action is done.
    pub fn expected_answer(&mut self, index: usize) -> Result<(String, Text), Text> {
        let step = self
            .step(index)
            .map_err(|e| Text::new(e.to_string(), e.to_string()))?;
        let Some(question) = &step.question else {
            return Err(Text::new(
                format!("step {} asks no question", step.id),
                format!("步骤 {} 没有提问", step.id),
            ));
        };
        let Some(answer) = question.answer.clone() else {
            return Err(Text::new("the question has no answer", "这个问题没有答案"));
        };
        let pod = self.lesson.pod_of(&step).to_string();
        match answer {
            Answer::NamespaceInode(a) => {
                let r = Ref::parse(&a.target, &pod);
                let kind = a.kind;
                let found = self.with_world(&step, |w| namespaces_of(w, &r));
                let ns = found.map_err(|f| f.message)?;
                let id = ns.get(&kind).ok_or_else(|| {
                    Text::new(
                        format!(
                            "the {} namespace of {r} could not be read",
                            kind.file_name()
                        ),
                        format!("无法读取 {r} 的 {} 命名空间", kind.file_name()),
                    )
                })?;
                let file = kind.file_name();
                Ok((
                    id.inode.to_string(),
                    Text::new(
                        format!("{r}: {file}:[{}] (ls -l /proc/PID/ns/{file})", id.inode),
                        format!("{r}：{file}:[{}]（ls -l /proc/PID/ns/{file}）", id.inode),
                    ),
                ))
            }
            Answer::ProcessCount(a) => {
                let r = Ref::parse(&a.target, &pod);
                let members = self
                    .with_world(&step, |w| pid_namespace_members(w, &r))
                    .map_err(|f| f.message)?;
                let listed: Vec<String> = members
                    .iter()
                    .map(|p| format!("{}:{}", p.local_pid(), p.comm))
                    .collect();
                Ok((
                    members.len().to_string(),
                    Text::new(
                        format!("ps in {r} lists {}: {}", members.len(), listed.join(" ")),
                        format!(
                            "在 {r} 中 ps 列出 {} 个：{}",
                            members.len(),
                            listed.join(" ")
                        ),
                    ),
                ))
            }
            Answer::CgroupValue(a) => self.cgroup_answer(&step, &pod, &a.target, a.value),
            Answer::Holds(check) => {
                let result = self.with_world(&step, |w| evaluate(&check, w, &pod));
                let yes = if result.passed { "yes" } else { "no" };
                Ok((yes.to_string(), result.message))
            }
            Answer::Status(a) => {
                let r = Ref::parse(&a.target, &pod);
                let state = self.with_world(&step, |w| w.state(&r.pod)).ok_or_else(|| {
                    Text::new(
                        format!("pod {} is not running", r.pod),
                        format!("Pod {} 没有在运行", r.pod),
                    )
                })?;
                let container = match &r.who {
                    Who::Container(name) => name.as_str(),
                    _ => "",
                };
                status_answer(&state, a.field, container)
            }
        }
    }

    /// The number kubelet writes for a container's resource, from podlab's formulas, and what
    /// the live cgroup file holds.
    fn cgroup_answer(
        &mut self,
        step: &StepSpec,
        pod: &str,
        container: &str,
        value: CgroupValueKind,
    ) -> Result<(String, Text), Text> {
        let spec = self.pod_spec(pod).ok_or_else(|| {
            Text::new(
                format!("lesson has no pod {pod}"),
                format!("课程里没有 Pod {pod}"),
            )
        })?;
        let found = spec
            .spec
            .containers
            .iter()
            .map(|c| (c, false))
            .chain(spec.spec.init_containers.iter().map(|c| (c, true)))
            .find(|(c, _)| c.name == container);
        let Some((c, is_init)) = found else {
            return Err(Text::new(
                format!("pod {pod} has no container {container}"),
                format!("Pod {pod} 没有容器 {container}"),
            ));
        };
        let resources = ContainerResources::from_container(c, is_init);
        let values = container_cgroup_values(&resources);
        let live = self
            .with_world(step, |w| w.snapshot(pod))
            .ok()
            .and_then(|s| {
                s.sandboxes.first().and_then(|sb| {
                    sb.containers
                        .iter()
                        .find(|v| v.name == container && !v.is_pause)
                        .and_then(|v| v.cgroup.clone())
                })
            });
        let v2 = match &live {
            Some(info) => info.version == 2,
            None => crate::runtime::cgroups::layout::CgroupLayout::detect()
                .map(|l| l.mode() == crate::runtime::cgroups::layout::CgroupMode::Unified)
                .unwrap_or(false),
        };
        let show = |l: Option<Limit>| match l {
            Some(Limit::Value(v)) => v.to_string(),
            Some(Limit::Unlimited) => "max".into(),
            None => "?".into(),
        };
        let millis = resources.requests.cpu();
        let (expected, file, formula, now) = match value {
            CgroupValueKind::CpuRequest => {
                let shares = values.cpu_shares.unwrap_or(2);
                if v2 {
                    let weight = WEIGHT_FORMULA_IN_USE.shares_to_weight(shares);
                    (
                        weight,
                        "cpu.weight",
                        format!(
                            "{millis}m × 1024 / 1000 = {shares} shares → {}",
                            WEIGHT_FORMULA_IN_USE.formula()
                        ),
                        live.as_ref()
                            .and_then(|i| i.cpu_weight)
                            .map(|w| w.to_string()),
                    )
                } else {
                    (
                        shares,
                        "cpu.shares",
                        format!("{millis}m × 1024 / 1000 = {shares}"),
                        live.as_ref()
                            .and_then(|i| i.cpu_shares)
                            .map(|s| s.to_string()),
                    )
                }
            }
            CgroupValueKind::CpuLimit => {
                let quota = values.cpu_quota_us.unwrap_or(-1).max(0) as u64;
                (
                    quota,
                    if v2 { "cpu.max" } else { "cpu.cfs_quota_us" },
                    format!(
                        "{}m × {QUOTA_PERIOD_US} / 1000 = {quota}",
                        resources.limits.cpu()
                    ),
                    live.as_ref().map(|i| show(i.cpu_quota_us)),
                )
            }
            CgroupValueKind::MemoryLimit => {
                let bytes = values.memory_limit_bytes.unwrap_or(0).max(0) as u64;
                (
                    bytes,
                    if v2 {
                        "memory.max"
                    } else {
                        "memory.limit_in_bytes"
                    },
                    format!("{bytes} bytes"),
                    live.as_ref().map(|i| show(i.memory_limit)),
                )
            }
        };
        let now = now.unwrap_or_else(|| "?".into());
        Ok((
            expected.to_string(),
            Text::new(
                format!("kubelet's formula: {formula}; {container}'s {file} holds {now}"),
                format!("kubelet 的公式：{formula}；{container} 的 {file} 里是 {now}"),
            ),
        ))
    }

    /// Grade an answer to step `index`'s question (None: nobody answered, e.g. autoplay).
    pub fn grade(&mut self, index: usize, given: Option<&str>) -> Result<Grade, Text> {
        let step = self
            .step(index)
            .map_err(|e| Text::new(e.to_string(), e.to_string()))?;
        let explain = step
            .question
            .as_ref()
            .map(|q| q.explain.clone())
            .unwrap_or_else(|| Text::new("", ""));
        let (expected, evidence) = self.expected_answer(index)?;
        Ok(Grade {
            given: given.map(str::to_string),
            right: given.is_some_and(|g| is_right(g, &expected)),
            expected,
            evidence,
            explain,
        })
    }

    /// The pod as it runs: edited, or the lesson's.
    fn pod_spec(&self, pod: &str) -> Option<Pod> {
        match self.edited.get(pod) {
            Some(edit) => Some(edit.pod.clone()),
            None => self.lesson.pod_named(pod).map(|p| p.pod.clone()),
        }
    }

    /// The pod's manifest text as it runs now.
    fn manifest_text(&self, pod: &str) -> Result<String> {
        if let Some(edit) = self.edited.get(pod) {
            return Ok(edit.text.clone());
        }
        let lesson_pod = self
            .lesson
            .pod_named(pod)
            .ok_or_else(|| eyre!("lesson {} has no pod {pod}", self.lesson.id()))?;
        std::fs::read_to_string(&lesson_pod.manifest)
            .map_err(|e| eyre!("failed to read {}: {e}", lesson_pod.manifest.display()))
    }

    /// The learner's copy of a pod's manifest (what `m` opens in an editor). The first time
    /// in a session it is written from the manifest as it runs now; after that it is left as
    /// the learner left it, so a manifest with mistakes can be edited again.
    pub fn manifest_copy(&mut self, pod: &str) -> Result<PathBuf> {
        if self.live_names.contains_key(pod) {
            return Err(eyre!(
                "pod {pod} is a static pod: the lesson's kubelet runs it from its own file"
            ));
        }
        if let Some(path) = self.edited.get(pod).and_then(|e| e.path.clone()) {
            if path.is_file() {
                return Ok(path);
            }
        }
        let store = self.store.clone().ok_or_else(|| {
            eyre!("this run keeps no files of the learner's (a self-test edits in memory)")
        })?;
        let dir = store.manifests_dir(self.lesson.id())?;
        let path = dir.join(format!("{pod}.yaml"));
        let text = self.manifest_text(pod)?;
        std::fs::write(&path, &text)
            .map_err(|e| eyre!("failed to write {}: {e}", path.display()))?;
        store.give_to_owner(&path);
        let parsed = spec::parse_pod(&text, &path.display().to_string())
            .map_err(|e| eyre!("{}", e.render(Lang::En)))?;
        self.edited.insert(
            pod.to_string(),
            EditedManifest {
                text,
                pod: parsed.pod,
                path: Some(path.clone()),
            },
        );
        Ok(path)
    }

    /// Check the learner's copy (problems at `file:line:column`, in both languages) and, if it
    /// is a valid manifest of the same pod, replace the pod with it.
    pub fn apply_copy(&mut self, pod: &str) -> Result<ActionOutcome, Text> {
        let path = self
            .edited
            .get(pod)
            .and_then(|e| e.path.clone())
            .ok_or_else(|| Text::new("press m to edit the manifest first", "先按 m 编辑清单"))?;
        if let Some(store) = &self.store {
            // An editor running as root may have written a new file: give it back.
            store.give_to_owner(&path);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Text::new(
                format!("cannot read {}: {e}", path.display()),
                format!("无法读取 {}：{e}", path.display()),
            )
        })?;
        let edited = self.checked_edit(pod, text, Some(path))?;
        self.replace_pod(pod, edited)
            .map_err(|e| Text::new(format!("{e:#}"), format!("{e:#}")))
    }

    /// `text` as the new manifest of `pod`: valid, and the same pod.
    fn checked_edit(
        &self,
        pod: &str,
        text: String,
        path: Option<PathBuf>,
    ) -> Result<EditedManifest, Text> {
        let source = path
            .as_ref()
            .map_or_else(|| format!("{pod}.yaml"), |p| p.display().to_string());
        let parsed = spec::parse_pod(&text, &source)
            .map_err(|e| Text::new(e.render(Lang::En), e.render(Lang::Zh)))?;
        if parsed.pod.metadata.name != pod {
            return Err(Text::new(
                format!(
                    "{source}: the pod is named {} now; keep metadata.name: {pod}",
                    parsed.pod.metadata.name
                ),
                format!(
                    "{source}：Pod 现在叫 {}；请保留 metadata.name: {pod}",
                    parsed.pod.metadata.name
                ),
            ));
        }
        Ok(EditedManifest {
            text,
            pod: parsed.pod,
            path,
        })
    }

    /// `replace_pod`: edit the manifest as it runs (the learner's copy when there is a store)
    /// and replace the pod.
    pub(super) fn replace_pod_action(
        &mut self,
        pod: &str,
        edit: &EditPodAction,
    ) -> Result<ActionOutcome> {
        let text = self.manifest_text(pod)?;
        if !text.contains(&edit.replace) {
            return Err(eyre!(
                "the manifest of {pod} does not contain {:?}",
                edit.replace
            ));
        }
        let text = text.replace(&edit.replace, &edit.with);
        let path = match self.store.is_some() {
            true => Some(self.manifest_copy(pod)?),
            false => None,
        };
        if let Some(path) = &path {
            std::fs::write(path, &text)
                .map_err(|e| eyre!("failed to write {}: {e}", path.display()))?;
        }
        let edited = self
            .checked_edit(pod, text, path)
            .map_err(|t| eyre!("{}", t.en))?;
        self.replace_pod(pod, edited)
    }

    /// Delete the pod and create it again from `edited`, as `kubectl replace --force` does.
    fn replace_pod(&mut self, pod: &str, edited: EditedManifest) -> Result<ActionOutcome> {
        let old = self.uids.get(pod).cloned().unwrap_or_default();
        let label = edited.label();
        self.edited.insert(pod.to_string(), edited);
        if self.pods.contains_key(pod) {
            self.delete_pod(pod, None)?;
        }
        self.run_to(pod, None)?;
        let new = self.uids.get(pod).cloned().unwrap_or_default();
        let short = |u: &str| u.chars().take(8).collect::<String>();
        if old.is_empty() {
            // The pod was already deleted: nothing to replace, only to create.
            return Ok(ActionOutcome {
                summary: Text::new(
                    format!("pod {pod} created from {label}: UID {}", short(&new)),
                    format!("已按 {label} 创建 Pod {pod}：UID {}", short(&new)),
                ),
                output: String::new(),
            });
        }
        Ok(ActionOutcome {
            summary: Text::new(
                format!(
                    "pod {pod} deleted and created again from {label}, as kubectl replace \
                     --force does: UID {} → {}",
                    short(&old),
                    short(&new)
                ),
                format!(
                    "Pod {pod} 已删除，并按 {label} 重新创建，和 kubectl replace --force \
                     一样：UID {} → {}",
                    short(&old),
                    short(&new)
                ),
            ),
            output: String::new(),
        })
    }
}
