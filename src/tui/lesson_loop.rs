//! The lesson player's loop: one channel brings input, observations and the lesson thread's
//! answers; each event updates the player, its effects are carried out through a
//! `PlayerHost`, and the screen is drawn once if anything changed. Generic over ratatui's
//! `Backend` and free of the machine (the host does that), so a replay runs it anywhere and
//! tests run it on `TestBackend`.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use super::signal::Signal;
use eyre::{eyre, Result};
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::app::{AppEvent, Effect};
use super::lesson_player::{LessonCmd, Player, PlayerEffect, PlayerEvent};
use super::runner::{RunOptions, FIRST_OBSERVATION_WAIT};
use super::ui;
use crate::kube::pod_state::ProcessRef;
use crate::observe::Target;

/// What the player's loop needs from the world outside the screen.
pub trait PlayerHost {
    /// Pass a request on to the lesson's thread.
    fn lesson(&mut self, cmd: LessonCmd);
    /// Point the live panels at another target.
    fn observe(&mut self, target: Target);
    /// Hand the terminal to `podlab exec` in a container and take it back.
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32>;
    /// Send a signal to a container's process; false if it is gone (or nothing runs here).
    fn signal(&mut self, _process: ProcessRef, _signal: Signal) -> bool {
        false
    }
    /// The end of a container's log.
    fn read_logs(&mut self, _uid: &str, _container: &str) -> String {
        String::new()
    }
}

/// Pass the explorer's events (input, observations, signals) into the player's channel.
pub fn forward(from: Receiver<AppEvent>, to: Sender<PlayerEvent>) -> Result<()> {
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
    run_player_with(
        terminal,
        player,
        events,
        feedback,
        host,
        RunOptions::default(),
    )
}

/// `run_player`, with watches (a recording's markers, a trace) told of every event and frame.
pub fn run_player_with<B: Backend>(
    terminal: &mut Terminal<B>,
    player: &mut Player,
    events: &Receiver<PlayerEvent>,
    feedback: &Sender<PlayerEvent>,
    host: &mut dyn PlayerHost,
    mut options: RunOptions<'_, Player>,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let result = run_loop(terminal, player, events, feedback, host, &mut options);
    let mut finished = Ok(());
    for w in options.watches.iter_mut() {
        if let Err(e) = w.finish(player) {
            finished = Err(e);
        }
    }
    result.and(finished)
}

fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    player: &mut Player,
    events: &Receiver<PlayerEvent>,
    feedback: &Sender<PlayerEvent>,
    host: &mut dyn PlayerHost,
    options: &mut RunOptions<'_, Player>,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let watches = &mut options.watches;
    let first = player.start();
    carry_out(terminal, first.effects, feedback, host)?;
    if options.clean_start {
        // For an audience or a recording: no first frame of a lesson still resuming.
        let until = Instant::now() + FIRST_OBSERVATION_WAIT;
        while !player.settled() {
            let left = until.saturating_duration_since(Instant::now());
            let Ok(event) = events.recv_timeout(left) else {
                break;
            };
            let update = player.handle(event, Instant::now());
            for w in watches.iter_mut() {
                w.handled(player)?;
            }
            if carry_out(terminal, update.effects, feedback, host)?.0 {
                return Ok(());
            }
        }
    }
    super::terminal::draw(terminal, |f| ui::draw_player(f, player, Instant::now()))?;
    for w in watches.iter_mut() {
        w.drawn(player)?;
    }
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
        for w in watches.iter_mut() {
            w.handled(player)?;
        }
        let (exit, cleared) = carry_out(terminal, update.effects, feedback, host)?;
        if update.redraw || cleared {
            super::terminal::draw(terminal, |f| ui::draw_player(f, player, Instant::now()))?;
            for w in watches.iter_mut() {
                w.drawn(player)?;
            }
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
                let delivered = host.signal(process, signal);
                send(AppEvent::SignalSent {
                    container,
                    signal,
                    delivered,
                });
            }
            PlayerEffect::App(Effect::ReadLogs { uid, container }) => {
                let text = host.read_logs(&uid, &container);
                send(AppEvent::Logs { container, text });
            }
            PlayerEffect::App(Effect::Exit) => exit = true,
            PlayerEffect::App(Effect::Engine(_) | Effect::KillNow { .. }) => {}
        }
    }
    Ok((exit, cleared))
}
