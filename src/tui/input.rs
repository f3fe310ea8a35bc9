//! The input thread: reads terminal events and forwards them to the loop. Before a child
//! process (a shell in a container) gets the terminal, the thread is paused and confirms it,
//! so it cannot read keys meant for the child. A terminal that goes away (hang-up, EOF, EIO:
//! its window, tmux or ssh closed) ends the screen as SIGHUP does, and the thread stops
//! instead of reading a dead terminal in a loop.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use eyre::{eyre, Result};
use ratatui::crossterm::event::{self, Event as TerminalEvent};

use super::event::Event;

/// How long the thread blocks in one poll: the longest a pause request waits.
const POLL: Duration = Duration::from_millis(50);
/// How long dropping the input waits for its thread to stop.
const STOP_WAIT: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Flags {
    want_pause: bool,
    paused: bool,
    stop: bool,
}

pub struct Input {
    shared: Arc<(Mutex<Flags>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Input {
    pub fn spawn(tx: Sender<Event>) -> Result<Input> {
        let shared = Arc::new((Mutex::new(Flags::default()), Condvar::new()));
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("podlab-input".into())
            .spawn(move || read_loop(&inner, &tx))
            .map_err(|e| eyre!("failed to start the input thread: {e}"))?;
        Ok(Input {
            shared,
            thread: Some(thread),
        })
    }

    /// Stop reading the terminal; returns once the thread confirmed it is parked.
    /// (Only a host build hands the terminal to a shell.)
    #[cfg_attr(not(podlab_host), allow(dead_code))]
    pub fn pause(&self) -> Result<()> {
        let (lock, cvar) = &*self.shared;
        let mut flags = lock.lock().map_err(|_| eyre!("the input thread died"))?;
        flags.want_pause = true;
        cvar.notify_all();
        let (flags, timeout) = cvar
            .wait_timeout_while(flags, Duration::from_secs(2), |f| !f.paused && !f.stop)
            .map_err(|_| eyre!("the input thread died"))?;
        if timeout.timed_out() && !flags.paused {
            return Err(eyre!("the input thread did not pause"));
        }
        Ok(())
    }

    #[cfg_attr(not(podlab_host), allow(dead_code))]
    pub fn resume(&self) {
        let (lock, cvar) = &*self.shared;
        if let Ok(mut flags) = lock.lock() {
            flags.want_pause = false;
            cvar.notify_all();
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        {
            let (lock, cvar) = &*self.shared;
            if let Ok(mut flags) = lock.lock() {
                flags.stop = true;
                cvar.notify_all();
            }
        }
        if let Some(t) = self.thread.take() {
            // After the terminal hung up (its tmux or ssh went away), crossterm's poll can
            // spin on the dead tty and never return: leave that thread to the process's exit
            // rather than wait, so the pods are still deleted.
            let until = std::time::Instant::now() + STOP_WAIT;
            while !t.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

fn read_loop(shared: &(Mutex<Flags>, Condvar), tx: &Sender<Event>) {
    let (lock, cvar) = shared;
    loop {
        {
            let Ok(mut flags) = lock.lock() else { return };
            if flags.want_pause && !flags.stop {
                flags.paused = true;
                cvar.notify_all();
                while flags.want_pause && !flags.stop {
                    flags = match cvar.wait(flags) {
                        Ok(f) => f,
                        Err(_) => return,
                    };
                }
                flags.paused = false;
            }
            if flags.stop {
                return;
            }
        }
        // What crossterm has already read (one read can hold several keys) comes first.
        loop {
            match event::poll(Duration::ZERO) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => return gone(tx),
            }
            let forwarded = match event::read() {
                Ok(TerminalEvent::Key(key)) => Event::Key(key),
                Ok(TerminalEvent::Resize(..)) => Event::Resize,
                Ok(_) => continue,
                Err(_) => return gone(tx),
            };
            if tx.send(forwarded).is_err() {
                return;
            }
        }
        if tty::wait_readable(POLL) == tty::Readiness::Gone {
            return gone(tx);
        }
    }
}

/// The terminal went away: end the screen as a hang-up (SIGHUP) would.
fn gone(tx: &Sender<Event>) {
    super::terminal::ended_by_hangup();
    let _ = tx.send(Event::Terminate);
}

/// Waiting on the terminal itself, which tells a hang-up or an end of input apart from a key
/// (crossterm's own poll reports neither and, on a dead terminal, returns at once forever).
mod tty {
    use std::io::IsTerminal;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[derive(Debug, PartialEq, Eq)]
    pub enum Readiness {
        /// Something to read (or nothing within the wait).
        Ready,
        /// Hung up, closed, or at its end: nothing will ever come again.
        Gone,
    }

    /// Wait up to `timeout` for input on stdin, the terminal crossterm reads.
    pub fn wait_readable(timeout: Duration) -> Readiness {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            // Not a terminal (a test's pipe): nothing to watch, only wait.
            std::thread::sleep(timeout);
            return Readiness::Ready;
        }
        let fd = stdin.as_raw_fd();
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut poll, 1, millis) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            return if err.kind() == std::io::ErrorKind::Interrupted {
                Readiness::Ready
            } else {
                Readiness::Gone
            };
        }
        if poll.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            return Readiness::Gone;
        }
        if poll.revents & libc::POLLIN != 0 && pending_bytes(fd) == Some(0) {
            // Readable with nothing in it: a raw-mode terminal reads 0 bytes only at its end.
            return Readiness::Gone;
        }
        Readiness::Ready
    }

    /// How many bytes wait to be read (FIONREAD), if the terminal says.
    fn pending_bytes(fd: i32) -> Option<libc::c_int> {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int through the pointer.
        let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
        (rc == 0).then_some(n)
    }
}
