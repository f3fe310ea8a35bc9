//! In-place pod resize (InPlacePodVerticalScaling, GA in 1.35): `kubectl patch pod NAME
//! --subresource resize --patch JSON` changes a running container's CPU and memory requests and
//! limits. The API server validates the patch (the QoS class may not change, requests stay
//! within limits); kubelet allocates the new values, writes them into the cgroups in its order
//! (a growing limit on the pod cgroup first, a shrinking one on the containers first), restarts
//! a container only where its `resizePolicy` says `RestartContainer`, and reports the
//! conditions `PodResizePending` / `PodResizeInProgress`, `allocatedResources` and `resources`.
//!
//! This module is the API server's half and the pure parts of kubelet's; the decision itself is
//! [`super::machine::Event::ResizeRequested`], executed by the shim.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::events::{Event, EventType};
use super::qos::{pod_cgroup_values, pod_qos};
use super::resources::{container_cgroup_values, CgroupValues, ContainerResources, PodResources};
use crate::spec::quantity::Quantity;
use crate::spec::{
    Container, ContainerRestartPolicy, PodSpec, ResizeResource, ResizeRestartPolicy, ResourceList,
    ResourceRequirements,
};

/// kubelet's pod condition types for a resize.
pub const POD_RESIZE_PENDING: &str = "PodResizePending";
pub const POD_RESIZE_IN_PROGRESS: &str = "PodResizeInProgress";
/// Event reasons kubelet 1.35 records about a resize.
pub const RESIZE_STARTED: &str = "ResizeStarted";
pub const RESIZE_COMPLETED: &str = "ResizeCompleted";
pub const RESIZE_ERROR: &str = "ResizeError";

/// What podlab reads of a resize patch: per container, the requests and limits given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResizePatch {
    pub containers: Vec<ContainerPatch>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerPatch {
    pub name: String,
    pub requests: ResourceList,
    pub limits: ResourceList,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchDoc {
    spec: PatchSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PatchSpec {
    #[serde(default)]
    containers: Vec<PatchContainer>,
    #[serde(default)]
    init_containers: Vec<PatchContainer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchContainer {
    name: String,
    #[serde(default)]
    resources: PatchResources,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatchResources {
    #[serde(default)]
    requests: PatchList,
    #[serde(default)]
    limits: PatchList,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatchList {
    cpu: Option<Quantity>,
    memory: Option<Quantity>,
}

/// What a resize patch may contain, said with every refusal.
pub const SUPPORTED: &str = "a resize patch is {\"spec\":{\"containers\":[{\"name\":NAME,\"resources\":{\"requests\":{\"cpu\":Q,\"memory\":Q},\"limits\":{\"cpu\":Q,\"memory\":Q}}}]}} (initContainers too, for sidecars)";

/// Reads kubectl's `--patch` JSON (a strategic merge patch: containers are matched by name).
pub fn parse_patch(text: &str) -> Result<ResizePatch, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the patch is not JSON: {e}"))?;
    if let Some(path) = first_null(&value, "") {
        return Err(format!(
            "{path}: null would remove a request or limit, which podlab does not model; {SUPPORTED}"
        ));
    }
    let doc: PatchDoc = serde_json::from_value(value).map_err(|e| format!("{e}; {SUPPORTED}"))?;
    let containers: Vec<ContainerPatch> = doc
        .spec
        .containers
        .into_iter()
        .chain(doc.spec.init_containers)
        .map(|c| ContainerPatch {
            name: c.name,
            requests: ResourceList {
                cpu: c.resources.requests.cpu,
                memory: c.resources.requests.memory,
            },
            limits: ResourceList {
                cpu: c.resources.limits.cpu,
                memory: c.resources.limits.memory,
            },
        })
        .collect();
    if containers.is_empty() {
        return Err(format!("the patch names no container; {SUPPORTED}"));
    }
    Ok(ResizePatch { containers })
}

fn first_null(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Null => Some(if path.is_empty() {
            ".".into()
        } else {
            path.into()
        }),
        serde_json::Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| first_null(v, &format!("{path}.{k}"))),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_null(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The API server's side of the resize subresource: the patched spec, or kubectl's error text.
pub fn apply_patch(pod_name: &str, spec: &PodSpec, patch: &ResizePatch) -> Result<PodSpec, String> {
    let invalid = |what: String| format!("The Pod {pod_name:?} is invalid: {what}");
    let mut new = spec.clone();
    for c in &patch.containers {
        let (field, index, container) = if let Some(i) =
            new.containers.iter().position(|x| x.name == c.name)
        {
            ("containers", i, &mut new.containers[i])
        } else if let Some(i) = new.init_containers.iter().position(|x| x.name == c.name) {
            let init = &mut new.init_containers[i];
            if init.restart_policy != Some(ContainerRestartPolicy::Always) {
                return Err(invalid(format!(
                    "spec.initContainers[{i}].resources: Forbidden: resources for non-sidecar init containers are immutable"
                )));
            }
            ("initContainers", i, init)
        } else {
            return Err(invalid(format!(
                "spec.containers: Not found: container {:?} is not in the pod",
                c.name
            )));
        };
        merge(&mut container.resources.requests, &c.requests);
        merge(&mut container.resources.limits, &c.limits);
        check_requests_within_limits(container, &format!("spec.{field}[{index}]"))
            .map_err(invalid)?;
    }
    let old_qos = pod_qos(&PodResources::from_spec(spec));
    let new_qos = pod_qos(&PodResources::from_spec(&new));
    if old_qos != new_qos {
        return Err(invalid(format!(
            "spec: Invalid value: {:?}: Pod QOS Class may not change as a result of resizing",
            old_qos.as_str()
        )));
    }
    Ok(new)
}

fn merge(into: &mut ResourceList, patch: &ResourceList) {
    if patch.cpu.is_some() {
        into.cpu = patch.cpu.clone();
    }
    if patch.memory.is_some() {
        into.memory = patch.memory.clone();
    }
}

/// The API server's `ValidateResourceRequirements`: a request above its limit is invalid.
fn check_requests_within_limits(container: &Container, path: &str) -> Result<(), String> {
    let r = &container.resources;
    if let (Some(req), Some(lim)) = (&r.requests.cpu, &r.limits.cpu) {
        if req.milli_value() > lim.milli_value() {
            return Err(format!(
                "{path}.resources.requests: Invalid value: \"{req}\": must be less than or equal to cpu limit of {lim}"
            ));
        }
    }
    if let (Some(req), Some(lim)) = (&r.requests.memory, &r.limits.memory) {
        if req.value() > lim.value() {
            return Err(format!(
                "{path}.resources.requests: Invalid value: \"{req}\": must be less than or equal to memory limit of {lim}"
            ));
        }
    }
    Ok(())
}

/// A resize's condition on the pod, as kubelet reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeCondition {
    /// [`POD_RESIZE_PENDING`] or [`POD_RESIZE_IN_PROGRESS`].
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What the pod's status says about resizes: the spec's generation, the condition while one
/// is not done, and per container what kubelet allocated and what the runtime runs with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResizeStatus {
    /// `metadata.generation`: 1 at creation, one more per accepted resize.
    #[serde(default)]
    pub generation: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ResizeCondition>,
    /// `status.containerStatuses[].allocatedResources` (the requests kubelet admitted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocated: BTreeMap<String, ResourceList>,
    /// `status.containerStatuses[].resources` (what the container's cgroup holds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actual: BTreeMap<String, ResourceRequirements>,
}

impl ResizeStatus {
    pub fn is_empty(&self) -> bool {
        *self == ResizeStatus::default()
    }

    /// `metadata.generation`, 1 before any resize.
    pub fn generation(&self) -> i64 {
        self.generation.max(1)
    }
}

/// Memory in use when the resize is asked for (v2 `memory.current`, v1 `memory.usage_in_bytes`),
/// so that a limit is never set below it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryUsage {
    pub pod: Option<i64>,
    pub containers: BTreeMap<String, i64>,
}

/// One cgroup write of a resize: `container` None is the pod cgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct CgroupWrite {
    pub container: Option<String>,
    pub resource: ResizeResource,
    pub values: CgroupValues,
}

/// The resources of a resize that changed for one container.
pub fn changed(old: &ContainerResources, new: &ContainerResources) -> Vec<ResizeResource> {
    let mut out = Vec::new();
    if old.requests.cpu_millis != new.requests.cpu_millis
        || old.limits.cpu_millis != new.limits.cpu_millis
    {
        out.push(ResizeResource::Cpu);
    }
    if old.requests.memory_bytes != new.requests.memory_bytes
        || old.limits.memory_bytes != new.limits.memory_bytes
    {
        out.push(ResizeResource::Memory);
    }
    out
}

/// A container's `resizePolicy` for one resource (absent: NotRequired).
pub fn policy(container: &Container, resource: ResizeResource) -> ResizeRestartPolicy {
    container
        .resize_policy
        .iter()
        .find(|p| p.resource_name == resource)
        .map(|p| p.restart_policy)
        .unwrap_or(ResizeRestartPolicy::NotRequired)
}

/// "no limit" compares as the largest.
fn limit_of(values: &CgroupValues, resource: ResizeResource) -> i64 {
    match resource {
        ResizeResource::Cpu => values.cpu_quota_us.filter(|q| *q >= 0).unwrap_or(i64::MAX),
        ResizeResource::Memory => values.memory_limit_bytes.unwrap_or(i64::MAX),
    }
}

fn request_of(values: &CgroupValues, resource: ResizeResource) -> i64 {
    match resource {
        ResizeResource::Cpu => values.cpu_shares.map_or(0, |s| s as i64),
        ResizeResource::Memory => 0,
    }
}

/// kubelet's `doPodResizeAction`: memory first, then CPU; for each, the pod cgroup before the
/// containers when its limit (or, with the limit unchanged, its request) grows, after them when
/// it shrinks, so that a container's limit never exceeds its pod's at any moment. `in_place`:
/// the containers resized without a restart.
pub fn write_order(
    old: &PodResources,
    new: &PodResources,
    in_place: &[(String, Vec<ResizeResource>)],
) -> Vec<CgroupWrite> {
    let old_pod = pod_cgroup_values(old);
    let new_pod = pod_cgroup_values(new);
    let mut out = Vec::new();
    for resource in [ResizeResource::Memory, ResizeResource::Cpu] {
        let containers: Vec<CgroupWrite> = in_place
            .iter()
            .filter(|(_, rs)| rs.contains(&resource))
            .filter_map(|(name, _)| {
                let c = new.find(name)?;
                Some(CgroupWrite {
                    container: Some(name.clone()),
                    resource,
                    values: container_cgroup_values(&new.effective_container(c)),
                })
            })
            .collect();
        let (old_lim, new_lim) = (limit_of(&old_pod, resource), limit_of(&new_pod, resource));
        let (old_req, new_req) = (
            request_of(&old_pod, resource),
            request_of(&new_pod, resource),
        );
        let pod_changes = old_lim != new_lim || old_req != new_req;
        if containers.is_empty() && !pod_changes {
            continue;
        }
        let pod_first = new_lim > old_lim || (new_lim == old_lim && new_req > old_req);
        let pod = CgroupWrite {
            container: None,
            resource,
            values: new_pod,
        };
        if pod_changes && pod_first {
            out.push(pod.clone());
        }
        out.extend(containers);
        if pod_changes && !pod_first {
            out.push(pod);
        }
    }
    out
}

/// kubelet refuses to set a memory limit below what is in use (best effort, since 1.33): the
/// message of the `PodResizeInProgress` condition (reason Error) and the ResizeError event.
pub fn memory_below_usage(
    old: &PodResources,
    new: &PodResources,
    in_place: &[(String, Vec<ResizeResource>)],
    usage: &MemoryUsage,
) -> Option<String> {
    let mut errors = Vec::new();
    let old_pod = limit_of(&pod_cgroup_values(old), ResizeResource::Memory);
    let new_pod = limit_of(&pod_cgroup_values(new), ResizeResource::Memory);
    if let Some(used) = usage.pod {
        if new_pod < old_pod && new_pod < used {
            errors.push(format!(
                "attempting to set pod memory limit ({new_pod}) below current usage ({used})"
            ));
        }
    }
    for (name, resources) in in_place {
        if !resources.contains(&ResizeResource::Memory) {
            continue;
        }
        let (Some(o), Some(n)) = (old.find(name), new.find(name)) else {
            continue;
        };
        let (o, n) = (
            o.limits.memory_bytes.unwrap_or(i64::MAX),
            n.limits.memory_bytes.unwrap_or(i64::MAX),
        );
        if let Some(used) = usage.containers.get(name) {
            if n < o && n < *used {
                errors.push(format!(
                    "attempting to set container {name:?} memory limit ({n}) below current usage ({used})"
                ));
            }
        }
    }
    match errors.len() {
        0 => None,
        1 => Some(format!("cannot decrease memory limits: {}", errors[0])),
        _ => Some(format!(
            "cannot decrease memory limits: [{}]",
            errors.join(", ")
        )),
    }
}

/// The JSON kubelet puts in its resize events: the containers' desired resources and the
/// generation (and the error, for ResizeError).
pub fn event_payload(spec: &PodSpec, generation: i64, error: Option<&str>) -> String {
    let containers: Vec<serde_json::Value> = spec
        .init_containers
        .iter()
        .filter(|c| c.restart_policy == Some(ContainerRestartPolicy::Always))
        .chain(&spec.containers)
        .map(|c| serde_json::json!({"name": c.name, "resources": resources_json(&c.resources)}))
        .collect();
    // In kubelet's field order: containers, generation, error.
    let containers = serde_json::Value::Array(containers);
    match error {
        Some(e) => format!(
            "{{\"containers\":{containers},\"generation\":{generation},\"error\":{}}}",
            serde_json::Value::String(e.to_string())
        ),
        None => format!("{{\"containers\":{containers},\"generation\":{generation}}}"),
    }
}

/// Requests and limits as the API writes them: only the resources given.
fn resources_json(r: &ResourceRequirements) -> serde_json::Value {
    let list = |l: &ResourceList| {
        let mut m = serde_json::Map::new();
        if let Some(q) = &l.cpu {
            m.insert("cpu".into(), serde_json::Value::String(q.to_string()));
        }
        if let Some(q) = &l.memory {
            m.insert("memory".into(), serde_json::Value::String(q.to_string()));
        }
        m
    };
    let mut out = serde_json::Map::new();
    for (key, l) in [("limits", &r.limits), ("requests", &r.requests)] {
        let m = list(l);
        if !m.is_empty() {
            out.insert(key.into(), serde_json::Value::Object(m));
        }
    }
    serde_json::Value::Object(out)
}

fn resize_event(kind: EventType, reason: &str, what: &str, payload: String) -> Event {
    Event {
        kind,
        reason: reason.into(),
        message: format!("Pod resize {what}: {payload}"),
    }
}

pub fn resize_started(spec: &PodSpec, generation: i64) -> Event {
    let payload = event_payload(spec, generation, None);
    resize_event(EventType::Normal, RESIZE_STARTED, "started", payload)
}

pub fn resize_completed(spec: &PodSpec, generation: i64) -> Event {
    let payload = event_payload(spec, generation, None);
    resize_event(EventType::Normal, RESIZE_COMPLETED, "completed", payload)
}

pub fn resize_error(spec: &PodSpec, generation: i64, error: &str) -> Event {
    let payload = event_payload(spec, generation, Some(error));
    resize_event(EventType::Warning, RESIZE_ERROR, "error", payload)
}

/// The resources a container's status reports: the spec's requests and limits.
pub fn status_resources(container: &Container) -> (ResourceList, ResourceRequirements) {
    (
        container.resources.requests.clone(),
        container.resources.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resources: serde_json::Value) -> PodSpec {
        serde_json::from_value(serde_json::json!({"containers": [
            {"name": "app", "image": "busybox", "resources": resources}
        ]}))
        .expect("spec")
    }

    fn patch(text: &str) -> ResizePatch {
        parse_patch(text).expect("patch")
    }

    #[test]
    fn patches_are_read_and_what_is_not_modelled_is_named() {
        let p = patch(
            r#"{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"1","memory":"64Mi"}}}]}}"#,
        );
        assert_eq!(p.containers[0].name, "app");
        assert_eq!(
            p.containers[0].limits.cpu.as_ref().map(|q| q.to_string()),
            Some("1".into())
        );
        let cases = [
            ("{", "not JSON"),
            (
                r#"{"spec":{"containers":[{"name":"app","resources":{"limits":{"ephemeral-storage":"1Gi"}}}]}}"#,
                "expected `cpu` or `memory`",
            ),
            (
                r#"{"spec":{"containers":[{"name":"app","image":"nginx"}]}}"#,
                "unknown field `image`",
            ),
            (r#"{"metadata":{}}"#, "unknown field `metadata`"),
            (
                r#"{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":null}}}]}}"#,
                ".spec.containers[0].resources.limits.cpu: null",
            ),
            (r#"{"spec":{}}"#, "names no container"),
        ];
        for (text, want) in cases {
            let e = parse_patch(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains("a resize patch is") || want == "not JSON", "{e}");
        }
    }

    /// The API server's refusals, word for word (ValidatePodResize and
    /// ValidateResourceRequirements; cases from the e2e resize tests).
    #[test]
    fn the_api_server_refuses_a_qos_change_and_requests_above_limits() {
        let guaranteed = spec(serde_json::json!({
            "requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "64Mi"}
        }));
        let e = apply_patch(
            "web",
            &guaranteed,
            &patch(
                r#"{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"1"}}}]}}"#,
            ),
        )
        .expect_err("qos change");
        assert_eq!(e, "The Pod \"web\" is invalid: spec: Invalid value: \"Guaranteed\": Pod QOS Class may not change as a result of resizing");
        let best_effort = spec(serde_json::json!({}));
        let e = apply_patch(
            "web",
            &best_effort,
            &patch(r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"memory":"40Mi"}}}]}}"#),
        )
        .expect_err("qos change");
        assert!(e.ends_with("Invalid value: \"BestEffort\": Pod QOS Class may not change as a result of resizing"), "{e}");
        let burstable =
            spec(serde_json::json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}));
        let e = apply_patch(
            "web",
            &burstable,
            &patch(r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"300m"}}}]}}"#),
        )
        .expect_err("request above limit");
        assert_eq!(e, "The Pod \"web\" is invalid: spec.containers[0].resources.requests: Invalid value: \"300m\": must be less than or equal to cpu limit of 200m");
        let e = apply_patch(
            "web",
            &burstable,
            &patch(r#"{"spec":{"containers":[{"name":"other","resources":{"requests":{"cpu":"150m"}}}]}}"#),
        )
        .expect_err("no such container");
        assert!(e.contains("container \"other\" is not in the pod"), "{e}");
        let ok = apply_patch(
            "web",
            &burstable,
            &patch(r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"150m"}}}]}}"#),
        )
        .expect("valid");
        assert_eq!(
            ok.containers[0]
                .resources
                .requests
                .cpu
                .as_ref()
                .map(|q| q.milli_value()),
            Some(150)
        );
        assert_eq!(
            ok.containers[0]
                .resources
                .limits
                .cpu
                .as_ref()
                .map(|q| q.milli_value()),
            Some(200)
        );
    }

    #[test]
    fn a_plain_init_container_cannot_be_resized() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "initContainers": [{"name": "prep", "image": "busybox"}],
            "containers": [{"name": "app", "image": "busybox"}]
        }))
        .expect("spec");
        let e = apply_patch(
            "web",
            &spec,
            &patch(r#"{"spec":{"initContainers":[{"name":"prep","resources":{"requests":{"cpu":"1"}}}]}}"#),
        )
        .expect_err("init");
        assert!(
            e.contains("spec.initContainers[0].resources: Forbidden"),
            "{e}"
        );
    }

    /// kubelet's order, memory before CPU, each pod-first when growing, pod-last when
    /// shrinking.
    #[test]
    fn writes_follow_kubelets_order() {
        let mi = 1024 * 1024;
        let pod = |cpu: i64, mem: i64| PodResources {
            containers: vec![ContainerResources::new(
                "app",
                crate::kube::resources::ResourceAmounts::new(Some(cpu / 2), Some(mem / 2)),
                crate::kube::resources::ResourceAmounts::new(Some(cpu), Some(mem)),
            )],
            init_containers: vec![],
            pod_level: None,
        };
        let both = [(
            "app".to_string(),
            vec![ResizeResource::Cpu, ResizeResource::Memory],
        )];
        let order =
            |old: &PodResources, new: &PodResources| -> Vec<(Option<String>, ResizeResource)> {
                write_order(old, new, &both)
                    .into_iter()
                    .map(|w| (w.container, w.resource))
                    .collect()
            };
        let app = || Some("app".to_string());
        use ResizeResource::{Cpu, Memory};
        // Memory grows, CPU shrinks.
        assert_eq!(
            order(&pod(1000, 64 * mi), &pod(500, 128 * mi)),
            [(None, Memory), (app(), Memory), (app(), Cpu), (None, Cpu)]
        );
        // Memory shrinks, CPU grows.
        assert_eq!(
            order(&pod(500, 128 * mi), &pod(1000, 64 * mi)),
            [(app(), Memory), (None, Memory), (None, Cpu), (app(), Cpu)]
        );
        // The pod cgroup's values are kubelet's (linear weight), the leaf's runc's.
        let writes = write_order(&pod(500, 64 * mi), &pod(1000, 64 * mi), &both);
        let pod_cpu = writes.iter().find(|w| w.container.is_none()).expect("pod");
        assert_eq!(pod_cpu.values.cpu_weight(), Some(20));
        let leaf_cpu = writes.iter().find(|w| w.container.is_some()).expect("leaf");
        assert_eq!(leaf_cpu.values.cpu_quota_us, Some(100_000));
    }

    #[test]
    fn events_carry_kubelets_json() {
        let s = spec(serde_json::json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}));
        assert_eq!(
            resize_started(&s, 2).message,
            r#"Pod resize started: {"containers":[{"name":"app","resources":{"limits":{"cpu":"200m"},"requests":{"cpu":"100m"}}}],"generation":2}"#
        );
        let e = resize_error(&s, 3, "boom");
        assert_eq!(e.kind, EventType::Warning);
        assert!(
            e.message.ends_with(r#","generation":3,"error":"boom"}"#),
            "{}",
            e.message
        );
    }
}
