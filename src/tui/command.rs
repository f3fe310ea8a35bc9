//! The `:` command line: a few words, parsed into what the keys can also do.

use super::signal::Signal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run a command (a shell when empty) in a container (the selected one when None).
    Exec {
        container: Option<String>,
        command: Vec<String>,
    },
    Kill {
        signal: Signal,
        container: Option<String>,
    },
    Describe,
    Logs {
        container: Option<String>,
    },
    /// An in-place resize of a container (the selected one when None): `(resource, value)`
    /// pairs for its requests and its limits.
    Resize {
        container: Option<String>,
        requests: Vec<(String, String)>,
        limits: Vec<(String, String)>,
    },
    /// Show step N (1-based), running the steps before it if needed.
    Step(usize),
    Help,
    Quit,
}

/// TERM, SIGTERM, term, 15 → SIGTERM; only the signals the menu offers and a few more.
pub fn parse_signal(word: &str) -> Option<Signal> {
    let upper = word.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    Some(match name {
        "TERM" | "15" => Signal::SIGTERM,
        "KILL" | "9" => Signal::SIGKILL,
        "INT" | "2" => Signal::SIGINT,
        "HUP" | "1" => Signal::SIGHUP,
        "QUIT" | "3" => Signal::SIGQUIT,
        "USR1" | "10" => Signal::SIGUSR1,
        "USR2" | "12" => Signal::SIGUSR2,
        "STOP" | "19" => Signal::SIGSTOP,
        "CONT" | "18" => Signal::SIGCONT,
        _ => return None,
    })
}

/// Parse a command line; `containers` are the pod's container names (to tell a container
/// name from the start of a command). Errors are short sentences for the status line.
pub fn parse_command(line: &str, containers: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, rest)) = words.split_first() else {
        return Err("empty command".into());
    };
    let is_container = |w: &str| containers.iter().any(|c| c == w);
    let owned = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    match verb {
        "exec" | "e" | "sh" | "shell" => {
            let rest: Vec<&str> = rest.iter().copied().filter(|w| *w != "--").collect();
            match rest.split_first() {
                Some((first, cmd)) if is_container(first) => Ok(Command::Exec {
                    container: Some(first.to_string()),
                    command: owned(cmd),
                }),
                _ => Ok(Command::Exec {
                    container: None,
                    command: owned(&rest),
                }),
            }
        }
        "kill" | "k" | "signal" => {
            let mut signal = Signal::SIGTERM;
            let mut container = None;
            for w in rest {
                if let Some(s) = parse_signal(w.trim_start_matches('-')) {
                    signal = s;
                } else if is_container(w) {
                    container = Some(w.to_string());
                } else {
                    return Err(format!("kill: {w:?} is neither a signal nor a container"));
                }
            }
            Ok(Command::Kill { signal, container })
        }
        "describe" | "d" => Ok(Command::Describe),
        "logs" | "log" | "l" => match rest {
            [] => Ok(Command::Logs { container: None }),
            [c] if is_container(c) => Ok(Command::Logs {
                container: Some(c.to_string()),
            }),
            [c, ..] => Err(format!("logs: no container named {c:?}")),
        },
        "step" | "s" => match rest {
            [n] => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Command::Step)
                .ok_or_else(|| format!("step: {n:?} is not a step number (1, 2, …)")),
            _ => Err("step: give a step number, e.g. step 3".into()),
        },
        "resize" | "r" => parse_resize(rest, &is_container),
        "help" | "h" | "?" => Ok(Command::Help),
        "quit" | "q" => Ok(Command::Quit),
        other => Err(format!(
            "unknown command {other:?}: exec, kill, describe, logs, resize, step N, help, quit"
        )),
    }
}

/// `resize [CONTAINER] cpu=500m memory=96Mi requests.cpu=250m`: bare names are limits.
fn parse_resize(rest: &[&str], is_container: &dyn Fn(&str) -> bool) -> Result<Command, String> {
    let usage = "resize: e.g. resize app cpu=500m memory=96Mi requests.cpu=250m";
    let mut container = None;
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for (i, w) in rest.iter().enumerate() {
        if i == 0 && is_container(w) {
            container = Some(w.to_string());
            continue;
        }
        let Some((key, value)) = w.split_once('=') else {
            return Err(format!("{usage} ({w:?} is not NAME=VALUE)"));
        };
        let (list, resource) = match key.split_once('.') {
            Some(("requests", r)) => (&mut requests, r),
            Some(("limits", r)) => (&mut limits, r),
            None => (&mut limits, key),
            Some(_) => return Err(format!("{usage} ({key:?}: requests.X or limits.X)")),
        };
        if !matches!(resource, "cpu" | "memory") {
            return Err(format!(
                "resize: only cpu and memory can be resized, not {resource:?}"
            ));
        }
        if crate::spec::Quantity::parse(value).is_err() {
            return Err(format!(
                "resize: {value:?} is not a quantity (500m, 1, 96Mi)"
            ));
        }
        list.push((resource.to_string(), value.to_string()));
    }
    if requests.is_empty() && limits.is_empty() {
        return Err(usage.into());
    }
    Ok(Command::Resize {
        container,
        requests,
        limits,
    })
}

/// The JSON `kubectl patch --subresource resize --patch` takes, for one container.
pub fn resize_patch(
    container: &str,
    requests: &[(String, String)],
    limits: &[(String, String)],
) -> String {
    let list = |pairs: &[(String, String)]| -> serde_json::Value {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut resources = serde_json::Map::new();
    if !requests.is_empty() {
        resources.insert("requests".into(), list(requests));
    }
    if !limits.is_empty() {
        resources.insert("limits".into(), list(limits));
    }
    serde_json::json!({"spec": {"containers": [{"name": container, "resources": resources}]}})
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["nginx".into(), "sidecar".into()]
    }

    #[test]
    fn exec_with_and_without_container() {
        assert_eq!(
            parse_command("exec sidecar -- ls /", &names()),
            Ok(Command::Exec {
                container: Some("sidecar".into()),
                command: vec!["ls".into(), "/".into()]
            })
        );
        assert_eq!(
            parse_command("exec", &names()),
            Ok(Command::Exec {
                container: None,
                command: vec![]
            })
        );
    }

    #[test]
    fn kill_parses_signal_names_and_numbers() {
        assert_eq!(
            parse_command("kill -9 nginx", &names()),
            Ok(Command::Kill {
                signal: Signal::SIGKILL,
                container: Some("nginx".into())
            })
        );
        assert_eq!(
            parse_command("kill SIGHUP", &names()),
            Ok(Command::Kill {
                signal: Signal::SIGHUP,
                container: None
            })
        );
        assert!(parse_command("kill bogus", &names()).is_err());
    }

    #[test]
    fn step_numbers_and_errors() {
        assert_eq!(parse_command("step 3", &names()), Ok(Command::Step(3)));
        assert!(parse_command("step 0", &names()).is_err());
        assert!(parse_command("step", &names()).is_err());
        assert!(parse_command("frobnicate", &names()).is_err());
        assert!(parse_command("   ", &names()).is_err());
    }

    #[test]
    fn resize_commands_become_a_patch() {
        let cmd = parse_command("resize nginx cpu=500m requests.memory=64Mi", &names());
        let Ok(Command::Resize {
            container,
            requests,
            limits,
        }) = cmd
        else {
            panic!("{cmd:?}");
        };
        assert_eq!(container.as_deref(), Some("nginx"));
        assert_eq!(
            resize_patch("nginx", &requests, &limits),
            r#"{"spec":{"containers":[{"name":"nginx","resources":{"limits":{"cpu":"500m"},"requests":{"memory":"64Mi"}}}]}}"#
        );
        assert!(parse_command("resize", &names()).is_err());
        assert!(parse_command("resize cpu=lots", &names()).is_err());
        assert!(parse_command("resize ephemeral-storage=1Gi", &names()).is_err());
        assert!(matches!(
            parse_command("r memory=96Mi", &names()),
            Ok(Command::Resize {
                container: None,
                ..
            })
        ));
    }
}
