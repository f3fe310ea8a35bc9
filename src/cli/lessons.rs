//! `podlab lessons check|list|reset` and `podlab lesson ID|FILE`: validate, list and play
//! lessons. On a terminal a lesson plays in the TUI's player (`tui::play_lesson`); with
//! `--autoplay`/`--headless` (or without a terminal) it is printed step by step here. Both
//! play through the same `lesson::Runner`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eyre::{eyre, Result};

use crate::i18n::{Lang, Text};
use crate::lesson::pace::Pace;
use crate::lesson::{
    find_lesson, lesson_files, lessons_dir, load_lesson, CheckResult, Lesson, ProgressStore,
    Runner, RunnerOptions, StepOutcome, StepSpec,
};

#[derive(Debug, clap::Subcommand)]
pub enum LessonsCommand {
    /// Check every lesson (or the given files): schema, manifests, container names, step ids
    /// and text widths, with file:line:column errors.
    Check { files: Vec<PathBuf> },
    /// List the lessons and your progress.
    List,
    /// Forget your progress in a lesson.
    Reset { lesson: String },
    /// Print a lesson's teacher notes: per step, the talking points and the questions
    /// students ask; with the lesson's objectives and recap.
    Notes { lesson: String },
    /// Per lesson: steps, steps where the learner acts, questions, the pod's creation stages
    /// taken one step at a time, the seed articles' claims it shows, minutes.
    Stats {
        /// As JSON: {"lessons": [{"id", "steps", "learner_steps", "questions", "stages",
        /// "claims", "minutes"}, …]}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct LessonArgs {
    /// A lesson id (e.g. 01-process, or just 1) or a lesson file.
    pub lesson: String,
    /// Without a terminal: print each step and its result; exit non-zero if a check fails.
    #[arg(long)]
    pub headless: bool,
    /// Start over instead of resuming the saved progress.
    #[arg(long)]
    pub restart: bool,
    /// With --headless: take every step but leave the learner's tasks undone, and fail at the
    /// first task, naming it (each task is watched a few seconds): proof that no task passes
    /// by itself.
    #[arg(long, requires = "headless")]
    pub skip_tasks: bool,
    /// Challenge mode: each step's commands and hints stay hidden until asked for (c, h).
    #[arg(long)]
    pub challenge: bool,
    /// With --headless: after each step, also run its try: lines on this machine, filled
    /// from the live pod; fail at the first that does not exit 0 (a self-test).
    #[arg(long = "try", requires = "headless")]
    pub run_try: bool,
    /// Autoplay (each step once the one before passed its check), presenter mode, a
    /// recording or a trace, as for `podlab explore`. A recording or a trace starts from
    /// step 1 and leaves your saved progress alone.
    #[command(flatten)]
    pub player: crate::tui::player::PlayerArgs,
}

/// println! that does not panic when stdout is closed (e.g. piped into head).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn t(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

pub fn lessons(command: &LessonsCommand, lang: Lang) -> Result<ExitCode> {
    match command {
        LessonsCommand::Check { files } => check(files),
        LessonsCommand::List => list(lang),
        LessonsCommand::Reset { lesson } => reset(lesson, lang),
        LessonsCommand::Notes { lesson } => notes(lesson, lang),
        LessonsCommand::Stats { json } => stats(*json, lang),
    }
}

fn all_files(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if !files.is_empty() {
        return Ok(files.to_vec());
    }
    let dir = lessons_dir();
    lesson_files(&dir).map_err(|e| eyre!("failed to list lessons in {}: {e}", dir.display()))
}

fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = 0;
    let mut ids: Vec<(String, PathBuf)> = Vec::new();
    let files = all_files(files)?;
    for file in &files {
        match load_lesson(file) {
            Ok(lesson) => {
                if let Some((_, other)) = ids.iter().find(|(id, _)| id == lesson.id()) {
                    eprintln!(
                        "{}:1:1: lesson id {:?} is also used by {}",
                        file.display(),
                        lesson.id(),
                        other.display()
                    );
                    failed += 1;
                    continue;
                }
                say!(
                    "ok  {:<24} {} steps  {}",
                    lesson.id(),
                    lesson.steps().len(),
                    file.display()
                );
                ids.push((lesson.id().to_string(), file.clone()));
            }
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} lesson file(s) have problems", files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn list(lang: Lang) -> Result<ExitCode> {
    let store = ProgressStore::for_user()?;
    // As root every lesson runs; without root, the machine is examined once for all of them.
    let machine = crate::runtime::rootless::is_rootless().then(crate::doctor::examine);
    for file in all_files(&[])? {
        match load_lesson(&file) {
            Ok(lesson) => {
                let done = store.load_lesson(&lesson).steps_done(&lesson);
                let total = lesson.steps().len();
                let mark = if done == total { "✓" } else { " " };
                say!(
                    "{mark} {:<24} {done:>2}/{total:<2} {}",
                    lesson.id(),
                    lesson.file.title.get(lang)
                );
                let refused = machine
                    .as_ref()
                    .and_then(|m| crate::lesson::needs::runs_on(m, &lesson, lang).err());
                if let Some(e) = refused {
                    let why = e.to_string();
                    let why = why.split_once(": ").map_or(why.as_str(), |(_, w)| w);
                    say!("  {:<24}       {why}", "");
                }
            }
            Err(e) => eprintln!("{e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn reset(id: &str, lang: Lang) -> Result<ExitCode> {
    let lesson = find_lesson(id)?;
    let store = ProgressStore::for_user()?;
    if store.reset_lesson(&lesson)? {
        say!(
            "{} {}",
            t(lang, "progress reset:", "进度已清除："),
            lesson.id()
        );
    } else {
        say!(
            "{} {}",
            t(lang, "no progress saved for", "没有保存的进度："),
            lesson.id()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Play a lesson in the terminal: each step's text and commands, then its action and check.
pub fn lesson(args: &LessonArgs, lang: Lang) -> Result<ExitCode> {
    let lesson = find_lesson(&args.lesson)?;
    crate::runtime::setup::require_builder("podlab lesson", lang)?;
    crate::lesson::needs::runs_here(&lesson, lang)?;
    let on_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !args.headless && on_terminal {
        let play = crate::tui::PlayArgs {
            restart: args.restart,
            player: args.player.clone(),
            challenge: args.challenge,
            ..crate::tui::PlayArgs::default()
        };
        return crate::tui::play_lesson(lesson, &play, lang);
    }
    let p = &args.player;
    if p.record.is_some() || p.trace.is_some() || p.presenter || p.size.is_some() {
        return Err(eyre!(
            "--record, --trace, --presenter and --size draw the lesson player and need a \
             terminal; without one use: podlab lesson {} --autoplay --headless",
            args.lesson
        ));
    }
    crate::runtime::ensure_ready(lang)?;
    let _ = crate::runtime::gc::collect();
    let interrupts = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(signal, Arc::clone(&interrupts), 1)?;
    }
    // A headless run is a self-test: it neither reads nor changes the learner's progress.
    let progress = if args.headless {
        None
    } else {
        Some(ProgressStore::for_user()?)
    };
    let mut runner = Runner::new(
        lesson,
        RunnerOptions {
            progress,
            interrupt: Some(Arc::clone(&interrupts)),
            ..RunnerOptions::default()
        },
    )?;
    let interactive = !args.headless && !args.player.autoplay && std::io::stdin().is_terminal();
    print_header(runner.lesson(), lang);
    if let Some(notice) = Pace::of_machine().notice() {
        say!("{}", notice.get(lang));
    }
    if args.restart {
        runner.reset_progress()?;
    } else {
        for outcome in runner.resume()? {
            let index = index_of(runner.lesson(), &outcome.step);
            print_outcome(runner.lesson(), index, &outcome, lang, true);
        }
    }
    let total = runner.lesson().steps().len();
    let mut failed = false;
    let mut index = runner.first_undone();
    while index < total {
        let step = runner.lesson().steps()[index].clone();
        print_step(&step, index, total, lang);
        if interactive && !wait_for_enter(lang)? {
            break;
        }
        if interrupts.load(Ordering::Relaxed) > 0 {
            break;
        }
        if !step.tasks.is_empty() && args.skip_tasks {
            learner::skip_tasks(&mut runner, index, lang);
            failed = true;
            break;
        }
        let (outcome, graded) = if step.question.is_some() {
            learner::self_test_question(&mut runner, index, lang)?
        } else {
            (runner.run_step(index)?, true)
        };
        print_outcome(runner.lesson(), index, &outcome, lang, false);
        if !outcome.passed() || !graded {
            failed = true;
            break;
        }
        if args.run_try {
            let runs = runner.run_try(index);
            if !print_try_runs(&runs, lang) {
                failed = true;
                break;
            }
        } else if !args.challenge {
            print_filled(&runner.fill_try(index), lang);
        }
        index += 1;
    }
    let stopped = interrupts.load(Ordering::Relaxed) > 0;
    let runner_recap = runner.lesson().file.recap.clone();
    runner.finish()?;
    if stopped {
        return Ok(ExitCode::from(130));
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    if index >= total {
        say!("\n{}", t(lang, "✓ lesson complete", "✓ 课程完成"));
        print_recap(runner_recap.as_ref(), lang);
    }
    Ok(ExitCode::SUCCESS)
}

/// The step's try: lines as filled from the live pod, and its cluster lines (printed before).
fn print_filled(lines: &[crate::lesson::commands::FilledLine], lang: Lang) {
    if lines.is_empty() {
        return;
    }
    say!("  {}", t(lang, "try it here:", "在本机试试："));
    for line in lines {
        match (&line.line, &line.missing) {
            (Some(text), _) => say!("    $ {text}"),
            (None, Some(why)) => say!("    $ {}   ({})", line.template, why.get(lang)),
            (None, None) => say!("    $ {}", line.template),
        }
    }
}

/// The self-test's try: lines: each with its exit status; false at the first that failed.
fn print_try_runs(runs: &[crate::lesson::runner::teaching::TryRun], lang: Lang) -> bool {
    for run in runs {
        let shown = run.line.shown();
        match run.failure() {
            None if run.line.not_here => {
                let why = run.line.missing.as_ref().map(|w| w.get(lang)).unwrap_or("");
                say!("    – $ {shown}   ({why})")
            }
            None => say!("    ✓ $ {shown}"),
            Some(why) => {
                say!("    ✗ $ {shown}");
                say!("      {}", why.get(lang));
                for l in run.output.lines().take(12) {
                    say!("      | {l}");
                }
                return false;
            }
        }
    }
    true
}

fn print_recap(recap: Option<&crate::lesson::card::Recap>, lang: Lang) {
    let Some(recap) = recap else { return };
    for (title, items) in [
        (t(lang, "What you saw:", "你看到了："), &recap.seen),
        (t(lang, "Try next:", "接下来试试："), &recap.next),
    ] {
        if items.is_empty() {
            continue;
        }
        say!("{title}");
        for item in items {
            say!("  • {}", item.get(lang).trim());
        }
    }
}

/// `podlab lessons stats`: every shipped lesson's numbers, as a table or as JSON.
fn stats(json: bool, lang: Lang) -> Result<ExitCode> {
    let dir = crate::lesson::lessons_dir();
    let claims = crate::lesson::claims::claims_of_dir(&dir);
    let mut report = crate::lesson::stats::StatsReport { lessons: vec![] };
    let mut failed = false;
    for file in all_files(&[])? {
        match load_lesson(&file) {
            Ok(lesson) => report
                .lessons
                .push(crate::lesson::stats::lesson_stats(&lesson, &claims)),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if json {
        say!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let header = [
            t(lang, "lesson", "课程"),
            t(lang, "steps", "步骤"),
            t(lang, "learner acts", "动手"),
            t(lang, "questions", "提问"),
            t(lang, "minutes", "分钟"),
            t(lang, "stages one by one", "逐步构建的阶段"),
            t(lang, "claims", "论点"),
        ];
        let dash = |v: &[String], sep: &str| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(sep)
            }
        };
        let rows: Vec<Vec<String>> = report
            .lessons
            .iter()
            .map(|l| {
                vec![
                    l.id.clone(),
                    l.steps.to_string(),
                    l.learner_steps.to_string(),
                    l.questions.to_string(),
                    l.minutes.map_or_else(|| "-".to_string(), |m| m.to_string()),
                    dash(&l.stages, " → "),
                    dash(&l.claims, " "),
                ]
            })
            .collect();
        say!("{}", crate::present::text::table(&header, &rows).trim_end());
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `podlab lessons notes ID`: what a teacher reads before the class.
fn notes(id: &str, lang: Lang) -> Result<ExitCode> {
    let lesson = find_lesson(id)?;
    let file = &lesson.file;
    say!("══ {} · {} ══", lesson.id(), file.title.get(lang));
    let card = crate::lesson::card::card_line(file.minutes, file.difficulty, lang);
    if !card.is_empty() {
        say!("{card}");
    }
    if !file.objectives.is_empty() {
        say!("{}", t(lang, "Objectives:", "学习目标："));
        for o in &file.objectives {
            say!("  • {}", o.get(lang).trim());
        }
    }
    for (i, step) in lesson.steps().iter().enumerate() {
        say!("");
        say!("── {}. {} ──", i + 1, step.title.get(lang));
        match &step.teacher_notes {
            Some(notes) => say!("{}", notes.get(lang).trim()),
            None => say!("{}", t(lang, "(no notes)", "（没有备注）")),
        }
        if !step.cluster.is_empty() {
            say!("  {}", t(lang, "on a cluster:", "在集群中："));
            for c in &step.cluster {
                say!("    $ {c}");
            }
        }
    }
    say!("");
    print_recap(file.recap.as_ref(), lang);
    Ok(ExitCode::SUCCESS)
}

fn index_of(lesson: &Lesson, step: &str) -> usize {
    lesson
        .steps()
        .iter()
        .position(|s| s.id == step)
        .unwrap_or_default()
}

fn wait_for_enter(lang: Lang) -> Result<bool> {
    print!(
        "{}",
        t(
            lang,
            "Enter: do this step · q: quit › ",
            "回车：执行这一步 · q：退出 › "
        )
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line)?;
    Ok(read > 0 && line.trim() != "q")
}

fn print_header(lesson: &Lesson, lang: Lang) {
    say!("══ {} ══", lesson.file.title.get(lang));
    say!("{}", lesson.file.summary.get(lang).trim());
}

mod learner;

fn print_step(step: &StepSpec, index: usize, total: usize, lang: Lang) {
    say!("");
    say!("── {}/{total} {} ──", index + 1, step.title.get(lang));
    say!("{}", step.body.get(lang).trim());
    if let Some(note) = &step.simplified {
        say!(
            "{} {}",
            t(lang, "In a cluster:", "在真实集群中："),
            note.get(lang).trim()
        );
    }
    learner::print_learner(step, lang);
    if !step.commands.is_empty() {
        say!("  {}", t(lang, "by hand:", "手工命令："));
        for c in &step.commands {
            say!("    $ {c}");
        }
    }
    if !step.cluster.is_empty() {
        say!("  {}", t(lang, "on a cluster:", "在集群中："));
        for c in &step.cluster {
            say!("    $ {c}");
        }
    }
}

fn print_outcome(lesson: &Lesson, index: usize, outcome: &StepOutcome, lang: Lang, resumed: bool) {
    if resumed {
        let title = lesson
            .steps()
            .get(index)
            .map(|s| s.title.get(lang).to_string())
            .unwrap_or_default();
        say!("{} {}: {title}", t(lang, "resumed", "恢复"), index + 1);
    }
    let summary = outcome.action.summary.get(lang);
    if !summary.is_empty() {
        say!("  → {summary}");
    }
    for line in outcome.action.output.lines().take(12) {
        say!("    | {line}");
    }
    if let Some(check) = &outcome.check {
        print_check(check, lang);
    }
}

fn print_check(check: &CheckResult, lang: Lang) {
    let mark = if check.passed { "✓" } else { "✗" };
    let message = Text::get(&check.message, lang);
    let mut lines = message.lines();
    say!("  {mark} {}", lines.next().unwrap_or(""));
    for line in lines {
        say!("    {line}");
    }
}
