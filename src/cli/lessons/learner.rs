//! The headless lesson's side of schema 2: tasks and questions printed, the self-test's
//! answers (a wrong one first, which must get the explanation, then the right one, both from
//! the source the player grades from), and `--skip-tasks`, which leaves the tasks undone and
//! must stop at the first one.

use std::io::Write;
use std::time::{Duration, Instant};

use eyre::Result;

use crate::i18n::Lang;
use crate::lesson::learner::{helping_key, is_right, TaskState, TaskStatus};
use crate::lesson::{Runner, StepOutcome, StepSpec};

use super::t;

/// How long `--skip-tasks` watches a step's tasks for one passing by itself.
const SKIP_TASK_WAIT: Duration = Duration::from_secs(3);

/// The step's tasks and question, as the learner reads them.
pub(super) fn print_learner(step: &StepSpec, lang: Lang) {
    for (n, task) in step.tasks.iter().enumerate() {
        let key = match helping_key(task.solution.as_ref()) {
            Some(k) => format!(" [{} {k}]", t(lang, "key", "按键")),
            None => String::new(),
        };
        let needs = if task.needs.is_empty() {
            String::new()
        } else {
            format!(
                " ({} {})",
                t(lang, "after", "先完成"),
                task.needs.join(", ")
            )
        };
        say!(
            "  {} {}. {}{key}{needs}",
            t(lang, "task", "任务"),
            n + 1,
            task.todo.get(lang).trim()
        );
    }
    if let Some(q) = &step.question {
        say!("  ? {}", q.ask.get(lang).trim());
        for (i, c) in q.offered_choices().iter().enumerate() {
            say!("      {}) {}", i + 1, c.text.get(lang));
        }
    }
}

/// `--skip-tasks`: watch the step's tasks a few seconds without doing them. None may pass;
/// the run then stops here, naming the first task.
pub(super) fn skip_tasks(runner: &mut Runner, index: usize, lang: Lang) {
    let step = runner.lesson().steps()[index].clone();
    let mut statuses = runner.begin_tasks(index);
    let deadline = Instant::now() + SKIP_TASK_WAIT;
    while Instant::now() < deadline && !statuses.iter().any(TaskStatus::done) {
        std::thread::sleep(Duration::from_millis(250));
        statuses = runner.poll_tasks(index);
    }
    if let Some(done) = statuses.iter().find(|s| s.done()) {
        say!(
            "  ✗ {} {} {}: {}",
            t(lang, "task", "任务"),
            done.id,
            t(
                lang,
                "passed although nobody did it: its check must see a change the learner makes",
                "没有人做却通过了：它的检查必须看到学习者做出的改变"
            ),
            done.message.get(lang)
        );
        return;
    }
    let first = statuses
        .iter()
        .find(|s| s.state != TaskState::Blocked)
        .or(statuses.first());
    let (id, todo) = match first {
        Some(s) => (
            s.id.clone(),
            step.tasks
                .iter()
                .find(|t| t.id == s.id)
                .map(|t| t.todo.get(lang).trim().to_string())
                .unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    };
    say!(
        "  ✗ {} {} ({}) {} {id} {}: {todo}",
        t(lang, "step", "步骤"),
        index + 1,
        step.id,
        t(lang, "stops at task", "停在任务"),
        t(lang, "not done (--skip-tasks)", "没有完成（--skip-tasks）"),
    );
}

/// A step with a question, as the self-test plays it: the action, the check, then a wrong
/// answer (graded wrong, with the explanation) and the right one (graded right). Returns the
/// step's outcome and whether the grading behaved.
pub(super) fn self_test_question(
    runner: &mut Runner,
    index: usize,
    lang: Lang,
) -> Result<(StepOutcome, bool)> {
    let step = runner.lesson().steps()[index].clone();
    let action = runner.perform(index)?;
    let check = step.check.is_some().then(|| runner.wait_check(index));
    let outcome = StepOutcome {
        step: step.id.clone(),
        action,
        check,
    };
    if !outcome.passed() {
        return Ok((outcome, true));
    }
    let (expected, _) = match runner.expected_answer(index) {
        Ok(found) => found,
        Err(why) => {
            say!(
                "  ✗ {}: {}",
                t(lang, "the answer could not be computed", "无法算出答案"),
                why.get(lang)
            );
            return Ok((outcome, false));
        }
    };
    let choices = step
        .question
        .as_ref()
        .map(|q| q.offered_choices())
        .unwrap_or_default();
    let wrong = choices
        .iter()
        .map(|c| c.value.clone())
        .find(|v| !is_right(v, &expected))
        .unwrap_or_else(|| format!("{expected}1"));
    let mut behaved = true;
    match runner.grade(index, Some(&wrong)) {
        Ok(g) if !g.right && !g.explain.get(lang).trim().is_empty() => say!(
            "  ✓ {} {wrong}: {} {}",
            t(lang, "a wrong answer", "错误答案"),
            t(lang, "graded wrong, explained:", "判为错误，并给出解释："),
            g.explain.get(lang).trim()
        ),
        Ok(g) => {
            behaved = false;
            say!(
                "  ✗ {} {wrong}: right={} explain={:?}",
                t(lang, "a wrong answer", "错误答案"),
                g.right,
                g.explain.get(lang)
            );
        }
        Err(why) => {
            behaved = false;
            say!("  ✗ {}", why.get(lang));
        }
    }
    // The live system may change between computing the answer and grading it (a loop's
    // short-lived child comes and goes): the answer is computed again a few times.
    let mut expected = expected;
    let mut graded = runner.grade(index, Some(&expected));
    for _ in 0..5 {
        if matches!(&graded, Ok(g) if g.right) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        if let Ok((again, _)) = runner.expected_answer(index) {
            expected = again;
        }
        graded = runner.grade(index, Some(&expected));
    }
    match graded {
        Ok(g) if g.right => say!(
            "  ✓ {} {expected} ({})",
            t(lang, "answered", "回答"),
            g.evidence.get(lang)
        ),
        Ok(g) => {
            behaved = false;
            say!(
                "  ✗ {} {expected} {} ({})",
                t(lang, "the computed answer", "算出的答案"),
                t(lang, "was not graded right", "没有被判为正确"),
                g.evidence.get(lang)
            );
        }
        Err(why) => {
            behaved = false;
            say!("  ✗ {}", why.get(lang));
        }
    }
    if behaved {
        runner.complete(index)?;
    }
    Ok((outcome, behaved))
}
