//! Lessons on screen: `podlab lesson ID` plays one in the player, and `podlab` with no
//! arguments opens the lesson list. The player's loop is generic over ratatui's `Backend`, so
//! tests run it on `TestBackend` with a real lesson.

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eyre::{eyre, Result, WrapErr};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;

use super::app::{AppEvent, Effect};
use super::input::Input;
use super::lesson_player::{LessonCmd, Player, PlayerEffect, PlayerEvent};
use super::lesson_worker::LessonWorker;
use super::picker::{load_entries, Choice, Picker};
use super::runner::Host;
use super::session::{can_build_pods, read_log_tail, RealHost};
use super::terminal::spawn_signal_thread;
use super::theme::ThemeKind;
use super::workers::{Observer, SharedTarget};
use super::{terminal, ui, words};
use crate::i18n::Lang;
use crate::lesson::{find_lesson, lessons_dir, Lesson, ProgressStore, Runner, RunnerOptions};
use crate::observe::Target;

/// How the player is started.
#[derive(Debug, Clone)]
pub struct PlayArgs {
    /// Forget the saved progress and start from step 1.
    pub restart: bool,
    /// Observations per second for the live panels.
    pub rate: f64,
    pub theme: Option<ThemeKind>,
}

impl Default for PlayArgs {
    fn default() -> PlayArgs {
        PlayArgs {
            restart: false,
            rate: 4.0,
            theme: None,
        }
    }
}

/// What the player's loop needs from the world outside the screen.
pub trait PlayerHost {
    /// Pass a request on to the lesson's thread.
    fn lesson(&mut self, cmd: LessonCmd);
    /// Point the live panels at another target.
    fn observe(&mut self, target: Target);
    /// Hand the terminal to `podlab exec` in a container and take it back.
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32>;
}

/// Run the player until it exits or the event channel closes.
pub fn run_player<B: Backend>(
    terminal: &mut Terminal<B>,
    player: &mut Player,
    events: &Receiver<PlayerEvent>,
    feedback: &Sender<PlayerEvent>,
    host: &mut dyn PlayerHost,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let first = player.start();
    carry_out(terminal, first.effects, feedback, host)?;
    terminal.draw(|f| ui::draw_player(f, player, Instant::now()))?;
    loop {
        let now = Instant::now();
        let event = match player.next_deadline(now) {
            Some(deadline) => match events.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => PlayerEvent::App(AppEvent::Tick),
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match events.recv() {
                Ok(e) => e,
                Err(_) => return Ok(()),
            },
        };
        let update = player.handle(event, Instant::now());
        super::fault::panic_if_planned(player.done_count());
        let (exit, cleared) = carry_out(terminal, update.effects, feedback, host)?;
        if update.redraw || cleared {
            terminal.draw(|f| ui::draw_player(f, player, Instant::now()))?;
        }
        if exit {
            return Ok(());
        }
    }
}

/// Carry out effects; returns (exit, the screen must be painted again).
fn carry_out<B: Backend>(
    terminal: &mut Terminal<B>,
    effects: Vec<PlayerEffect>,
    feedback: &Sender<PlayerEvent>,
    host: &mut dyn PlayerHost,
) -> Result<(bool, bool)>
where
    B::Error: Send + Sync + 'static,
{
    let mut exit = false;
    let mut cleared = false;
    let send = |e: AppEvent| {
        let _ = feedback.send(PlayerEvent::App(e));
    };
    for effect in effects {
        match effect {
            PlayerEffect::Lesson(cmd) => host.lesson(cmd),
            PlayerEffect::Observe(target) => host.observe(target),
            PlayerEffect::App(Effect::Shell {
                uid,
                container,
                command,
            }) => {
                let result = host
                    .run_shell(&uid, &container, &command)
                    .map_err(|e| format!("{e:#}"));
                terminal.clear()?;
                cleared = true;
                send(AppEvent::ShellDone { container, result });
            }
            PlayerEffect::App(Effect::Signal {
                container,
                process,
                signal,
            }) => {
                let delivered = process.signal(signal);
                send(AppEvent::SignalSent {
                    container,
                    signal,
                    delivered,
                });
            }
            PlayerEffect::App(Effect::ReadLogs { uid, container }) => {
                let text = read_log_tail(&uid, &container);
                send(AppEvent::Logs { container, text });
            }
            PlayerEffect::App(Effect::Exit) => exit = true,
            PlayerEffect::App(Effect::Engine(_) | Effect::KillNow { .. }) => {}
        }
    }
    Ok((exit, cleared))
}

/// Pass the explorer's events (input, observations, signals) into the player's channel.
fn forward(from: Receiver<AppEvent>, to: Sender<PlayerEvent>) -> Result<()> {
    std::thread::Builder::new()
        .name("podlab-forward".into())
        .spawn(move || {
            while let Ok(e) = from.recv() {
                if to.send(PlayerEvent::App(e)).is_err() {
                    return;
                }
            }
        })
        .map(|_| ())
        .map_err(|e| eyre!("failed to start the event thread: {e}"))
}

struct RealPlayerHost<'a> {
    shell: RealHost<'a>,
    worker: &'a LessonWorker,
    target: &'a SharedTarget,
}

impl PlayerHost for RealPlayerHost<'_> {
    fn lesson(&mut self, cmd: LessonCmd) {
        self.worker.send(cmd);
    }

    fn observe(&mut self, target: Target) {
        if let Ok(mut t) = self.target.lock() {
            *t = target;
        }
    }

    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32> {
        self.shell.run_shell(uid, container, command)
    }
}

fn needs_terminal(what: &str) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!(
            "{what} needs a terminal; without one use: podlab lesson ID --autoplay --headless"
        ));
    }
    Ok(())
}

/// Play `lesson` in the player on this terminal. Quitting deletes the lesson's pods.
pub fn play_lesson(lesson: Lesson, args: &PlayArgs, lang: Lang) -> Result<ExitCode> {
    needs_terminal("the lesson player")?;
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
    if !can_build_pods() {
        return Err(eyre!(
            "a lesson builds real pods and needs root: run sudo podlab lesson {}",
            lesson.id()
        ));
    }
    super::fault::check_setting()?;
    crate::cli::setup::ensure_busybox()?;
    let _ = crate::runtime::gc::collect();
    let runner = Runner::new(
        lesson.clone(),
        RunnerOptions {
            progress: Some(ProgressStore::for_user()?),
            ..RunnerOptions::default()
        },
    )?;
    let (app_tx, app_rx) = std::sync::mpsc::channel::<AppEvent>();
    let (tx, rx) = std::sync::mpsc::channel::<PlayerEvent>();
    forward(app_rx, tx.clone())?;
    let worker = LessonWorker::spawn(runner, tx.clone())?;
    let mut player = Player::new(lesson, args.restart, lang);
    if let Some(theme) = args.theme {
        player.app.set_theme(theme);
    }
    let target: SharedTarget = Arc::new(Mutex::new(Target::Pids(Vec::new())));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let in_child = Arc::new(AtomicBool::new(false));
        let signals = spawn_signal_thread(app_tx.clone(), Arc::clone(&in_child))?;
        let _observer = Observer::spawn(Arc::clone(&target), args.rate, app_tx.clone())?;
        terminal::install_panic_hook();
        let _restore = terminal::Restore::take_over()?;
        let input = Input::spawn(app_tx.clone())?;
        let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
            .wrap_err("failed to set up the terminal")?;
        let mut host = RealPlayerHost {
            shell: RealHost {
                input: &input,
                in_child: &in_child,
                engine: None,
            },
            worker: &worker,
            target: &target,
        };
        let result = run_player(&mut term, &mut player, &rx, &tx, &mut host);
        signals.close();
        result
    }));
    // Whatever happened on screen (a panic included), the lesson's pods go, and we wait
    // until they are gone.
    let finished = worker.finish();
    let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    if terminal::signal_exit_code().is_none() {
        result?;
    }
    finished?;
    Ok((player.lang(), player.done_count(), player.steps.len()))
}

/// `podlab` with no arguments: the lesson list; Enter plays a lesson (and comes back to the
/// list), `e` opens the free explorer on `default_manifest`, `q` quits.
pub fn home(default_manifest: PathBuf, lang: Lang) -> Result<ExitCode> {
    let explore = |lang: Lang| {
        let args = super::ExploreArgs {
            file: None,
            rate: 4.0,
            network: crate::cli::run::NetworkChoice::Native,
            time_scale: 1.0,
            player: super::player::PlayerArgs::default(),
        };
        super::explore(&args, default_manifest.clone(), lang)
    };
    if needs_terminal("podlab").is_err() {
        // Today's message for a missing terminal.
        return explore(lang);
    }
    let mut lang = lang;
    let mut theme = None;
    let mut message: Option<String> = None;
    let mut selected: Option<PathBuf> = None;
    loop {
        let store = ProgressStore::for_user().ok();
        let (entries, problems) = load_entries(&lessons_dir(), store.as_ref());
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
        match choice {
            Choice::Quit => return Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS)),
            Choice::Explorer => return explore(lang),
            Choice::Lesson(path) => {
                selected = Some(path.clone());
                let played = find_lesson(&path.display().to_string()).and_then(|lesson| {
                    play(
                        lesson,
                        &PlayArgs {
                            theme,
                            ..PlayArgs::default()
                        },
                        lang,
                    )
                });
                if let Some(code) = terminal::signal_exit_code() {
                    // A signal ended the lesson (its pods are deleted): podlab ends too.
                    return Ok(code);
                }
                match played {
                    Ok((l, _, _)) => lang = l,
                    Err(e) => message = Some(format!("{e:#}")),
                }
            }
        }
    }
}

/// The lesson list on the real terminal, until a choice is made.
fn pick(picker: &mut Picker) -> Result<Choice> {
    let (tx, rx) = std::sync::mpsc::channel::<AppEvent>();
    let in_child = Arc::new(AtomicBool::new(false));
    let signals = spawn_signal_thread(tx.clone(), in_child)?;
    terminal::install_panic_hook();
    let _restore = terminal::Restore::take_over()?;
    let _input = Input::spawn(tx)?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .wrap_err("failed to set up the terminal")?;
    let result = run_picker(&mut term, picker, &rx);
    signals.close();
    result
}

/// Draw the list and take keys until a choice is made (or the channel closes: quit).
pub fn run_picker<B: Backend>(
    terminal: &mut Terminal<B>,
    picker: &mut Picker,
    events: &Receiver<AppEvent>,
) -> Result<Choice>
where
    B::Error: Send + Sync + 'static,
{
    loop {
        terminal.draw(|f| ui::draw_picker(f, picker))?;
        match events.recv() {
            Ok(AppEvent::Key(key)) => {
                if let Some(choice) = picker.key(&key) {
                    return Ok(choice);
                }
            }
            Ok(AppEvent::Terminate) | Err(_) => return Ok(Choice::Quit),
            Ok(_) => {}
        }
    }
}
