//! Recording what the player shows, for demos and for learners who cannot build pods.
//!
//! * `cast` — an asciicast v2 file written from the frames the TUI draws (`--record`), with a
//!   marker at each step; `backend` — the ratatui backend that draws at a fixed size and feeds
//!   the recording;
//! * `trace` — per step, the observations the panels showed (`--trace`), which `podlab replay`
//!   renders again without root, without pods, and on any OS.

pub mod backend;
pub mod cast;
pub mod trace;
