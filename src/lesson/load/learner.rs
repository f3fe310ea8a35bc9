//! `podlab lessons check` for schema 2: tasks (an id, what to do, a check, a solution, needs
//! that name tasks of this step or an earlier one and make no cycle) and questions (an answer
//! podlab can compute, choices that fit it, an explanation), and the `replace_pod` action.

use std::collections::HashSet;

use super::{Checker, LessonPod};
use crate::lesson::learner::{task_order, Answer, CgroupValueKind, QuestionSpec, LEARNER_SCHEMA};
use crate::lesson::refs::{Ref, Who};
use crate::lesson::schema::{Action, EditPodAction, StepSpec};
use crate::spec::yaml;

impl Checker<'_> {
    /// The tasks and the question of step `index`.
    pub(super) fn learner(
        &mut self,
        index: usize,
        step: &StepSpec,
        pod: &LessonPod,
        pods: &[LessonPod],
        earlier: &HashSet<&str>,
    ) {
        let at = format!("steps[{index}]");
        if step.tasks.is_empty() && step.question.is_none() {
            return;
        }
        if self.schema < LEARNER_SCHEMA {
            let field = if step.tasks.is_empty() {
                "question"
            } else {
                "tasks"
            };
            self.problem(
                &format!("{at}.{field}"),
                format!("tasks and questions need schema: {LEARNER_SCHEMA} at the top of the file"),
            );
            return;
        }
        if !step.tasks.is_empty() && step.question.is_some() {
            self.problem(
                &format!("{at}.question"),
                "a step has tasks or a question, not both: put the question on the step before",
            );
        }
        if !step.tasks.is_empty() && !matches!(step.action, Action::Read) {
            self.problem(
                &format!("{at}.action"),
                "a step with tasks has no action of its own (the learner acts): put what sets \
                 the tasks up in the step before",
            );
        }
        let name = pod.pod.metadata.name.clone();
        for (t, task) in step.tasks.iter().enumerate() {
            let field = format!("{at}.tasks[{t}]");
            if task.id.is_empty() || task.id.contains(char::is_whitespace) {
                self.problem(&format!("{field}.id"), "a task id is one word");
            } else if let Some(other) = self.tasks.insert(task.id.clone(), index) {
                self.problem(
                    &format!("{field}.id"),
                    format!(
                        "task id {:?} is also used at step {}; give each task its own id",
                        task.id,
                        other + 1
                    ),
                );
            }
            self.text(&format!("{field}.do"), &task.todo, false);
            self.check(&format!("{field}.check"), &task.check, &name, pods, earlier);
            match &task.solution {
                None => self.problem(
                    &field,
                    format!(
                        "task {:?} has no solution: give the action the self-test performs in \
                         the learner's place (signal, exec, replace_pod, …)",
                        task.id
                    ),
                ),
                Some(Action::Read | Action::Sleep(_)) => self.problem(
                    &format!("{field}.solution"),
                    "a solution changes the machine as the learner would: read and sleep do not",
                ),
                Some(solution) => {
                    self.action(&format!("{field}.solution"), solution, pod, pods, true)
                }
            }
            for (n, need) in task.needs.iter().enumerate() {
                let here = step.tasks.iter().any(|o| &o.id == need && o.id != task.id);
                let before = self.tasks.get(need).is_some_and(|&s| s < index);
                if !here && !before {
                    self.problem(
                        &format!("{field}.needs[{n}]"),
                        format!("no task {need:?} in this step or an earlier one"),
                    );
                }
            }
        }
        if let Err(stuck) = task_order(&step.tasks) {
            let cycle = cycle_among(&step.tasks, &stuck);
            let first = stuck.first().copied().unwrap_or(0);
            self.problem(
                &format!("{at}.tasks[{first}].needs"),
                format!("the tasks' needs make a cycle: {}", cycle.join(" → ")),
            );
        }
        if let Some(question) = &step.question {
            self.question(&format!("{at}.question"), question, pod, pods, earlier);
        }
    }

    fn question(
        &mut self,
        at: &str,
        question: &QuestionSpec,
        pod: &LessonPod,
        pods: &[LessonPod],
        earlier: &HashSet<&str>,
    ) {
        let name = pod.pod.metadata.name.clone();
        self.text(&format!("{at}.ask"), &question.ask, false);
        self.text(&format!("{at}.explain"), &question.explain, false);
        for (c, choice) in question.choices.iter().enumerate() {
            self.text(&format!("{at}.choices[{c}].text"), &choice.text, true);
            if question.choices[..c]
                .iter()
                .any(|o| o.value == choice.value)
            {
                self.problem(
                    &format!("{at}.choices[{c}].value"),
                    format!("two choices have the value {:?}", choice.value),
                );
            }
        }
        let Some(answer) = &question.answer else {
            self.problem(
                at,
                "the question has no answer: say where podlab computes it (namespace_inode, \
                 process_count, cgroup_value, holds or status); an answer is never written in the lesson",
            );
            return;
        };
        let typed_only = |checker: &mut Self, what: &str| {
            if !question.choices.is_empty() {
                checker.problem(
                    &format!("{at}.choices"),
                    format!("{what} is typed by the learner: leave out the choices"),
                );
            }
        };
        match answer {
            Answer::NamespaceInode(a) => {
                self.any_ref(
                    &format!("{at}.answer.namespace_inode.target"),
                    &a.target,
                    &name,
                    pods,
                );
                typed_only(self, "a namespace inode");
            }
            Answer::ProcessCount(a) => {
                let field = format!("{at}.answer.process_count.target");
                match Ref::parse(&a.target, &name).who {
                    Who::Container(_) | Who::Pause => self.any_ref(&field, &a.target, &name, pods),
                    _ => self.problem(&field, "count the processes of a container or pause"),
                }
            }
            Answer::CgroupValue(a) => {
                let field = format!("{at}.answer.cgroup_value.target");
                typed_only(self, "a cgroup value");
                let container = pod
                    .pod
                    .spec
                    .containers
                    .iter()
                    .chain(&pod.pod.spec.init_containers)
                    .find(|c| c.name == a.target);
                let Some(container) = container else {
                    self.container(&field, &a.target, &name, pods, false);
                    return;
                };
                let limits = &container.resources.limits;
                let missing = match a.value {
                    CgroupValueKind::CpuRequest => None,
                    CgroupValueKind::CpuLimit => limits.cpu.is_none().then_some("CPU"),
                    CgroupValueKind::MemoryLimit => limits.memory.is_none().then_some("memory"),
                };
                if let Some(what) = missing {
                    self.problem(
                        &format!("{at}.answer.cgroup_value.value"),
                        format!(
                            "container {} has no {what} limit: kubelet writes no value to ask for",
                            a.target
                        ),
                    );
                }
            }
            Answer::Status(a) => {
                let field = format!("{at}.answer.status.target");
                match (a.field.of_pod(), a.target == "pod") {
                    (true, true) => {}
                    (true, false) => self.problem(
                        &field,
                        format!("{:?} is the pod's: the target is pod", a.field),
                    ),
                    (false, _) => self.container(&field, &a.target, &name, pods, false),
                }
            }
            Answer::Holds(check) => {
                self.check(&format!("{at}.answer.holds"), check, &name, pods, earlier);
                let values: Vec<&str> = question.choices.iter().map(|c| c.value.as_str()).collect();
                if !values.is_empty() && {
                    let mut sorted = values.clone();
                    sorted.sort_unstable();
                    sorted != ["no", "yes"]
                } {
                    self.problem(
                        &format!("{at}.choices"),
                        "the answer holds or not: its choices are the values yes and no",
                    );
                }
            }
        }
    }

    /// `replace_pod`: the text is in the pod's manifest (as earlier edits leave it) and the
    /// edit leaves a valid manifest of the same pod.
    pub(super) fn replace_pod(&mut self, field: &str, edit: &EditPodAction, pod: &LessonPod) {
        let owner = pod.pod.metadata.name.clone();
        let text = match self.pod_texts.get(&owner) {
            Some(text) => text.clone(),
            None => match yaml::read_text_file(&pod.manifest) {
                Ok(text) => text,
                Err(e) => {
                    self.problem(field, format!("cannot read the manifest: {e}"));
                    return;
                }
            },
        };
        let what = format!("the manifest of pod {owner}");
        let source = pod.manifest.display().to_string();
        if let Some(edited) = self.edited_text(field, &what, &source, &owner, &text, edit) {
            self.pod_texts.insert(owner, edited);
        }
    }
}

/// A cycle among the tasks that cannot be ordered, closed (`a → b → a`): each of them needs
/// another of them, so following those needs comes back to a task already seen.
fn cycle_among(tasks: &[crate::lesson::learner::TaskSpec], stuck: &[usize]) -> Vec<String> {
    let Some(&start) = stuck.first() else {
        return Vec::new();
    };
    let mut path = vec![start];
    loop {
        let last = path[path.len() - 1];
        let next = tasks[last].needs.iter().find_map(|n| {
            stuck
                .iter()
                .copied()
                .find(|&i| &tasks[i].id == n && i != last)
        });
        match next {
            Some(n) if path.contains(&n) => {
                let from = path.iter().position(|&p| p == n).unwrap_or(0);
                let mut ids: Vec<String> =
                    path[from..].iter().map(|&i| tasks[i].id.clone()).collect();
                ids.push(tasks[n].id.clone());
                return ids;
            }
            Some(n) => path.push(n),
            None => return vec![tasks[start].id.clone()],
        }
    }
}
