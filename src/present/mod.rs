//! Presentation: the pod and the observe snapshot as text, pure functions of the model. The
//! command line prints these texts, and the TUI draws them (or their rows and units) in its
//! panels and popups, live or in a replay.

pub mod describe;
pub mod pod_object;
pub mod text;
