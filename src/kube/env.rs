//! A container's environment as kubelet makes it (`makeEnvironmentVariables` in
//! `pkg/kubelet/kubelet_pods.go`) and the `$(VAR)` expansion of env values, command and args
//! (`third_party/forked/golang/expansion`, `ExpandContainerCommandAndArgs`).
//!
//! * Variables are taken in the order they are written; a literal value may refer to the ones
//!   defined before it with `$(NAME)`; `$$` is a `$`; a name not (yet) defined stays as written.
//! * `valueFrom.fieldRef` reads the pod (name, namespace, uid, a label, an annotation, the
//!   node's name, the service account, the pod's and the node's IPs); `resourceFieldRef` a
//!   container's requests or limits, divided by the divisor and rounded up, an unset limit being
//!   the node's allocatable. Neither is expanded.
//! * command and args are expanded with the container's variables only: not the image's Env,
//!   not HOSTNAME or PATH, which the runtime adds afterwards.
//!
//! There is no API server, so no service: kubelet's service-link variables
//! (`KUBERNETES_SERVICE_HOST`, `KUBERNETES_PORT_443_TCP`, …) are not set.

use std::collections::HashMap;

use super::resources::{ContainerResources, PodResources, ResourceAmounts};
use crate::spec::{Container, ObjectFieldSelector, Pod, Quantity, ResourceFieldSelector};

/// The service account the API server's admission gives a pod that names none.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// `$(NAME)` with every `$(` and `$$` in `input` resolved by `lookup` (None: left as written).
/// The rules of Kubernetes' `expansion.Expand`, byte for byte for ASCII; a `$` before a
/// non-ASCII character is kept with it (Go would split the character's bytes).
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        out.push_str(&input[from..i]);
        match bytes[i + 1] {
            // `$$`: an escaped operator.
            b'$' => {
                out.push('$');
                i += 2;
            }
            b'(' => match input[i + 2..].find(')') {
                Some(len) => {
                    let name = &input[i + 2..i + 2 + len];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    i += 2 + len + 1;
                }
                // No closer: `$(` is kept and the scan goes on after it.
                None => {
                    out.push_str("$(");
                    i += 2;
                }
            },
            // A `$` that begins nothing: kept with the character after it.
            _ => {
                let next = input[i + 1..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&input[i..i + 1 + next]);
                i += 1 + next;
            }
        }
        from = i;
    }
    out.push_str(&input[from..]);
    out
}

/// What kubelet knows when it starts a container, beyond the manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvContext {
    /// The pod's uid (podlab's, generated as the API server would).
    pub uid: String,
    /// The node's name (this machine's host name).
    pub node_name: String,
    /// The pod's IPs (for a hostNetwork pod, the node's).
    pub pod_ips: Vec<String>,
    /// The node's IPs.
    pub host_ips: Vec<String>,
    /// The node's allocatable cpu and memory: a resourceFieldRef to an unset limit reads it.
    pub node_allocatable: ResourceAmounts,
}

/// The container's own variables, in the order written (a later one of the same name replaces
/// the earlier one's value), with `$(VAR)` expanded and `valueFrom` resolved.
pub fn container_vars(pod: &Pod, c: &Container, ctx: &EnvContext) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut defined: HashMap<String, String> = HashMap::new();
    for var in &c.env {
        let value = match &var.value_from {
            Some(from) => {
                if let Some(field) = &from.field_ref {
                    field_value(pod, field, ctx)
                } else if let Some(resource) = &from.resource_field_ref {
                    resource_value(pod, c, resource, ctx)
                } else {
                    String::new()
                }
            }
            None if var.value.is_empty() => String::new(),
            None => expand(&var.value, |name| defined.get(name).cloned()),
        };
        defined.insert(var.name.clone(), value.clone());
        match out.iter_mut().find(|(name, _)| *name == var.name) {
            Some(slot) => slot.1 = value,
            None => out.push((var.name.clone(), value)),
        }
    }
    out
}

/// `command` and `args` with `$(VAR)` expanded from the container's variables.
pub fn expand_command_and_args(
    command: &[String],
    args: &[String],
    vars: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    let map: HashMap<&str, &str> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let expand_all = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| expand(s, |name| map.get(name).map(|v| v.to_string())))
            .collect()
    };
    (expand_all(command), expand_all(args))
}

/// The field paths a fieldRef in an environment variable may name (besides the label and
/// annotation forms), as the API server's validation lists them.
pub const FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `metadata.labels['key']` → ("labels", "key").
pub fn subscripted_field(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("metadata.")?;
    let (map, key) = rest.split_once("['")?;
    let key = key.strip_suffix("']")?;
    matches!(map, "labels" | "annotations").then_some((map, key))
}

fn field_value(pod: &Pod, field: &ObjectFieldSelector, ctx: &EnvContext) -> String {
    let meta = &pod.metadata;
    let first = |list: &[String]| list.first().cloned().unwrap_or_default();
    match field.field_path.as_str() {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        "metadata.uid" => ctx.uid.clone(),
        "spec.nodeName" => ctx.node_name.clone(),
        "spec.serviceAccountName" => pod
            .spec
            .service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE_ACCOUNT.to_string()),
        "status.podIP" => first(&ctx.pod_ips),
        "status.podIPs" => ctx.pod_ips.join(","),
        "status.hostIP" => first(&ctx.host_ips),
        "status.hostIPs" => ctx.host_ips.join(","),
        other => match subscripted_field(other) {
            Some(("labels", key)) => meta.labels.get(key).cloned().unwrap_or_default(),
            Some((_, key)) => meta.annotations.get(key).cloned().unwrap_or_default(),
            None => String::new(),
        },
    }
}

/// The resources a resourceFieldRef may name.
pub const RESOURCES: &[&str] = &[
    "limits.cpu",
    "limits.memory",
    "requests.cpu",
    "requests.memory",
];

/// kubelet's `ExtractContainerResourceValue` on the container with its limits defaulted to the
/// pod-level limits, then the node's allocatable (`defaultPodLimitsForDownwardAPI`): cpu in
/// millicores divided by the divisor's, memory in bytes by the divisor's, rounded up.
fn resource_value(
    pod: &Pod,
    current: &Container,
    selector: &ResourceFieldSelector,
    ctx: &EnvContext,
) -> String {
    let container = match selector.container_name.as_deref() {
        Some(name) if !name.is_empty() => pod
            .spec
            .containers
            .iter()
            .chain(&pod.spec.init_containers)
            .find(|c| c.name == name)
            .unwrap_or(current),
        _ => current,
    };
    // An unset limit is the pod-level limit (PodLevelResources), else the node's allocatable.
    let pod_resources = PodResources::from_spec(&pod.spec);
    let resources =
        pod_resources.effective_container(&ContainerResources::from_container(container, false));
    let limits = ResourceAmounts::new(
        resources
            .limits
            .cpu_millis
            .or(ctx.node_allocatable.cpu_millis),
        resources
            .limits
            .memory_bytes
            .or(ctx.node_allocatable.memory_bytes),
    );
    let divisor = selector.divisor.as_ref().filter(|d| !d.is_zero());
    let (amount, per) = match selector.resource.as_str() {
        "limits.cpu" => (limits.cpu(), cpu_divisor(divisor)),
        "requests.cpu" => (resources.requests.cpu(), cpu_divisor(divisor)),
        "limits.memory" => (limits.memory(), divisor.map_or(1, Quantity::value)),
        "requests.memory" => (
            resources.requests.memory(),
            divisor.map_or(1, Quantity::value),
        ),
        _ => return String::new(),
    };
    divide_rounding_up(amount, per).to_string()
}

fn cpu_divisor(divisor: Option<&Quantity>) -> i64 {
    divisor.map_or(1000, Quantity::milli_value)
}

/// `int64(math.Ceil(float64(amount) / float64(per)))`, exactly for the values that fit.
fn divide_rounding_up(amount: i64, per: i64) -> i64 {
    if per <= 0 {
        return amount;
    }
    amount.div_euclid(per) + i64::from(amount.rem_euclid(per) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{EnvVar, EnvVarSource, ResourceRequirements};

    fn lookup_in<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// Kubernetes' `doExpansionTest` (TestMapping, TestMappingDual), every case.
    #[test]
    fn expansion_follows_kubernetes_do_expansion_test() {
        let context = [
            ("VAR_A", "A"),
            ("VAR_B", "B"),
            ("VAR_C", "C"),
            ("VAR_REF", "$(VAR_A)"),
            ("VAR_EMPTY", ""),
        ];
        let cases = [
            ("$(VAR_A)", "A"),
            ("$(VAR_A)-$(VAR_A)", "A-A"),
            ("$(VAR_A)-1", "A-1"),
            ("___$(VAR_B)___", "___B___"),
            ("___$(VAR_C)", "___C"),
            ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
            ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
            ("$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"),
            ("f000-$$VAR_A", "f000-$VAR_A"),
            ("foo\\$(VAR_C)bar", "foo\\Cbar"),
            ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
            ("foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"),
            ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
            ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
            ("$(VAR_REF)", "$(VAR_A)"),
            ("%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"),
            ("foo$(VAR_EMPTY)bar", "foobar"),
            ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
            ("f00__(VAR_A)__", "f00__(VAR_A)__"),
            ("$?_boo_$!", "$?_boo_$!"),
            ("$VAR_A", "$VAR_A"),
            ("$(VAR_DNE)", "$(VAR_DNE)"),
            ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
            ("$$$$$$(VAR_A)", "$$$(VAR_A)"),
            ("$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"),
            ("$$$$$$$(VAR_A)", "$$$A"),
            ("$VAR_A)", "$VAR_A)"),
            ("${VAR_A}", "${VAR_A}"),
            ("$(VAR_B)_______$(A", "B_______$(A"),
            ("$(VAR_C)_______$(", "C_______$("),
            ("$(VAR_A)foobarzab$", "Afoobarzab$"),
            ("foo-\\$(VAR_A", "foo-\\$(VAR_A"),
            ("--$($($($($--", "--$($($($($--"),
            ("$($($($($--foo$(", "$($($($($--foo$("),
            ("foo0--$($($($(", "foo0--$($($($("),
            ("$(foo$$var)", "$(foo$$var)"),
            ("\n", "\n"),
            // Not in Kubernetes' list: a `$` before a non-ASCII character.
            ("$é$(VAR_A)", "$éA"),
        ];
        for (input, expected) in cases {
            assert_eq!(expand(input, lookup_in(&context)), expected, "{input:?}");
        }
    }

    fn literal(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
            value_from: None,
        }
    }

    fn pod_with(c: Container) -> Pod {
        let mut pod = crate::spec::parse_pod(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: shop}\n  annotations: {team: blue}\nspec:\n  containers:\n  - {name: app, image: busybox}\n",
            "test",
        )
        .unwrap()
        .pod;
        pod.spec.containers[0] = c;
        pod
    }

    /// Kubernetes' TestMapReference: each value sees the ones defined before it.
    #[test]
    fn values_refer_to_variables_defined_before_them() {
        let c = Container {
            name: "app".into(),
            env: vec![
                literal("FOO", "bar"),
                literal("ZOO", "$(FOO)-1"),
                literal("BLU", "$(ZOO)-2"),
                // Defined after: stays as written.
                literal("EARLY", "$(LATE)"),
                literal("LATE", "x"),
            ],
            ..Default::default()
        };
        let pod = pod_with(c.clone());
        let vars = container_vars(&pod, &c, &EnvContext::default());
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("ZOO"), "bar-1");
        assert_eq!(get("BLU"), "bar-1-2");
        assert_eq!(get("EARLY"), "$(LATE)");
    }

    /// The cases of kubelet's TestMakeEnvironmentVariables that podlab can meet (no services,
    /// no ConfigMaps or Secrets): a later definition replaces an earlier one's value, an
    /// empty value is empty, a reference to itself before it is defined stays as written.
    #[test]
    fn a_name_defined_twice_keeps_its_place_and_takes_the_later_value() {
        let c = Container {
            name: "app".into(),
            env: vec![
                literal("A", "1"),
                literal("SELF", "$(SELF)"),
                literal("EMPTY", ""),
                literal("A", "$(A)2"),
            ],
            ..Default::default()
        };
        let pod = pod_with(c.clone());
        let vars = container_vars(&pod, &c, &EnvContext::default());
        assert_eq!(
            vars,
            vec![
                ("A".to_string(), "12".to_string()),
                ("SELF".to_string(), "$(SELF)".to_string()),
                ("EMPTY".to_string(), String::new()),
            ]
        );
    }

    fn field(name: &str, path: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: String::new(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: path.into(),
                }),
                resource_field_ref: None,
            }),
        }
    }

    /// kubelet's TestMakeEnvironmentVariables "downward api pod" case, with podlab's values.
    #[test]
    fn field_refs_read_the_pod_and_the_node() {
        let c = Container {
            name: "app".into(),
            env: vec![
                field("POD_NAME", "metadata.name"),
                field("POD_NAMESPACE", "metadata.namespace"),
                field("POD_UID", "metadata.uid"),
                field("NODE", "spec.nodeName"),
                field("SA", "spec.serviceAccountName"),
                field("POD_IP", "status.podIP"),
                field("POD_IPS", "status.podIPs"),
                field("HOST_IP", "status.hostIP"),
                field("HOST_IPS", "status.hostIPs"),
                field("APP", "metadata.labels['app']"),
                field("TEAM", "metadata.annotations['team']"),
                field("MISSING", "metadata.labels['none']"),
                // Not expanded: a valueFrom is taken as it is.
                literal("GREETING", "hello $(POD_NAME) on $(NODE)"),
            ],
            ..Default::default()
        };
        let pod = pod_with(c.clone());
        let ctx = EnvContext {
            uid: "1234".into(),
            node_name: "laptop".into(),
            pod_ips: vec!["10.88.0.5".into()],
            host_ips: vec!["10.88.0.1".into()],
            node_allocatable: ResourceAmounts::NONE,
        };
        let vars = container_vars(&pod, &c, &ctx);
        let values: Vec<&str> = vars.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "web",
                "default",
                "1234",
                "laptop",
                "default",
                "10.88.0.5",
                "10.88.0.5",
                "10.88.0.1",
                "10.88.0.1",
                "shop",
                "blue",
                "",
                "hello web on laptop"
            ]
        );
    }

    fn resource(name: &str, what: &str, divisor: Option<&str>) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: String::new(),
            value_from: Some(EnvVarSource {
                field_ref: None,
                resource_field_ref: Some(ResourceFieldSelector {
                    container_name: None,
                    resource: what.into(),
                    divisor: divisor.map(|d| Quantity::parse(d).unwrap()),
                }),
            }),
        }
    }

    /// Kubernetes' TestExtractResourceValue (`pkg/api/v1/resource/helpers_test.go`): cpu and
    /// memory divided and rounded up; and kubelet's TestPodResourceLimitsDefaulting: an
    /// unset limit is the node's allocatable.
    #[test]
    fn resource_field_refs_divide_round_up_and_default_to_allocatable() {
        let mut c = Container {
            name: "app".into(),
            env: vec![
                resource("CPU_LIMIT", "limits.cpu", None),
                resource("CPU_LIMIT_M", "limits.cpu", Some("1m")),
                resource("MEM_LIMIT", "limits.memory", None),
                resource("MEM_LIMIT_MI", "limits.memory", Some("1Mi")),
                resource("CPU_REQ", "requests.cpu", Some("1m")),
                resource("MEM_REQ_KI", "requests.memory", Some("1Ki")),
            ],
            ..Default::default()
        };
        c.resources = ResourceRequirements {
            requests: crate::spec::ResourceList {
                cpu: Some(Quantity::parse("250m").unwrap()),
                memory: Some(Quantity::parse("1000").unwrap()),
            },
            limits: crate::spec::ResourceList {
                cpu: Some(Quantity::parse("1500m").unwrap()),
                memory: Some(Quantity::parse("100Mi").unwrap()),
            },
        };
        let pod = pod_with(c.clone());
        let ctx = EnvContext {
            node_allocatable: ResourceAmounts::new(Some(4000), Some(8 << 30)),
            ..Default::default()
        };
        let values = |c: &Container| -> Vec<String> {
            container_vars(&pod, c, &ctx)
                .into_iter()
                .map(|(_, v)| v)
                .collect()
        };
        assert_eq!(values(&c), ["2", "1500", "104857600", "100", "250", "1"]);
        // No limits: the node's allocatable; no requests either: 0 (requests default to
        // limits only when those are set).
        c.resources = ResourceRequirements::default();
        assert_eq!(values(&c), ["4", "4000", "8589934592", "8192", "0", "0"]);
        // A pod-level memory limit comes before the node's allocatable.
        let mut with_pod_level = pod.clone();
        with_pod_level.spec.resources = Some(ResourceRequirements {
            requests: Default::default(),
            limits: crate::spec::ResourceList {
                cpu: None,
                memory: Some(Quantity::parse("256Mi").unwrap()),
            },
        });
        let vars = container_vars(&with_pod_level, &c, &ctx);
        assert_eq!(vars[2].1, "268435456");
        assert_eq!(vars[0].1, "4");
    }

    #[test]
    fn command_and_args_expand_from_the_containers_variables_only() {
        let vars = vec![("POD_NAME".to_string(), "web".to_string())];
        let (command, args) = expand_command_and_args(
            &["sh".into(), "-c".into()],
            &["echo $(POD_NAME) $(HOSTNAME) $$(POD_NAME) $(pidof x)".into()],
            &vars,
        );
        assert_eq!(command, ["sh", "-c"]);
        assert_eq!(args, ["echo web $(HOSTNAME) $(POD_NAME) $(pidof x)"]);
    }

    #[test]
    fn subscripted_fields_name_a_label_or_an_annotation() {
        assert_eq!(
            subscripted_field("metadata.labels['app']"),
            Some(("labels", "app"))
        );
        assert_eq!(
            subscripted_field("metadata.annotations['a.b/c']"),
            Some(("annotations", "a.b/c"))
        );
        assert_eq!(subscripted_field("metadata.labels"), None);
        assert_eq!(subscripted_field("metadata.uid['x']"), None);
    }
}
