//! `podlab gc`: remove what pods whose shim is gone left behind (after a crash, kill -9 or
//! reboot). A pod whose shim is alive is never touched.

use eyre::Result;

use super::lock;
use super::lookup;
use super::teardown;

#[derive(Debug, Default)]
pub struct GcReport {
    pub pods_removed: Vec<String>,
    pub processes_killed: usize,
}

pub fn collect() -> Result<GcReport> {
    if !std::path::Path::new(super::paths::STATE_ROOT).exists() {
        return Ok(GcReport::default());
    }
    let _lock = lock::global()?;
    let mut report = GcReport::default();
    for pod in lookup::all_pods() {
        if pod.shim_alive {
            continue;
        }
        if let Some(state) = &pod.state {
            report.processes_killed += teardown::kill_leftover_processes(state);
        }
        teardown::remove_pod_resources(&pod.uid);
        let name = pod
            .state
            .as_ref()
            .map_or(pod.uid.clone(), |s| s.name.clone());
        report.pods_removed.push(name);
    }
    Ok(report)
}
