//! `podlab describe POD`: the pod as `kubectl describe pod` shows it, ending with its events.

use crate::present::describe::render;

pub fn describe(pod: &str) -> eyre::Result<std::process::ExitCode> {
    let state = crate::runtime::lookup::find_pod(pod)?;
    print!("{}", render(&state, crate::runtime::sys::now()));
    Ok(std::process::ExitCode::SUCCESS)
}
