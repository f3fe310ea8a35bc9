//! Which signal stops a container: `lifecycle.stopSignal` (ContainerStopSignals, alpha since
//! 1.33 and still off by default in 1.35), else the image's STOPSIGNAL (containerd has always
//! honoured it), else SIGTERM.

/// The names the API server accepts on Linux (`supportedStopSignalsLinux`,
/// `pkg/apis/core/validation`): the classic signals and the real-time ones by offset.
pub fn is_linux_stop_signal(name: &str) -> bool {
    const CLASSIC: &[&str] = &[
        "SIGABRT",
        "SIGALRM",
        "SIGBUS",
        "SIGCHLD",
        "SIGCLD",
        "SIGCONT",
        "SIGFPE",
        "SIGHUP",
        "SIGILL",
        "SIGINT",
        "SIGIO",
        "SIGIOT",
        "SIGKILL",
        "SIGPIPE",
        "SIGPOLL",
        "SIGPROF",
        "SIGPWR",
        "SIGQUIT",
        "SIGSEGV",
        "SIGSTKFLT",
        "SIGSTOP",
        "SIGSYS",
        "SIGTERM",
        "SIGTRAP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGUSR1",
        "SIGUSR2",
        "SIGVTALRM",
        "SIGWINCH",
        "SIGXCPU",
        "SIGXFSZ",
    ];
    CLASSIC.contains(&name) || real_time_offset(name).is_some()
}

/// `SIGRTMIN`, `SIGRTMIN+1` … `SIGRTMIN+15`, `SIGRTMAX-14` … `SIGRTMAX`: which end and how far
/// from it (the numbers are the C library's business).
pub fn real_time_offset(name: &str) -> Option<RealTime> {
    let offset = |rest: &str, sign: char| -> Option<u8> {
        if rest.is_empty() {
            return Some(0);
        }
        let n: u8 = rest.strip_prefix(sign)?.parse().ok()?;
        (1..=15).contains(&n).then_some(n)
    };
    if let Some(rest) = name.strip_prefix("SIGRTMIN") {
        return offset(rest, '+').map(RealTime::AfterMin);
    }
    if let Some(rest) = name.strip_prefix("SIGRTMAX") {
        let n = offset(rest, '-')?;
        return (n <= 14).then_some(RealTime::BeforeMax(n));
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealTime {
    AfterMin(u8),
    BeforeMax(u8),
}

/// The signal a stop sends, by name: the pod's, else the image's (written `SIGQUIT`, `QUIT`
/// or a number in an image config, as containerd reads it), else None for SIGTERM.
pub fn effective(spec: Option<&str>, image: &str) -> Option<String> {
    if let Some(name) = spec {
        return Some(name.to_string());
    }
    let image = image.trim();
    if image.is_empty() {
        return None;
    }
    if image.chars().all(|c| c.is_ascii_digit()) || image.starts_with("SIG") {
        return Some(image.to_string());
    }
    Some(format!("SIG{}", image.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_servers_linux_list() {
        for ok in [
            "SIGTERM",
            "SIGQUIT",
            "SIGUSR1",
            "SIGRTMIN",
            "SIGRTMIN+15",
            "SIGRTMAX-14",
            "SIGRTMAX",
        ] {
            assert!(is_linux_stop_signal(ok), "{ok}");
        }
        for bad in [
            "TERM",
            "sigterm",
            "SIGRTMIN+16",
            "SIGRTMAX-15",
            "SIGRTMIN-1",
            "SIGRTMAX+1",
            "9",
            "SIGFOO",
            "SIGRTMIN+",
        ] {
            assert!(!is_linux_stop_signal(bad), "{bad}");
        }
    }

    #[test]
    fn the_pods_signal_wins_then_the_images_then_sigterm() {
        assert_eq!(
            effective(Some("SIGUSR1"), "SIGQUIT").as_deref(),
            Some("SIGUSR1")
        );
        assert_eq!(effective(None, "SIGQUIT").as_deref(), Some("SIGQUIT"));
        assert_eq!(effective(None, "quit").as_deref(), Some("SIGQUIT"));
        assert_eq!(effective(None, "3").as_deref(), Some("3"));
        assert_eq!(effective(None, ""), None);
    }
}
