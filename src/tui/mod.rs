//! `podlab explore`: the explorer. It builds a pod step by step while live panels show what
//! the kernel sees, and hands a shell inside a container to the learner on request.
//!
//! * `app`/`keys`: state and what events do to it (pure); `keymap`: the one key table;
//! * `ui`: drawing; `runner`: the loop; `workers`: observer and engine threads;
//! * `input`/`terminal`: the terminal, always restored; `script`: the steps narrated.
//! * `player`: what every kind of playing shares (autoplay, presenter mode, recording, traces);
//!   `autoplay`: steps taken by themselves; `replay`: a recorded trace played read-only.
//! * `lesson_player`/`lesson_worker`/`play`: lessons in the same screen; `picker`: the
//!   lesson list `podlab` opens with no arguments.
//!
//! Only `session` (the explorer on a real pod), `play` and the workers touch the machine,
//! through the runtime, lesson and observe layers, and only on Linux; the rest (app, ui,
//! runner, replay) needs only the data a trace holds.

pub mod app;
pub mod autoplay;
pub mod command;
pub mod demo;
mod fault;
mod input;
pub mod keymap;
mod keys;
pub mod lesson_player;
pub mod lesson_worker;
pub mod observed;
pub mod picker;
#[cfg(target_os = "linux")]
mod play;
pub mod player;
pub mod replay;
pub mod runner;
pub mod script;
#[cfg(target_os = "linux")]
mod session;
mod terminal;
pub mod theme;
pub mod ui;
pub mod words;
#[cfg(target_os = "linux")]
pub mod workers;
pub mod wrap;

#[cfg(target_os = "linux")]
pub use play::{home, play_lesson, run_player, PlayArgs, PlayerHost};
#[cfg(target_os = "linux")]
pub use session::{explore, ExploreArgs};
