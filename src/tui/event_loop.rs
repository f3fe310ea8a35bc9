//! The one loop of every screen: one channel brings input, observations, the threads' answers
//! and signals; each event updates the screen (`Scene`), its effects are carried out through
//! the `Host`, and the screen is drawn once if anything changed. Generic over ratatui's
//! `Backend`, so tests run the real loop on `TestBackend`.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use eyre::Result;
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::event::{Effect, Event};
use super::host::Host;
use super::scene::Scene;

/// Something that follows a screen as it goes: a recording's step markers, a trace.
pub trait Watch<S: ?Sized> {
    /// After the screen handled an event (before it is drawn).
    fn handled(&mut self, _scene: &S) -> Result<()> {
        Ok(())
    }
    /// After a frame was drawn and flushed.
    fn drawn(&mut self, _scene: &S) -> Result<()> {
        Ok(())
    }
    /// The loop ended (also after an error): write what is still pending.
    fn finish(&mut self, _scene: &S) -> Result<()> {
        Ok(())
    }
}

/// How long a clean start waits for the screen to settle.
pub const FIRST_OBSERVATION_WAIT: Duration = Duration::from_secs(3);

pub struct RunOptions<'a, S: ?Sized> {
    pub watches: Vec<&'a mut dyn Watch<S>>,
    /// Draw the first frame only once the screen has settled (for an audience or a
    /// recording: no frame of empty panels first).
    pub clean_start: bool,
}

impl<S: ?Sized> Default for RunOptions<'_, S> {
    fn default() -> Self {
        RunOptions {
            watches: Vec::new(),
            clean_start: false,
        }
    }
}

/// Run `scene` until it exits or the event channel closes.
pub fn run<S: Scene, B: Backend>(
    terminal: &mut Terminal<B>,
    scene: &mut S,
    events: &Receiver<Event>,
    feedback: &Sender<Event>,
    host: &mut dyn Host,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    run_with(
        terminal,
        scene,
        events,
        feedback,
        host,
        RunOptions::default(),
    )
}

/// `run`, with watches told of every event and frame.
pub fn run_with<S: Scene, B: Backend>(
    terminal: &mut Terminal<B>,
    scene: &mut S,
    events: &Receiver<Event>,
    feedback: &Sender<Event>,
    host: &mut dyn Host,
    mut options: RunOptions<'_, S>,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let result = run_loop(terminal, scene, events, feedback, host, &mut options);
    let mut finished = Ok(());
    for w in options.watches.iter_mut() {
        if let Err(e) = w.finish(scene) {
            finished = Err(e);
        }
    }
    result.and(finished)
}

fn run_loop<S: Scene, B: Backend>(
    terminal: &mut Terminal<B>,
    scene: &mut S,
    events: &Receiver<Event>,
    feedback: &Sender<Event>,
    host: &mut dyn Host,
    options: &mut RunOptions<'_, S>,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let watches = &mut options.watches;
    let first = scene.start();
    if carry_out(terminal, first.effects, feedback, host)?.exit {
        return Ok(());
    }
    if options.clean_start {
        let until = Instant::now() + FIRST_OBSERVATION_WAIT;
        while !scene.settled() {
            let left = until.saturating_duration_since(Instant::now());
            let Ok(event) = events.recv_timeout(left) else {
                break;
            };
            let update = scene.handle(event, Instant::now());
            for w in watches.iter_mut() {
                w.handled(scene)?;
            }
            if carry_out(terminal, update.effects, feedback, host)?.exit {
                return Ok(());
            }
        }
    }
    draw(terminal, scene)?;
    for w in watches.iter_mut() {
        w.drawn(scene)?;
    }
    loop {
        let now = Instant::now();
        let event = match scene.next_deadline(now) {
            Some(deadline) => match events.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => Event::Tick,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match events.recv() {
                Ok(e) => e,
                Err(_) => return Ok(()),
            },
        };
        let update = scene.handle(event, Instant::now());
        super::fault::panic_if_planned(scene.steps_done());
        for w in watches.iter_mut() {
            w.handled(scene)?;
        }
        let done = carry_out(terminal, update.effects, feedback, host)?;
        if update.redraw || done.redraw {
            draw(terminal, scene)?;
            for w in watches.iter_mut() {
                w.drawn(scene)?;
            }
        }
        if done.exit {
            return Ok(());
        }
    }
}

fn draw<S: Scene, B: Backend>(terminal: &mut Terminal<B>, scene: &S) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    super::terminal::draw(terminal, |f| scene.draw(f, Instant::now()))
}

struct Carried {
    redraw: bool,
    exit: bool,
}

/// Do what the screen asked for outside itself; answers come back on `feedback`.
fn carry_out<B: Backend>(
    terminal: &mut Terminal<B>,
    effects: Vec<Effect>,
    feedback: &Sender<Event>,
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
            Effect::Lesson(cmd) => host.lesson(cmd),
            Effect::Observe(target) => host.observe(target),
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
                let _ = feedback.send(Event::ShellDone { container, result });
                redraw = true;
            }
            Effect::Signal {
                container,
                process,
                signal,
            } => {
                let delivered = host.signal(process, signal);
                let _ = feedback.send(Event::SignalSent {
                    container,
                    signal,
                    delivered,
                });
            }
            Effect::Resize {
                uid,
                container,
                patch,
            } => {
                let result = host.resize(&uid, &patch).map_err(|e| format!("{e:#}"));
                let _ = feedback.send(Event::Resized { container, result });
            }
            Effect::ReadLogs { uid, container } => {
                let text = host.read_logs(&uid, &container);
                let _ = feedback.send(Event::Logs { container, text });
            }
            Effect::KillNow { uid } => host.kill_now(&uid),
            Effect::Edit { path } => {
                let result = host.edit_file(&path).map_err(|e| format!("{e:#}"));
                terminal.clear()?;
                let _ = feedback.send(Event::Edited { result });
                redraw = true;
            }
            Effect::RunLine { line } => {
                let result = host.run_line(&line).map_err(|e| format!("{e:#}"));
                terminal.clear()?;
                let _ = feedback.send(Event::LineDone { line, result });
                redraw = true;
            }
            Effect::Copy { text } => host.copy(&text),
            Effect::Exit => exit = true,
        }
    }
    Ok(Carried { redraw, exit })
}
