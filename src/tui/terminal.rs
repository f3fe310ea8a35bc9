//! Taking over the terminal and always giving it back: on quit, on error (a guard's Drop), on
//! panic (a hook that runs before the report is printed) and before a child gets it.

use std::io::Write;

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use eyre::{Result, WrapErr};

use super::event::Event;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};

/// Whether the screen is ours (raw mode, alternate screen): leaving twice would move the
/// cursor back to where it was on entering, over anything printed since (a panic report).
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Raw mode, alternate screen, hidden cursor. Mouse capture stays off so text can be copied.
pub fn enter() -> Result<()> {
    TAKEN.store(true, Ordering::SeqCst);
    enable_raw_mode().wrap_err("failed to put the terminal in raw mode")?;
    execute!(std::io::stdout(), EnterAlternateScreen, Hide)
        .wrap_err("failed to switch to the alternate screen")?;
    Ok(())
}

/// Back to the normal screen, cooked mode and a visible cursor. Only the first call after
/// `enter` does anything, so it is safe to call more than once.
pub fn leave() {
    if !TAKEN.swap(false, Ordering::SeqCst) {
        return;
    }
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

/// Restore the terminal before any panic report is printed, so it is readable. The main
/// thread then unwinds: its guards run, the pod is deleted, and the process ends with 101.
/// A panic on any other thread would leave the screen waiting for it: the process ends at
/// once, and the shim, seeing our connection close, deletes the pod.
pub fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            forget_dead_terminal();
            leave();
            previous(info);
            if std::thread::current().name() != Some("main") {
                std::process::exit(101);
            }
        }));
    });
}

/// The first of SIGINT, SIGTERM, SIGHUP that ended a screen; 0 while none did.
static ENDED_BY: AtomicI32 = AtomicI32::new(0);

/// How podlab exits after a signal ended its screen (and the pod was deleted): 128 + the
/// signal's number, as a shell reports a process that signal killed.
pub fn signal_exit_code() -> Option<std::process::ExitCode> {
    match ENDED_BY.load(Ordering::SeqCst) {
        0 => None,
        n => Some(std::process::ExitCode::from(
            u8::try_from(128 + n).unwrap_or(u8::MAX),
        )),
    }
}

/// The terminal went away without a signal (its input ended or hung up): the screen ends as
/// SIGHUP would end it, with the same exit status.
pub(super) fn ended_by_hangup() {
    let _ = ENDED_BY.compare_exchange(0, libc::SIGHUP, Ordering::SeqCst, Ordering::SeqCst);
    forget_dead_terminal();
}

/// If the terminal is gone, point stdout and stderr at /dev/null: what is still printed on the
/// way out (a closing line, ratatui's cursor on drop, a panic report) would otherwise fail,
/// and Rust's print macros panic when they cannot write.
pub(super) fn forget_dead_terminal() {
    use std::os::fd::AsRawFd;
    if terminal_alive() {
        return;
    }
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: dup2 of an open descriptor onto a standard one; both stay valid.
        unsafe { libc::dup2(null.as_raw_fd(), fd) };
    }
}

/// A screen's result, once it ended: an error from drawing on a terminal that has gone away
/// (EIO) is that terminal's end, like SIGHUP, not a failure to report to no one.
pub(super) fn screen_result(result: Result<()>) -> Result<()> {
    if result.is_err() && !terminal_alive() {
        ended_by_hangup();
    }
    if ENDED_BY.load(Ordering::SeqCst) != 0 {
        return Ok(());
    }
    result
}

/// Draw one frame. A terminal that has gone away fails the draw; stdout and stderr are then
/// pointed away from it before anything else tries to write there.
pub fn draw<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    render: impl FnOnce(&mut ratatui::Frame),
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    match terminal.draw(render) {
        Ok(_) => Ok(()),
        Err(e) => {
            forget_dead_terminal();
            Err(eyre::Report::new(e).wrap_err("failed to draw on the terminal"))
        }
    }
}

/// Whether stdout is still a terminal that can be written (not hung up).
fn terminal_alive() -> bool {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: std::io::stdout().as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut poll, 1, 0) };
    n >= 0 && poll.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) == 0
}

/// Prints a closing line; a terminal that is gone (SIGHUP) is no reason to fail.
#[cfg(podlab_host)]
pub fn say_last(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// SIGINT, SIGTERM and SIGHUP end the explorer cleanly (terminal restored, pod deleted); the
/// exit status then says which (`signal_exit_code`). SIGHUP is a closed terminal window.
/// SIGINT is ignored while a shell runs in a container: that Ctrl-C was meant for it.
pub(super) fn spawn_signal_thread(
    tx: Sender<Event>,
    in_child: Arc<AtomicBool>,
) -> Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .wrap_err("failed to set up signal handling")?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("podlab-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGINT && in_child.load(Ordering::SeqCst) {
                    continue;
                }
                let _ = ENDED_BY.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                if signal == SIGHUP {
                    forget_dead_terminal();
                }
                if tx.send(Event::Terminate).is_err() {
                    return;
                }
            }
        })
        .wrap_err("failed to start the signal thread")?;
    Ok(handle)
}
