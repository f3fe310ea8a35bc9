//! `podlab gc`: remove what pods whose shim is gone left behind (after a crash, kill -9 or
//! reboot). A pod whose shim is alive is never touched.

use std::collections::HashSet;

use eyre::Result;

use super::cgroups;
use super::lock;
use super::lookup;
use super::network;
use super::rootless;
use super::teardown;

#[derive(Debug, Default)]
pub struct GcReport {
    pub pods_removed: Vec<String>,
    pub processes_killed: usize,
    pub cgroups_removed: usize,
    pub links_removed: Vec<String>,
    pub addresses_released: usize,
    /// Without root: the podlab-node stopped because no pod used it.
    pub node_stopped: Option<i32>,
    /// What could not be removed, and why.
    pub problems: Vec<String>,
    /// Lessons whose player is gone: what the learner made by hand there, by prefix.
    pub owned_removed: Vec<String>,
}

pub fn collect() -> Result<GcReport> {
    if !super::paths::state_root().exists() {
        return Ok(GcReport::default());
    }
    let mut report = GcReport::default();
    let live: Vec<String> = {
        let _lock = lock::global()?;
        let mut live = vec![];
        for pod in lookup::all_pods() {
            if pod.shim_alive {
                live.push(pod.uid);
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
        live
    };
    // What learners built by hand in a lesson whose player is gone.
    for (claim, removed) in super::hand_made::gc() {
        report.processes_killed += removed.processes;
        report.links_removed.extend(removed.links);
        report.cgroups_removed += removed.cgroups.len();
        report.problems.extend(removed.problems);
        report
            .owned_removed
            .push(format!("{} ({})", claim.prefix, claim.lesson));
    }
    if rootless::is_rootless() {
        collect_rootless(&live, &mut report);
        return Ok(report);
    }
    // Both take the global lock themselves.
    match network::gc(&network::Config::default(), &live) {
        Ok(net) => {
            report.links_removed = net.removed_links;
            report.addresses_released = net.released.len();
        }
        Err(e) => report.problems.push(format!("network: {e}")),
    }
    let live_set: HashSet<String> = live.into_iter().collect();
    match cgroups::gc_host(&live_set) {
        Ok(cg) => {
            report.cgroups_removed = cg.removed.len();
            report
                .problems
                .extend(cg.failed.iter().map(|f| format!("cgroup: {f}")));
        }
        Err(e) => report.problems.push(format!("cgroups: {e}")),
    }
    Ok(report)
}

/// Without root, what a pod made lives in the node's namespaces, which the kernel frees with
/// the pod's processes (veths) and with podlab-node (the bridge): only the address leases in
/// the user's state dir, pod cgroups in a delegated subtree, and an unused node are left to
/// collect. Nothing outside the user's own state and subtree is touched.
fn collect_rootless(live: &[String], report: &mut GcReport) {
    match network::gc_leases(&network::Config::default(), live) {
        Ok(released) => report.addresses_released = released.len(),
        Err(e) => report.problems.push(format!("network: {e}")),
    }
    if let rootless::delegation::Limits::Delegated { base } = rootless::delegation::detect() {
        let live_set: HashSet<String> = live.iter().cloned().collect();
        let layout = cgroups::CgroupLayout::Unified { root: base };
        let cg = cgroups::gc(&cgroups::fs::HostFs, &layout, &live_set);
        report.cgroups_removed = cg.removed.len();
        report
            .problems
            .extend(cg.failed.iter().map(|f| format!("cgroup: {f}")));
    }
    match rootless::node::collect() {
        Ok(stopped) => report.node_stopped = stopped,
        Err(e) => report.problems.push(format!("podlab-node: {e:#}")),
    }
}
