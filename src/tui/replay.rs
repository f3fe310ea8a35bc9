//! `podlab replay FILE`: a recorded trace played with the same player, read-only. Steps move
//! through the trace (the "engine" here answers from the recording), so autoplay, presenter
//! mode and recording work as on a live pod; nothing runs and nothing needs root. A lesson's
//! trace plays in the lesson player (`lesson_replay`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use eyre::{eyre, Result};

use super::app::{App, AppEvent, EngineCmd, EngineReply, Session};
use super::input::Input;
use super::lesson_loop::{forward, run_player_with};
use super::lesson_player::PlayerEvent;
use super::lesson_replay::{replay_player, LessonReplayHost};
use super::player::{PlayerArgs, Screen, Watches};
use super::runner::{self, Host};
use super::{terminal, words};
use crate::i18n::Lang;
use crate::record::trace::Trace;

#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// A trace made with `podlab explore --trace FILE` or `podlab lesson ID --trace FILE`
    /// (see assets/traces/).
    pub file: PathBuf,
    #[command(flatten)]
    pub player: PlayerArgs,
}

/// The app at the start of a trace: its steps, and what the panels showed before the first.
pub fn replay_app(trace: &Trace, source: &str, lang: Lang, now: Instant) -> App {
    let mut app = App::new(
        Session::Replay {
            name: trace.header.pod.clone(),
            source: source.to_string(),
        },
        trace.script(),
        0,
        lang,
    );
    if let Some(first) = trace.observation(0) {
        app.handle(AppEvent::Observed(Box::new(first.clone())), now);
    }
    app
}

/// Answers the player's engine requests from the trace.
pub struct ReplayHost {
    trace: Trace,
    /// Steps done.
    at: usize,
    events: Sender<AppEvent>,
}

impl ReplayHost {
    pub fn new(trace: Trace, events: Sender<AppEvent>) -> ReplayHost {
        ReplayHost {
            trace,
            at: 0,
            events,
        }
    }
}

impl Host for ReplayHost {
    fn run_shell(&mut self, _uid: &str, _container: &str, _command: &[String]) -> Result<i32> {
        Err(eyre!("{}", words::REPLAY_ONLY.get(Lang::En)))
    }

    fn engine(&mut self, cmd: EngineCmd) {
        let replies = match cmd {
            EngineCmd::Next if self.at < self.trace.steps() => {
                self.at += 1;
                let mut replies = vec![AppEvent::Engine(EngineReply::StepDone { next: self.at })];
                if let Some(o) = self.trace.observation(self.at) {
                    replies.push(AppEvent::Observed(Box::new(o.clone())));
                }
                replies
            }
            EngineCmd::Next => vec![AppEvent::Engine(EngineReply::StepFailed(
                "the trace has no more steps".into(),
            ))],
            EngineCmd::Restart => vec![AppEvent::Engine(EngineReply::RestartFailed(
                words::REPLAY_ONLY.get(Lang::En).into(),
            ))],
            EngineCmd::Delete { .. } => vec![AppEvent::Engine(EngineReply::Deleted)],
        };
        for r in replies {
            let _ = self.events.send(r);
        }
    }
}

pub fn replay(args: &ReplayArgs, lang: Lang) -> Result<ExitCode> {
    args.player.check()?;
    let trace = Trace::load(&args.file)?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!("podlab replay needs a terminal"));
    }
    let now = Instant::now();
    let source = args.file.display().to_string();
    if trace.header.lesson.is_some() {
        return replay_lesson(trace, &source, &args.player, lang, now);
    }
    let mut app = replay_app(&trace, &source, lang, now);
    args.player.apply(&mut app, now);
    let title = format!("podlab replay: pod/{}", trace.header.pod);
    let (tx, rx) = std::sync::mpsc::channel::<AppEvent>();
    let mut host = ReplayHost::new(trace, tx.clone());
    terminal::screen_result(run_screen(
        &mut app,
        &args.player,
        &title,
        &tx,
        &rx,
        &mut host,
    ))?;
    Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS))
}

/// A lesson's trace, in the lesson player.
fn replay_lesson(
    trace: Trace,
    source: &str,
    args: &PlayerArgs,
    lang: Lang,
    now: Instant,
) -> Result<ExitCode> {
    let mut player = replay_player(&trace, source, lang, now)?;
    args.apply_to_player(&mut player, now);
    let title = format!(
        "podlab replay: lesson {}",
        trace
            .header
            .lesson
            .as_ref()
            .map(|l| l.id.as_str())
            .unwrap_or("")
    );
    let (app_tx, app_rx) = std::sync::mpsc::channel::<AppEvent>();
    let (tx, rx) = std::sync::mpsc::channel::<PlayerEvent>();
    forward(app_rx, tx.clone())?;
    let mut host = LessonReplayHost::new(trace, tx.clone());
    let signals = terminal::spawn_signal_thread(app_tx.clone(), Arc::new(AtomicBool::new(false)))?;
    let result = (|| -> Result<()> {
        terminal::install_panic_hook();
        let _restore = terminal::Restore::take_over()?;
        let _input = Input::spawn(app_tx.clone())?;
        let mut screen = Screen::open(args, &title)?;
        let mut watches = Watches::for_player(args, screen.cast.as_ref(), &player, &title)?;
        run_player_with(
            &mut screen.terminal,
            &mut player,
            &rx,
            &tx,
            &mut host,
            watches.player_options(args.clean_start()),
        )
    })();
    signals.close();
    terminal::screen_result(result)?;
    Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS))
}

fn run_screen(
    app: &mut App,
    player: &PlayerArgs,
    title: &str,
    tx: &Sender<AppEvent>,
    rx: &Receiver<AppEvent>,
    host: &mut ReplayHost,
) -> Result<()> {
    let signals = terminal::spawn_signal_thread(tx.clone(), Arc::new(AtomicBool::new(false)))?;
    terminal::install_panic_hook();
    let _restore = terminal::Restore::take_over()?;
    let _input = Input::spawn(tx.clone())?;
    let mut screen = Screen::open(player, title)?;
    let mut watches = Watches::new(player, screen.cast.as_ref(), app, title)?;
    let result = runner::run_with(
        &mut screen.terminal,
        app,
        rx,
        tx,
        host,
        watches.options(player.clean_start()),
    );
    signals.close();
    result
}
