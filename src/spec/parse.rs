//! Manifest file → validated [`Pod`], with every problem and ignored field located.

use std::path::Path;

use crate::i18n::Text;

use super::error::{Problem, SpecError, Warning};
use super::types::{EmptyDirVolumeSource, Pod};
use super::validate::validate;
use super::yaml::{self, Document, FieldPath, Located, Segment, SourceMap};

/// A pod that passed validation, with what podlab will not act on.
#[derive(Debug, Clone)]
pub struct LoadedPod {
    pub pod: Pod,
    /// Fields podlab does not model, defaults it applied, values it replaced; in file order.
    pub warnings: Vec<Warning>,
    /// Where each field of the manifest was written (for lessons that point into it).
    pub source_map: SourceMap,
}

/// Reads and validates a Pod manifest file (YAML or JSON, at most 1 MiB).
pub fn load_pod_file(path: &Path) -> Result<LoadedPod, SpecError> {
    let text = yaml::read_text_file(path)?;
    parse_pod(&text, &path.display().to_string())
}

/// Parses and validates a Pod manifest; `source` names it in locations (usually the path).
pub fn parse_pod(text: &str, source: &str) -> Result<LoadedPod, SpecError> {
    let document = Document::parse(text, source)?;
    check_is_mapping(&document)?;
    check_kind(&document)?;
    let Located {
        value: mut pod,
        unknown_fields,
        source_map,
    } = document.deserialize::<Pod>()?;

    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for path in &unknown_fields {
        if is_volume_source(path) {
            problems.push(unsupported_volume_source(path, &source_map));
        } else if let Some(problem) = super::env_check::needs_api_server(path, &source_map) {
            problems.push(problem);
        } else {
            warnings.push(Warning::new(
                path,
                source_map.locate_key(path),
                unknown_field_text(path),
            ));
        }
    }
    apply_api_server_defaults(&mut pod, &source_map, &mut warnings);
    for violation in validate(&pod) {
        // A field refused by name (a ConfigMap reference under valueFrom) already says what is
        // wrong with the field it is in.
        let inside = format!("{}.", violation.path);
        if problems.iter().any(|p| {
            p.path
                .as_ref()
                .is_some_and(|at| at.to_string().starts_with(&inside))
        }) {
            continue;
        }
        problems.push(Problem {
            location: Some(source_map.locate_field(&violation.path)),
            path: Some(violation.path),
            message: violation.message,
            expected: violation.expected,
            hint: violation.hint,
        });
    }
    if !problems.is_empty() {
        return Err(SpecError::new(problems));
    }
    warnings.sort_by_key(|w| w.location.as_ref().map(|l| (l.line, l.column)));
    Ok(LoadedPod {
        pod,
        warnings,
        source_map,
    })
}

/// Serde would read a struct from a list, field by field; a manifest is always a mapping.
fn check_is_mapping(document: &Document) -> Result<(), SpecError> {
    let map = document.source_map();
    if map.root_is_mapping() {
        return Ok(());
    }
    Err(SpecError::new(vec![Problem {
        location: Some(map.locate_nearest(&FieldPath::root())),
        path: None,
        message: Text::new(
            "the document is not a mapping of fields",
            "文档不是字段的映射",
        ),
        expected: Some(Text::new(
            "a Pod manifest: a mapping with apiVersion, kind, metadata and spec",
            "Pod 清单：包含 apiVersion、kind、metadata 和 spec 的映射",
        )),
        hint: None,
    }]))
}

/// `kind` and `apiVersion` first: a Deployment would otherwise fail with a confusing
/// "missing field containers".
fn check_kind(document: &Document) -> Result<(), SpecError> {
    let map = document.source_map();
    let mut problems = Vec::new();
    let mut check = |field: &str, wanted: &str, hint: Option<Text>| {
        let path = FieldPath::root().key(field);
        let found = document.get(&path);
        if found.and_then(|v| v.as_str()) == Some(wanted) {
            return;
        }
        let message = match found {
            None => Text::new(format!("{field} is missing"), format!("缺少 {field}")),
            Some(value) => Text::new(
                format!("{field} is {value}, which podlab cannot run"),
                format!("{field} 是 {value}，podlab 无法运行它"),
            ),
        };
        problems.push(Problem {
            location: Some(map.locate_nearest(&path)),
            path: Some(path),
            message,
            expected: Some(Text::new(
                format!("{field}: {wanted}"),
                format!("{field}: {wanted}"),
            )),
            hint,
        });
    };
    check(
        "kind",
        "Pod",
        Some(Text::new(
            "podlab runs single Pods; for a Deployment or Job, copy its spec.template into a Pod manifest",
            "podlab 只运行单个 Pod；对于 Deployment 或 Job，把它的 spec.template 复制到一个 Pod 清单里",
        )),
    );
    check("apiVersion", "v1", None);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SpecError::new(problems))
    }
}

/// A volume is a name plus one source: any other key under `spec.volumes[i]` is a source
/// podlab does not have (configMap, secret, persistentVolumeClaim, …).
fn is_volume_source(path: &FieldPath) -> bool {
    matches!(
        path.segments(),
        [Segment::Key(spec), Segment::Key(volumes), Segment::Index(_), Segment::Key(_)]
            if spec == "spec" && volumes == "volumes"
    )
}

fn unsupported_volume_source(path: &FieldPath, map: &SourceMap) -> Problem {
    let source = path.last_key().unwrap_or_default();
    Problem {
        location: Some(
            map.locate_key(path)
                .unwrap_or_else(|| map.locate_nearest(path)),
        ),
        path: Some(path.clone()),
        message: Text::new(
            format!("the volume source {source} is not supported by podlab"),
            format!("podlab 不支持卷来源 {source}"),
        ),
        expected: Some(Text::new("emptyDir or hostPath", "emptyDir 或 hostPath")),
        hint: Some(Text::new(
            "there is no API server here, so no ConfigMaps, Secrets or PersistentVolumeClaims; \
             share files with an emptyDir, or a directory of this machine with hostPath",
            "这里没有 API server，所以没有 ConfigMap、Secret 或 PersistentVolumeClaim；\
             用 emptyDir 共享文件，或用 hostPath 共享本机目录",
        )),
    }
}

/// What the API server would change before storing the pod, each said as a warning.
fn apply_api_server_defaults(pod: &mut Pod, map: &SourceMap, warnings: &mut Vec<Warning>) {
    stop_signals_are_alpha(pod, map, warnings);
    if pod.metadata.uid.take().is_some() {
        // Not an error: the API server accepts the manifest and replaces the uid, and so
        // does podlab; rejecting it would refuse a manifest `kubectl apply` takes.
        let path = FieldPath::root().key("metadata").key("uid");
        warnings.push(Warning::new(
            &path,
            map.locate_key(&path),
            Text::new(
                "metadata.uid is ignored: the API server gives every new pod its own uid, and podlab generates one the same way",
                "metadata.uid 被忽略：API server 会为每个新 Pod 分配自己的 uid，podlab 也同样生成",
            ),
        ));
    }
    if pod.spec.service_account_name.is_some() {
        let path = FieldPath::root().key("spec").key("serviceAccountName");
        warnings.push(Warning::new(
            &path,
            map.locate_key(&path),
            Text::new(
                "spec.serviceAccountName is only a name here: there is no API server, so no service account token is mounted (a fieldRef to spec.serviceAccountName reads it)",
                "spec.serviceAccountName 在这里只是一个名字：没有 API server，所以不会挂载服务账号令牌（指向 spec.serviceAccountName 的 fieldRef 会读到它）",
            ),
        ));
    }
    for (i, volume) in pod.spec.volumes.iter_mut().enumerate() {
        if volume.empty_dir.is_none() && volume.host_path.is_none() {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
            let path = FieldPath::root().key("spec").key("volumes").index(i);
            warnings.push(Warning::new(
                &path,
                map.locate(&path),
                Text::new(
                    format!(
                        "volume {:?} has no source; like Kubernetes, podlab makes it an emptyDir",
                        volume.name
                    ),
                    format!(
                        "卷 {:?} 没有来源；和 Kubernetes 一样，podlab 把它当作 emptyDir",
                        volume.name
                    ),
                ),
            ));
        }
    }
}

/// `lifecycle.stopSignal` needs the ContainerStopSignals gate, off by default in 1.35: podlab
/// honours it as a node with the gate on does, and says that a default cluster would not.
fn stop_signals_are_alpha(pod: &Pod, map: &SourceMap, warnings: &mut Vec<Warning>) {
    let groups = [
        ("initContainers", &pod.spec.init_containers),
        ("containers", &pod.spec.containers),
    ];
    for (field, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            if c.lifecycle
                .as_ref()
                .and_then(|l| l.stop_signal.as_ref())
                .is_none()
            {
                continue;
            }
            let path = FieldPath::root()
                .key("spec")
                .key(field)
                .index(i)
                .key("lifecycle")
                .key("stopSignal");
            warnings.push(Warning::new(
                &path,
                map.locate_key(&path),
                Text::new(
                    "stopSignal is alpha in Kubernetes 1.35 (feature gate ContainerStopSignals, off by default): a default cluster drops it and sends the image's STOPSIGNAL or SIGTERM; podlab sends it, as a node with the gate on does",
                    "stopSignal 在 Kubernetes 1.35 中仍是 Alpha（特性门控 ContainerStopSignals，默认关闭）：默认配置的集群会丢弃它，改发镜像的 STOPSIGNAL 或 SIGTERM；podlab 会发送它，和打开该门控的节点一样",
                ),
            ));
        }
    }
}

fn unknown_field_text(path: &FieldPath) -> Text {
    let top_level = path.segments().len() == 1;
    let (en, zh) = match path.last_key().unwrap_or_default() {
        "imagePullSecrets" => (
            "podlab takes registry credentials from a Docker config.json, not from secrets",
            "podlab 从 Docker 的 config.json 读取镜像仓库凭据，而不是从 Secret",
        ),
        "nodeSelector"
        | "affinity"
        | "tolerations"
        | "nodeName"
        | "schedulerName"
        | "priorityClassName"
        | "priority"
        | "topologySpreadConstraints" => (
            "there is no scheduler: the pod runs on this machine",
            "没有调度器：Pod 就运行在这台机器上",
        ),
        "serviceAccountName" | "serviceAccount" | "automountServiceAccountToken" => (
            "there is no API server, so no service account token is mounted",
            "没有 API server，所以不会挂载服务账号令牌",
        ),
        "creationTimestamp" | "resourceVersion" | "generation" | "managedFields" => (
            "the API server sets it when it stores the pod",
            "它由 API server 在保存 Pod 时设置",
        ),
        "status" if top_level => (
            "status is written by the kubelet, not by the manifest",
            "status 由 kubelet 写入，而不是由清单写入",
        ),
        _ => (
            "podlab does not model this field (Kubernetes would act on it)",
            "podlab 没有实现这个字段（Kubernetes 会使用它）",
        ),
    };
    Text::new(
        format!("{path} is ignored: {en}"),
        format!("{path} 被忽略：{zh}"),
    )
}
