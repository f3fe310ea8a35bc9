//! Finding pods by reading their state files.

use std::fs::File;

use eyre::{eyre, Result};

use super::paths;
use super::{state_file, sys};
use crate::kube::pod_state::PodState;

/// A pod on disk, and whether its shim is alive (it holds the pod's lock).
pub struct PodEntry {
    pub uid: String,
    pub state: Option<PodState>,
    pub shim_alive: bool,
}

/// True if a live shim holds the pod's lock.
pub fn shim_alive(uid: &str) -> bool {
    let Ok(file) = File::open(paths::shim_lock(uid)) else {
        return false;
    };
    // If we can take the lock, nobody holds it: the shim is gone. Our probe lock drops with `file`.
    !matches!(sys::lock_file(&file, false), Ok(true))
}

pub fn all_pods() -> Vec<PodEntry> {
    let Ok(dir) = std::fs::read_dir(paths::pods_dir()) else {
        return vec![];
    };
    let mut pods: Vec<PodEntry> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|uid| !uid.starts_with('.'))
        .map(|uid| PodEntry {
            state: state_file::read(&paths::state_file(&uid)).ok(),
            shim_alive: shim_alive(&uid),
            uid,
        })
        .collect();
    pods.sort_by(|a, b| {
        let ta = a.state.as_ref().map_or(0.0, |s| s.created_at);
        let tb = b.state.as_ref().map_or(0.0, |s| s.created_at);
        ta.total_cmp(&tb)
    });
    pods
}

/// The live pod with this name, if any.
pub fn live_pod_named(name: &str) -> Result<Option<PodState>> {
    Ok(all_pods()
        .into_iter()
        .filter(|p| p.shim_alive)
        .filter_map(|p| p.state)
        .find(|s| s.name == name))
}

/// A live pod by name or uid, with a helpful error otherwise.
pub fn find_pod(name_or_uid: &str) -> Result<PodState> {
    let pods = all_pods();
    for p in &pods {
        if let Some(s) = &p.state {
            if p.shim_alive && (s.name == name_or_uid || s.uid == name_or_uid) {
                return Ok(s.clone());
            }
        }
    }
    let names: Vec<String> = pods
        .iter()
        .filter(|p| p.shim_alive)
        .filter_map(|p| p.state.as_ref().map(|s| s.name.clone()))
        .collect();
    if names.is_empty() {
        Err(eyre!(
            "pod {name_or_uid:?} not found: no pods are running (start one with: podlab run FILE)"
        ))
    } else {
        Err(eyre!(
            "pod {name_or_uid:?} not found; running pods: {}",
            names.join(", ")
        ))
    }
}
