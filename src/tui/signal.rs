//! The signals the explorer offers (the `k` menu and `:kill`), by their kernel names.
//!
//! A host build uses nix's type, so a chosen signal goes straight to kill(2). The portable
//! build only replays traces and sends nothing, but draws the same menu: there the same names
//! are a plain enum.

#[cfg(podlab_host)]
pub use nix::sys::signal::Signal;

#[cfg(not(podlab_host))]
pub use portable::Signal;

#[cfg(not(podlab_host))]
mod portable {
    /// The names are the kernel's (and nix's), so the code that uses them reads the same in
    /// both builds.
    #[allow(clippy::upper_case_acronyms)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Signal {
        SIGHUP,
        SIGINT,
        SIGQUIT,
        SIGKILL,
        SIGUSR1,
        SIGUSR2,
        SIGTERM,
        SIGCONT,
        SIGSTOP,
    }

    impl Signal {
        pub const fn as_str(self) -> &'static str {
            match self {
                Signal::SIGHUP => "SIGHUP",
                Signal::SIGINT => "SIGINT",
                Signal::SIGQUIT => "SIGQUIT",
                Signal::SIGKILL => "SIGKILL",
                Signal::SIGUSR1 => "SIGUSR1",
                Signal::SIGUSR2 => "SIGUSR2",
                Signal::SIGTERM => "SIGTERM",
                Signal::SIGCONT => "SIGCONT",
                Signal::SIGSTOP => "SIGSTOP",
            }
        }
    }
}
