//! A pod as `kubectl describe pod` shows it, ending with its events: the text `podlab describe`
//! prints and the explorer's describe popup shows (a replay's too).
//!
//! On a host build the node's name and whether pause still runs are asked of this machine; a
//! portable build only shows recorded pods.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use crate::kube::pod_state::{
    human_age, ContainerKind, ContainerState, ContainerStatus, Event, PodPhase, PodState,
    ProcessRef,
};
use crate::spec::{PortRef, Probe};

/// The node the pod runs on: this machine.
#[cfg(podlab_host)]
fn node_name() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A portable build only shows recorded pods, and a trace does not say which machine ran them.
#[cfg(not(podlab_host))]
fn node_name() -> String {
    "<unknown>".into()
}

/// Whether the pod's sandbox (pause) still runs.
#[cfg(podlab_host)]
fn sandbox_running(pause: &ProcessRef) -> bool {
    crate::runtime::sys::LiveProcess::is_alive(pause)
}

/// A recorded pod's pause ran when the trace was made.
#[cfg(not(podlab_host))]
fn sandbox_running(_pause: &ProcessRef) -> bool {
    true
}

/// RFC 3339 in UTC to the second, as the API server writes times.
pub(crate) fn timestamp(secs: f64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)))
        .to_string()
}

pub fn render(state: &PodState, now: f64) -> String {
    let mut out = String::new();
    let spec = &state.pod.spec;
    let node = node_name();
    let labels: Vec<String> = state
        .pod
        .metadata
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "Name:         {}", state.name);
    let _ = writeln!(out, "Namespace:    {}", state.namespace);
    let _ = writeln!(out, "UID:          {}", state.uid);
    let _ = writeln!(out, "Node:         {node}");
    let _ = writeln!(out, "Start Time:   {}", timestamp(state.created_at));
    let _ = writeln!(
        out,
        "Labels:       {}",
        if labels.is_empty() {
            "<none>".into()
        } else {
            labels.join(",")
        }
    );
    let _ = writeln!(
        out,
        "Status:       {}",
        if state.terminating {
            "Terminating".into()
        } else {
            format!("{:?}", state.phase)
        }
    );
    let ip = state.sandbox.as_ref().and_then(|s| s.ip.clone());
    let _ = writeln!(
        out,
        "IP:           {}",
        ip.as_deref().unwrap_or(if spec.host_network {
            "<host network>"
        } else {
            "<none>"
        })
    );
    if let Some(sandbox) = &state.sandbox {
        let _ = writeln!(
            out,
            "Sandbox:      pause (pid {}), hostname {}",
            sandbox.pause.pid, sandbox.hostname
        );
        let seccomp = crate::spec::seccomp::Seccomp::of_sandbox(&state.pod);
        let _ = writeln!(
            out,
            "              seccomp {}",
            seccomp.describe().get(crate::i18n::Lang::En)
        );
    }
    if let Some(host_users) = spec.host_users {
        let _ = match (&state.user_namespace, host_users) {
            (Some(range), false) => writeln!(
                out,
                "Host Users:   false: a user namespace of the pod's own, uid_map and gid_map {} (root inside is {} on the host)",
                range.map_line(),
                range.first_id
            ),
            _ => writeln!(out, "Host Users:   {host_users}"),
        };
    }
    if let Some(rootless) = &state.rootless {
        let _ = writeln!(
            out,
            "Rootless:     podlab-node (pid {}) holds the user and net namespaces; uid_map {}",
            rootless.node.pid,
            rootless.uid_map.replace('\n', ", ")
        );
        if let Some(why) = &rootless.limits_not_enforced {
            let _ = writeln!(out, "              {}", why.en);
        }
    }
    let inits: Vec<&ContainerStatus> = state
        .containers
        .iter()
        .filter(|c| c.kind != ContainerKind::App)
        .collect();
    if !inits.is_empty() {
        let _ = writeln!(out, "Init Containers:");
        for c in inits {
            container(&mut out, state, c);
        }
    }
    let _ = writeln!(out, "Containers:");
    for c in state
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::App)
    {
        container(&mut out, state, c);
    }
    conditions(&mut out, state);
    let resources = crate::kube::resources::PodResources::from_spec(&state.pod.spec);
    let qos = crate::kube::qos::pod_qos(&resources);
    let _ = writeln!(out, "QoS Class:    {}", qos.as_str());
    scheduling(&mut out, &resources);
    let _ = writeln!(out, "Events:");
    if state.events.is_empty() {
        let _ = writeln!(out, "  <none>");
        return out;
    }
    let rows: Vec<[String; 5]> = state
        .events
        .iter()
        .map(|e| {
            [
                format!("{:?}", e.kind),
                e.reason.clone(),
                event_age(e, now),
                event_source(&e.reason).into(),
                described_message(e),
            ]
        })
        .collect();
    let header = ["Type", "Reason", "Age", "From", "Message"];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: [&str; 5]| {
        format!(
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}\n",
            cols[0],
            cols[1],
            cols[2],
            cols[3],
            cols[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
    };
    out.push_str(&line(header));
    out.push_str(&line(["----", "------", "----", "----", "-------"]));
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    out
}

/// The pod's effective request and, on a host build, this node's allocatable and whether a
/// scheduler would place the pod here (podlab itself does not schedule).
fn scheduling(out: &mut String, resources: &crate::kube::resources::PodResources) {
    use crate::kube::scheduling::{
        allocatable, effective_request, failed_scheduling_message, insufficient,
    };
    use crate::present::text::{bytes, millicores};
    let amounts = |a: &crate::kube::resources::ResourceAmounts| {
        let cpu = a.cpu().max(0) as u64;
        let cpu = if cpu == 0 {
            "0".to_string()
        } else {
            millicores(cpu)
        };
        format!("cpu {cpu}, memory {}", bytes(a.memory().max(0) as u64))
    };
    let request = effective_request(resources);
    let _ = writeln!(
        out,
        "Requests:     {} (the pod's: app containers summed, init containers at their peak)",
        amounts(&request)
    );
    let Some(capacity) = node_capacity() else {
        return;
    };
    let node = allocatable(capacity);
    let empty = crate::kube::resources::ResourceAmounts::new(Some(0), Some(0));
    let verdict = match failed_scheduling_message(&insufficient(&request, &node, &empty)) {
        None => "fits".to_string(),
        Some(message) => format!("would not fit: {message}"),
    };
    let _ = writeln!(
        out,
        "Allocatable:  {} on this node; podlab does not schedule, a scheduler would say the pod {verdict}",
        amounts(&node)
    );
}

/// This machine's CPUs and memory, as cAdvisor reports them to kubelet.
#[cfg(podlab_host)]
fn node_capacity() -> Option<crate::kube::scheduling::NodeCapacity> {
    crate::runtime::pod_cgroups::node_capacity().ok()
}

/// A recorded pod's node is not this machine.
#[cfg(not(podlab_host))]
fn node_capacity() -> Option<crate::kube::scheduling::NodeCapacity> {
    None
}

/// kubectl's Age column: "10s", or "3s (x4 over 12s)" for a repeated event.
/// Who reports an event: the scheduler places the pod, kubelet does the rest.
fn event_source(reason: &str) -> &'static str {
    if reason == crate::kube::events::SCHEDULED {
        "default-scheduler"
    } else {
        "kubelet"
    }
}

/// kubectl 1.35 puts a container event's field path before its message
/// (`spec.containers{app}: Container started`).
fn described_message(e: &Event) -> String {
    let message = e.message.trim_end().replace('\n', " ");
    if e.object.starts_with("spec.") {
        format!("{}: {message}", e.object)
    } else {
        message
    }
}

fn event_age(e: &Event, now: f64) -> String {
    let last = human_age(now - e.time);
    if e.count > 1 {
        let first = if e.first_time > 0.0 {
            e.first_time
        } else {
            e.time
        };
        format!("{last} (x{} over {})", e.count, human_age(now - first))
    } else {
        last
    }
}

fn conditions(out: &mut String, state: &PodState) {
    let flag = |b: bool| if b { "True" } else { "False" };
    let sandbox_ready = state
        .sandbox
        .as_ref()
        .is_some_and(|s| sandbox_running(&s.pause));
    let ready = state.ready() && state.phase == PodPhase::Running;
    let rows = [
        ("PodReadyToStartContainers", flag(sandbox_ready)),
        ("Initialized", flag(state.initialized())),
        ("Ready", flag(ready)),
        ("ContainersReady", flag(ready)),
        ("PodScheduled", "True"),
    ];
    let _ = writeln!(out, "Conditions:");
    let _ = writeln!(out, "  Type                        Status");
    for (kind, status) in rows {
        let _ = writeln!(out, "  {kind:<27} {status}");
    }
    // A resize not done yet (PodResizePending / PodResizeInProgress), with its reason.
    if let Some(c) = &state.resize.condition {
        let _ = writeln!(out, "  {:<27} True", c.kind);
        if let Some(reason) = &c.reason {
            let message = c.message.as_deref().unwrap_or("");
            let _ = writeln!(out, "    {reason}: {message}");
        }
    }
}

/// A probe as kubectl describes it: "exec [cat /tmp/healthy] delay=5s timeout=1s period=5s
/// #success=1 #failure=3".
fn probe_text(p: &Probe) -> String {
    let action = if let Some(e) = &p.exec {
        format!("exec [{}]", e.command.join(" "))
    } else if let Some(h) = &p.http_get {
        format!(
            "http-get {}://{}:{}{}",
            h.scheme.as_deref().unwrap_or("HTTP").to_lowercase(),
            h.host.as_deref().unwrap_or(""),
            port_text(&h.port),
            h.path.as_deref().unwrap_or("/")
        )
    } else if let Some(t) = &p.tcp_socket {
        format!(
            "tcp-socket {}:{}",
            t.host.as_deref().unwrap_or(""),
            port_text(&t.port)
        )
    } else if let Some(g) = &p.grpc {
        format!(
            "grpc <pod>:{} {} (not run by podlab)",
            g.port,
            g.service.as_deref().unwrap_or("")
        )
    } else {
        "unknown".into()
    };
    format!(
        "{action} delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    )
}

fn port_text(port: &PortRef) -> String {
    match port {
        PortRef::Number(n) => n.to_string(),
        PortRef::Name(n) => n.clone(),
    }
}

fn container(out: &mut String, state: &PodState, c: &ContainerStatus) {
    let spec = state
        .pod
        .spec
        .init_containers
        .iter()
        .chain(&state.pod.spec.containers)
        .find(|s| s.name == c.name);
    let _ = writeln!(out, "  {}:", c.name);
    if let Some(p) = c.process {
        let _ = writeln!(out, "    Host PID:       {}", p.pid);
    }
    let _ = writeln!(out, "    Image:          {}", c.image);
    if !c.image_served_by.is_empty() {
        let _ = writeln!(out, "    Served by:      {}", c.image_served_by);
    }
    if let Some(spec) = spec {
        let ports: Vec<String> = spec
            .ports
            .iter()
            .map(|p| format!("{}/{:?}", p.container_port, p.protocol))
            .collect();
        let _ = writeln!(
            out,
            "    Port:           {}",
            if ports.is_empty() {
                "<none>".into()
            } else {
                ports.join(", ")
            }
        );
        if !spec.command.is_empty() {
            let _ = writeln!(out, "    Command:        {}", spec.command.join(" "));
        }
        if !spec.args.is_empty() {
            let _ = writeln!(out, "    Args:           {}", spec.args.join(" "));
        }
        let seccomp = crate::spec::seccomp::Seccomp::of(&state.pod, spec);
        let _ = writeln!(
            out,
            "    Seccomp:        {}",
            seccomp.describe().get(crate::i18n::Lang::En)
        );
    }
    if let Some(spec) = spec {
        environment(out, spec);
    }
    state_lines(out, "State:     ", &c.state, c.state_message.as_deref());
    if let Some(last) = &c.last_state {
        state_lines(out, "Last State:", last, None);
    }
    let _ = writeln!(
        out,
        "    Ready:          {}",
        if c.ready { "True" } else { "False" }
    );
    let _ = writeln!(out, "    Restart Count:  {}", c.restart_count);
    if let Some(spec) = spec {
        for (label, probe) in [
            ("Liveness: ", &spec.liveness_probe),
            ("Readiness:", &spec.readiness_probe),
            ("Startup:  ", &spec.startup_probe),
        ] {
            if let Some(p) = probe {
                let _ = writeln!(out, "    {label}      {}", probe_text(p));
            }
        }
    }
}

/// The container's variables as kubectl describe lists them: a value, or where it comes from.
/// A node would also set kubelet's service-link variables; podlab has no Service to link.
fn environment(out: &mut String, spec: &crate::spec::Container) {
    if spec.env.is_empty() {
        let _ = writeln!(out, "    Environment:    <none>");
        return;
    }
    let _ = writeln!(out, "    Environment:");
    for var in &spec.env {
        let shown = match &var.value_from {
            Some(from) => match (&from.field_ref, &from.resource_field_ref) {
                (Some(f), _) => format!(
                    " ({}:{})",
                    f.api_version.as_deref().unwrap_or("v1"),
                    f.field_path
                ),
                (None, Some(r)) => format!("({})", r.resource),
                _ => String::new(),
            },
            None => var.value.clone(),
        };
        let _ = writeln!(out, "      {}:  {shown}", var.name);
    }
    let _ = writeln!(
        out,
        "      (no KUBERNETES_SERVICE_* variables: there is no API server and no Service)"
    );
}

fn state_lines(out: &mut String, label: &str, state: &ContainerState, message: Option<&str>) {
    match state {
        ContainerState::Waiting { reason } => {
            let _ = writeln!(out, "    {label}     Waiting");
            let _ = writeln!(out, "      Reason:       {reason}");
            if let Some(m) = message {
                let _ = writeln!(out, "      Message:      {m}");
            }
        }
        ContainerState::Running { started_at } => {
            let _ = writeln!(out, "    {label}     Running");
            let _ = writeln!(out, "      Started:      {}", timestamp(*started_at));
        }
        ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            started_at,
            finished_at,
            message: written,
        } => {
            let _ = writeln!(out, "    {label}     Terminated");
            let _ = writeln!(out, "      Reason:       {reason}");
            if let Some(m) = message.or(written.as_deref()) {
                let _ = writeln!(out, "      Message:      {m}");
            }
            let _ = writeln!(out, "      Exit Code:    {exit_code}");
            if let Some(s) = signal {
                let _ = writeln!(out, "      Signal:       {s}");
            }
            let _ = writeln!(out, "      Started:      {}", timestamp(*started_at));
            let _ = writeln!(out, "      Finished:     {}", timestamp(*finished_at));
        }
    }
}
