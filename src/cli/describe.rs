//! `podlab describe POD`: the pod as `kubectl describe pod` shows it, ending with its events.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use eyre::Result;

use crate::runtime::lookup;
use crate::runtime::state::{human_age, ContainerKind, ContainerState, ContainerStatus, PodState};
use crate::runtime::sys;

pub fn describe(pod: &str) -> Result<ExitCode> {
    let state = lookup::find_pod(pod)?;
    print!("{}", render(&state, sys::now()));
    Ok(ExitCode::SUCCESS)
}

fn timestamp(secs: f64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)))
        .to_string()
}

pub fn render(state: &PodState, now: f64) -> String {
    let mut out = String::new();
    let spec = &state.pod.spec;
    let node = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
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
    let resources = crate::kube::resources::PodResources::from_spec(&state.pod.spec);
    let qos = crate::kube::qos::pod_qos(&resources);
    let _ = writeln!(out, "QoS Class:    {}", qos.as_str());
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
                human_age(now - e.time),
                "kubelet".into(),
                e.message.clone(),
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
    }
    state_lines(out, "State:     ", &c.state);
    if let Some(last) = &c.last_state {
        state_lines(out, "Last State:", last);
    }
    let _ = writeln!(
        out,
        "    Ready:          {}",
        if c.ready { "True" } else { "False" }
    );
    let _ = writeln!(out, "    Restart Count:  {}", c.restart_count);
}

fn state_lines(out: &mut String, label: &str, state: &ContainerState) {
    match state {
        ContainerState::Waiting { reason } => {
            let _ = writeln!(out, "    {label}     Waiting");
            let _ = writeln!(out, "      Reason:       {reason}");
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
        } => {
            let _ = writeln!(out, "    {label}     Terminated");
            let _ = writeln!(out, "      Reason:       {reason}");
            let _ = writeln!(out, "      Exit Code:    {exit_code}");
            if let Some(s) = signal {
                let _ = writeln!(out, "      Signal:       {s}");
            }
            let _ = writeln!(out, "      Started:      {}", timestamp(*started_at));
            let _ = writeln!(out, "      Finished:     {}", timestamp(*finished_at));
        }
    }
}
