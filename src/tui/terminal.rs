//! Taking over the terminal and always giving it back: on quit, on error (a guard's Drop), on
//! panic (a hook that runs before the report is printed) and before a child gets it.

use std::io::Write;

use eyre::{Result, WrapErr};
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};

/// Raw mode, alternate screen, hidden cursor. Mouse capture stays off so text can be copied.
pub fn enter() -> Result<()> {
    enable_raw_mode().wrap_err("failed to put the terminal in raw mode")?;
    execute!(std::io::stdout(), EnterAlternateScreen, Hide)
        .wrap_err("failed to switch to the alternate screen")?;
    Ok(())
}

/// Back to the normal screen, cooked mode and a visible cursor. Safe to call more than once.
pub fn leave() {
    let mut out = std::io::stdout();
    let _ = execute!(out, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Leaves the terminal as it found it when dropped (error paths included).
pub struct Restore;

impl Restore {
    pub fn take_over() -> Result<Restore> {
        let guard = Restore;
        enter()?;
        Ok(guard)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        leave();
    }
}

/// Restore the terminal before any panic report is printed (so it is readable), then end
/// the process: a panic on any thread leaves the screen unusable. The shim sees our connection
/// close and deletes the pod.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
        std::process::exit(101);
    }));
}
