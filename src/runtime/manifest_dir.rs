//! kubelet's `staticPodPath` as read from disk: the manifest files directly in it, each with the
//! hash of its content (which files count, and what changed, is `kube::static_pods`).

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
        assert_eq!(found, vec![dir.path().join("a.yaml")]);
    }
}
