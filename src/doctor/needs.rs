//! What a lesson needs from the machine, computed from the lesson itself: its pods' manifests
//! (host namespaces, privileged containers, hostPath, resources), its options (the pod
//! network) and its steps (the lesson's kubelet, checks that read cgroup limits back or
//! compare the pod's user namespace with the host's).

use crate::lesson::schema::{Action, Check};
use crate::lesson::Lesson;
use crate::observe::NsKind;
use crate::spec::Pod;

/// One thing a lesson needs. The list of a lesson is in this order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Real pods: namespaces, mounts, cgroups (root, or rootless in a user namespace).
    Pods,
    /// The images, built from a static busybox.
    Busybox,
    /// A veth and a pod IP on a bridge.
    PodNetwork,
    /// `hostNetwork`, `hostPID` or `hostIPC`: the host's own namespace, so root.
    HostNamespace(&'static str),
    /// A container with `privileged: true`: every capability on the host.
    Privileged { container: String },
    /// A hostPath volume: a directory of the host in the pod.
    HostPath,
    /// The lesson's own kubelet watching a directory (static pods).
    StaticPods,
    /// The pods' cgroups enforce requests and limits; `checked`: a step reads them back or
    /// waits for an OOM kill, so without them the lesson cannot pass.
    CgroupLimits { checked: bool },
    /// A check says the pod's user namespace is the host's.
    HostUserNamespace,
    /// The learner builds a pod by hand on the host (`owns:`): cgroups below the root, a
    /// veth, namespaces, so root.
    HandMade,
    /// `hostUsers: false` (in a manifest, or written by a step): a range of the host's ids
    /// for the pod, which only root has to give.
    OwnUserNamespace,
}

/// What `lesson` needs, in [`Need`]'s order.
pub fn needs_of(lesson: &Lesson) -> Vec<Need> {
    let mut needs = Vec::new();
    if !lesson.pods.is_empty() {
        needs.push(Need::Pods);
        needs.push(Need::Busybox);
        if lesson.file.options.network {
            needs.push(Need::PodNetwork);
        }
    }
    for pod in &lesson.pods {
        pod_needs(&pod.pod, &mut needs);
    }
    if lesson.file.owns.is_some() {
        needs.push(Need::HandMade);
    }
    for step in lesson.steps() {
        if matches!(step.action, Action::Kubelet(_) | Action::PutManifest(_)) {
            needs.push(Need::StaticPods);
        }
        // A pod the step or its solution re-creates with hostUsers: false.
        let edits = std::iter::once(&step.action)
            .chain(step.tasks.iter().filter_map(|t| t.solution.as_ref()));
        for action in edits {
            if let Action::ReplacePod(edit) = action {
                if edit.with.contains("hostUsers: false") {
                    needs.push(Need::OwnUserNamespace);
                }
            }
        }
        if let Some(check) = &step.check {
            check_needs(check, &mut needs);
        }
    }
    needs.sort();
    needs.dedup();
    // A check of the limits says more than the manifests' resources.
    if needs.contains(&Need::CgroupLimits { checked: true }) {
        needs.retain(|n| *n != Need::CgroupLimits { checked: false });
    }
    needs
}

fn pod_needs(pod: &Pod, needs: &mut Vec<Need>) {
    let spec = &pod.spec;
    for (on, what) in [
        (spec.host_network, "hostNetwork"),
        (spec.host_pid, "hostPID"),
        (spec.host_ipc, "hostIPC"),
    ] {
        if on {
            needs.push(Need::HostNamespace(what));
        }
    }
    for c in spec.init_containers.iter().chain(&spec.containers) {
        if c.is_privileged() {
            needs.push(Need::Privileged {
                container: c.name.clone(),
            });
        }
        let r = &c.resources;
        let any = [&r.requests, &r.limits]
            .iter()
            .any(|l| l.cpu.is_some() || l.memory.is_some());
        if any {
            needs.push(Need::CgroupLimits { checked: false });
        }
    }
    if spec.volumes.iter().any(|v| v.host_path.is_some()) {
        needs.push(Need::HostPath);
    }
    if spec.own_user_namespace() {
        needs.push(Need::OwnUserNamespace);
    }
}

fn check_needs(check: &Check, needs: &mut Vec<Need>) {
    match check {
        Check::All(all) => all.iter().for_each(|c| check_needs(c, needs)),
        // Who is in a cgroup can be asked where none is made (the check says so then).
        Check::Cgroup(c) if c.reads_values() => needs.push(Need::CgroupLimits { checked: true }),
        Check::Container(c) if c.reason.as_deref() == Some("OOMKilled") => {
            needs.push(Need::CgroupLimits { checked: true })
        }
        Check::Namespace(n)
            if n.same
                && n.kinds.contains(&NsKind::User)
                && [&n.a, &n.b].contains(&&"host".to_string()) =>
        {
            needs.push(Need::HostUserNamespace)
        }
        _ => {}
    }
}
