//! The resize subresource on the shim: the API server's validation (`kube::resize`), then the
//! lifecycle's decision (`Event::ResizeRequested`), whose cgroup writes are carried out here in
//! the order it gives, under the running processes.

use std::time::Instant;

use super::Shim;
use crate::kube::machine::{self, Action, Event};
use crate::kube::resize;
use crate::runtime::sys;

impl Shim {
    /// `podlab patch POD --subresource resize --patch JSON`: Ok once the new values are
    /// written (or the resize is recorded as in progress); Err with the API server's text.
    pub(super) fn resize(&mut self, patch: &str) -> Result<(), String> {
        if self.termination.is_some() {
            return Err("the pod is being deleted".into());
        }
        let patch = resize::parse_patch(patch)?;
        let spec = resize::apply_patch(&self.state.name, &self.state.pod.spec, &patch)?;
        let Some(cgroups) = self.cgroups.as_mut() else {
            return Err(format!(
                "pod {:?} has no cgroup yet: resize it once its cgroup step has run",
                self.state.name
            ));
        };
        let usage = cgroups.memory_usage();
        cgroups.set_resources(&spec);
        let clock = machine::Clock {
            now: Instant::now(),
            wall: sys::now(),
        };
        let event = Event::ResizeRequested {
            spec: Box::new(spec),
            usage,
        };
        let mut wrote = false;
        let mut error = None;
        for action in self.lifecycle.handle(&mut self.state, event, clock) {
            match action {
                Action::WriteCgroup(write) => {
                    wrote = true;
                    // kubelet stops at the first write that fails.
                    if error.is_none() {
                        error = self.write_cgroup(&write).err();
                    }
                }
                other => self.execute(other),
            }
        }
        if wrote {
            self.feed(Event::ResizeWritten { error });
        }
        self.save();
        Ok(())
    }

    pub(super) fn write_cgroup(&mut self, write: &resize::CgroupWrite) -> Result<(), String> {
        match self.cgroups.as_ref() {
            Some(cgroups) => cgroups.write(write).map_err(|e| e.to_string()),
            None => Err("the pod has no cgroup".into()),
        }
    }
}
