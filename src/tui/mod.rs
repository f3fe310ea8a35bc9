//! Every screen: the lesson list (`podlab`), the explorer (`podlab explore`), the lesson player
//! (`podlab lesson ID`) and replays of either (`podlab replay`). One shape serves them all:
//!
//! * `event`: the one vocabulary — events in, effects out, the threads' requests and answers;
//! * `scene`: a screen as the loop sees it (`App` the explorer, `Player` a lesson, `Picker` the
//!   list); `event_loop`: the one loop, generic over ratatui's `Backend`;
//! * `host`: the one `Host` trait for what touches the outside; `live_host` the machine, the
//!   replay hosts a trace (`replay`, `lesson_replay`); `on_terminal`: a screen on the real
//!   terminal (signals, panic hook, raw mode always restored, input thread);
//! * `app`/`keys`, `lesson_player`, `picker`: each screen's state and what events do to it
//!   (pure); `keymap`: the one key table for every hint bar and help; `ui`: drawing;
//! * `session`, `play`, `replay`: how each screen is started; `workers`/`lesson_worker`: the
//!   observer, the explorer's engine and the lesson's thread;
//! * `player`: what every kind of playing shares (autoplay, presenter mode, recording,
//!   traces); `record`: asciicast recordings and traces.
//!
//! Only `live_host`, `session`, `play`, `lesson_worker`, `picker` and the workers touch the
//! machine, so they exist only in a host build (`cfg(podlab_host)`: Linux with the "host"
//! feature); the rest needs only the data a trace holds and builds anywhere.

pub mod app;
pub mod autoplay;
pub mod clipboard;
pub mod command;
#[cfg(feature = "test-fixtures")]
pub mod demo;
pub mod event;
pub mod event_loop;
mod fault;
pub mod host;
mod input;
pub mod keymap;
mod keys;
pub mod lesson_player;
pub mod lesson_replay;
pub mod lesson_tasks;
pub mod lesson_teaching;
#[cfg(podlab_host)]
pub mod lesson_worker;
#[cfg(podlab_host)]
mod live_host;
pub mod observed;
mod on_terminal;
#[cfg(podlab_host)]
pub mod picker;
#[cfg(podlab_host)]
mod play;
pub mod player;
pub mod record;
pub mod replay;
pub mod scene;
pub mod script;
#[cfg(podlab_host)]
mod session;
pub mod signal;
mod terminal;
pub mod theme;
pub mod ui;
pub mod words;
#[cfg(podlab_host)]
pub mod workers;
pub mod wrap;

pub use event_loop::{run, run_with};
pub use host::Host;
#[cfg(podlab_host)]
pub use play::{home, play_lesson, PlayArgs};
#[cfg(podlab_host)]
pub use session::{explore, ExploreArgs};
