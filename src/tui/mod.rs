//! `podlab explore`: the explorer. It builds a pod step by step while live panels show what
//! the kernel sees, and hands a shell inside a container to the learner on request.
//!
//! * `app`/`keys`: state and what events do to it (pure); `keymap`: the one key table;
//! * `ui`: drawing; `runner`: the loop; `workers`: observer and engine threads;
//! * `input`/`terminal`: the terminal, always restored; `script`: the steps narrated.
//! * `player`: what every kind of playing shares (autoplay, presenter mode, recording, traces);
//!   `autoplay`: steps taken by themselves; `replay`: a recorded trace played read-only.
//! * `lesson_player`/`lesson_loop`/`lesson_worker`/`play`: lessons in the same screen;
//!   `lesson_replay`: a recorded lesson played read-only; `picker`: the lesson list `podlab`
//!   opens with no arguments.
//!
//! Only `session` (the explorer on a real pod), `play`, `lesson_worker`, `picker` and the
//! workers touch the machine, through the runtime, lesson and observe layers, so they exist only
//! in a host build (`cfg(podlab_host)`: Linux with the "host" feature); the rest (app, ui,
//! runner, lesson_player, lesson_loop, replay, lesson_replay) needs only the data a trace holds
//! and builds anywhere.

pub mod app;
pub mod autoplay;
pub mod command;
pub mod demo;
mod fault;
mod input;
pub mod keymap;
mod keys;
pub mod lesson_loop;
pub mod lesson_player;
pub mod lesson_replay;
#[cfg(podlab_host)]
pub mod lesson_worker;
pub mod observed;
#[cfg(podlab_host)]
pub mod picker;
#[cfg(podlab_host)]
mod play;
pub mod player;
pub mod replay;
pub mod runner;
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

pub use lesson_loop::{run_player, run_player_with, PlayerHost};
#[cfg(podlab_host)]
pub use play::{home, play_lesson, PlayArgs};
#[cfg(podlab_host)]
pub use session::{explore, ExploreArgs};
