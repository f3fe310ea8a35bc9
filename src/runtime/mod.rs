//! Everything that changes the system: the per-pod shim, pause, container init, images, volumes,
//! state on disk and garbage collection.

pub mod cgroups;
pub mod paths;
pub mod state;
