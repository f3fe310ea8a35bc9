//! Schema 2: what the learner does in a lesson. A step may hand the learner **tasks** (do
//! something to the live pod, with the player's keys or in another terminal; a check watches
//! until it is seen) or ask a **question** (before the step's action; graded after it, from the
//! live system or from podlab's own kubelet formulas, never from an answer written in the
//! lesson).
//!
//! This module is the data and the rules that need no machine: the types a lesson file holds,
//! the order of tasks (`needs`), how a typed answer is compared, and which player key helps
//! with a task. Playing them is `runner::learner`.

use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::kube::pod_state::{
    describe_state, describe_state_zh, ContainerState, ContainerStatus, PodState,
};
use crate::observe::NsKind;

use super::schema::{Action, Check};

/// The first schema with tasks and questions.
pub const LEARNER_SCHEMA: u32 = 2;

/// Something the learner does while the step is shown; its check is polled (without a
/// timeout in the player) until the learner's work is seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Unique in the lesson; progress keeps done tasks by it.
    pub id: String,
    /// What to do, as the learner reads it.
    #[serde(rename = "do")]
    pub todo: Text,
    /// Tasks (of this step or an earlier one) that must be done before this one counts.
    #[serde(default)]
    pub needs: Vec<String>,
    /// What shows the work was done. It must be seen failing once since the task began (its
    /// baseline), so a state that was already there never passes a task.
    pub check: Check,
    /// What the self-test does in the learner's place, in the steps' action vocabulary.
    pub solution: Option<Action>,
}

/// A question asked before the step's action and graded after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSpec {
    pub ask: Text,
    /// Where the right answer comes from.
    pub answer: Option<Answer>,
    /// Multiple choice: each choice's value is compared with the computed answer. Without
    /// choices the learner types a value (a `holds` answer offers yes and no).
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Why the answer is what it is: shown after grading, above all for a wrong answer.
    pub explain: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub text: Text,
}

/// How the right answer of a question is computed once the step's action is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// The inode number of a namespace of a container, `pause` or `host`, read live.
    NamespaceInode(NamespaceInodeAnswer),
    /// How many processes `ps` shows inside a container: its PID namespace's members, live.
    ProcessCount(TargetAnswer),
    /// The number kubelet writes into a container's cgroup file for one of its resources, from
    /// podlab's kubelet formulas and this machine's cgroup layout; the live file is the
    /// evidence.
    CgroupValue(CgroupValueAnswer),
    /// `yes` when this check passes on the live system after the action, else `no`: a
    /// conceptual question whose answer the step shows live.
    Holds(Box<Check>),
    /// What the pod's status says now, as `podlab describe` and `kubectl describe` show it: a
    /// container's reason, exit code or restarts, the pod's phase, or which container
    /// restarts. The questions of troubleshooting, answered from the live pod.
    Status(StatusAnswer),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusAnswer {
    /// A container (init containers too) of the step's pod, or `pod` for `phase` and
    /// `restarting`.
    pub target: String,
    pub field: StatusField,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusField {
    /// The reason of the container's state (`CrashLoopBackOff`, `PodInitializing`, `Error`;
    /// `Running` when it runs).
    Reason,
    /// The reason of its last termination (`lastState.terminated.reason`: `OOMKilled`, …).
    LastReason,
    /// The exit code of its termination: the current state's, else the last state's.
    ExitCode,
    /// Its restart count.
    Restarts,
    /// The pod's phase (`pod` only): Pending, Running, Succeeded, Failed.
    Phase,
    /// The container that has restarted most, at least once (`pod` only).
    Restarting,
}

impl StatusField {
    /// Whether the field is the pod's (`target: pod`) rather than a container's.
    pub fn of_pod(self) -> bool {
        matches!(self, StatusField::Phase | StatusField::Restarting)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceInodeAnswer {
    pub target: String,
    pub kind: NsKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetAnswer {
    pub target: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupValueAnswer {
    /// A container of the step's pod.
    pub target: String,
    pub value: CgroupValueKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupValueKind {
    /// `cpu.shares` (v1) or `cpu.weight` (v2), from the CPU request.
    CpuRequest,
    /// The CFS quota in µs per 100000 µs (`cpu.cfs_quota_us` / first field of `cpu.max`).
    CpuLimit,
    /// The memory limit in bytes (`memory.limit_in_bytes` / `memory.max`).
    MemoryLimit,
}

impl Answer {
    /// The values a `holds` answer takes, as choices the player offers.
    pub fn yes_no() -> Vec<Choice> {
        vec![
            Choice {
                value: "yes".into(),
                text: Text::new("yes", "是"),
            },
            Choice {
                value: "no".into(),
                text: Text::new("no", "否"),
            },
        ]
    }
}

impl QuestionSpec {
    /// The choices the player offers: the lesson's, or yes and no for a `holds` answer; none
    /// means a typed answer.
    pub fn offered_choices(&self) -> Vec<Choice> {
        match (&self.answer, self.choices.is_empty()) {
            (Some(Answer::Holds(_)), true) => Answer::yes_no(),
            _ => self.choices.clone(),
        }
    }
}

/// Two specs are equal when they read the same (checks and actions have no `PartialEq`; a
/// trace header compares its steps).
fn same_as_json<T: Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

impl PartialEq for TaskSpec {
    fn eq(&self, other: &TaskSpec) -> bool {
        same_as_json(self, other)
    }
}

impl PartialEq for QuestionSpec {
    fn eq(&self, other: &QuestionSpec) -> bool {
        same_as_json(self, other)
    }
}

/// A typed or chosen answer as it is compared: trimmed and lower case; yes and no in either
/// language (`y`, `是`, `n`, `否`); a text holding one number (`net:[4026531993]`, ` 256 `)
/// compares as that number.
pub fn normalize_answer(text: &str) -> String {
    let trimmed = text.trim().to_lowercase();
    match trimmed.as_str() {
        "y" | "是" | "是的" | "会" => return "yes".into(),
        "n" | "否" | "不" | "不会" => return "no".into(),
        _ => {}
    }
    let numbers: Vec<&str> = trimmed
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    match numbers.as_slice() {
        [number] => {
            let n = number.trim_start_matches('0');
            if n.is_empty() {
                "0".into()
            } else {
                n.to_string()
            }
        }
        _ => trimmed,
    }
}

/// Whether `given` is the right answer `expected` (both as the learner or the formula wrote
/// them).
pub fn is_right(given: &str, expected: &str) -> bool {
    let (g, e) = (normalize_answer(given), normalize_answer(expected));
    !g.is_empty() && g == e
}

/// The tasks of `tasks` in an order that respects `needs` (within the step), or the tasks
/// that cannot be ordered (each on a cycle or waiting for one).
pub fn task_order(tasks: &[TaskSpec]) -> Result<Vec<usize>, Vec<usize>> {
    let mut order = Vec::new();
    let mut placed = vec![false; tasks.len()];
    while order.len() < tasks.len() {
        let ready = (0..tasks.len()).find(|&i| {
            !placed[i]
                && tasks[i].needs.iter().all(|n| {
                    tasks
                        .iter()
                        .position(|t| &t.id == n)
                        .is_none_or(|j| placed[j])
                })
        });
        match ready {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => return Err((0..tasks.len()).filter(|&i| !placed[i]).collect()),
        }
    }
    Ok(order)
}

/// The player key that helps with a task, from what its solution does: `k` sends a signal,
/// `s` opens a shell, `m` edits the manifest; `None` when it is done in another terminal
/// (pause is no container the player lists, so `k` cannot signal it).
pub fn helping_key(solution: Option<&Action>) -> Option<char> {
    match solution? {
        Action::Signal(s) if s.container == "pause" => None,
        Action::Signal(_) => Some('k'),
        Action::Exec(_) => Some('s'),
        Action::ReplacePod(_) => Some('m'),
        _ => None,
    }
}

/// The answer of a `status` question from the pod's status, with the status it came from:
/// what `podlab describe` shows of the container (or of each container, for the pod).
pub fn status_answer(
    state: &PodState,
    field: StatusField,
    container: &str,
) -> Result<(String, Text), Text> {
    let pod = &state.name;
    let line = |c: &ContainerStatus| {
        let last = c.last_state.as_ref();
        Text::new(
            format!(
                "{}: {}{}, restarts {}",
                c.name,
                describe_state(&c.state),
                last.map(|l| format!(", last state {}", describe_state(l)))
                    .unwrap_or_default(),
                c.restart_count
            ),
            format!(
                "{}：{}{}，重启 {} 次",
                c.name,
                describe_state_zh(&c.state),
                last.map(|l| format!("，上一个状态 {}", describe_state_zh(l)))
                    .unwrap_or_default(),
                c.restart_count
            ),
        )
    };
    if field.of_pod() {
        let all: Vec<Text> = state.containers.iter().map(line).collect();
        let joined = Text::new(
            all.iter()
                .map(|t| t.en.clone())
                .collect::<Vec<_>>()
                .join("; "),
            all.iter()
                .map(|t| t.zh.clone())
                .collect::<Vec<_>>()
                .join("；"),
        );
        let value = match field {
            StatusField::Phase => format!("{:?}", state.phase),
            _ => state
                .containers
                .iter()
                .filter(|c| c.restart_count > 0)
                .max_by_key(|c| c.restart_count)
                .map(|c| c.name.clone())
                .ok_or_else(|| {
                    Text::new(
                        format!("no container of {pod} has restarted: {}", joined.en),
                        format!("{pod} 没有容器重启过：{}", joined.zh),
                    )
                })?,
        };
        return Ok((
            value,
            Text::new(
                format!("pod {pod}: phase {:?}; {}", state.phase, joined.en),
                format!("Pod {pod}：phase {:?}；{}", state.phase, joined.zh),
            ),
        ));
    }
    let Some(c) = state.container(container) else {
        return Err(Text::new(
            format!("{pod}/{container} is not in the pod's status"),
            format!("Pod 状态里没有 {pod}/{container}"),
        ));
    };
    let terminated = |s: Option<&ContainerState>| match s {
        Some(ContainerState::Terminated {
            reason, exit_code, ..
        }) => Some((reason.clone(), *exit_code)),
        _ => None,
    };
    let value = match field {
        StatusField::Reason => Some(match &c.state {
            ContainerState::Waiting { reason } | ContainerState::Terminated { reason, .. } => {
                reason.clone()
            }
            ContainerState::Running { .. } => "Running".into(),
        }),
        StatusField::LastReason => terminated(c.last_state.as_ref()).map(|(r, _)| r),
        StatusField::ExitCode => terminated(Some(&c.state))
            .or_else(|| terminated(c.last_state.as_ref()))
            .map(|(_, code)| code.to_string()),
        _ => Some(c.restart_count.to_string()),
    };
    let shown = line(c);
    match value {
        Some(v) => Ok((v, shown)),
        None => Err(Text::new(
            format!("{pod}/{} has not terminated yet: {}", c.name, shown.en),
            format!("{pod}/{} 还没有结束过：{}", c.name, shown.zh),
        )),
    }
}

/// What a task looks like on screen and in a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub id: String,
    pub state: TaskState,
    /// What its check found last (the evidence once it is done).
    pub message: Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// A task it needs is not done yet.
    Blocked,
    /// Watched: the learner's work is not seen yet.
    Waiting,
    /// Its check was already true when the task began: it must be seen false first.
    AlreadyTrue,
    /// Seen: done, and it stays done.
    Done,
}

impl TaskStatus {
    pub fn done(&self) -> bool {
        self.state == TaskState::Done
    }
}

/// A question graded: what was given, what is right, and the live evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grade {
    /// What the learner answered (None: nobody answered, e.g. autoplay).
    pub given: Option<String>,
    /// The right answer, as computed.
    pub expected: String,
    pub right: bool,
    /// Where the right answer came from: the live value or the formula.
    pub evidence: Text,
    /// The lesson's explanation.
    pub explain: Text,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_compare_by_their_number_or_their_word() {
        assert!(is_right(" 256 ", "256"));
        assert!(is_right("net:[4026531993]", "4026531993"));
        assert!(is_right("YES", "yes"));
        assert!(is_right("是", "yes"));
        assert!(is_right("否", "no"));
        assert!(!is_right("", "0"));
        assert!(!is_right("102", "256"));
        assert!(!is_right("1 2", "12"));
        assert!(is_right("007", "7"));
    }

    fn task(id: &str, needs: &[&str]) -> TaskSpec {
        TaskSpec {
            id: id.into(),
            todo: Text::new("x", "x"),
            needs: needs.iter().map(|s| s.to_string()).collect(),
            check: Check::All(Vec::new()),
            solution: None,
        }
    }

    #[test]
    fn a_status_answer_reads_what_describe_shows() {
        // web runs; sidecar waits in CrashLoopBackOff after an OOM kill, restarted once.
        let state = crate::present::pod_object::tests::recorded("assets/pods/web-sidecar.yaml");
        let answer = |field, container| status_answer(&state, field, container).map(|a| a.0);
        assert_eq!(
            answer(StatusField::Reason, "sidecar"),
            Ok("CrashLoopBackOff".into())
        );
        assert_eq!(
            answer(StatusField::LastReason, "sidecar"),
            Ok("OOMKilled".into())
        );
        assert_eq!(answer(StatusField::ExitCode, "sidecar"), Ok("137".into()));
        assert_eq!(answer(StatusField::Restarts, "sidecar"), Ok("1".into()));
        assert_eq!(answer(StatusField::Reason, "web"), Ok("Running".into()));
        assert_eq!(answer(StatusField::Restarting, ""), Ok("sidecar".into()));
        assert_eq!(answer(StatusField::Phase, ""), Ok("Running".into()));
        // A container that never ended has no last reason or exit code: no answer, and why.
        let never = status_answer(&state, StatusField::LastReason, "web").unwrap_err();
        assert!(
            never.en.contains("web: Running, restarts 0"),
            "{}",
            never.en
        );
        assert!(status_answer(&state, StatusField::Reason, "nope").is_err());
        let (_, evidence) = status_answer(&state, StatusField::Restarting, "").unwrap();
        assert!(
            evidence.zh.contains("sidecar：Waiting（CrashLoopBackOff），上一个状态 Terminated（OOMKilled，退出码 137），重启 1 次"),
            "{}",
            evidence.zh
        );
    }

    #[test]
    fn tasks_are_ordered_by_needs_and_a_cycle_is_found() {
        let tasks = [task("b", &["a"]), task("a", &[]), task("c", &["b", "a"])];
        assert_eq!(task_order(&tasks), Ok(vec![1, 0, 2]));
        // Needs of an earlier step are not this step's concern.
        assert_eq!(task_order(&[task("x", &["elsewhere"])]), Ok(vec![0]));
        let cycle = [task("a", &["b"]), task("b", &["a"])];
        assert_eq!(task_order(&cycle), Err(vec![0, 1]));
    }
}
