//! A container's termination message as kubelet reads it when the container exits
//! (`getTerminationMessage` and `readLastStringFromContainerLogs` in
//! `pkg/kubelet/kuberuntime/kuberuntime_container.go`):
//!
//! * the file the container wrote at `terminationMessagePath` (default `/dev/termination-log`,
//!   a fresh 0666 file for every instance), its last 4 KiB;
//! * with `terminationMessagePolicy: FallbackToLogsOnError`, when the container failed (exit
//!   code not 0) and wrote nothing there: the last 80 lines of its log, at most their last
//!   2 KiB.
//!
//! The message goes to the Terminated state (`lastState.terminated.message` once the
//! container restarted), as `kubectl describe` and `get -o yaml` show it.

use crate::spec::{Container, TerminationMessagePolicy};

/// The path the API server gives a container that names none.
pub const DEFAULT_PATH: &str = "/dev/termination-log";
/// `MaxContainerTerminationMessageLength`.
pub const MAX_FILE_BYTES: usize = 4 * 1024;
/// `MaxContainerTerminationMessageLogLines` and `MaxContainerTerminationMessageLogLength`.
pub const MAX_LOG_LINES: usize = 80;
pub const MAX_LOG_BYTES: usize = 2 * 1024;

/// Where the container's message file is mounted (an empty path is the API server's default;
/// a relative one is taken from `/`, as kubelet's `MakeAbsolutePath` does).
pub fn path(c: &Container) -> String {
    match c.termination_message_path.as_deref() {
        None | Some("") => DEFAULT_PATH.to_string(),
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(p) => format!("/{p}"),
    }
}

/// The message of an exit: `file` is what the file holds (None: it is gone), `log_tail` the
/// end of the instance's log, asked for only when the policy falls back to it.
pub fn message(
    c: &Container,
    exit_code: i32,
    file: Option<&[u8]>,
    log_tail: impl FnOnce() -> Vec<u8>,
) -> Option<String> {
    let fallback = c.termination_message_policy
        == Some(TerminationMessagePolicy::FallbackToLogsOnError)
        && exit_code != 0;
    let written = file
        .map(|data| last_bytes(data, MAX_FILE_BYTES))
        .unwrap_or_default();
    let text = if written.is_empty() && fallback {
        tail_of_log(&log_tail())
    } else {
        written.to_vec()
    };
    (!text.is_empty()).then(|| String::from_utf8_lossy(&text).into_owned())
}

fn last_bytes(data: &[u8], max: usize) -> &[u8] {
    &data[data.len().saturating_sub(max)..]
}

/// The last 80 lines of a log, then at most the last 2 KiB of those. `log` may be only the
/// end of the file, if it is longer than 2 KiB: the answer is the same.
pub fn tail_of_log(log: &[u8]) -> Vec<u8> {
    // A final newline ends the last line; it does not start another.
    let body = log.strip_suffix(b"\n").unwrap_or(log);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(MAX_LOG_LINES - 1)
        .map_or(0, |(i, _)| i + 1);
    last_bytes(&log[start..], MAX_LOG_BYTES).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(policy: Option<TerminationMessagePolicy>) -> Container {
        Container {
            name: "app".into(),
            termination_message_policy: policy,
            ..Default::default()
        }
    }

    fn no_log() -> Vec<u8> {
        panic!("the log is not read for this case")
    }

    /// The cases of kubelet's TestGetTerminationMessage / TestReadLastStringFromContainerLogs
    /// that do not need a runtime: the file wins; the log only on a failure with nothing
    /// written, and only with FallbackToLogsOnError.
    #[test]
    fn the_file_wins_and_the_log_is_read_only_on_a_failure_with_fallback() {
        let file = container(None);
        let fallback = container(Some(TerminationMessagePolicy::FallbackToLogsOnError));
        assert_eq!(
            message(&file, 1, Some(b"bye\n"), no_log),
            Some("bye\n".into())
        );
        assert_eq!(message(&file, 1, Some(b""), no_log), None);
        assert_eq!(message(&file, 1, None, no_log), None);
        assert_eq!(
            message(&fallback, 1, Some(b"from the file"), no_log),
            Some("from the file".into())
        );
        assert_eq!(
            message(&fallback, 2, Some(b""), || b"panic: boom\n".to_vec()),
            Some("panic: boom\n".into())
        );
        assert_eq!(
            message(&fallback, 2, None, || b"gone\n".to_vec()),
            Some("gone\n".into())
        );
        // Success: no fallback, whatever the log says.
        assert_eq!(message(&fallback, 0, Some(b""), no_log), None);
    }

    #[test]
    fn only_the_last_4_kib_of_the_file_are_kept() {
        let mut data = vec![b'a'; 100];
        data.extend(vec![b'b'; MAX_FILE_BYTES]);
        let got = message(&container(None), 1, Some(&data), no_log).unwrap();
        assert_eq!(got, "b".repeat(MAX_FILE_BYTES));
    }

    #[test]
    fn the_log_gives_its_last_80_lines_and_at_most_2_kib() {
        let log: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let tail = String::from_utf8(tail_of_log(log.as_bytes())).unwrap();
        assert!(tail.starts_with("line 21\n"), "{tail}");
        assert!(tail.ends_with("line 100\n"));
        assert_eq!(tail.lines().count(), 80);
        // Without a final newline, the last partial line is one of the 80.
        let partial = format!("{log}no newline");
        let tail = String::from_utf8(tail_of_log(partial.as_bytes())).unwrap();
        assert!(
            tail.starts_with("line 22\n") && tail.ends_with("no newline"),
            "{tail}"
        );
        // Long lines: the last 2 KiB of the 80.
        let long: String = (0..10)
            .map(|i| format!("{i}{}\n", "x".repeat(999)))
            .collect();
        let tail = tail_of_log(long.as_bytes());
        assert_eq!(tail.len(), MAX_LOG_BYTES);
        assert!(long.as_bytes().ends_with(&tail));
        assert_eq!(tail_of_log(b""), b"");
    }

    #[test]
    fn the_path_defaults_to_dev_termination_log_and_is_made_absolute() {
        let mut c = container(None);
        assert_eq!(path(&c), "/dev/termination-log");
        c.termination_message_path = Some("tmp/why".into());
        assert_eq!(path(&c), "/tmp/why");
        c.termination_message_path = Some("/var/log/why".into());
        assert_eq!(path(&c), "/var/log/why");
    }
}
