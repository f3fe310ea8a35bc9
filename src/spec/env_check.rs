//! The API server's checks of environment variables (`validateEnv`, `validateEnvVarValueFrom`,
//! `validateObjectFieldSelector`, `validateContainerResourceFieldSelector` in
//! `pkg/apis/core/validation`), and the refusal of what would need an API server: values from
//! ConfigMaps and Secrets (`configMapKeyRef`, `secretKeyRef`, `envFrom`).

use crate::i18n::Text;
use crate::kube::env::{subscripted_field, FIELD_PATHS, RESOURCES};

use super::error::Problem;
use super::quantity::Quantity;
use super::types::{Container, EnvVar, PodSpec};
use super::validate::Violation;
use super::yaml::{FieldPath, Segment, SourceMap};

/// A field of a container that reads a ConfigMap or a Secret: refused with where it is, since
/// an empty value in its place would change what runs.
pub fn needs_api_server(path: &FieldPath, map: &SourceMap) -> Option<Problem> {
    let field = match path.segments() {
        [Segment::Key(spec), Segment::Key(group), Segment::Index(_), Segment::Key(env_from)]
            if spec == "spec" && is_container_group(group) && env_from == "envFrom" =>
        {
            "envFrom"
        }
        [Segment::Key(spec), Segment::Key(group), Segment::Index(_), Segment::Key(env), Segment::Index(_), Segment::Key(value_from), Segment::Key(source)]
            if spec == "spec"
                && is_container_group(group)
                && env == "env"
                && value_from == "valueFrom" =>
        {
            source.as_str()
        }
        _ => return None,
    };
    Some(Problem {
        location: Some(
            map.locate_key(path)
                .unwrap_or_else(|| map.locate_nearest(path)),
        ),
        path: Some(path.clone()),
        message: Text::new(
            format!("{field} needs an API server, and podlab has none"),
            format!("{field} 需要 API server，而 podlab 没有"),
        ),
        expected: Some(Text::new(
            "value, or valueFrom with fieldRef or resourceFieldRef",
            "value，或带 fieldRef 或 resourceFieldRef 的 valueFrom",
        )),
        hint: Some(Text::new(
            "there are no ConfigMaps or Secrets here; write the value itself in `value`",
            "这里没有 ConfigMap 或 Secret；把值直接写在 `value` 里",
        )),
    })
}

fn is_container_group(group: &str) -> bool {
    matches!(group, "containers" | "initContainers")
}

/// Every environment variable of every container.
pub fn check(spec: &PodSpec) -> Vec<Violation> {
    let names = spec.container_names();
    let mut out = Vec::new();
    let groups = [
        ("initContainers", &spec.init_containers),
        ("containers", &spec.containers),
    ];
    for (field, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            let at = FieldPath::root().key("spec").key(field).index(i);
            check_container(&at, c, &names, &mut out);
        }
    }
    out
}

fn violation(path: FieldPath, en: String, zh: String, expected: Option<Text>) -> Violation {
    Violation {
        path,
        message: Text::new(en, zh),
        expected,
        hint: None,
    }
}

fn check_container(at: &FieldPath, c: &Container, names: &[&str], out: &mut Vec<Violation>) {
    for (i, var) in c.env.iter().enumerate() {
        let at = at.key("env").index(i);
        check_var(&at, var, names, out);
    }
}

fn check_var(at: &FieldPath, var: &EnvVar, names: &[&str], out: &mut Vec<Violation>) {
    let Some(from) = &var.value_from else {
        return;
    };
    let from_at = at.key("valueFrom");
    if !var.value.is_empty() {
        out.push(violation(
            from_at.clone(),
            "valueFrom may not be given when value is not empty".into(),
            "value 不为空时不能再写 valueFrom".into(),
            Some(Text::new(
                "either value or valueFrom",
                "value 和 valueFrom 二选一",
            )),
        ));
    }
    let sources =
        usize::from(from.field_ref.is_some()) + usize::from(from.resource_field_ref.is_some());
    if sources != 1 {
        let (en, zh) = match sources {
            0 => ("valueFrom names no source", "valueFrom 没有给出来源"),
            _ => (
                "valueFrom may not have more than one source",
                "valueFrom 只能有一个来源",
            ),
        };
        out.push(violation(
            from_at.clone(),
            en.into(),
            zh.into(),
            Some(Text::new(
                "exactly one of fieldRef or resourceFieldRef",
                "fieldRef 或 resourceFieldRef 之一",
            )),
        ));
    }
    if let Some(field) = &from.field_ref {
        let at = from_at.key("fieldRef");
        if let Some(version) = field.api_version.as_deref().filter(|v| *v != "v1") {
            out.push(violation(
                at.key("apiVersion"),
                format!("apiVersion {version:?} is not supported"),
                format!("不支持 apiVersion {version:?}"),
                Some(Text::new("v1", "v1")),
            ));
        }
        let path = field.field_path.as_str();
        let known = FIELD_PATHS.contains(&path)
            || subscripted_field(path).is_some_and(|(_, key)| !key.is_empty());
        if !known {
            let list = format!(
                "{}, metadata.labels['KEY'], metadata.annotations['KEY']",
                FIELD_PATHS.join(", ")
            );
            out.push(violation(
                at.key("fieldPath"),
                format!("fieldPath {path:?} is not a field an environment variable can read"),
                format!("fieldPath {path:?} 不是环境变量可以读取的字段"),
                Some(Text::new(list.clone(), list)),
            ));
        }
    }
    if let Some(selector) = &from.resource_field_ref {
        let at = from_at.key("resourceFieldRef");
        let resource = selector.resource.as_str();
        if !RESOURCES.contains(&resource) {
            let why = if resource.contains("ephemeral-storage") || resource.contains("hugepages") {
                " (podlab models only cpu and memory)"
            } else {
                ""
            };
            let why_zh = if why.is_empty() {
                ""
            } else {
                "（podlab 只实现了 cpu 和 memory）"
            };
            out.push(violation(
                at.key("resource"),
                format!("resource {resource:?} is not supported{why}"),
                format!("不支持资源 {resource:?}{why_zh}"),
                Some(Text::new(RESOURCES.join(", "), RESOURCES.join("、"))),
            ));
        }
        if let Some(name) = selector.container_name.as_deref().filter(|n| !n.is_empty()) {
            if !names.contains(&name) {
                out.push(violation(
                    at.key("containerName"),
                    format!("there is no container named {name:?} in this pod"),
                    format!("这个 Pod 里没有名为 {name:?} 的容器"),
                    Some(Text::new(names.join(", "), names.join("、"))),
                ));
            }
        }
        if let Some(divisor) = selector.divisor.as_ref().filter(|d| !d.is_zero()) {
            check_divisor(&at.key("divisor"), resource, divisor, out);
        }
    }
}

/// cpu: 1m or 1; memory: 1 or a power of 1000 or 1024 up to E/Ei.
fn check_divisor(at: &FieldPath, resource: &str, divisor: &Quantity, out: &mut Vec<Violation>) {
    let allowed: &[&str] = if resource.ends_with(".cpu") {
        &["1m", "1"]
    } else if resource.ends_with(".memory") {
        &[
            "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
        ]
    } else {
        return;
    };
    let ok = allowed.iter().any(|a| {
        Quantity::parse(a).is_ok_and(|q| q.cmp_value(divisor) == std::cmp::Ordering::Equal)
    });
    if !ok {
        let list = allowed.join(", ");
        out.push(violation(
            at.clone(),
            format!(
                "divisor {} is not supported for {resource}",
                divisor.as_str()
            ),
            format!("{resource} 不支持除数 {}", divisor.as_str()),
            Some(Text::new(list.clone(), list)),
        ));
    }
}
