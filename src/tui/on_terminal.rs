//! A screen on the real terminal, the same way for every screen: signals caught, the panic
//! hook set, the terminal taken over and always given back, keys read on their own thread,
//! then the one loop until the screen exits, a signal ends it or the terminal goes away.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use eyre::Result;

use super::event::Event;
use super::event_loop::run_with;
use super::host::Host;
use super::input::Input;
use super::player::{Screen, Watches};
use super::scene::Scene;
use super::terminal;

/// What the screen's host is given: the input thread (paused for a shell) and the flag that
/// a child owns the terminal (its Ctrl-C is not ours).
/// (Only a host build has a live host to give them to.)
#[cfg_attr(not(podlab_host), allow(dead_code))]
pub struct TerminalHandles {
    pub input: Arc<Input>,
    pub in_child: Arc<AtomicBool>,
}

/// Run `scene` on this terminal. `open` makes the screen to draw on and the watches once the
/// terminal is ours; `host` is the machine (or a trace) behind the screen.
pub fn run_on_terminal<S: Scene, H: Host>(
    scene: &mut S,
    (tx, rx): (&Sender<Event>, &Receiver<Event>),
    clean_start: bool,
    open: impl FnOnce(&S) -> Result<(Screen, Watches<S>)>,
    host: impl FnOnce(TerminalHandles) -> H,
) -> Result<()> {
    let in_child = Arc::new(AtomicBool::new(false));
    let signals = terminal::spawn_signal_thread(tx.clone(), Arc::clone(&in_child))?;
    terminal::install_panic_hook();
    let result = (|| {
        let _restore = terminal::Restore::take_over()?;
        let input = Arc::new(Input::spawn(tx.clone())?);
        let (mut screen, mut watches) = open(scene)?;
        // The input thread runs until the screen ends, whether or not the host keeps it.
        let mut host = host(TerminalHandles {
            input: Arc::clone(&input),
            in_child: Arc::clone(&in_child),
        });
        run_with(
            &mut screen.terminal,
            scene,
            rx,
            tx,
            &mut host,
            watches.options(clean_start),
        )
    })();
    signals.close();
    terminal::screen_result(result)
}
