//! The loop: one channel brings input, observations, engine answers and signals; each event
//! updates the app, its effects are carried out, and the screen is drawn once if anything
//! changed. Generic over ratatui's `Backend`, so tests run the real loop on `TestBackend`.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use eyre::Result;
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::app::{App, AppEvent, Effect, EngineCmd};
use super::signal::Signal;
use super::ui;
use crate::kube::pod_state::ProcessRef;

/// What the loop needs from the world outside the screen. Everything that touches the
/// machine (Linux only) goes through here, so the player itself — and a replay — runs anywhere.
pub trait Host {
    /// Hand the terminal to `podlab exec` in a container and take it back.
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32>;
    /// Pass an engine request on.
    fn engine(&mut self, cmd: EngineCmd);
    /// Send a signal to a container's process; false if it is gone.
    fn signal(&mut self, _process: ProcessRef, _signal: Signal) -> bool {
        false
    }
    /// The end of a container's log.
    fn read_logs(&mut self, _uid: &str, _container: &str) -> String {
        String::new()
    }
    /// Cut an ongoing deletion short.
    fn kill_now(&mut self, _uid: &str) {}
}

/// Something that follows the player as it goes: a recording's step markers, a trace.
/// `T` is what is played: the explorer's `App`, or a lesson's `Player`.
pub trait Watch<T: ?Sized = App> {
    /// After the app handled an event (before the screen is drawn).
    fn handled(&mut self, _app: &T) -> Result<()> {
        Ok(())
    }
    /// After a frame was drawn and flushed.
    fn drawn(&mut self, _app: &T) -> Result<()> {
        Ok(())
    }
    /// The loop ended (also after an error): write what is still pending.
    fn finish(&mut self, _app: &T) -> Result<()> {
        Ok(())
    }
}

/// How long a clean start waits for the first observation.
pub const FIRST_OBSERVATION_WAIT: Duration = Duration::from_secs(3);

pub struct RunOptions<'a, T: ?Sized = App> {
    pub watches: Vec<&'a mut dyn Watch<T>>,
    /// Draw the first frame only once the panels have something to show (for an audience
    /// or a recording: no frame of empty panels first).
    pub clean_start: bool,
}

impl<T: ?Sized> Default for RunOptions<'_, T> {
    fn default() -> Self {
        RunOptions {
            watches: Vec::new(),
            clean_start: false,
        }
    }
}

/// Run until the app exits or the event channel closes.
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: &Receiver<AppEvent>,
    feedback: &Sender<AppEvent>,
    host: &mut dyn Host,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    run_with(terminal, app, events, feedback, host, RunOptions::default())
}

/// `run`, with watches told of every event and frame.
pub fn run_with<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: &Receiver<AppEvent>,
    feedback: &Sender<AppEvent>,
    host: &mut dyn Host,
    mut options: RunOptions,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let result = run_loop(terminal, app, events, feedback, host, &mut options);
    let mut finished = Ok(());
    for w in options.watches.iter_mut() {
        if let Err(e) = w.finish(app) {
            finished = Err(e);
        }
    }
    result.and(finished)
}

fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: &Receiver<AppEvent>,
    feedback: &Sender<AppEvent>,
    host: &mut dyn Host,
    options: &mut RunOptions,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let watches = &mut options.watches;
    if options.clean_start && app.observed.is_none() {
        let until = Instant::now() + FIRST_OBSERVATION_WAIT;
        while app.observed.is_none() {
            let left = until.saturating_duration_since(Instant::now());
            let Ok(event) = events.recv_timeout(left) else {
                break;
            };
            let update = app.handle(event, Instant::now());
            for w in watches.iter_mut() {
                w.handled(app)?;
            }
            if carry_out(terminal, update.effects, feedback, host)?.exit {
                return Ok(());
            }
        }
    }
    super::terminal::draw(terminal, |f| ui::draw(f, app, Instant::now()))?;
    for w in watches.iter_mut() {
        w.drawn(app)?;
    }
    loop {
        let now = Instant::now();
        let event = match app.next_deadline(now) {
            Some(deadline) => match events.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => AppEvent::Tick,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match events.recv() {
                Ok(e) => e,
                Err(_) => return Ok(()),
            },
        };
        let update = app.handle(event, Instant::now());
        super::fault::panic_if_planned(app.engine_done);
        for w in watches.iter_mut() {
            w.handled(app)?;
        }
        let done = carry_out(terminal, update.effects, feedback, host)?;
        if update.redraw || done.redraw {
            super::terminal::draw(terminal, |f| ui::draw(f, app, Instant::now()))?;
            for w in watches.iter_mut() {
                w.drawn(app)?;
            }
        }
        if done.exit {
            return Ok(());
        }
    }
}

struct Carried {
    redraw: bool,
    exit: bool,
}

/// Do what the app asked for outside itself.
fn carry_out<B: Backend>(
    terminal: &mut Terminal<B>,
    effects: Vec<Effect>,
    feedback: &Sender<AppEvent>,
    host: &mut dyn Host,
) -> Result<Carried>
where
    B::Error: Send + Sync + 'static,
{
    let mut redraw = false;
    let mut exit = false;
    for effect in effects {
        match effect {
            Effect::Engine(cmd) => host.engine(cmd),
            Effect::Shell {
                uid,
                container,
                command,
            } => {
                let result = host
                    .run_shell(&uid, &container, &command)
                    .map_err(|e| format!("{e:#}"));
                // The child drew over our screen: paint everything again.
                terminal.clear()?;
                let _ = feedback.send(AppEvent::ShellDone { container, result });
                redraw = true;
            }
            Effect::Signal {
                container,
                process,
                signal,
            } => {
                let delivered = host.signal(process, signal);
                let _ = feedback.send(AppEvent::SignalSent {
                    container,
                    signal,
                    delivered,
                });
            }
            Effect::ReadLogs { uid, container } => {
                let text = host.read_logs(&uid, &container);
                let _ = feedback.send(AppEvent::Logs { container, text });
            }
            Effect::KillNow { uid } => host.kill_now(&uid),
            Effect::Exit => exit = true,
        }
    }
    Ok(Carried { redraw, exit })
}
