//! kubelet's event reasons (`pkg/kubelet/events/event.go`) and messages, word for word, so
//! `kubectl describe pod` habits carry over. The messages stay in English, as in a cluster;
//! [`reason_explanation`] gives the learner a bilingual gloss.

use serde::{Deserialize, Serialize};

use crate::i18n::Text;

pub const SCHEDULED: &str = "Scheduled";
pub const PULLING: &str = "Pulling";
pub const PULLED: &str = "Pulled";
pub const CREATED: &str = "Created";
pub const STARTED: &str = "Started";
pub const KILLING: &str = "Killing";
pub const UNHEALTHY: &str = "Unhealthy";
pub const BACK_OFF: &str = "BackOff";
pub const FAILED: &str = "Failed";
pub const FAILED_CREATE_POD_SANDBOX: &str = "FailedCreatePodSandBox";
pub const SANDBOX_CHANGED: &str = "SandboxChanged";
pub const EXCEEDED_GRACE_PERIOD: &str = "ExceededGracePeriod";
pub const FAILED_POST_START_HOOK: &str = "FailedPostStartHook";
pub const FAILED_PRE_STOP_HOOK: &str = "FailedPreStopHook";
pub const PROBE_WARNING: &str = "ProbeWarning";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    Normal,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub reason: String,
    pub message: String,
}

impl Event {
    fn normal(reason: &str, message: String) -> Event {
        Event {
            kind: EventType::Normal,
            reason: reason.to_string(),
            message,
        }
    }

    fn warning(reason: &str, message: String) -> Event {
        Event {
            kind: EventType::Warning,
            reason: reason.to_string(),
            message,
        }
    }
}

/// Which probe failed, as kubelet names it in `Unhealthy` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }
}

/// Go's `%q` for the strings podlab quotes (image names): escapes `"`, `\` and control
/// characters.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// kubelet's `format.Pod`: `name_namespace(uid)`.
pub fn format_pod(name: &str, namespace: &str, uid: &str) -> String {
    format!("{name}_{namespace}({uid})")
}

/// The field path kubelet gives a container's events (`fieldPath` of `involvedObject`), which
/// `kubectl describe` prints before each message since 1.35.
pub fn container_field_path(spec: &crate::spec::PodSpec, container: &str) -> String {
    if spec.init_containers.iter().any(|c| c.name == container) {
        format!("spec.initContainers{{{container}}}")
    } else {
        format!("spec.containers{{{container}}}")
    }
}

/// The container a field path names (`spec.initContainers{init}` → `init`), or None for the
/// pod itself.
pub fn container_of(field_path: &str) -> Option<&str> {
    let rest = field_path
        .strip_prefix("spec.containers{")
        .or_else(|| field_path.strip_prefix("spec.initContainers{"))?;
    rest.strip_suffix('}')
}

/// From the scheduler: "Successfully assigned default/web to node-1".
pub fn scheduled(namespace: &str, pod: &str, node: &str) -> Event {
    Event::normal(
        SCHEDULED,
        format!("Successfully assigned {namespace}/{pod} to {node}"),
    )
}

pub fn pulling(image: &str) -> Event {
    Event::normal(PULLING, format!("Pulling image {}", go_quote(image)))
}

/// kubelet 1.35 says this before every start of a container whose image is on the node
/// (the "can be accessed" part since KubeletEnsureSecretPulledImages checks pull credentials).
pub fn pulled_already_present(image: &str) -> Event {
    Event::normal(
        PULLED,
        format!(
            "Container image {} already present on machine and can be accessed by the pod",
            go_quote(image)
        ),
    )
}

/// podlab's own Pulled event for a busybox stand-in: what serves the image name instead.
pub fn pulled_stand_in(image: &str, served_by: &str) -> Event {
    Event::normal(
        PULLED,
        format!("Container image {} served by {served_by}", go_quote(image)),
    )
}

/// `took` and `total` as Go prints durations are the caller's business (e.g. "1.2s").
pub fn pulled(image: &str, took: &str, total: &str, size_bytes: u64) -> Event {
    Event::normal(
        PULLED,
        format!(
            "Successfully pulled image {} in {took} ({total} including waiting). Image size: {size_bytes} bytes.",
            go_quote(image)
        ),
    )
}

/// kubelet's event when a pull fails (then `Error: ErrImagePull`).
pub fn failed_to_pull(image: &str, error: &str) -> Event {
    Event::warning(
        FAILED,
        format!("Failed to pull image {}: {error}", go_quote(image)),
    )
}

/// kubelet's event while it waits before pulling again.
pub fn back_off_pulling(image: &str) -> Event {
    Event::normal(
        BACK_OFF,
        format!("Back-off pulling image {}", go_quote(image)),
    )
}

/// A pull that failed for want of a network, and what runs instead (podlab's own event).
pub fn pull_offline(image: &str, error: &str, instead: &str) -> Event {
    Event::warning(
        FAILED,
        format!(
            "Failed to pull image {}: no network ({error}); {instead} runs instead",
            go_quote(image)
        ),
    )
}

/// Since 1.35 the message names no container: the event's object (`spec.containers{NAME}`),
/// which `kubectl describe` prints before the message, already does (k/k #134043, #133627).
pub fn created() -> Event {
    Event::normal(CREATED, "Container created".to_string())
}

pub fn started() -> Event {
    Event::normal(STARTED, "Container started".to_string())
}

pub fn killing(container: &str) -> Event {
    Event::normal(KILLING, format!("Stopping container {container}"))
}

/// The `Killing` event after a failed postStart hook (kubelet passes the reason as the
/// message).
pub fn killing_after_post_start(_container: &str) -> Event {
    Event::normal(KILLING, FAILED_POST_START_HOOK.to_string())
}

/// The `Killing` event after a failed liveness or startup probe; ", will be restarted" only
/// when kubelet will start it again (`computePodActions`: not under restartPolicy Never).
pub fn killing_after_probe(container: &str, probe: ProbeKind, will_restart: bool) -> Event {
    let mut message = format!(
        "Container {container} failed {} probe",
        probe.as_str().to_lowercase()
    );
    if will_restart {
        message.push_str(", will be restarted");
    }
    Event::normal(KILLING, message)
}

pub fn unhealthy(probe: ProbeKind, output: &str) -> Event {
    Event::warning(
        UNHEALTHY,
        format!("{} probe failed: {output}", probe.as_str()),
    )
}

/// A probe that passed with a warning, or that podlab could not run.
pub fn probe_warning(probe: ProbeKind, output: &str) -> Event {
    Event::warning(
        PROBE_WARNING,
        format!("{} probe warning: {output}", probe.as_str()),
    )
}

/// kubelet's message for a failed exec hook (`handlerRunner.Run`), which it logs.
pub fn exec_hook_failed_message(
    command: &[String],
    container: &str,
    pod: &str,
    error: &str,
    output: &str,
) -> String {
    format!(
        "Exec lifecycle hook ({command:?}) for Container {} in Pod {} failed - error: {error}, message: {}",
        go_quote(container),
        go_quote(pod),
        go_quote(output)
    )
}

/// kubelet keeps the hook's error and output out of the event ("so that secrets won't leak
/// from the server") and writes them to its own log; podlab writes them to the pod's shim.log.
pub fn failed_post_start_hook() -> Event {
    Event::warning(FAILED_POST_START_HOOK, "PostStartHook failed".to_string())
}

/// As [`failed_post_start_hook`], for preStop.
pub fn failed_pre_stop_hook() -> Event {
    Event::warning(FAILED_PRE_STOP_HOOK, "PreStopHook failed".to_string())
}

/// `pod` is [`format_pod`]'s `name_namespace(uid)`.
pub fn back_off(container: &str, pod: &str) -> Event {
    Event::warning(
        BACK_OFF,
        format!("Back-off restarting failed container {container} in pod {pod}"),
    )
}

/// A container that could not be created or started: "Error: <runtime message>".
pub fn failed(error: &str) -> Event {
    Event::warning(FAILED, format!("Error: {error}"))
}

pub fn failed_create_pod_sandbox(error: &str) -> Event {
    Event::warning(
        FAILED_CREATE_POD_SANDBOX,
        format!("Failed to create pod sandbox: {error}"),
    )
}

pub fn sandbox_changed() -> Event {
    Event::normal(
        SANDBOX_CHANGED,
        "Pod sandbox changed, it will be killed and re-created.".to_string(),
    )
}

pub fn exceeded_grace_period() -> Event {
    Event::warning(
        EXCEEDED_GRACE_PERIOD,
        "Container runtime did not kill the pod within specified grace period.".to_string(),
    )
}

/// What a reason means, for the learner.
pub fn reason_explanation(reason: &str) -> Option<Text> {
    let text = match reason {
        SCHEDULED => Text::new(
            "the scheduler picked a node for the pod",
            "调度器为 Pod 选好了节点",
        ),
        PULLING => Text::new(
            "kubelet asked the runtime to download the image",
            "kubelet 让容器运行时下载镜像",
        ),
        PULLED => Text::new("the image is on the node", "镜像已在节点上"),
        CREATED => Text::new(
            "the container exists but has not started",
            "容器已创建，尚未启动",
        ),
        STARTED => Text::new("the container's process is running", "容器的进程已在运行"),
        KILLING => Text::new(
            "kubelet is stopping the container (SIGTERM, then SIGKILL after the grace period)",
            "kubelet 正在停止容器（先 SIGTERM，宽限期后 SIGKILL）",
        ),
        UNHEALTHY => Text::new("a probe failed", "探针检查失败"),
        BACK_OFF => Text::new(
            "the container keeps exiting; kubelet waits longer before each restart",
            "容器反复退出；kubelet 每次重启前等待更久",
        ),
        FAILED => Text::new(
            "the container could not be created or started",
            "容器无法创建或启动",
        ),
        FAILED_CREATE_POD_SANDBOX => Text::new(
            "the pod sandbox (pause, namespaces, network) could not be set up",
            "无法建立 Pod 沙箱（pause、命名空间、网络）",
        ),
        SANDBOX_CHANGED => Text::new(
            "the sandbox died; every container is restarted in a new one",
            "沙箱已失效；所有容器将在新沙箱中重启",
        ),
        EXCEEDED_GRACE_PERIOD => Text::new(
            "containers were still running when the grace period ended",
            "宽限期结束时容器仍在运行",
        ),
        FAILED_POST_START_HOOK => Text::new(
            "the postStart hook failed; the container is killed",
            "postStart 钩子失败；容器被杀死",
        ),
        FAILED_PRE_STOP_HOOK => Text::new(
            "the preStop hook failed; stopping goes on",
            "preStop 钩子失败；继续停止容器",
        ),
        PROBE_WARNING => Text::new(
            "a probe could not be judged normally (podlab: e.g. a grpc probe, which it does not run)",
            "探针无法正常判定（podlab 中例如 grpc 探针，它不执行）",
        ),
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_kubelet_word_for_word() {
        let pod = format_pod("web", "default", "1234");
        let cases: Vec<(Event, EventType, &str, &str)> = vec![
            (scheduled("default", "web", "podlab"), EventType::Normal, "Scheduled", "Successfully assigned default/web to podlab"),
            (pulling("busybox:1.36"), EventType::Normal, "Pulling", "Pulling image \"busybox:1.36\""),
            (
                pulled_already_present("busybox:1.36"),
                EventType::Normal,
                "Pulled",
                "Container image \"busybox:1.36\" already present on machine and can be accessed by the pod",
            ),
            (
                pulled("nginx", "1.2s", "1.5s", 42),
                EventType::Normal,
                "Pulled",
                "Successfully pulled image \"nginx\" in 1.2s (1.5s including waiting). Image size: 42 bytes.",
            ),
            (created(), EventType::Normal, "Created", "Container created"),
            (started(), EventType::Normal, "Started", "Container started"),
            (killing("app"), EventType::Normal, "Killing", "Stopping container app"),
            (
                killing_after_probe("app", ProbeKind::Liveness, true),
                EventType::Normal,
                "Killing",
                "Container app failed liveness probe, will be restarted",
            ),
            (
                killing_after_probe("app", ProbeKind::Startup, false),
                EventType::Normal,
                "Killing",
                "Container app failed startup probe",
            ),
            (
                unhealthy(ProbeKind::Readiness, "HTTP probe failed with statuscode: 500"),
                EventType::Warning,
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 500",
            ),
            (
                back_off("app", &pod),
                EventType::Warning,
                "BackOff",
                "Back-off restarting failed container app in pod web_default(1234)",
            ),
            (failed("exec: \"nope\": not found"), EventType::Warning, "Failed", "Error: exec: \"nope\": not found"),
            (
                failed_create_pod_sandbox("netns: EPERM"),
                EventType::Warning,
                "FailedCreatePodSandBox",
                "Failed to create pod sandbox: netns: EPERM",
            ),
            (failed_post_start_hook(), EventType::Warning, "FailedPostStartHook", "PostStartHook failed"),
            (failed_pre_stop_hook(), EventType::Warning, "FailedPreStopHook", "PreStopHook failed"),
            (sandbox_changed(), EventType::Normal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created."),
            (
                exceeded_grace_period(),
                EventType::Warning,
                "ExceededGracePeriod",
                "Container runtime did not kill the pod within specified grace period.",
            ),
        ];
        for (event, kind, reason, message) in cases {
            assert_eq!(event.kind, kind, "{reason}");
            assert_eq!(event.reason, reason);
            assert_eq!(event.message, message);
            assert!(
                reason_explanation(reason).is_some(),
                "{reason} has no explanation"
            );
        }
    }

    #[test]
    fn field_paths_name_app_and_init_containers() {
        let pod = crate::spec::parse_pod(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: init, image: busybox}]\n  containers: [{name: app, image: busybox}]\n",
            "p.yaml",
        )
        .expect("pod")
        .pod;
        assert_eq!(
            container_field_path(&pod.spec, "init"),
            "spec.initContainers{init}"
        );
        assert_eq!(
            container_field_path(&pod.spec, "app"),
            "spec.containers{app}"
        );
        assert_eq!(container_of("spec.initContainers{init}"), Some("init"));
        assert_eq!(container_of("spec.containers{app}"), Some("app"));
        assert_eq!(container_of("pod"), None);
    }

    #[test]
    fn image_names_are_quoted_like_go() {
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
