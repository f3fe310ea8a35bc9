//! A hook for the fault tests, hidden from learners: `PODLAB_TEST_PANIC=after-steps:N` makes
//! the explorer's or the lesson player's loop panic once N steps are done, so a test can
//! check that a real panic in the real loop gives the terminal back and deletes the pod.
//! The variable is read once; unset (always, outside those tests) nothing happens, and any
//! other value is refused when the screen starts, so a typo cannot go unnoticed.

use std::sync::OnceLock;

/// The variable's name.
pub const PANIC_VARIABLE: &str = "PODLAB_TEST_PANIC";

static PLANNED: OnceLock<Result<Option<usize>, String>> = OnceLock::new();

fn parse(value: Option<&str>) -> Result<Option<usize>, String> {
    let Some(value) = value else { return Ok(None) };
    value
        .strip_prefix("after-steps:")
        .and_then(|n| n.parse::<usize>().ok())
        .map(Some)
        .ok_or_else(|| format!("{PANIC_VARIABLE}={value:?}: expected after-steps:N (a test hook)"))
}

fn planned() -> &'static Result<Option<usize>, String> {
    PLANNED.get_or_init(|| parse(std::env::var(PANIC_VARIABLE).ok().as_deref()))
}

/// Refuses a malformed value before the screen is taken over.
#[cfg(podlab_host)]
pub(super) fn check_setting() -> eyre::Result<()> {
    planned()
        .as_ref()
        .map(|_| ())
        .map_err(|e| eyre::eyre!("{e}"))
}

/// Panics, as asked, once `done` steps are done.
pub(super) fn panic_if_planned(done: usize) {
    if let Ok(Some(after)) = planned() {
        if done >= *after {
            panic!("{PANIC_VARIABLE}: a planned panic after {done} steps");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_after_steps_n_is_accepted() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some("after-steps:3")), Ok(Some(3)));
        for bad in ["", "after-steps:", "after-steps:-1", "3", "after:3"] {
            assert!(parse(Some(bad)).is_err(), "{bad:?} was accepted");
        }
    }
}
