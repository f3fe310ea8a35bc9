//! `podlab replay FILE`: a recorded trace played with the same player, read-only. Steps move
//! through the trace (the "engine" here answers from the recording), so autoplay, presenter
//! mode and recording work as on a live pod; nothing runs and nothing needs root. A lesson's
//! trace plays in the lesson player (`lesson_replay`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::Sender;
use std::time::Instant;

use eyre::{eyre, Result};

use super::app::{App, Session, StatusKind};
use super::event::{EngineCmd, EngineReply, Event};
use super::host::Host;
use super::lesson_replay::{replay_player, LessonReplayHost};
use super::on_terminal::run_on_terminal;
use super::player::{open_screen, PlayerArgs};
use super::{terminal, words};
use crate::i18n::Lang;
use crate::tui::record::trace::Trace;

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
        app.handle(Event::Observed(Box::new(first.clone())), now);
    }
    app
}

/// Answers the player's engine requests from the trace.
pub struct ReplayHost {
    trace: Trace,
    /// Steps done.
    at: usize,
    events: Sender<Event>,
}

impl ReplayHost {
    pub fn new(trace: Trace, events: Sender<Event>) -> ReplayHost {
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
                let mut replies = vec![Event::Engine(EngineReply::StepDone { next: self.at })];
                if let Some(o) = self.trace.observation(self.at) {
                    replies.push(Event::Observed(Box::new(o.clone())));
                }
                replies
            }
            EngineCmd::Next => vec![Event::Engine(EngineReply::StepFailed(
                "the trace has no more steps".into(),
            ))],
            EngineCmd::Restart => vec![Event::Engine(EngineReply::RestartFailed(
                words::REPLAY_ONLY.get(Lang::En).into(),
            ))],
            EngineCmd::Delete { .. } => vec![Event::Engine(EngineReply::Deleted)],
        };
        for r in replies {
            let _ = self.events.send(r);
        }
    }
}

/// A lesson's trace in the lesson player on this terminal, with `notice` in the status line
/// at the start; returns the language the player ended in.
pub fn play_lesson_trace(
    trace: Trace,
    source: &str,
    player: &PlayerArgs,
    lang: Lang,
    notice: Option<String>,
) -> Result<Lang> {
    let now = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let mut lesson = replay_player(&trace, source, lang, now)?;
    player.apply_to_player(&mut lesson, now);
    if let Some(notice) = notice {
        lesson.app.status = Some((StatusKind::Info, notice));
    }
    let title = format!(
        "podlab replay: lesson {}",
        trace.header.lesson.as_ref().map_or("", |l| l.id.as_str())
    );
    let host = LessonReplayHost::new(trace, tx.clone());
    run_on_terminal(
        &mut lesson,
        (&tx, &rx),
        player.clean_start(),
        open_screen(player, &title),
        |_| host,
    )?;
    Ok(lesson.lang())
}

pub fn replay(args: &ReplayArgs, lang: Lang) -> Result<ExitCode> {
    args.player.check()?;
    let trace = Trace::load(&args.file)?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!(
            "podlab replay {}",
            lang.pick("needs a terminal", "需要一个终端")
        ));
    }
    let now = Instant::now();
    let source = args.file.display().to_string();
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let player = &args.player;
    let clean_start = player.clean_start();
    if trace.header.lesson.is_some() {
        play_lesson_trace(trace, &source, player, lang, None)?;
    } else {
        let mut app = replay_app(&trace, &source, lang, now);
        player.apply(&mut app, now);
        let title = format!("podlab replay: pod/{}", trace.header.pod);
        let host = ReplayHost::new(trace, tx.clone());
        run_on_terminal(
            &mut app,
            (&tx, &rx),
            clean_start,
            open_screen(player, &title),
            |_| host,
        )?;
    }
    Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS))
}
