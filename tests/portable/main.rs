//! What runs anywhere, without root: unit-level checks of the pure parts through the library,
//! fixtures, screens, corpora, replays and the portable build.

#[path = "../common/mod.rs"]
mod common;

mod doctor;
mod inspect_cli;
mod lesson_corpus;
mod lessons;
mod manifest_corpus;
mod observe_fixtures;
mod observe_node_fixtures;
mod portable;
mod tui_app;
mod tui_lesson;
mod tui_lesson_autoplay;
mod tui_player;
mod tui_screens;
mod tui_traces;
