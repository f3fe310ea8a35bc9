//! Checks of what a lesson teaches with beyond its steps' actions and checks: `try:` lines
//! (placeholders that name something of this lesson, nothing host-wide, nothing that waits
//! for a terminal), hints with a condition or a delay, teacher notes, and the lesson's card
//! and recap. Every problem is located `file:line:column`, a placeholder at its `{`.

use std::collections::HashSet;

use crate::i18n::Text;
use crate::spec::yaml::Location;

use super::super::commands::{parse_line, try_line_problem, Piece, Placeholder};
use super::super::refs::{Ref, Who};
use super::super::schema::{LessonFile, StepSpec};
use super::{path_of, Checker, LessonPod, LessonProblem, MAX_WAIT_SECONDS};

/// The longest a lesson may say it takes.
const MAX_MINUTES: u32 = 240;

impl Checker<'_> {
    /// A problem at a character offset of the one-line text whose value starts at `at`.
    fn problem_in_line(&mut self, at: &str, written: &str, message: String) {
        let start = self.map.locate_field(&path_of(at));
        let location = self.find_in_line(&start, written).unwrap_or(start);
        self.problems.push(LessonProblem { location, message });
    }

    /// Where `written` is on the line of `start`, from its column on.
    fn find_in_line(&self, start: &Location, written: &str) -> Option<Location> {
        let line = self.source.lines().nth(start.line.checked_sub(1)?)?;
        let from: String = line.chars().skip(start.column.saturating_sub(1)).collect();
        let byte = from.find(written)?;
        let column = start.column + from[..byte].chars().count();
        Some(Location {
            source: start.source.clone(),
            line: start.line,
            column,
        })
    }

    pub(super) fn teaching_step(
        &mut self,
        at: &str,
        step: &StepSpec,
        pod: &str,
        pods: &[LessonPod],
        earlier: &HashSet<&str>,
        network: bool,
    ) {
        for (i, line) in step.try_lines.iter().enumerate() {
            self.try_line(&format!("{at}.try[{i}]"), line, pod, pods, network);
        }
        for (i, line) in step.cluster.iter().enumerate() {
            if line.trim().is_empty() {
                self.problem(&format!("{at}.cluster[{i}]"), "this cluster line is empty");
            }
        }
        for (h, hint) in step.hints.iter().enumerate() {
            let field = format!("{at}.hints[{h}]");
            self.text(&field, &hint.text(), false);
            if let Some(when) = &hint.when {
                self.check(&format!("{field}.when"), when, pod, pods, earlier);
            }
            if let Some(seconds) = hint.after_seconds {
                if !(seconds > 0.0 && seconds <= MAX_WAIT_SECONDS) {
                    self.problem(
                        &format!("{field}.after_seconds"),
                        format!(
                            "{seconds:?} seconds: a hint comes after more than 0 and at most \
                             {MAX_WAIT_SECONDS} seconds without progress"
                        ),
                    );
                }
            }
        }
        if let Some(notes) = &step.teacher_notes {
            self.text(&format!("{at}.teacher_notes"), notes, false);
        }
    }

    fn try_line(&mut self, at: &str, line: &str, pod: &str, pods: &[LessonPod], network: bool) {
        if line.trim().is_empty() {
            self.problem(at, "this try: line is empty");
            return;
        }
        if line.contains('\n') {
            self.problem(
                at,
                "a try: line is one command on one line (the player wraps it)",
            );
            return;
        }
        if let Some(message) = try_line_problem(line) {
            self.problem(at, message);
        }
        self.placeholders_with(at, line, pod, pods, network);
    }

    /// The placeholders of a check's or an action's text (a URL, a command's word, a path),
    /// filled from the live pods like a `try:` line's.
    pub(super) fn placeholders(&mut self, at: &str, text: &str, pod: &str, pods: &[LessonPod]) {
        self.placeholders_with(at, text, pod, pods, self.network);
    }

    fn placeholders_with(
        &mut self,
        at: &str,
        line: &str,
        pod: &str,
        pods: &[LessonPod],
        network: bool,
    ) {
        let pieces = match parse_line(line) {
            Ok(pieces) => pieces,
            Err(errors) => {
                for e in errors {
                    self.problem_in_line(
                        at,
                        &e.written,
                        format!("placeholder {}: {}", e.written, e.message),
                    );
                }
                return;
            }
        };
        for piece in pieces {
            let Piece::Placeholder(p) = piece else {
                continue;
            };
            if let Some(message) = self.placeholder_problem(&p, pod, pods, network) {
                let written = p.to_string();
                self.problem_in_line(
                    at,
                    &written,
                    format!("placeholder {written} names nothing: {message}"),
                );
            }
        }
    }

    /// Why a placeholder names nothing of this lesson, if it does not.
    fn placeholder_problem(
        &self,
        p: &Placeholder,
        pod: &str,
        pods: &[LessonPod],
        network: bool,
    ) -> Option<String> {
        let pod_named = |name: &Option<String>| -> Option<String> {
            let name = name.as_deref().unwrap_or(pod);
            (!pods.iter().any(|p| p.pod.metadata.name == name))
                .then(|| format!("no pod of this lesson is named {name:?}"))
        };
        match p {
            Placeholder::Pod(name) | Placeholder::Uid(name) => pod_named(name),
            Placeholder::Ip(name) => {
                if !network {
                    return Some("this lesson's pods have no pod network (options.network)".into());
                }
                pod_named(name)
            }
            Placeholder::Pid(text) => {
                self.ref_problem(text, pod, pods, &[Kind::Container, Kind::Pause])
            }
            Placeholder::Ns(_, text) => {
                self.ref_problem(text, pod, pods, &[Kind::Container, Kind::Pause, Kind::Host])
            }
            Placeholder::Cgroup(text, _) => {
                self.ref_problem(text, pod, pods, &[Kind::Container, Kind::Pause, Kind::Pod])
            }
            Placeholder::Owned(_) => (!self.owns).then(|| {
                "{owned:…} names what the lesson owns, and it owns nothing (owns: {prefix: podlab-…})"
                    .to_string()
            }),
        }
    }

    fn ref_problem(
        &self,
        text: &str,
        pod: &str,
        pods: &[LessonPod],
        allowed: &[Kind],
    ) -> Option<String> {
        let r = Ref::parse(text, pod);
        let kind = match &r.who {
            Who::Container(_) => Kind::Container,
            Who::Pause => Kind::Pause,
            // The node is read through the pod's shim, allowed wherever the host is.
            Who::Host | Who::Node => Kind::Host,
            Who::Pod => Kind::Pod,
        };
        if !allowed.contains(&kind) {
            let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
            return Some(format!("{text:?} is not {} here", names.join(" or ")));
        }
        if kind == Kind::Host {
            return None;
        }
        let Some(lesson_pod) = pods.iter().find(|p| p.pod.metadata.name == r.pod) else {
            return Some(format!("no pod of this lesson is named {:?}", r.pod));
        };
        if let Who::Container(name) = &r.who {
            let spec = &lesson_pod.pod.spec;
            let names = spec.container_names();
            if !names.contains(&name.as_str()) {
                return Some(format!(
                    "pod {} has no container {name:?}; its containers: {}",
                    r.pod,
                    names.join(", ")
                ));
            }
        }
        None
    }

    /// The lesson's card (objectives, minutes) and recap.
    pub(super) fn card(&mut self, file: &LessonFile) {
        for (i, objective) in file.objectives.iter().enumerate() {
            self.text(&format!("objectives[{i}]"), objective, false);
        }
        if let Some(minutes) = file.minutes {
            if !(1..=MAX_MINUTES).contains(&minutes) {
                self.problem(
                    "minutes",
                    format!("a lesson takes 1 to {MAX_MINUTES} minutes, not {minutes}"),
                );
            }
        }
        if let Some(recap) = &file.recap {
            let texts: Vec<(String, &Text)> = recap
                .seen
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("recap.seen[{i}]"), t))
                .chain(
                    recap
                        .next
                        .iter()
                        .enumerate()
                        .map(|(i, t)| (format!("recap.next[{i}]"), t)),
                )
                .collect();
            if texts.is_empty() {
                self.problem(
                    "recap",
                    "a recap says what was seen (seen:) and what to try next (next:)",
                );
            }
            for (at, text) in texts {
                self.text(&at, text, false);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Container,
    Pause,
    Host,
    Pod,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Container => "a container",
            Kind::Pause => "pause",
            Kind::Host => "host",
            Kind::Pod => "pod",
        }
    }
}
