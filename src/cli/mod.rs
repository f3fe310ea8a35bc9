//! The command line: one module per command group; each turns arguments into runtime calls
//! and prints what happened like kubectl would.

pub mod describe;
pub mod inspect;
pub mod kubelet;
pub mod pods;
pub mod run;
pub mod setup;
