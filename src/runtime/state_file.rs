//! `state.json` on disk: the shim rewrites it in place, clients, gc and the observe layer read it.

use std::path::Path;

use crate::kube::pod_state::PodState;

/// Read the shim's state. The shim rewrites the file in place, so a read can meet a write
/// half done: that shows as a parse error and is simply read again.
pub fn read(path: &Path) -> std::io::Result<PodState> {
    const ATTEMPTS: u32 = 20;
    let mut attempt = 0;
    loop {
        let text = std::fs::read(path)?;
        match serde_json::from_slice(&text) {
            Ok(state) => return Ok(state),
            Err(_) if attempt + 1 < ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
    }
}

/// Rewrite the file in place (one write, then cut to length). Not write-and-rename: on ext4
/// replacing a file by rename forces its data to disk (auto_da_alloc), which costs
/// milliseconds per save where /run is not a tmpfs; readers retry a torn read instead.
pub fn write(state: &PodState, path: &Path) -> std::io::Result<()> {
    super::sys::write_in_place(path, &serde_json::to_vec(state)?)
}
