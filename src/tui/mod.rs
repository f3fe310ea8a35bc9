//! `podlab explore`: the explorer. It builds a pod step by step while live panels show what
//! the kernel sees, and hands a shell inside a container to the learner on request.
//!
//! * `app`/`keys`: state and what events do to it (pure); `keymap`: the one key table;
//! * `ui`: drawing; `runner`: the loop; `workers`: observer and engine threads;
//! * `input`/`terminal`: the terminal, always restored; `script`: the steps narrated.

pub mod app;
pub mod command;
pub mod demo;
mod input;
pub mod keymap;
mod keys;
pub mod observed;
pub mod runner;
pub mod script;
mod session;
mod terminal;
pub mod theme;
pub mod ui;
pub mod words;
pub mod workers;
pub mod wrap;

pub use session::{explore, ExploreArgs};
