//! `podlab lessons stats`: for authors and CI, what each lesson has the learner do and see.

use serde::Serialize;

use super::claims::{claims_of_lesson, ClaimsTable};
use super::schema::Action;
use super::Lesson;

/// One lesson's numbers, as `lessons stats --json` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LessonStats {
    pub id: String,
    pub steps: usize,
    /// Steps that ask the learner to act (a task).
    pub learner_steps: usize,
    /// Steps that ask a question.
    pub questions: usize,
    /// The pod's creation steps the lesson takes one step at a time (`cgroup`, `namespaces`,
    /// `pause`, `network`, `pull:NAME`, `init:NAME`, `container:NAME`), in order; taking all
    /// the rest in one step adds none. (`pull:NAME` exists only for an image really pulled;
    /// lessons run offline on the stand-ins, so the loader refuses it in a lesson today.)
    pub stages: Vec<String>,
    /// The claims of the seed articles the lesson shows (from the claims table).
    pub claims: Vec<String>,
    pub minutes: Option<u32>,
}

/// The whole report: `{"lessons": [...]}`.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    pub lessons: Vec<LessonStats>,
}

pub fn lesson_stats(lesson: &Lesson, claims: &ClaimsTable) -> LessonStats {
    let steps = lesson.steps();
    LessonStats {
        id: lesson.id().to_string(),
        steps: steps.len(),
        learner_steps: steps.iter().filter(|s| !s.tasks.is_empty()).count(),
        questions: steps.iter().filter(|s| s.question.is_some()).count(),
        stages: steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::RunTo(stage) => Some(stage.clone()),
                _ => None,
            })
            .collect(),
        claims: claims_of_lesson(claims, lesson.id()),
        minutes: lesson.file.minutes,
    }
}
