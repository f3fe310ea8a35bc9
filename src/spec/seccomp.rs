//! `securityContext.seccompProfile`, on the pod and on a container, and the profile a
//! container runs under: kubelet's `getSeccompProfile` (`pkg/kubelet/kuberuntime/helpers.go`)
//! with containerd's rule for privileged containers.

use serde::{Deserialize, Serialize};

use super::types::{Container, Pod};
use super::validate::Violation;
use super::yaml::FieldPath;
use crate::i18n::Text;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfile {
    #[serde(rename = "type")]
    pub kind: SeccompProfileType,
    /// With `Localhost`: the profile file, relative to the node's profile directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localhost_profile: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeccompProfileType {
    RuntimeDefault,
    Unconfined,
    Localhost,
}

/// The filter a container (or pause) gets, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    /// No filter.
    Unconfined(UnconfinedBecause),
    /// containerd's default profile.
    RuntimeDefault,
    /// A profile file of the node, by its path below the profile directory.
    Localhost(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnconfinedBecause {
    /// Neither the container nor the pod sets a profile: kubelet 1.35 without
    /// `seccompDefault` (off by default) asks for none.
    NotSet,
    /// `type: Unconfined`.
    Asked,
    /// `privileged: true`: containerd gives a privileged container no filter.
    Privileged,
}

/// The directory `Localhost` profiles are read from, below podlab's data directory (kubelet's
/// is `/var/lib/kubelet/seccomp`).
pub const PROFILE_DIR: &str = "seccomp";

impl Seccomp {
    /// The profile of `container`: its own securityContext, else the pod's; a privileged
    /// container has none.
    pub fn of(pod: &Pod, container: &Container) -> Seccomp {
        if container.is_privileged() {
            return Seccomp::Unconfined(UnconfinedBecause::Privileged);
        }
        let own = container
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref());
        let pods = pod
            .spec
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref());
        match own.or(pods) {
            None => Seccomp::Unconfined(UnconfinedBecause::NotSet),
            Some(p) => match p.kind {
                SeccompProfileType::Unconfined => Seccomp::Unconfined(UnconfinedBecause::Asked),
                SeccompProfileType::RuntimeDefault => Seccomp::RuntimeDefault,
                SeccompProfileType::Localhost => {
                    Seccomp::Localhost(p.localhost_profile.clone().unwrap_or_default())
                }
            },
        }
    }

    /// The sandbox: kubelet always asks for RuntimeDefault (`generatePodSandboxLinuxConfig`,
    /// "Forcing sandbox to run as `runtime/default`", issue #84623), whatever the pod sets;
    /// but a pod with a privileged container has a privileged sandbox, which containerd
    /// leaves unfiltered (`GenerateSeccompSpecOpts`).
    pub fn of_sandbox(pod: &Pod) -> Seccomp {
        let privileged = pod
            .spec
            .init_containers
            .iter()
            .chain(&pod.spec.containers)
            .any(Container::is_privileged);
        if privileged {
            Seccomp::Unconfined(UnconfinedBecause::Privileged)
        } else {
            Seccomp::RuntimeDefault
        }
    }

    pub fn is_filtered(&self) -> bool {
        !matches!(self, Seccomp::Unconfined(_))
    }

    /// As `kubectl describe` would say it, with why.
    pub fn describe(&self) -> Text {
        match self {
            Seccomp::RuntimeDefault => Text::new(
                "RuntimeDefault (containerd's default profile: denied calls fail with EPERM)",
                "RuntimeDefault（containerd 的默认配置：被拒绝的系统调用返回 EPERM）",
            ),
            Seccomp::Localhost(path) => Text::new(
                format!("Localhost ({PROFILE_DIR}/{path})"),
                format!("Localhost（{PROFILE_DIR}/{path}）"),
            ),
            Seccomp::Unconfined(UnconfinedBecause::NotSet) => Text::new(
                "Unconfined (not set: kubelet 1.35 without seccompDefault asks for no filter)",
                "Unconfined（未设置：没有开启 seccompDefault 的 kubelet 1.35 不加过滤）",
            ),
            Seccomp::Unconfined(UnconfinedBecause::Asked) => {
                Text::new("Unconfined", "Unconfined（不过滤）")
            }
            Seccomp::Unconfined(UnconfinedBecause::Privileged) => Text::new(
                "Unconfined (privileged: containerd gives it no filter)",
                "Unconfined（特权容器：containerd 不给它过滤器）",
            ),
        }
    }
}

/// The API server's checks of one `seccompProfile` (`validateSeccompProfileField`).
pub fn validate(at: FieldPath, profile: &SeccompProfile) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut add = |path: FieldPath, message: Text, expected: Text| {
        out.push(Violation {
            path,
            message,
            expected: Some(expected),
            hint: None,
        })
    };
    match (profile.kind, profile.localhost_profile.as_deref()) {
        (SeccompProfileType::Localhost, None | Some("")) => add(
            at.key("localhostProfile"),
            Text::new(
                "localhostProfile must be set when type is Localhost",
                "type 为 Localhost 时必须设置 localhostProfile",
            ),
            Text::new(
                format!("the path of a JSON profile below {PROFILE_DIR}/ in podlab's data directory, such as profiles/audit.json"),
                format!("podlab 数据目录下 {PROFILE_DIR}/ 中某个 JSON 配置的路径，例如 profiles/audit.json"),
            ),
        ),
        (SeccompProfileType::Localhost, Some(path)) => {
            if path.starts_with('/') || path.split('/').any(|part| part == "..") {
                add(
                    at.key("localhostProfile"),
                    Text::new(
                        format!("{path:?} is not a relative path without '..'"),
                        format!("{path:?} 不是不含 '..' 的相对路径"),
                    ),
                    Text::new(
                        "a path relative to the profile directory, such as profiles/audit.json",
                        "相对于配置目录的路径，例如 profiles/audit.json",
                    ),
                )
            }
        }
        (_, Some(_)) => add(
            at.key("localhostProfile"),
            Text::new(
                "localhostProfile can only be set when type is Localhost",
                "只有 type 为 Localhost 时才能设置 localhostProfile",
            ),
            Text::new(
                "type: Localhost, or no localhostProfile",
                "type: Localhost，或者去掉 localhostProfile",
            ),
        ),
        (_, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        crate::spec::parse_pod(yaml, "test.yaml")
            .map(|l| l.pod)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n";

    #[test]
    fn the_container_wins_over_the_pod_and_nothing_set_is_unconfined() {
        let p = pod(&format!(
            "{BASE}  securityContext: {{seccompProfile: {{type: RuntimeDefault}}}}\n  containers:\n  - {{name: a, image: busybox}}\n  - {{name: b, image: busybox, securityContext: {{seccompProfile: {{type: Unconfined}}}}}}\n  - {{name: c, image: busybox, securityContext: {{privileged: true}}}}\n"
        ));
        let of = |i: usize| Seccomp::of(&p, &p.spec.containers[i]);
        assert_eq!(of(0), Seccomp::RuntimeDefault);
        assert_eq!(of(1), Seccomp::Unconfined(UnconfinedBecause::Asked));
        assert_eq!(of(2), Seccomp::Unconfined(UnconfinedBecause::Privileged));
        // A privileged container makes the sandbox privileged, and so unfiltered.
        assert_eq!(
            Seccomp::of_sandbox(&p),
            Seccomp::Unconfined(UnconfinedBecause::Privileged)
        );
        let plain = pod(&format!(
            "{BASE}  containers:\n  - {{name: a, image: busybox}}\n"
        ));
        assert_eq!(
            Seccomp::of(&plain, &plain.spec.containers[0]),
            Seccomp::Unconfined(UnconfinedBecause::NotSet)
        );
        // Pause is filtered even when nothing is set, and whatever the pod sets.
        assert_eq!(Seccomp::of_sandbox(&plain), Seccomp::RuntimeDefault);
        let unconfined = pod(&format!(
            "{BASE}  securityContext: {{seccompProfile: {{type: Unconfined}}}}\n  containers:\n  - {{name: a, image: busybox}}\n"
        ));
        assert_eq!(Seccomp::of_sandbox(&unconfined), Seccomp::RuntimeDefault);
    }

    #[test]
    fn localhost_needs_a_relative_profile_path_and_only_localhost_may_name_one() {
        let at = FieldPath::root().key("seccompProfile");
        let check = |kind, path: Option<&str>| {
            validate(
                at.clone(),
                &SeccompProfile {
                    kind,
                    localhost_profile: path.map(str::to_string),
                },
            )
            .len()
        };
        assert_eq!(check(SeccompProfileType::Localhost, Some("a/b.json")), 0);
        assert_eq!(check(SeccompProfileType::Localhost, None), 1);
        assert_eq!(check(SeccompProfileType::Localhost, Some("/etc/x.json")), 1);
        assert_eq!(check(SeccompProfileType::Localhost, Some("../x.json")), 1);
        assert_eq!(check(SeccompProfileType::RuntimeDefault, Some("x.json")), 1);
        assert_eq!(check(SeccompProfileType::RuntimeDefault, None), 0);
    }
}
