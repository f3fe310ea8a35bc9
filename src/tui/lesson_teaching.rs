//! The lesson player's teaching aids, beside the steps themselves: each step's `try:` lines
//! filled from the live pods (one selected, to run or copy), hints that come by themselves on
//! a condition or after a delay, the teacher notes, challenge mode, and the panel rows that
//! prove a check that just passed. Pure state, like the player.

use std::time::{Duration, Instant};

use crate::lesson::commands::FilledLine;
use crate::lesson::evidence::{evidence_of, Evidence};
use crate::lesson::{Lesson, StepSpec};
use crate::tui::observed::{Mark, Observation};

/// How often the conditions of the current step's hints are evaluated.
pub const HINT_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default)]
pub struct StepAids {
    /// The `try:` lines as last filled from the live pods (None: not asked yet).
    pub filled: Option<Vec<FilledLine>>,
    /// Hints shown, by index (asked for, after a failure, or come by themselves).
    pub hints: Vec<bool>,
    /// Whether each hint's condition held when last evaluated.
    pub holding: Vec<bool>,
    /// Challenge mode: the learner asked to see the commands.
    pub revealed: bool,
}

#[derive(Debug, Clone)]
pub struct Teaching {
    pub steps: Vec<StepAids>,
    /// The rows that prove each step's check.
    pub evidence: Vec<Vec<Evidence>>,
    /// The selected `try:` line of the shown step.
    pub selected: usize,
    /// `--challenge`: commands and hints stay hidden until asked for.
    pub challenge: bool,
    /// The teacher notes are shown (presenter mode, or `n`).
    pub notes: bool,
    /// The last progress on the current step (it became current, was taken, or failed):
    /// delayed hints count from here.
    pub progress_at: Option<Instant>,
    /// When the current step's hint conditions are evaluated again.
    pub next_hint_poll: Option<Instant>,
    /// A `HintConditions` was sent and its answer has not come yet.
    pub hint_polling: bool,
}

impl Teaching {
    pub fn new(lesson: &Lesson) -> Teaching {
        Teaching {
            steps: lesson
                .steps()
                .iter()
                .map(|s| StepAids {
                    filled: None,
                    hints: vec![false; s.hints.len()],
                    holding: vec![false; s.hints.len()],
                    revealed: false,
                })
                .collect(),
            evidence: lesson
                .steps()
                .iter()
                .map(|s| {
                    s.check
                        .as_ref()
                        .map(|c| evidence_of(c, lesson.pod_of(s)))
                        .unwrap_or_default()
                })
                .collect(),
            selected: 0,
            challenge: false,
            notes: false,
            progress_at: None,
            next_hint_poll: None,
            hint_polling: false,
        }
    }

    /// Whether the step's commands are on screen (always, but in challenge mode).
    pub fn commands_shown(&self, index: usize) -> bool {
        !self.challenge || self.steps.get(index).is_some_and(|s| s.revealed)
    }

    /// Whether hint `h` of a step may be shown now: its condition holds and its delay is
    /// over (a plain hint always may).
    pub fn available(&self, step: &StepSpec, index: usize, h: usize, now: Instant) -> bool {
        let Some(hint) = step.hints.get(h) else {
            return false;
        };
        let holds = hint.when.is_none()
            || self
                .steps
                .get(index)
                .and_then(|s| s.holding.get(h))
                .copied()
                .unwrap_or(false);
        let waited = hint.after_seconds.is_none_or(|secs| {
            self.progress_at
                .is_some_and(|t| now.saturating_duration_since(t).as_secs_f64() >= secs)
        });
        holds && waited
    }

    /// Show the hints that come by themselves once available (not in challenge mode, where
    /// the learner asks). True if one was shown.
    pub fn show_automatic(&mut self, step: &StepSpec, index: usize, now: Instant) -> bool {
        if self.challenge {
            return false;
        }
        let ready: Vec<usize> = (0..step.hints.len())
            .filter(|&h| step.hints[h].is_automatic() && self.available(step, index, h, now))
            .collect();
        let Some(aids) = self.steps.get_mut(index) else {
            return false;
        };
        let mut shown = false;
        for h in ready {
            if let Some(slot) = aids.hints.get_mut(h) {
                shown |= !*slot;
                *slot = true;
            }
        }
        shown
    }

    /// The next hint the learner may ask for: the first not shown whose condition and delay
    /// allow it (a conditional hint is not given while its condition does not hold).
    pub fn next_hint(&self, step: &StepSpec, index: usize, now: Instant) -> Option<usize> {
        let aids = self.steps.get(index)?;
        (0..step.hints.len()).find(|&h| {
            !aids.hints.get(h).copied().unwrap_or(true) && self.available(step, index, h, now)
        })
    }

    /// Show the next hint; false when there is none to show now.
    pub fn ask_hint(&mut self, step: &StepSpec, index: usize, now: Instant) -> bool {
        let Some(h) = self.next_hint(step, index, now) else {
            return false;
        };
        if let Some(slot) = self.steps.get_mut(index).and_then(|a| a.hints.get_mut(h)) {
            *slot = true;
        }
        true
    }

    /// The shown hints of a step, in file order, with their numbers.
    pub fn shown_hints(&self, index: usize) -> Vec<usize> {
        self.steps.get(index).map_or(Vec::new(), |a| {
            (0..a.hints.len()).filter(|&h| a.hints[h]).collect()
        })
    }

    /// When a delayed hint of the step becomes available, if that is still to come.
    pub fn next_delay(&self, step: &StepSpec, index: usize, now: Instant) -> Option<Instant> {
        let since = self.progress_at?;
        let aids = self.steps.get(index)?;
        step.hints
            .iter()
            .enumerate()
            .filter(|(h, _)| !aids.hints.get(*h).copied().unwrap_or(true))
            .filter_map(|(_, hint)| hint.after_seconds)
            .map(|secs| since + Duration::from_secs_f64(secs))
            .filter(|t| *t > now)
            .min()
    }

    /// The `try:` line selected on the shown step, filled (None if it cannot be yet).
    pub fn selected_line(&self, index: usize) -> Option<&FilledLine> {
        let lines = self.steps.get(index)?.filled.as_ref()?;
        lines.get(self.selected.min(lines.len().saturating_sub(1)))
    }
}

/// The panel rows that prove `evidence`, for the pod the panels show (`pod`, as it runs);
/// `live_name` gives the name a lesson pod runs under (a static pod's `NAME-<node>`).
pub fn marks_of(
    evidence: &[Evidence],
    observed: Option<&Observation>,
    pod: &str,
    live_name: impl Fn(&str) -> String,
) -> Vec<Mark> {
    let Some(observed) = observed else {
        return Vec::new();
    };
    let sandbox = observed
        .snapshot
        .as_ref()
        .and_then(|s| s.sandboxes.iter().find(|sb| sb.name == pod));
    let main_pid = |container: &str| {
        sandbox.and_then(|sb| {
            sb.containers
                .iter()
                .find(|c| c.name == container)
                .and_then(|c| c.main_pid)
        })
    };
    let mut marks = Vec::new();
    for e in evidence.iter().filter(|e| live_name(e.pod()) == pod) {
        match e {
            Evidence::Namespace {
                container, kinds, ..
            } => marks.extend(kinds.iter().map(|k| Mark::Namespace(container.clone(), *k))),
            Evidence::Cgroup { container, .. } => {
                marks.push(Mark::Cgroup(container.clone().unwrap_or_default()))
            }
            Evidence::Listener { port, .. } => marks.push(Mark::Listener(*port)),
            Evidence::Interface { name, .. } => marks.push(Mark::Interface(name.clone())),
            Evidence::PodIp { .. } => marks.push(Mark::PodIp),
            Evidence::Process { container, .. } => {
                marks.extend(main_pid(container).map(Mark::Process))
            }
            Evidence::Event { reason, .. } => {
                let newest = observed.state.as_ref().and_then(|s| {
                    s.events
                        .iter()
                        .enumerate()
                        .rev()
                        .find(|(_, e)| &e.reason == reason)
                        .map(|(i, _)| i)
                });
                marks.extend(newest.map(Mark::Event));
            }
        }
    }
    marks
}
