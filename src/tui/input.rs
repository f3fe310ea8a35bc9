//! The input thread: reads terminal events and forwards them to the loop. Before a child
//! process (a shell in a container) gets the terminal, the thread is paused and confirms it,
//! so it cannot read keys meant for the child.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use eyre::{eyre, Result};
use ratatui::crossterm::event::{self, Event};

use super::app::AppEvent;

/// How long the thread blocks in one poll: the longest a pause request waits.
const POLL: Duration = Duration::from_millis(50);

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
    pub fn spawn(tx: Sender<AppEvent>) -> Result<Input> {
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
            let _ = t.join();
        }
    }
}

fn read_loop(shared: &(Mutex<Flags>, Condvar), tx: &Sender<AppEvent>) {
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
        match event::poll(POLL) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let event = match event::read() {
            Ok(e) => e,
            Err(_) => return,
        };
        let forwarded = match event {
            Event::Key(key) => AppEvent::Key(key),
            Event::Resize(..) => AppEvent::Resize,
            _ => continue,
        };
        if tx.send(forwarded).is_err() {
            return;
        }
    }
}
