//! Recognising who made a process's isolation from its cgroup path and its parents: Kubernetes
//! pods (kubepods…/pod<UID>/<container>), docker and podman containers.
//!
//! Paths look like (cgroupfs and systemd drivers):
//! * `/kubepods/burstable/pod<UID>/<container-id>`
//! * `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID_with_underscores>.slice/cri-containerd-<id>.scope`
//! * `/docker/<id>`, `/system.slice/docker-<id>.scope`
//! * `/machine.slice/libpod-<id>.scope`, `/user.slice/…/libpod-conmon-<id>.scope` (conmon itself)

use super::model::SandboxKind;

/// The runtime group a cgroup path belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeKey {
    pub kind: SandboxKindKey,
    /// Pod UID (Kubernetes) or container ID (docker, podman).
    pub id: String,
    /// The container inside a Kubernetes pod, when the path reaches that deep.
    pub container: Option<String>,
}

/// `SandboxKind` restricted to those a cgroup path can reveal, ordered for grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SandboxKindKey {
    Kubernetes,
    Docker,
    Podman,
}

impl SandboxKindKey {
    pub fn kind(self) -> SandboxKind {
        match self {
            SandboxKindKey::Kubernetes => SandboxKind::KubernetesPod,
            SandboxKindKey::Docker => SandboxKind::Docker,
            SandboxKindKey::Podman => SandboxKind::Podman,
        }
    }
}

/// Supervisors that sit above containers: their children are the containers.
pub fn is_shim_comm(comm: &str) -> bool {
    comm == "podlab-shim" || comm.starts_with("containerd-shim") || comm == "conmon"
}

pub fn classify_cgroup_path(path: &str) -> Option<RuntimeKey> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.iter().any(|s| s.starts_with("kubepods")) {
        let pod_index = segments.iter().position(|s| pod_uid(s).is_some())?;
        let uid = pod_uid(segments[pod_index])?;
        let container = segments.get(pod_index + 1).map(|s| container_id(s));
        return Some(RuntimeKey {
            kind: SandboxKindKey::Kubernetes,
            id: uid,
            container,
        });
    }
    for (i, seg) in segments.iter().enumerate() {
        if *seg == "docker" {
            if let Some(id) = segments.get(i + 1) {
                return Some(docker(id));
            }
        }
        if let Some(rest) = seg.strip_prefix("docker-") {
            if let Some(id) = rest.strip_suffix(".scope") {
                return Some(docker(id));
            }
        }
        if let Some(rest) = seg.strip_prefix("libpod-") {
            if rest.starts_with("conmon-") {
                // conmon's own cgroup: a supervisor, not the container.
                return None;
            }
            let id = rest.strip_suffix(".scope").unwrap_or(rest);
            return Some(RuntimeKey {
                kind: SandboxKindKey::Podman,
                id: id.to_string(),
                container: None,
            });
        }
    }
    None
}

fn docker(id: &str) -> RuntimeKey {
    RuntimeKey {
        kind: SandboxKindKey::Docker,
        id: id.to_string(),
        container: None,
    }
}

/// `pod<UID>` (cgroupfs) or `kubepods-<qos>-pod<UID_with_underscores>.slice` (systemd).
fn pod_uid(segment: &str) -> Option<String> {
    let s = segment.strip_suffix(".slice").unwrap_or(segment);
    let at = s.rfind("pod")?;
    let uid = &s[at + 3..];
    let looks_like_uid = uid.len() >= 32
        && uid
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-' || c == '_');
    looks_like_uid.then(|| uid.replace('_', "-"))
}

/// `cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope` or a bare `<id>`.
fn container_id(segment: &str) -> String {
    let s = segment.strip_suffix(".scope").unwrap_or(segment);
    let s = s.strip_prefix("crio-conmon-").unwrap_or(s);
    for prefix in ["cri-containerd-", "crio-", "docker-"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";

    #[test]
    fn kubepods_cgroupfs() {
        let k = classify_cgroup_path(&format!("/kubepods/burstable/pod{UID}/abc123")).expect("k8s");
        assert_eq!(k.kind, SandboxKindKey::Kubernetes);
        assert_eq!(k.id, UID);
        assert_eq!(k.container.as_deref(), Some("abc123"));
    }

    #[test]
    fn kubepods_systemd() {
        let underscored = UID.replace('-', "_");
        let p = format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{underscored}.slice/cri-containerd-deadbeef.scope");
        let k = classify_cgroup_path(&p).expect("k8s");
        assert_eq!(k.id, UID);
        assert_eq!(k.container.as_deref(), Some("deadbeef"));
        // The pod cgroup itself, no container below.
        let pod_only = format!("/kubepods/pod{UID}");
        assert_eq!(
            classify_cgroup_path(&pod_only).and_then(|k| k.container),
            None
        );
    }

    #[test]
    fn docker_and_podman() {
        assert_eq!(
            classify_cgroup_path("/docker/abc").map(|k| k.kind),
            Some(SandboxKindKey::Docker)
        );
        assert_eq!(
            classify_cgroup_path("/system.slice/docker-abc.scope").map(|k| k.id),
            Some("abc".to_string())
        );
        assert_eq!(
            classify_cgroup_path("/machine.slice/libpod-ff.scope").map(|k| k.kind),
            Some(SandboxKindKey::Podman)
        );
        assert_eq!(
            classify_cgroup_path("/machine.slice/libpod-conmon-ff.scope"),
            None
        );
        assert_eq!(classify_cgroup_path("/user.slice/user-0.slice"), None);
        assert_eq!(classify_cgroup_path("/"), None);
    }
}
