//! Lessons on screen: `podlab lesson ID` plays one in the player, and `podlab` with no
//! arguments opens the lesson list. The player's loop is generic over ratatui's `Backend`, so
//! tests run it on `TestBackend` with a real lesson.

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eyre::{eyre, Result};

use super::event::Event;
use super::host::NoHost;
use super::lesson_player::Player;
use super::lesson_worker::LessonWorker;
use super::live_host::LiveHost;
use super::on_terminal::run_on_terminal;
use super::picker::{load_entries, Choice, Picker};
use super::player::{open_screen, PlayerArgs, Screen, Watches};
use super::session::{explore_screen, why_no_pods, ExploreArgs, OBSERVATIONS_PER_SECOND};
use super::workers::{Observer, SharedTarget};
use super::{terminal, words};
use crate::i18n::Lang;
use crate::lesson::{find_lesson, lessons_dir, Lesson, ProgressStore, Runner, RunnerOptions};
use crate::observe::Target;
use crate::tui::record::trace::Trace;

/// How the player is started.
#[derive(Debug, Clone)]
pub struct PlayArgs {
    /// Forget the saved progress and start from step 1.
    pub restart: bool,
    /// Observations per second for the live panels.
    pub rate: f64,
    /// Autoplay, presenter mode, theme, recording, trace: as for the explorer.
    pub player: PlayerArgs,
    /// Challenge mode: commands and hints hidden until asked for (c, h).
    pub challenge: bool,
}

impl Default for PlayArgs {
    fn default() -> PlayArgs {
        PlayArgs {
            restart: false,
            rate: OBSERVATIONS_PER_SECOND,
            player: PlayerArgs::default(),
            challenge: false,
        }
    }
}

impl PlayArgs {
    /// A recording or a trace is a demo: it starts from step 1 and neither reads nor
    /// changes the learner's saved progress.
    fn is_demo(&self) -> bool {
        self.player.record.is_some() || self.player.trace.is_some()
    }
}

fn needs_terminal(what: &str, lang: Lang) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!(
            "{what} {} podlab lesson ID --autoplay --headless",
            lang.pick(
                "needs a terminal; without one use:",
                "需要一个终端；没有终端时请用："
            )
        ));
    }
    Ok(())
}

/// Play `lesson` in the player on this terminal. Quitting deletes the lesson's pods.
pub fn play_lesson(lesson: Lesson, args: &PlayArgs, lang: Lang) -> Result<ExitCode> {
    needs_terminal("podlab lesson", lang)?;
    let (lang, done, total) = play(lesson, args, lang)?;
    terminal::say_last(&format!(
        "{}: {done}/{total} {}",
        words::STEPS.get(lang),
        words::tr(
            lang,
            "done; the lesson's pods are deleted",
            "完成；课程的 Pod 已删除"
        )
    ));
    Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS))
}

/// The player on the real terminal; returns the language it ended in and the steps done.
fn play(lesson: Lesson, args: &PlayArgs, lang: Lang) -> Result<(Lang, usize, usize)> {
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 50.0) {
        return Err(eyre!(
            "--rate must be between 0 and 50 observations per second, not {}",
            args.rate
        ));
    }
    args.player.check()?;
    if let Some(why) = why_no_pods(lang) {
        return Err(eyre!(
            "{} {why} (sudo podlab lesson {})",
            lang.pick(
                "a lesson builds real pods, and this machine does not let podlab build them:",
                "课程会构建真实的 Pod，而这台机器不允许 podlab 构建它们："
            ),
            lesson.id()
        ));
    }
    crate::lesson::needs::runs_here(&lesson, lang)?;
    super::fault::check_setting()?;
    crate::runtime::ensure_ready(lang)?;
    let _ = crate::runtime::gc::collect();
    let demo = args.is_demo();
    let progress = if demo {
        None
    } else {
        Some(ProgressStore::for_user()?)
    };
    let runner = Runner::new(
        lesson.clone(),
        RunnerOptions {
            progress,
            ..RunnerOptions::default()
        },
    )?;
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let worker = LessonWorker::spawn(runner, tx.clone())?;
    let title = format!(
        "podlab lesson {}: {}",
        lesson.id(),
        lesson.file.title.get(lang)
    );
    let mut player = Player::new(lesson, args.restart || demo, lang);
    args.player.apply_to_player(&mut player, Instant::now());
    if args.challenge {
        player.set_challenge();
    }
    let target: SharedTarget = Arc::new(Mutex::new(Target::Pids(Vec::new())));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let _observer = Observer::spawn(Arc::clone(&target), args.rate, tx.clone())?;
        run_on_terminal(
            &mut player,
            (&tx, &rx),
            args.player.clean_start(),
            open_screen(&args.player, &title),
            |terminal| LiveHost {
                terminal,
                engine: None,
                lesson: Some(&worker),
                target: Some(&target),
            },
        )
    }));
    // Whatever happened on screen (a panic included), the lesson's pods go, and we wait
    // until they are gone.
    let finished = worker.finish();
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    finished?;
    if let Some(failure) = &player.failure {
        return Err(eyre!("lesson {}: {failure}", player.lesson.id()));
    }
    Ok((player.lang(), player.done_count(), player.steps.len()))
}

/// What the lesson list says first when podlab runs without root: that pods are built
/// rootless, and the alternative; or, where this machine cannot do that, why (after offering
/// sudo on the terminal) and what still works. None as root.
fn without_root(lang: Lang) -> Option<String> {
    if !crate::runtime::rootless::is_rootless() {
        return None;
    }
    if let Err(e) = crate::runtime::setup::require_builder("podlab", lang) {
        return Some(format!("{e:#}"));
    }
    Some(
        lang.pick(
            "No root: pods are built rootless, in user namespaces of yours (podlab-node). For root mode instead: sudo podlab",
            "没有 root：Pod 以 rootless 方式构建在你自己的 user 命名空间里（podlab-node）。要用 root 模式：sudo podlab",
        )
        .to_string(),
    )
}

/// `podlab` with no arguments: the lesson list. Enter plays a lesson and `e` opens the free
/// explorer on `default_manifest`; quitting either comes back to the list; `q` there quits.
pub fn home(default_manifest: PathBuf, lang: Lang) -> Result<ExitCode> {
    if needs_terminal("podlab", lang).is_err() {
        // Without a terminal, the explorer's own message says what to do instead.
        return super::explore(&ExploreArgs::default(), default_manifest, lang);
    }
    let mut lang = lang;
    let mut theme = None;
    // Without root: rootless first; sudo offered only when this machine cannot do it.
    let mut message: Option<String> = without_root(lang);
    let mut selected: Option<PathBuf> = None;
    // What this machine can run is looked at once (`podlab doctor` says the same).
    let machine = crate::doctor::examine();
    loop {
        let store = ProgressStore::for_user().ok();
        let (entries, problems) = load_entries(&lessons_dir(), store.as_ref(), Some(&machine));
        let mut picker = Picker::new(entries, lang);
        if let Some(theme) = theme {
            picker.set_theme(theme);
        }
        if let Some(path) = &selected {
            if let Some(i) = picker.entries.iter().position(|e| &e.path == path) {
                picker.selected = i;
            }
        }
        picker.status = message.take().or_else(|| problems.first().cloned());
        let choice = pick(&mut picker)?;
        lang = picker.lang;
        theme = Some(picker.theme);
        let player = PlayerArgs {
            theme,
            ..PlayerArgs::default()
        };
        let outcome = match choice {
            Choice::Quit => return Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS)),
            Choice::Explorer => {
                let args = ExploreArgs {
                    player,
                    ..ExploreArgs::default()
                };
                explore_screen(&args, default_manifest.clone(), lang).map(|ended| ended.lang)
            }
            Choice::Lesson(path) => {
                selected = Some(path.clone());
                let args = PlayArgs {
                    player,
                    ..PlayArgs::default()
                };
                find_lesson(&path.display().to_string())
                    .and_then(|lesson| play(lesson, &args, lang))
                    .map(|(lang, _, _)| lang)
            }
            Choice::Replay { trace, why } => {
                selected = picker.entries.get(picker.selected).map(|e| e.path.clone());
                let notice = format!(
                    "{} ({}): {}",
                    words::tr(
                        lang,
                        "this machine cannot run this lesson",
                        "这台机器不能运行这节课"
                    ),
                    why.get(lang),
                    words::tr(
                        lang,
                        "its recorded trace plays instead (podlab doctor says more)",
                        "改为回放它的录制轨迹（podlab doctor 会说明详情）"
                    )
                );
                Trace::load(&trace).and_then(|t| {
                    super::replay::play_lesson_trace(
                        t,
                        &trace.display().to_string(),
                        &player,
                        lang,
                        Some(notice),
                    )
                })
            }
        };
        if let Some(code) = terminal::signal_exit_code() {
            // A signal or a closed terminal ended the screen (its pods are deleted): podlab
            // ends too.
            return Ok(code);
        }
        match outcome {
            Ok(l) => lang = l,
            Err(e) => message = Some(format!("{e:#}")),
        }
    }
}

/// The lesson list on the real terminal, until a choice is made.
fn pick(picker: &mut Picker) -> Result<Choice> {
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    run_on_terminal(
        picker,
        (&tx, &rx),
        false,
        |_| {
            Ok((
                Screen::open(&PlayerArgs::default(), "podlab")?,
                Watches::none(),
            ))
        },
        |_| NoHost,
    )?;
    // No choice: a signal or a closed terminal ended the list.
    Ok(picker.choice.take().unwrap_or(Choice::Quit))
}
