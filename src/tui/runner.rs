//! The loop: one channel brings input, observations, engine answers and signals; each event
//! updates the app, its effects are carried out, and the screen is drawn once if anything
//! changed. Generic over ratatui's `Backend`, so tests run the real loop on `TestBackend`.

use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use eyre::Result;
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::app::{App, AppEvent, Effect, EngineCmd};
use super::ui;
use crate::runtime::client::ShimConnection;
use crate::runtime::paths;

/// Logs are shown from their last this many bytes.
const LOG_TAIL_BYTES: u64 = 64 * 1024;

/// What the loop needs from the world outside the screen.
pub trait Host {
    /// Hand the terminal to `podlab exec` in a container and take it back.
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32>;
    /// Pass an engine request on.
    fn engine(&mut self, cmd: EngineCmd);
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
    terminal.draw(|f| ui::draw(f, app, Instant::now()))?;
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
        let mut redraw = update.redraw;
        let mut exit = false;
        for effect in update.effects {
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
                    let delivered = process.signal(signal);
                    let _ = feedback.send(AppEvent::SignalSent {
                        container,
                        signal,
                        delivered,
                    });
                }
                Effect::ReadLogs { uid, container } => {
                    let text = read_log_tail(&uid, &container);
                    let _ = feedback.send(AppEvent::Logs { container, text });
                }
                Effect::KillNow { uid } => kill_now(uid),
                Effect::Exit => exit = true,
            }
        }
        if redraw {
            terminal.draw(|f| ui::draw(f, app, Instant::now()))?;
        }
        if exit {
            return Ok(());
        }
    }
}

/// The end of a container's log (it can be long-running and chatty).
pub fn read_log_tail(uid: &str, container: &str) -> String {
    let path = paths::log_file(uid, container);
    let Ok(mut file) = std::fs::File::open(&path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        // Drop the partial first line.
        text.split_once('\n')
            .map(|(_, r)| r.to_string())
            .unwrap_or(text)
    } else {
        text
    }
}

/// Cut an ongoing deletion short, on a connection of its own (the engine's is waiting).
fn kill_now(uid: String) {
    let _ = std::thread::Builder::new()
        .name("podlab-kill".into())
        .spawn(move || {
            if let Ok(mut conn) = ShimConnection::connect(&uid) {
                let _ = conn.delete(Some(0));
            }
        });
}
