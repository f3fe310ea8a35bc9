//! Whether a lesson can run here, asked before any pod is made: the doctor's verdict on what
//! the lesson needs (`doctor::needs_of`) against this machine. As root every machine podlab
//! runs on can; without root, limits need a delegated cgroup subtree, and host namespaces and
//! privileged containers need root.

use crate::doctor::{self, LessonVerdict, Machine, Mode};
use crate::i18n::Lang;
use crate::lesson::Lesson;

/// Without root, a lesson this machine cannot run is refused with why and what to do
/// instead (sudo, or its recorded trace).
pub fn runs_here(lesson: &Lesson, lang: Lang) -> eyre::Result<()> {
    if !crate::runtime::rootless::is_rootless() {
        return Ok(());
    }
    runs_on(&doctor::examine(), lesson, lang)
}

/// [`runs_here`] on a machine already examined (the lesson list asks for every lesson).
pub fn runs_on(machine: &Machine, lesson: &Lesson, lang: Lang) -> eyre::Result<()> {
    let verdict = doctor::lesson_verdict(machine, &doctor::needs_of(lesson));
    if verdict.mode == Some(Mode::Root) {
        return Ok(());
    }
    match refusal(lesson, &verdict, lang) {
        None => Ok(()),
        Some(why) => Err(eyre::eyre!("podlab lesson {}: {why}", lesson.id())),
    }
}

/// Why and what instead, when the verdict says the lesson cannot run.
fn refusal(lesson: &Lesson, verdict: &LessonVerdict, lang: Lang) -> Option<String> {
    if verdict.runs() {
        return None;
    }
    let why: Vec<&str> = verdict.blockers.iter().map(|b| b.get(lang)).collect();
    let number = lesson.id().split('-').next().unwrap_or_default();
    let trace = format!("assets/traces/lesson-{number}.trace.jsonl");
    Some(format!(
        "{} {}. {} sudo podlab lesson {}{} podlab replay {trace}",
        lang.pick("needs root here:", "这里需要 root："),
        why.join(lang.pick("; ", "；")),
        lang.pick("Run it as root:", "以 root 运行："),
        lesson.id(),
        lang.pick("; or watch it as recorded:", "；或者观看录制好的课程："),
    ))
}
