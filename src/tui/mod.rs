//! `podlab explore`: the explorer. It builds a pod step by step while live panels show what
//! the kernel sees, and hands a shell inside a container to the learner on request.
//!
//! * `app`/`keys`: state and what events do to it (pure); `keymap`: the one key table;
//! * `ui`: drawing; `runner`: the loop; `workers`: observer and engine threads;
//! * `input`/`terminal`: the terminal, always restored; `script`: the steps narrated.
//! * `lesson_player`/`lesson_worker`/`play`: lessons in the same screen; `picker`: the
//!   lesson list `podlab` opens with no arguments.

pub mod app;
pub mod command;
pub mod demo;
mod input;
pub mod keymap;
mod keys;
pub mod lesson_player;
pub mod lesson_worker;
pub mod observed;
pub mod picker;
mod play;
pub mod runner;
pub mod script;
mod session;
mod terminal;
pub mod theme;
pub mod ui;
pub mod words;
pub mod workers;
pub mod wrap;

pub use play::{home, play_lesson, run_player, PlayArgs, PlayerHost};
pub use session::{explore, ExploreArgs};
