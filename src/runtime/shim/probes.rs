//! Startup, liveness and readiness probes, as kubelet's prober runs them.
//!
//! * A startup probe gates the others: until it passes, the container is not `started` and
//!   neither liveness nor readiness runs; failing it `failureThreshold` times kills the container.
//! * Liveness failing `failureThreshold` times in a row kills the container (event Killing) and
//!   restartPolicy decides what comes next.
//! * Readiness only sets `ready` (the READY column), starting from not ready.
//!
//! Every attempt runs in a child process (see `tasks`): exec probes enter the container's
//! namespaces and cgroup like `podlab exec`; httpGet and tcpSocket connect to the pod IP, or to
//! 127.0.0.1 from inside pause's net namespace when the pod has no IP of its own.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::{BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use super::tasks::{Finished, Outcome, Purpose};
use super::Shim;
use crate::kube::events::{self, ProbeKind};
use crate::kube::machine;
use crate::kube::pod_state::ContainerState;
use crate::runtime::exec::{self, ExecTarget};
use crate::spec::{Container, HttpGetAction, LifecycleHandler, PortRef, Probe, TcpSocketAction};

/// podlab scales probe timeouts with --time-scale, but never below this: entering a container's
/// namespaces and starting a command takes a few milliseconds.
const MIN_TIMEOUT: Duration = Duration::from_millis(500);

/// What a probe or a hook does.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    Exec(Vec<String>),
    Http {
        scheme: String,
        host: Option<String>,
        port: u16,
        path: String,
    },
    Tcp {
        host: Option<String>,
        port: u16,
    },
    /// Parsed, reported as not supported by podlab.
    Grpc {
        port: u16,
    },
    /// A lifecycle hook's `sleep`: kubelet (here the shim) waits; nothing runs in the container.
    Sleep(Duration),
}

impl Action {
    pub(super) fn of_probe(probe: &Probe, container: &Container) -> Option<Action> {
        if let Some(e) = &probe.exec {
            return Some(Action::Exec(e.command.clone()));
        }
        if let Some(h) = &probe.http_get {
            return http(h, container);
        }
        if let Some(t) = &probe.tcp_socket {
            return tcp(t, container);
        }
        probe.grpc.as_ref().map(|g| Action::Grpc { port: g.port })
    }

    pub(super) fn of_handler(handler: &LifecycleHandler, container: &Container) -> Option<Action> {
        if let Some(e) = &handler.exec {
            return Some(Action::Exec(e.command.clone()));
        }
        if let Some(h) = &handler.http_get {
            return http(h, container);
        }
        if let Some(sleep) = &handler.sleep {
            return Some(Action::Sleep(Duration::from_secs(
                sleep.seconds.max(0) as u64
            )));
        }
        handler.tcp_socket.as_ref().and_then(|t| tcp(t, container))
    }
}

fn resolve_port(port: &PortRef, container: &Container) -> Option<u16> {
    match port {
        PortRef::Number(n) => Some(*n),
        PortRef::Name(name) => container
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port),
    }
}

fn http(h: &HttpGetAction, container: &Container) -> Option<Action> {
    Some(Action::Http {
        scheme: h.scheme.clone().unwrap_or_else(|| "HTTP".into()),
        host: h.host.clone(),
        port: resolve_port(&h.port, container)?,
        path: match h.path.as_deref() {
            Some(p) if p.starts_with('/') => p.to_string(),
            Some(p) => format!("/{p}"),
            None => "/".into(),
        },
    })
}

fn tcp(t: &TcpSocketAction, container: &Container) -> Option<Action> {
    Some(Action::Tcp {
        host: t.host.clone(),
        port: resolve_port(&t.port, container)?,
    })
}

/// A probe's timing with Kubernetes' defaults, scaled by --time-scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Timing {
    pub(super) initial_delay: Duration,
    pub(super) period: Duration,
    pub(super) timeout: Duration,
    pub(super) success_threshold: u32,
    pub(super) failure_threshold: u32,
}

impl Timing {
    pub(super) fn of(probe: &Probe, scale: f64) -> Timing {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let secs = |v: Option<i64>, default: i64| {
            Duration::from_secs_f64(v.unwrap_or(default).max(0) as f64 * scale)
        };
        let count = |v: Option<i64>| v.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32;
        Timing {
            initial_delay: secs(probe.initial_delay_seconds, 0),
            period: secs(probe.period_seconds, 10).max(Duration::from_millis(100)),
            timeout: secs(probe.timeout_seconds, 1).max(MIN_TIMEOUT),
            success_threshold: count(probe.success_threshold).max(1),
            failure_threshold: count(probe.failure_threshold.or(Some(3))).max(1),
        }
    }
}

/// One probe of one running container.
pub(super) struct ProbeWorker {
    pub(super) kind: ProbeKind,
    action: Action,
    timing: Timing,
    next_at: Instant,
    running: bool,
    successes: u32,
    failures: u32,
}

impl ProbeWorker {
    /// When it wants to run next (None while an attempt is running).
    pub(super) fn next_due(&self) -> Option<Instant> {
        (!self.running).then_some(self.next_at)
    }
}

/// What a finished attempt means for the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Nothing,
    Started,
    Ready(bool),
    Kill,
}

impl Shim {
    /// Set up the probes of a container that has just started.
    pub(super) fn start_probes(&mut self, name: &str) {
        let Some(spec) = self.container_spec(name).cloned() else {
            return;
        };
        let now = Instant::now();
        let mut workers = Vec::new();
        for (kind, probe) in [
            (ProbeKind::Startup, &spec.startup_probe),
            (ProbeKind::Liveness, &spec.liveness_probe),
            (ProbeKind::Readiness, &spec.readiness_probe),
        ] {
            let Some(probe) = probe else { continue };
            match Action::of_probe(probe, &spec) {
                Some(Action::Grpc { port }) => {
                    let message = format!(
                        "podlab does not support grpc probes (kubelet would call grpc.health.v1.Health/Check on port {port}); the probe is not run and counts as passing"
                    );
                    self.record_for(name, events::probe_warning(kind, &message));
                }
                Some(action) => {
                    let timing = Timing::of(probe, self.opts.time_scale);
                    workers.push(ProbeWorker {
                        kind,
                        action,
                        timing,
                        next_at: now + timing.initial_delay,
                        running: false,
                        successes: 0,
                        failures: 0,
                    });
                }
                None => {
                    let message = "its port names no port of the container; the probe is not run";
                    self.record_for(name, events::probe_warning(kind, message));
                }
            }
        }
        let has_startup = workers.iter().any(|w| w.kind == ProbeKind::Startup);
        let has_readiness = workers.iter().any(|w| w.kind == ProbeKind::Readiness);
        if let Some(s) = self.supervised.get_mut(name) {
            s.probes = workers;
        }
        if let Some(status) = self.status_mut(name) {
            status.started = !has_startup;
            // Without a readiness probe a started container is ready; with one, not yet.
            status.ready = status.started && !has_readiness;
        }
    }

    /// Start every probe attempt that is due.
    pub(super) fn run_due_probes(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        for (name, s) in &self.supervised {
            if s.pid.is_none() || s.stopping.is_some() {
                continue;
            }
            let started = self.status(name).is_some_and(|c| c.started);
            for (i, w) in s.probes.iter().enumerate() {
                let gated = (w.kind == ProbeKind::Startup) == started;
                if !w.running && w.next_at <= now && !gated {
                    due.push((name.clone(), i));
                }
            }
        }
        for (name, i) in due {
            let Some(w) = self.supervised.get(&name).and_then(|s| s.probes.get(i)) else {
                continue;
            };
            let (kind, action, timing) = (w.kind, w.action.clone(), w.timing);
            let purpose = Purpose::Probe {
                container: name.clone(),
                kind,
            };
            let spawned = self.spawn_action(purpose, &name, &action, timing.timeout);
            if let Some(w) = self
                .supervised
                .get_mut(&name)
                .and_then(|s| s.probes.get_mut(i))
            {
                w.next_at = now + timing.period;
                w.running = spawned.is_ok();
            }
            if let Err(e) = spawned {
                let message = format!("the probe could not run: {e:#}");
                self.record_for(&name, events::probe_warning(kind, &message));
            }
        }
    }

    /// Run an action for `container` as a task: exec in its namespaces, or a network check.
    pub(super) fn spawn_action(
        &mut self,
        purpose: Purpose,
        container: &str,
        action: &Action,
        timeout: Duration,
    ) -> eyre::Result<()> {
        match action {
            Action::Exec(argv) => {
                let target = ExecTarget::of(&self.state, container)?;
                let argv = argv.clone();
                self.tasks.spawn(purpose, timeout, move |out| {
                    exec::run_captured(&target, &argv, out)
                })
            }
            Action::Http { .. } | Action::Tcp { .. } => {
                let check = self.network_check(action, timeout)?;
                self.tasks
                    .spawn(purpose, timeout, move |out| check.run(out))
            }
            Action::Grpc { .. } => Err(eyre::eyre!("grpc is not supported by podlab")),
            Action::Sleep(d) => {
                // The shim's own child waits, outside the container, as kubelet's goroutine.
                let d = *d;
                self.tasks.spawn(purpose, timeout, move |_| {
                    std::thread::sleep(d);
                    0
                })
            }
        }
    }

    fn network_check(&self, action: &Action, timeout: Duration) -> eyre::Result<NetworkCheck> {
        let pod_ip = self
            .state
            .sandbox
            .as_ref()
            .and_then(|s| s.ip.as_deref())
            .and_then(|ip| ip.parse::<IpAddr>().ok());
        let (host, port) = match action {
            Action::Http { host, port, .. } | Action::Tcp { host, port } => (host.clone(), *port),
            _ => return Err(eyre::eyre!("not a network action")),
        };
        // Without a pod IP (no pod network, or hostNetwork), connect from inside pause's net
        // namespace to its loopback.
        let netns = match (&host, pod_ip) {
            (None, None) => {
                let pid = self
                    .sandbox_pid
                    .ok_or_else(|| eyre::eyre!("pause is not running"))?;
                Some(File::open(format!("/proc/{pid}/ns/net")).map_err(|e| {
                    eyre::eyre!("failed to open net namespace of pause (pid {pid}): {e}")
                })?)
            }
            _ => None,
        };
        let ip = match &host {
            Some(h) => h.parse::<IpAddr>().map_err(|_| {
                eyre::eyre!("probe host {h:?} is not an IP address (podlab resolves no names)")
            })?,
            None => pod_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        };
        Ok(NetworkCheck {
            netns,
            addr: SocketAddr::new(ip, port),
            http: match action {
                Action::Http { path, scheme, .. } => Some((scheme.clone(), path.clone())),
                _ => None,
            },
            timeout,
        })
    }

    /// A probe attempt finished: count it, and act once a threshold is crossed.
    pub(super) fn probe_finished(&mut self, container: &str, kind: ProbeKind, done: Finished) {
        let running = self
            .status(container)
            .is_some_and(|c| matches!(c.state, ContainerState::Running { .. }));
        let Some(worker) = self
            .supervised
            .get_mut(container)
            .and_then(|s| s.probes.iter_mut().find(|w| w.kind == kind))
        else {
            return; // the container restarted meanwhile: a stale result
        };
        worker.running = false;
        if !running {
            return;
        }
        let (success, output) = judge(&worker.action, &done);
        if success {
            worker.successes += 1;
            worker.failures = 0;
        } else {
            worker.failures += 1;
            worker.successes = 0;
        }
        let verdict = match kind {
            ProbeKind::Startup if success => Verdict::Started,
            ProbeKind::Readiness
                if success && worker.successes >= worker.timing.success_threshold =>
            {
                Verdict::Ready(true)
            }
            _ if success => Verdict::Nothing,
            ProbeKind::Readiness if worker.failures >= worker.timing.failure_threshold => {
                Verdict::Ready(false)
            }
            ProbeKind::Startup | ProbeKind::Liveness
                if worker.failures >= worker.timing.failure_threshold =>
            {
                Verdict::Kill
            }
            _ => Verdict::Nothing,
        };
        if verdict == Verdict::Kill {
            worker.failures = 0;
        }
        if !success {
            self.record_for(container, events::unhealthy(kind, &output));
        }
        match verdict {
            Verdict::Nothing => {}
            Verdict::Started => {
                let has_readiness = self
                    .supervised
                    .get(container)
                    .is_some_and(|s| s.probes.iter().any(|w| w.kind == ProbeKind::Readiness));
                if let Some(c) = self.status_mut(container) {
                    c.started = true;
                    c.ready = !has_readiness;
                }
            }
            Verdict::Ready(ready) => {
                if let Some(c) = self.status_mut(container) {
                    c.ready = ready;
                }
            }
            Verdict::Kill => self.feed(machine::Event::ProbeFailed {
                container: container.to_string(),
                probe: kind,
            }),
        }
    }
}

/// Success, and the output kubelet puts after "<Kind> probe failed: ".
fn judge(action: &Action, done: &Finished) -> (bool, String) {
    let output = done.output.trim_end().to_string();
    match (done.outcome, action) {
        (Outcome::Exited(0), _) => (true, output),
        (Outcome::TimedOut, Action::Exec(argv)) => {
            (false, format!("command {:?} timed out", argv.join(" ")))
        }
        (Outcome::TimedOut, Action::Http { .. }) => (
            false,
            format!(
                "{output} context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            ),
        ),
        (Outcome::TimedOut, _) => (false, format!("{output} i/o timeout")),
        // A status failure is said on its own last line, without the "Get …:" prefix.
        (Outcome::Exited(_), Action::Http { .. }) => match output.rsplit_once('\n') {
            Some((_, last)) => (false, last.to_string()),
            None => (false, output),
        },
        (Outcome::Exited(_), _) => (false, output),
    }
}

/// An httpGet or tcpSocket check, run in a forked child.
pub(super) struct NetworkCheck {
    netns: Option<File>,
    addr: SocketAddr,
    /// (scheme, path) for httpGet.
    http: Option<(String, String)>,
    timeout: Duration,
}

impl NetworkCheck {
    /// In the child: connect (and GET), write kubelet's message, return 0 on success.
    fn run(self, out: RawFd) -> i32 {
        let say = |text: &str| {
            // SAFETY: `out` is the pipe's write end, open for the child's whole life.
            let fd = unsafe { BorrowedFd::borrow_raw(out) };
            let _ = nix::unistd::write(fd, text.as_bytes());
        };
        if let Some(ns) = &self.netns {
            if let Err(e) = nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET) {
                say(&format!("failed to enter the pod's net namespace: {e}"));
                return 1;
            }
        }
        let url = self
            .http
            .as_ref()
            .map(|(scheme, path)| format!("{}://{}{path}", scheme.to_lowercase(), self.addr));
        // Said first, so that on a timeout the shim has the start of kubelet's message.
        match &url {
            Some(url) => say(&format!("Get {url:?}:")),
            None => say(&format!("dial tcp {}:", self.addr)),
        }
        let mut stream = match TcpStream::connect_timeout(&self.addr, self.timeout) {
            Ok(s) => s,
            Err(e) => {
                let what = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
                    std::io::ErrorKind::TimedOut => "i/o timeout".into(),
                    _ => format!("connect: {e}"),
                };
                match url {
                    Some(_) => say(&format!(" dial tcp {}: {what}", self.addr)),
                    None => say(&format!(" {what}")),
                }
                return 1;
            }
        };
        let Some((scheme, path)) = &self.http else {
            return 0; // tcpSocket: a connection is a success
        };
        if !scheme.eq_ignore_ascii_case("http") {
            say(" podlab's probes speak plain HTTP only");
            return 1;
        }
        let _ = stream.set_read_timeout(Some(self.timeout));
        let _ = stream.set_write_timeout(Some(self.timeout));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: kube-probe/1.35\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.addr
        );
        if let Err(e) = stream.write_all(request.as_bytes()) {
            say(&format!("write: {e}"));
            return 1;
        }
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
                Err(e) => {
                    say(&format!(" read: {e}"));
                    return 1;
                }
            }
        }
        let status = String::from_utf8_lossy(&head)
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        match status {
            Some(code) if (200..400).contains(&code) => 0,
            Some(code) => {
                // kubelet's message has no URL: start over on a fresh line of the pipe.
                say(&format!("\nHTTP probe failed with statuscode: {code}"));
                1
            }
            None => {
                say(" malformed HTTP response");
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_defaults_and_scaling() {
        let t = Timing::of(&Probe::default(), 1.0);
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!(t.initial_delay, Duration::ZERO);
        assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
        let probe = Probe {
            period_seconds: Some(5),
            initial_delay_seconds: Some(3),
            ..Probe::default()
        };
        let t = Timing::of(&probe, 0.1);
        assert_eq!(t.period, Duration::from_millis(500));
        assert_eq!(t.initial_delay, Duration::from_millis(300));
        assert_eq!(t.timeout, MIN_TIMEOUT, "scaled timeouts keep a floor");
    }

    #[test]
    fn named_ports_resolve_from_the_container() {
        let container = Container {
            ports: vec![crate::spec::ContainerPort {
                container_port: 8080,
                name: Some("http".into()),
                protocol: Default::default(),
            }],
            ..Container::default()
        };
        let probe = Probe {
            http_get: Some(HttpGetAction {
                path: Some("healthz".into()),
                port: PortRef::Name("http".into()),
                host: None,
                scheme: None,
            }),
            ..Probe::default()
        };
        assert_eq!(
            Action::of_probe(&probe, &container),
            Some(Action::Http {
                scheme: "HTTP".into(),
                host: None,
                port: 8080,
                path: "/healthz".into()
            })
        );
    }

    #[test]
    fn failure_messages_read_like_kubelet() {
        let exec = Action::Exec(vec!["cat".into(), "/tmp/healthy".into()]);
        let done = |outcome, output: &str| Finished {
            purpose: Purpose::PreStop {
                container: "c".into(),
            },
            outcome,
            output: output.into(),
        };
        assert_eq!(
            judge(
                &exec,
                &done(
                    Outcome::Exited(1),
                    "cat: can't open '/tmp/healthy': No such file or directory\n"
                )
            ),
            (
                false,
                "cat: can't open '/tmp/healthy': No such file or directory".into()
            )
        );
        assert_eq!(
            judge(&exec, &done(Outcome::TimedOut, "")),
            (false, "command \"cat /tmp/healthy\" timed out".into())
        );
        assert!(judge(&exec, &done(Outcome::Exited(0), "")).0);
    }
}
