//! The pod as the API server would return it (`kubectl get pod NAME -o yaml`): apiVersion,
//! kind, metadata, the spec as podlab understood it (with the API server's defaults) and the
//! status kubelet would report, built from the shim's record.
//!
//! Field names and shapes are Kubernetes' (`core/v1` Pod, PodStatus, ContainerStatus), so the
//! text reads like kubectl's and goes back into `podlab run` (status, uid and
//! creationTimestamp are then ignored with a warning, as a new pod gets its own).

use serde_json::{json, Map, Value};

use super::describe::timestamp;
use crate::kube::pod_state::{ContainerKind, ContainerState, ContainerStatus, PodState};
use crate::spec::PodSpec;

/// Spec fields that kubectl prints as `{}` when they hold nothing: a volume's `emptyDir` says
/// which kind of volume it is, and an empty `resources` is shown.
const KEPT_WHEN_EMPTY: &[&str] = &["emptyDir", "resources"];

/// The whole Pod object. `host_ip`: the address of this machine the pod reaches it by.
pub fn pod_object(state: &PodState, host_ip: Option<&str>) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(state.name));
    metadata.insert("namespace".into(), json!(state.namespace));
    metadata.insert("uid".into(), json!(state.uid));
    metadata.insert(
        "creationTimestamp".into(),
        json!(timestamp(state.created_at)),
    );
    let meta = &state.pod.metadata;
    if !meta.labels.is_empty() {
        metadata.insert("labels".into(), json!(meta.labels));
    }
    if !meta.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(meta.annotations));
    }
    json!({
        "apiVersion": state.pod.api_version,
        "kind": state.pod.kind,
        "metadata": metadata,
        "spec": spec_object(&state.pod.spec),
        "status": status_object(state, host_ip),
    })
}

/// The spec with the API server's defaults written out (grace period, probe timings) and what
/// it would leave out (unset, empty, false) left out.
fn spec_object(spec: &PodSpec) -> Value {
    let mut spec = spec.clone();
    spec.termination_grace_period_seconds = Some(spec.grace_period_seconds());
    for c in spec.init_containers.iter_mut().chain(&mut spec.containers) {
        for probe in [
            &mut c.liveness_probe,
            &mut c.readiness_probe,
            &mut c.startup_probe,
        ]
        .into_iter()
        .flatten()
        {
            *probe = probe.with_defaults();
        }
    }
    let mut value = serde_json::to_value(&spec).unwrap_or(Value::Null);
    prune(&mut value);
    value
}

/// Remove nulls, empty strings, empty lists, `false` and empty mappings (but those of
/// `KEPT_WHEN_EMPTY`), as Go's `omitempty` does in kubectl's output.
fn prune(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(prune),
        Value::Object(map) => {
            for v in map.values_mut() {
                prune(v);
            }
            map.retain(|key, v| match v {
                // A pointer in Go: set to false, it is printed.
                Value::Bool(false) => key == "hostUsers",
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty() || KEPT_WHEN_EMPTY.contains(&key.as_str()),
                _ => true,
            });
        }
        _ => {}
    }
}

fn status_object(state: &PodState, host_ip: Option<&str>) -> Value {
    let mut status = Map::new();
    status.insert("phase".into(), json!(format!("{:?}", state.phase)));
    status.insert("conditions".into(), conditions(state));
    if let Some(ip) = host_ip {
        status.insert("hostIP".into(), json!(ip));
        status.insert("hostIPs".into(), json!([{ "ip": ip }]));
    }
    if let Some(ip) = state.sandbox.as_ref().and_then(|s| s.ip.as_deref()) {
        status.insert("podIP".into(), json!(ip));
        status.insert("podIPs".into(), json!([{ "ip": ip }]));
    }
    status.insert("startTime".into(), json!(timestamp(state.created_at)));
    if !state.qos_class.is_empty() {
        status.insert("qosClass".into(), json!(state.qos_class));
    }
    let statuses = |init: bool| -> Vec<Value> {
        state
            .containers
            .iter()
            .filter(|c| (c.kind != ContainerKind::App) == init)
            .map(|c| container_status(state, c))
            .collect()
    };
    let (init, app) = (statuses(true), statuses(false));
    if !init.is_empty() {
        status.insert("initContainerStatuses".into(), json!(init));
    }
    status.insert("containerStatuses".into(), json!(app));
    Value::Object(status)
}

/// kubelet's pod conditions, in the order kubectl shows them. podlab keeps no transition
/// times, so only PodScheduled (when the pod was created) has one.
fn conditions(state: &PodState) -> Value {
    let word = |b: bool| if b { "True" } else { "False" };
    let created = timestamp(state.created_at);
    let mut list = json!([
        { "type": "PodReadyToStartContainers", "status": word(state.sandbox.is_some()) },
        { "type": "Initialized", "status": word(state.initialized()) },
        { "type": "Ready", "status": word(state.ready()) },
        { "type": "ContainersReady", "status": word(state.ready()) },
        { "type": "PodScheduled", "status": "True", "lastTransitionTime": created },
    ]);
    if let (Some(c), Some(items)) = (&state.resize.condition, list.as_array_mut()) {
        let mut condition = json!({ "type": c.kind, "status": "True" });
        if let Some(reason) = &c.reason {
            condition["reason"] = json!(reason);
        }
        if let Some(message) = &c.message {
            condition["message"] = json!(message);
        }
        items.push(condition);
    }
    list
}

fn container_status(pod: &PodState, c: &ContainerStatus) -> Value {
    let mut status = Map::new();
    status.insert("name".into(), json!(c.name));
    status.insert("image".into(), json!(c.image));
    // Each start makes a new container, with its own ID, as a container runtime does.
    status.insert(
        "containerID".into(),
        json!(format!(
            "podlab://{}/{}/{}",
            pod.uid, c.name, c.restart_count
        )),
    );
    status.insert("ready".into(), json!(c.ready));
    status.insert("restartCount".into(), json!(c.restart_count));
    if let Some(allocated) = pod.resize.allocated.get(&c.name) {
        status.insert("allocatedResources".into(), json!(allocated));
    }
    if let Some(resources) = pod.resize.actual.get(&c.name) {
        status.insert("resources".into(), json!(resources));
    }
    status.insert("started".into(), json!(c.started));
    status.insert(
        "state".into(),
        state_object(&c.state, c.state_message.as_deref()),
    );
    status.insert(
        "lastState".into(),
        c.last_state
            .as_ref()
            .map_or_else(|| json!({}), |s| state_object(s, None)),
    );
    Value::Object(status)
}

/// `{waiting: {reason}}`, `{running: {startedAt}}` or `{terminated: {exitCode, ...}}`.
fn state_object(state: &ContainerState, message: Option<&str>) -> Value {
    match state {
        ContainerState::Waiting { reason } => {
            let mut waiting = Map::new();
            waiting.insert("reason".into(), json!(reason));
            if let Some(m) = message.filter(|m| !m.is_empty()) {
                waiting.insert("message".into(), json!(m));
            }
            json!({ "waiting": waiting })
        }
        ContainerState::Running { started_at } => {
            json!({ "running": { "startedAt": timestamp(*started_at) } })
        }
        ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            started_at,
            finished_at,
            message: written,
        } => {
            let mut terminated = Map::new();
            terminated.insert("exitCode".into(), json!(exit_code));
            if let Some(s) = signal {
                terminated.insert("signal".into(), json!(s));
            }
            terminated.insert("reason".into(), json!(reason));
            if let Some(m) = message.or(written.as_deref()).filter(|m| !m.is_empty()) {
                terminated.insert("message".into(), json!(m));
            }
            terminated.insert("startedAt".into(), json!(timestamp(*started_at)));
            terminated.insert("finishedAt".into(), json!(timestamp(*finished_at)));
            json!({ "terminated": terminated })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kube::pod_state::{PodPhase, ProcessRef, SandboxState};
    use crate::spec::yaml::to_yaml;

    /// A pod of `manifest` as the shim would record it, its containers in every state.
    pub(crate) fn recorded(manifest: &str) -> PodState {
        let pod = crate::spec::load_pod_file(std::path::Path::new(manifest))
            .unwrap_or_else(|e| panic!("{manifest}: {e:?}"))
            .pod;
        let process = ProcessRef {
            pid: 4242,
            start_time: 1,
        };
        let states = [
            ContainerState::Running {
                started_at: 1_700_000_010.0,
            },
            ContainerState::Waiting {
                reason: "CrashLoopBackOff".into(),
            },
            ContainerState::Terminated {
                exit_code: 137,
                signal: Some(9),
                reason: "OOMKilled".into(),
                started_at: 1_700_000_001.0,
                finished_at: 1_700_000_002.5,
                message: None,
            },
        ];
        let specs = pod.spec.init_containers.iter().map(|c| (c, true));
        let containers = specs
            .chain(pod.spec.containers.iter().map(|c| (c, false)))
            .enumerate()
            .map(|(i, (c, init))| ContainerStatus {
                name: c.name.clone(),
                kind: match (init, c.restart_policy.is_some()) {
                    (false, _) => ContainerKind::App,
                    (true, true) => ContainerKind::Sidecar,
                    (true, false) => ContainerKind::Init,
                },
                image: c.image.clone(),
                image_served_by: "busybox".into(),
                process: Some(process),
                state: states[i % states.len()].clone(),
                last_state: (i % 2 == 1).then(|| states[2].clone()),
                restart_count: i as u32,
                ready: i % 3 == 0,
                started: i % 3 == 0,
                state_message: (i % 3 == 1).then(|| "back-off 10s: \"x\"".to_string()),
                pull: None,
                stop_signal: None,
            })
            .collect();
        PodState {
            uid: "0a1b2c3d-4e5f-6789-abcd-ef0123456789".into(),
            name: pod.metadata.name.clone(),
            namespace: "default".into(),
            manifest_path: manifest.into(),
            pod,
            created_at: 1_700_000_000.0,
            shim: process,
            detached: true,
            phase: PodPhase::Running,
            terminating: false,
            qos_class: "Burstable".into(),
            cgroup: String::new(),
            rootless: None,
            user_namespace: None,
            resize: Default::default(),
            sandbox: Some(SandboxState {
                pause: process,
                hostname: "web".into(),
                ip: Some("10.88.0.7".into()),
                network: None,
            }),
            containers,
            steps: Vec::new(),
            events: Vec::new(),
        }
    }

    #[test]
    fn every_shipped_pod_as_yaml_goes_back_into_podlab() {
        let mut manifests: Vec<_> = std::fs::read_dir("assets/pods")
            .expect("assets/pods")
            .flatten()
            .map(|e| e.path().display().to_string())
            .filter(|p| p.ends_with(".yaml"))
            .collect();
        manifests.sort();
        assert!(!manifests.is_empty());
        for manifest in manifests {
            let state = recorded(&manifest);
            let text = to_yaml(&pod_object(&state, Some("10.88.0.1")));
            let loaded = crate::spec::parse_pod(&text, "get.yaml")
                .unwrap_or_else(|e| panic!("{manifest}: {e:?}\n{text}"));
            // The same spec, with the API server's defaults that the output spelled out.
            let mut want = state.pod.spec.clone();
            want.termination_grace_period_seconds = Some(want.grace_period_seconds());
            for c in want.init_containers.iter_mut().chain(&mut want.containers) {
                let probes = [
                    &mut c.liveness_probe,
                    &mut c.readiness_probe,
                    &mut c.startup_probe,
                ];
                for p in probes.into_iter().flatten() {
                    *p = p.with_defaults();
                }
            }
            assert_eq!(loaded.pod.spec, want, "{manifest}\n{text}");
            assert_eq!(loaded.pod.metadata.name, state.name);
            assert_eq!(loaded.pod.metadata.labels, state.pod.metadata.labels);
            // Only what a new pod gets anew is said to be ignored.
            let ignored: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
            assert!(
                ignored.iter().all(|p| [
                    "status",
                    "metadata.uid",
                    "metadata.creationTimestamp",
                    "metadata.namespace"
                ]
                .contains(p)),
                "{manifest}: {ignored:?}\n{text}"
            );
            // And the whole object reads back through the YAML door unchanged.
            let document = crate::spec::yaml::Document::parse(&text, "get.yaml").expect("parses");
            let value = document.deserialize::<Value>().expect("deserializes");
            assert_eq!(value.value, pod_object(&state, Some("10.88.0.1")));
        }
    }

    #[test]
    fn a_termination_message_shows_under_terminated() {
        let state = ContainerState::Terminated {
            exit_code: 1,
            signal: None,
            reason: "Error".into(),
            started_at: 1.0,
            finished_at: 2.0,
            message: Some("bye\n".into()),
        };
        assert_eq!(state_object(&state, None)["terminated"]["message"], "bye\n");
        // A failed start has the runtime's error instead.
        assert_eq!(
            state_object(&state, Some("exec failed"))["terminated"]["message"],
            "exec failed"
        );
    }

    #[test]
    fn status_as_kubectl_shows_it() {
        let state = recorded("assets/pods/two-containers.yaml");
        let object = pod_object(&state, Some("10.88.0.1"));
        let status = &object["status"];
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["podIP"], "10.88.0.7");
        assert_eq!(status["podIPs"][0]["ip"], "10.88.0.7");
        assert_eq!(status["hostIP"], "10.88.0.1");
        assert_eq!(status["qosClass"], "Burstable");
        assert_eq!(status["startTime"], "2023-11-14T22:13:20Z");
        let first = &status["containerStatuses"][0];
        assert_eq!(
            first["state"]["running"]["startedAt"],
            "2023-11-14T22:13:30Z"
        );
        assert_eq!(first["lastState"], json!({}));
        let second = &status["containerStatuses"][1];
        assert_eq!(second["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(second["lastState"]["terminated"]["exitCode"], 137);
        assert_eq!(second["lastState"]["terminated"]["reason"], "OOMKilled");
        assert_eq!(second["restartCount"], 1);
        assert_eq!(
            object["metadata"]["creationTimestamp"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(object["spec"]["terminationGracePeriodSeconds"], 30);
        assert_eq!(object["spec"]["restartPolicy"], "Always");
    }
}
