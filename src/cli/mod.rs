//! The command line: one module per command group; each turns arguments into runtime calls
//! and prints what happened like kubectl would.
//! Only `describe::render` (the describe popup, which a replay shows too) builds without the
//! host code.

pub mod describe;
#[cfg(podlab_host)]
pub mod inspect;
#[cfg(podlab_host)]
pub mod kubelet;
#[cfg(podlab_host)]
pub mod lessons;
#[cfg(podlab_host)]
pub mod pods;
#[cfg(podlab_host)]
pub mod run;
#[cfg(podlab_host)]
pub mod setup;
