//! Command-line subcommands that only need the library (the binary wires them into clap).

pub mod inspect;
