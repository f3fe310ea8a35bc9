//! What the runner does for a step besides its action and check: fill its `try:` lines from
//! the live pods, say which of its hints' conditions hold, and run its `try:` lines (the
//! self-test that every line works here).

use std::time::Duration;

use crate::i18n::Text;
use crate::lesson::outcome::ActionOutcome;
use crate::lesson::schema::{Action, StepSpec};

use super::super::checks::evaluate;
use super::super::commands::FilledLine;
use super::super::exec::run_on_host;
use super::super::fill::fill_lines;
use super::{Runner, CHECK_EXEC_TIMEOUT};

/// How long a `try:` line may run in the self-test.
pub const TRY_LINE_TIMEOUT: Duration = Duration::from_secs(20);

/// One `try:` line run by the self-test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryRun {
    pub line: FilledLine,
    /// None: it could not be filled, or it was killed at the deadline.
    pub exit_code: Option<i32>,
    pub output: String,
}

impl TryRun {
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Why it did not pass, in both languages.
    pub fn failure(&self) -> Option<Text> {
        if self.passed() || self.line.not_here {
            return None;
        }
        if let Some(missing) = &self.line.missing {
            return Some(missing.clone());
        }
        let first = self.output.trim().lines().next().unwrap_or("").to_string();
        Some(match self.exit_code {
            Some(code) => Text::new(
                format!("exit {code}: {first}"),
                format!("退出码 {code}：{first}"),
            ),
            None => Text::new(
                format!("still running after {}s", TRY_LINE_TIMEOUT.as_secs()),
                format!("{} 秒后还没有结束", TRY_LINE_TIMEOUT.as_secs()),
            ),
        })
    }
}

impl Runner {
    /// Step `index`'s `try:` lines, filled from the pods as they are now.
    pub fn fill_try(&mut self, index: usize) -> Vec<FilledLine> {
        let Ok(step) = self.step(index) else {
            return Vec::new();
        };
        if step.try_lines.is_empty() {
            return Vec::new();
        }
        let pod = self.lesson.pod_of(&step).to_string();
        self.refresh_static();
        let mut world = self.world(CHECK_EXEC_TIMEOUT);
        fill_lines(&step.try_lines, &mut world, &pod)
    }

    /// For each hint of step `index`: whether its condition holds now (true without one).
    pub fn hint_conditions(&mut self, index: usize) -> Vec<bool> {
        let Ok(step) = self.step(index) else {
            return Vec::new();
        };
        if step.hints.iter().all(|h| h.when.is_none()) {
            return vec![true; step.hints.len()];
        }
        let pod = self.lesson.pod_of(&step).to_string();
        let exec_timeout = CHECK_EXEC_TIMEOUT.min(self.timeout_of(&step));
        self.refresh_static();
        let mut world = self.world(exec_timeout);
        step.hints
            .iter()
            .map(|h| {
                h.when
                    .as_ref()
                    .is_none_or(|c| evaluate(c, &mut world, &pod).passed)
            })
            .collect()
    }

    /// Run try line `line` of `step` on the host, filled, as the learner does (a task's
    /// solution); it must exit 0.
    pub(super) fn try_line_action(
        &mut self,
        step: &StepSpec,
        line: usize,
    ) -> eyre::Result<ActionOutcome> {
        let template = step
            .try_lines
            .get(line)
            .ok_or_else(|| eyre::eyre!("step {} has no try line {line}", step.id))?;
        let pod = self.lesson.pod_of(step).to_string();
        let filled = {
            let mut world = self.world(CHECK_EXEC_TIMEOUT);
            fill_lines(std::slice::from_ref(template), &mut world, &pod)
        };
        let filled = filled.into_iter().next().expect("one line in, one out");
        let Some(text) = filled.line else {
            let why = filled.missing.map(|m| m.en).unwrap_or_default();
            eyre::bail!(
                "try line {line} of step {} cannot be filled: {why}",
                step.id
            );
        };
        let out = run_on_host(&self.exe, &text, TRY_LINE_TIMEOUT)?;
        if !out.succeeded() {
            eyre::bail!(
                "{text}: exit {}: {}",
                out.exit_code.map_or("-".into(), |c| c.to_string()),
                out.output.trim()
            );
        }
        Ok(ActionOutcome {
            summary: Text::new(format!("ran {text}"), format!("运行了 {text}")),
            output: out.output,
        })
    }

    /// Run step `index`'s `try:` lines on the host, filled, one after another. A line that
    /// is a task's solution (it makes something: a cgroup, a veth) was run as that and is not
    /// run twice.
    pub fn run_try(&mut self, index: usize) -> Vec<TryRun> {
        let filled = self.fill_try(index);
        let solutions: Vec<usize> = self
            .step(index)
            .map(|step| {
                step.tasks
                    .iter()
                    .filter_map(|t| match t.solution {
                        Some(Action::TryLine(i)) => Some(i),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let exe = self.exe.clone();
        filled
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                if solutions.contains(&i) {
                    return TryRun {
                        line,
                        exit_code: Some(0),
                        output: "(run as a task's solution)".into(),
                    };
                }
                let Some(text) = line.line.clone() else {
                    return TryRun {
                        line,
                        exit_code: None,
                        output: String::new(),
                    };
                };
                match run_on_host(&exe, &text, TRY_LINE_TIMEOUT) {
                    Ok(out) => TryRun {
                        line,
                        exit_code: out.exit_code,
                        output: out.output,
                    },
                    Err(e) => TryRun {
                        line,
                        exit_code: None,
                        output: format!("{e:#}"),
                    },
                }
            })
            .collect()
    }
}
