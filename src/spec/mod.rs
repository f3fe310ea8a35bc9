//! Pod manifests: parsing with source locations, API-server-style validation, quantities.

pub mod quantity;
pub mod types;

pub use types::*;

// Temporary loader until the located parser lands: plain serde_yaml, no locations.
pub struct LoadedPod {
    pub pod: Pod,
    pub warnings: Vec<String>,
}

pub fn load_pod_file(path: &std::path::Path) -> eyre::Result<LoadedPod> {
    let text = std::fs::read_to_string(path)?;
    let pod: Pod =
        serde_yaml::from_str(&text).map_err(|e| eyre::eyre!("{}: {e}", path.display()))?;
    Ok(LoadedPod {
        pod,
        warnings: vec![],
    })
}
