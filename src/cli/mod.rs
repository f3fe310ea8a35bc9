//! The command line: one module per command group; each turns arguments into runtime calls
//! and prints what happened like kubectl would. Every command builds, changes or reads real
//! pods, so the whole room exists only in a host build.

pub mod describe;
pub mod doctor;
pub mod get;
pub mod images;
pub mod inspect;
pub mod kubelet;
pub mod lessons;
pub mod pods;
pub mod run;
