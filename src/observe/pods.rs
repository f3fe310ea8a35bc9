//! podlab pods as their shims record them: /run/podlab/pods/<uid>/state.json.

use std::path::Path;

use eyre::eyre;

use super::model::{Gap, GapReason};
use crate::kube::pod_state::PodState;
use crate::runtime::state_file;

/// Every readable state.json under `pods_dir`; unreadable ones become gaps. A missing
/// `pods_dir` just means no podlab pods.
pub fn load_pods(pods_dir: &Path, gaps: &mut Vec<Gap>) -> Vec<PodState> {
    let Ok(entries) = std::fs::read_dir(pods_dir) else {
        return Vec::new();
    };
    let mut pods = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path().join("state.json");
        match state_file::read(&path) {
            Ok(state) => pods.push(state),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => gaps.push(Gap {
                pid: None,
                what: path.display().to_string(),
                reason: match e.kind() {
                    std::io::ErrorKind::InvalidData => GapReason::Unparsable,
                    _ => GapReason::from_io(&e),
                },
            }),
        }
    }
    pods.sort_by(|a, b| a.name.cmp(&b.name).then(a.uid.cmp(&b.uid)));
    pods
}

/// The pod whose name or UID is `name_or_uid`.
pub fn find_pod(pods_dir: &Path, name_or_uid: &str, gaps: &mut Vec<Gap>) -> eyre::Result<PodState> {
    let pods = load_pods(pods_dir, gaps);
    let mut matching: Vec<PodState> = pods
        .into_iter()
        .filter(|p| p.name == name_or_uid || p.uid == name_or_uid)
        .collect();
    match matching.len() {
        0 => Err(eyre!(
            "no podlab pod named {name_or_uid:?} (looked in {}/*/state.json)",
            pods_dir.display()
        )),
        1 => Ok(matching.remove(0)),
        n => Err(eyre!(
            "{n} podlab pods are named {name_or_uid:?}; give the pod's UID instead"
        )),
    }
}
