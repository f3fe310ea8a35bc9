//! Static pods: kubelet's `staticPodPath`, a directory of Pod manifests that kubelet runs
//! without an API server. kubelet reads every file in it whose name does not start with '.'
//! (no subdirectories) and rescans every 20 seconds; podlab reads `*.yaml`, `*.yml` and
//! `*.json` (so editor backups are left alone) and reacts to inotify events at once.
//!
//! This module is the pure part: which files count, what changed between two scans, and the
//! pod's name (kubelet appends "-<node name>", as its mirror pods show in the API). Reading the
//! directory is `runtime::manifest_dir`.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// A manifest file as last read: its content's hash.
pub type Scan = BTreeMap<PathBuf, u64>;

/// kubelet's file source (`pkg/kubelet/config/file.go`) skips names starting with '.' and
/// reads every other file: `web`, `web.yaml~` and `notes.txt` too.
pub fn is_manifest_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.')
}

pub fn content_hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file: start its pod.
    Add(PathBuf),
    /// A changed file: delete its pod, then start a new one (a new UID).
    Update(PathBuf),
    /// A removed file: delete its pod.
    Remove(PathBuf),
}

/// What to do to go from the files `known` to the files `now` in the directory.
pub fn changes(known: &Scan, now: &Scan) -> Vec<Change> {
    let mut out = Vec::new();
    for (path, hash) in now {
        match known.get(path) {
            None => out.push(Change::Add(path.clone())),
            Some(old) if old != hash => out.push(Change::Update(path.clone())),
            Some(_) => {}
        }
    }
    for path in known.keys() {
        if !now.contains_key(path) {
            out.push(Change::Remove(path.clone()));
        }
    }
    out
}

/// The name kubelet gives a static pod: the manifest's name, "-", the node name in lower case.
pub fn static_pod_name(name: &str, node: &str) -> String {
    format!("{name}-{}", node.to_lowercase())
}

/// Whether the pod came from a manifest file rather than the API (kubelet's `IsStaticPod`:
/// its `kubernetes.io/config.source` annotation is not "api"). No scheduler placed it, so it
/// has no Scheduled event.
pub fn is_static(pod: &crate::spec::Pod) -> bool {
    pod.metadata
        .annotations
        .get(CONFIG_SOURCE)
        .is_some_and(|source| source != "api")
}

/// The annotations kubelet puts on a pod from a file: where it came from, and its UID.
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";

/// This machine's node name, as kubelet takes it by default: the hostname, in lower case.
pub fn node_name() -> String {
    gethostname::gethostname().to_string_lossy().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hidden_files_are_skipped_as_kubelet_does() {
        for name in [
            "web.yaml",
            "web.yml",
            "web.json",
            "web",
            "web.yaml~",
            "notes.txt",
        ] {
            assert!(is_manifest_name(name), "{name}");
        }
        for name in [".web.yaml", ".web.yaml.swp", ".yaml", ""] {
            assert!(!is_manifest_name(name), "{name}");
        }
    }

    #[test]
    fn changes_between_scans() {
        let p = |s: &str| PathBuf::from(s);
        let known: Scan = [
            (p("/m/a.yaml"), 1),
            (p("/m/b.yaml"), 2),
            (p("/m/c.yaml"), 3),
        ]
        .into();
        let now: Scan = [
            (p("/m/a.yaml"), 1),
            (p("/m/b.yaml"), 20),
            (p("/m/d.yaml"), 4),
        ]
        .into();
        assert_eq!(
            changes(&known, &now),
            vec![
                Change::Update(p("/m/b.yaml")),
                Change::Add(p("/m/d.yaml")),
                Change::Remove(p("/m/c.yaml")),
            ]
        );
    }

    #[test]
    fn static_pods_are_named_after_the_node() {
        assert_eq!(static_pod_name("web", "Node-1"), "web-node-1");
    }
}
