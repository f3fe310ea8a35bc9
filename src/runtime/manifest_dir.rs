//! kubelet's `staticPodPath` as read from disk: the manifest files directly in it, each with the
//! hash of its content (which files count, and what changed, is `kube::static_pods`); and the
//! UID kubelet gives the pod of a file.

use std::path::Path;

use eyre::{eyre, Result};

use crate::kube::static_pods::{content_hash, is_manifest_name, Scan};

/// The manifest files directly in `dir` (no recursion), with the hash of their content.
pub fn scan(dir: &Path) -> Result<Scan> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        eyre!(
            "failed to read the manifests directory {}: {e}",
            dir.display()
        )
    })?;
    let mut out = Scan::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(String::from) else {
            continue;
        };
        let path = entry.path();
        // Follows symlinks, like kubelet; directories are not descended into.
        if !is_manifest_name(&name) || !path.is_file() {
            continue;
        }
        if let Ok(bytes) = std::fs::read(&path) {
            out.insert(path, content_hash(&bytes));
        }
    }
    Ok(out)
}

/// kubelet's UID for a static pod (`applyDefaults`, `pkg/kubelet/config/common.go`): a hash of
/// the pod, the node's name and the file, so the same manifest on the same node keeps its UID
/// across restarts, and a changed one gets a new UID. kubelet hashes its Go object with MD5;
/// podlab hashes the file's bytes with SHA-256 and keeps 32 hex digits, the same shape.
pub fn static_pod_uid(manifest: &[u8], node: &str, file: &Path) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(manifest);
    hasher.update(format!("host:{node}"));
    hasher.update(format!("file:{}", file.display()));
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn scan_reads_only_manifests_in_the_directory_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.yaml"), "x").expect("write");
        std::fs::write(dir.path().join(".hidden.yaml"), "x").expect("write");
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        std::fs::create_dir(dir.path().join("sub.yaml")).expect("mkdir");
        std::fs::write(dir.path().join("sub.yaml").join("b.yaml"), "x").expect("write");
        let found: Vec<PathBuf> = scan(dir.path()).expect("scan").into_keys().collect();
        assert_eq!(
            found,
            vec![dir.path().join("a.yaml"), dir.path().join("notes.txt")]
        );
    }

    #[test]
    fn a_static_pods_uid_is_stable_for_its_file_and_node_only() {
        let file = Path::new("/etc/kubernetes/manifests/web.yaml");
        let uid = static_pod_uid(b"kind: Pod", "node-1", file);
        assert_eq!(uid.len(), 32);
        assert!(uid.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(uid, static_pod_uid(b"kind: Pod", "node-1", file));
        assert_ne!(uid, static_pod_uid(b"kind: Pod ", "node-1", file));
        assert_ne!(uid, static_pod_uid(b"kind: Pod", "node-2", file));
        assert_ne!(
            uid,
            static_pod_uid(b"kind: Pod", "node-1", Path::new("/m/web.yaml"))
        );
    }
}
