//! What the loop needs from the world outside the screen, for every screen. Everything that
//! touches the machine goes through here, so the screens themselves — and a replay — run
//! anywhere: `live_host` is the machine (Linux, the "host" feature), a replay host answers
//! from a trace, and tests bring their own.

use eyre::{eyre, Result};

use super::event::{EngineCmd, LessonCmd};
use super::signal::Signal;
use crate::kube::pod_state::ProcessRef;
use crate::observe::Target;

pub trait Host {
    /// Hand the terminal to `podlab exec` in a container and take it back; the exit status.
    fn run_shell(&mut self, _uid: &str, _container: &str, _command: &[String]) -> Result<i32> {
        Err(eyre!("there is no shell to hand the terminal to here"))
    }
    /// Hand the terminal to an editor on `path` and take it back; the exit status.
    fn edit_file(&mut self, _path: &std::path::Path) -> Result<i32> {
        Err(eyre!("there is no editor to hand the terminal to here"))
    }
    /// Pass a request on to the thread that owns the explorer's pod.
    fn engine(&mut self, _cmd: EngineCmd) {}
    /// Pass a request on to the thread that owns the lesson's runner.
    fn lesson(&mut self, _cmd: LessonCmd) {}
    /// Point the live panels at another target.
    fn observe(&mut self, _target: Target) {}
    /// Send a signal to a container's process; false if it is gone (or nothing runs here).
    fn signal(&mut self, _process: ProcessRef, _signal: Signal) -> bool {
        false
    }
    /// An in-place resize of pod `uid` (kubectl's resize patch): the resize's condition left,
    /// "TYPE: REASON MESSAGE", or None when it is done.
    fn resize(&mut self, _uid: &str, _patch: &str) -> Result<Option<String>> {
        Err(eyre!("there is no pod to resize here"))
    }
    /// The end of a container's log.
    fn read_logs(&mut self, _uid: &str, _container: &str) -> String {
        String::new()
    }
    /// Cut an ongoing deletion short.
    fn kill_now(&mut self, _uid: &str) {}
    /// Hand the terminal to `sh -c LINE` on this machine and take it back; the exit status.
    fn run_line(&mut self, _line: &str) -> Result<i32> {
        Err(eyre!("there is no shell to hand the terminal to here"))
    }
    /// Put text on the terminal's clipboard (OSC 52); nothing where there is no terminal.
    fn copy(&mut self, _text: &str) {}
}

/// A host with nothing behind it: the lesson list, which only draws and takes keys.
pub struct NoHost;

impl Host for NoHost {}
