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
//! Only `session` (the explorer on a real pod), `play`, the lesson player and the workers touch
//! the machine, through the runtime, lesson and observe layers, so they exist only in a host
//! build (`cfg(podlab_host)`: Linux with the "host" feature); the rest (app, ui, runner,
//! replay) needs only the data a trace holds and builds anywhere.

pub mod app;
pub mod autoplay;
pub mod command;
pub mod demo;
mod fault;
mod input;
pub mod keymap;
mod keys;
#[cfg(podlab_host)]
pub mod lesson_player;
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

#[cfg(podlab_host)]
pub use play::{home, play_lesson, run_player, PlayArgs, PlayerHost};
#[cfg(podlab_host)]
pub use session::{explore, ExploreArgs};
