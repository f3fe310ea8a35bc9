//! The store of real images, beside the busybox stand-ins of [`super::images`]: each layer
//! unpacked once, by its DiffID (the sha256 of its uncompressed tar), into
//! `layers/<hex>/fs`, which overlayfs stacks as a lower directory; images that share a layer
//! share its directory. `index.json` names the images: their references, their layers (bottom
//! first) and the part of their config a container runs with (Entrypoint, Cmd, Env,
//! WorkingDir, User).
//!
//! Everything that changes the store holds `store.lock`. A layer is unpacked into a private
//! `.tmp-<pid>-…` directory and renamed into place only once its digest is checked, so no
//! half-unpacked layer is ever seen; a load that fails removes the layers it added. `gc` removes
//! layers no image names and no container of a pod still uses (each container lists its layers
//! in `containers/<name>/layers` of its pod's state dir).

pub mod layer;
pub mod load;
pub mod pull;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use eyre::{bail, eyre, Context, Result};
use serde::{Deserialize, Serialize};

use crate::kube::image::{is_sha256_hex, Reference};

/// The biggest manifest, config or index podlab reads.
pub const MAX_JSON_BYTES: u64 = 4 << 20;
/// The biggest layer, uncompressed.
pub const MAX_LAYER_BYTES: u64 = 8 << 30;

/// The part of an image's config a container runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default)]
    pub user: String,
    /// Docker's STOPSIGNAL, e.g. "SIGQUIT" (empty: SIGTERM).
    #[serde(default)]
    pub stop_signal: String,
}

/// One image in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredImage {
    /// `sha256:<hex>` of the config: the image ID, as Docker and crictl show it.
    pub id: String,
    /// Normalized references (`docker.io/library/nginx:1.29`).
    pub references: Vec<String>,
    /// DiffIDs, bottom layer first.
    pub layers: Vec<String>,
    pub config: RunConfig,
    /// Uncompressed bytes of all layers.
    pub size: u64,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
}

impl StoredImage {
    pub fn short_id(&self) -> &str {
        let hex = self.id.strip_prefix("sha256:").unwrap_or(&self.id);
        &hex[..hex.len().min(12)]
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Index {
    images: Vec<StoredImage>,
}

/// What the layers of an image could not keep, unpacked without root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotKept {
    /// Files of other owners became the user's (root inside the container).
    pub ownership: bool,
    /// Extended attributes other than `user.*` (file capabilities) were left out.
    pub xattrs: bool,
}

impl std::ops::BitOrAssign for NotKept {
    fn bitor_assign(&mut self, other: NotKept) {
        self.ownership |= other.ownership;
        self.xattrs |= other.xattrs;
    }
}

/// The store at one root (`/var/lib/podlab/images`, or the user's own without root).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    as_root: bool,
}

/// Held while the store changes.
pub struct StoreLock {
    _file: fs::File,
}

/// What `gc` removed from the store.
#[derive(Debug, Clone, Default)]
pub struct StoreGc {
    pub layers_removed: Vec<String>,
    pub bytes_freed: u64,
    pub leftovers_removed: usize,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(super::paths::image_root())
    }
}

impl Store {
    pub fn new(root: PathBuf) -> Store {
        Store {
            root,
            // Not the effective uid: the shim's pull runs as root inside the user's own user
            // namespace, where a chown to another id or a trusted.* attribute is refused.
            as_root: !crate::runtime::rootless::is_rootless(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lock(&self) -> Result<StoreLock> {
        fs::create_dir_all(self.root.join("layers")).wrap_err_with(|| {
            format!("failed to create the image store {}", self.root.display())
        })?;
        let path = self.root.join("store.lock");
        let file = super::sys::hold_lock(&path)
            .wrap_err_with(|| format!("failed to lock {}", path.display()))?;
        Ok(StoreLock { _file: file })
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn read_index(&self) -> Result<Index> {
        match fs::read(self.index_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .wrap_err_with(|| format!("{} is damaged", self.index_path().display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(eyre!("failed to read {}: {e}", self.index_path().display())),
        }
    }

    fn write_index(&self, index: &Index, _lock: &StoreLock) -> Result<()> {
        let path = self.index_path();
        let tmp = path.with_extension(format!("json.{}", std::process::id()));
        fs::write(&tmp, serde_json::to_vec_pretty(index)?)
            .wrap_err_with(|| format!("failed to write {}", tmp.display()))?;
        fs::rename(&tmp, &path).wrap_err_with(|| format!("failed to write {}", path.display()))
    }

    /// Every image, in the order they were stored.
    pub fn images(&self) -> Result<Vec<StoredImage>> {
        Ok(self.read_index()?.images)
    }

    /// The image a reference (or an image ID, or a unique prefix of one) names.
    pub fn find(&self, text: &str) -> Result<Option<StoredImage>> {
        Ok(find_in(&self.read_index()?.images, text).cloned())
    }

    /// The directory overlayfs stacks for a layer.
    pub fn layer_dir(&self, diff_id: &str) -> PathBuf {
        self.root
            .join("layers")
            .join(diff_id.strip_prefix("sha256:").unwrap_or(diff_id))
            .join("fs")
    }

    /// Lower directories for an image, top layer first (as overlayfs's lowerdir lists them).
    pub fn lowerdirs(&self, image: &StoredImage) -> Result<Vec<PathBuf>> {
        image
            .layers
            .iter()
            .rev()
            .map(|l| {
                let dir = self.layer_dir(l);
                if dir.is_dir() {
                    Ok(dir)
                } else {
                    Err(eyre!(
                        "layer {l} of image {} is missing from the store; load or pull the image again",
                        image.short_id()
                    ))
                }
            })
            .collect()
    }

    fn has_layer(&self, diff_id: &str) -> bool {
        self.layer_dir(diff_id).is_dir()
    }

    /// A private directory for unpacking, removed by `gc` if its process died.
    fn private_dir(&self, what: &str) -> Result<PathBuf> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = self.root.join("layers").join(format!(
            ".tmp-{}-{what}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).wrap_err_with(|| format!("failed to create {}", dir.display()))?;
        Ok(dir)
    }

    /// Unpack one layer blob and put it in place under its DiffID, which must be `expected`.
    /// Returns whether the layer was new, and what it could not keep without root.
    fn add_layer(&self, blob: &Path, expected: &str, _lock: &StoreLock) -> Result<(bool, NotKept)> {
        if self.has_layer(expected) {
            return Ok((false, NotKept::default()));
        }
        if !expected.strip_prefix("sha256:").is_some_and(is_sha256_hex) {
            bail!("{expected:?} is not a sha256 layer digest");
        }
        let tmp = self.private_dir("layer")?;
        let result = (|| {
            let stream = layer::decompressed(blob)?;
            let rules = layer::UnpackRules {
                as_root: self.as_root,
                max_bytes: MAX_LAYER_BYTES,
            };
            let fs_dir = tmp.join("fs");
            fs::create_dir(&fs_dir)
                .wrap_err_with(|| format!("failed to create {}", fs_dir.display()))?;
            let unpacked = layer::unpack(stream, &fs_dir, rules)?;
            if unpacked.diff_id != expected {
                bail!(
                    "layer {} does not match its digest: the image config says {expected}, its content is {}",
                    blob.display(),
                    unpacked.diff_id
                );
            }
            fs::write(tmp.join("size"), unpacked.size.to_string())?;
            Ok(NotKept {
                ownership: unpacked.ownership_flattened,
                xattrs: unpacked.xattrs_dropped,
            })
        })();
        match result {
            Ok(flattened) => {
                let dest = self.layer_dir(expected);
                let dest = dest.parent().unwrap_or(&dest);
                if fs::rename(&tmp, dest).is_err() {
                    // Put in place meanwhile by someone holding no lock: theirs is as good.
                    let _ = fs::remove_dir_all(&tmp);
                }
                Ok((true, flattened))
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }

    /// The uncompressed size of a stored layer.
    fn layer_size(&self, diff_id: &str) -> u64 {
        fs::read_to_string(self.layer_dir(diff_id).with_file_name("size"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// After a failed load or pull: remove the layers it added that no image names (the
    /// index was not written).
    fn forget_added(&self, added: &[String]) {
        let named: BTreeSet<String> = self
            .images()
            .unwrap_or_default()
            .into_iter()
            .flat_map(|i| i.layers)
            .collect();
        for layer in added.iter().filter(|l| !named.contains(*l)) {
            self.remove_layer(layer);
        }
    }

    fn remove_layer(&self, diff_id: &str) -> u64 {
        let dir = self.layer_dir(diff_id);
        let Some(dir) = dir.parent() else { return 0 };
        let size = self.layer_size(diff_id);
        match fs::remove_dir_all(dir) {
            Ok(()) => size,
            Err(_) => 0,
        }
    }

    /// Record an image under its references; a reference another image had moves to it.
    fn record(&self, image: StoredImage, lock: &StoreLock) -> Result<()> {
        let mut index = self.read_index()?;
        for other in &mut index.images {
            other.references.retain(|r| !image.references.contains(r));
        }
        match index.images.iter_mut().find(|i| i.id == image.id) {
            Some(same) => {
                for r in image.references {
                    if !same.references.contains(&r) {
                        same.references.push(r);
                    }
                }
            }
            None => index.images.push(image),
        }
        index
            .images
            .retain(|i| !i.references.is_empty() || !i.layers.is_empty());
        self.write_index(&index, lock)
    }

    /// `rmi`: remove a reference, and the image once no reference names it (or all of it
    /// when named by ID). Layers stay until `gc`. Returns what was removed.
    pub fn remove(&self, text: &str) -> Result<Vec<String>> {
        let lock = self.lock()?;
        let mut index = self.read_index()?;
        let Some(found) = find_in(&index.images, text).cloned() else {
            bail!("image {text:?} is not in the store (podlab images lists what is)");
        };
        let by_ref = Reference::parse(text)
            .ok()
            .map(|r| r.to_string())
            .filter(|r| found.references.contains(r));
        let mut removed = Vec::new();
        match by_ref {
            Some(r) if found.references.len() > 1 => {
                for image in &mut index.images {
                    image.references.retain(|x| x != &r);
                }
                removed.push(format!("Untagged: {r}"));
            }
            _ => {
                removed.extend(found.references.iter().map(|r| format!("Untagged: {r}")));
                index.images.retain(|i| i.id != found.id);
                removed.push(format!("Deleted: {}", found.id));
            }
        }
        self.write_index(&index, &lock)?;
        Ok(removed)
    }

    /// [`Store::gc`] with the layers the pods on this machine stack now (`podlab gc`).
    pub fn gc_unused_by_pods(&self) -> Result<StoreGc> {
        self.gc(&layers_in_use(&crate::runtime::paths::pods_dir()))
    }

    /// Remove layers no image names and no pod's container uses, and what a dead process left
    /// half-unpacked. `in_use` are the layer directories containers still stack.
    pub fn gc(&self, in_use: &BTreeSet<PathBuf>) -> Result<StoreGc> {
        let mut report = StoreGc::default();
        if !self.root.join("layers").is_dir() {
            return Ok(report);
        }
        let lock = self.lock()?;
        let index = self.read_index()?;
        let named: BTreeSet<&str> = index
            .images
            .iter()
            .flat_map(|i| i.layers.iter())
            .map(|l| l.strip_prefix("sha256:").unwrap_or(l))
            .collect();
        let entries = fs::read_dir(self.root.join("layers"))
            .wrap_err_with(|| format!("failed to list {}/layers", self.root.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(rest) = name.strip_prefix(".tmp-") {
                let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
                let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
                if !alive && fs::remove_dir_all(entry.path()).is_ok() {
                    report.leftovers_removed += 1;
                }
                continue;
            }
            if named.contains(name.as_str()) || in_use.contains(&entry.path().join("fs")) {
                continue;
            }
            let diff_id = format!("sha256:{name}");
            report.bytes_freed += self.remove_layer(&diff_id);
            report.layers_removed.push(diff_id);
        }
        drop(lock);
        Ok(report)
    }
}

fn find_in<'a>(images: &'a [StoredImage], text: &str) -> Option<&'a StoredImage> {
    if let Ok(r) = Reference::parse(text) {
        let full = r.to_string();
        if let Some(found) = images.iter().find(|i| i.references.contains(&full)) {
            return Some(found);
        }
        if let Some(digest) = &r.digest {
            if let Some(found) = images.iter().find(|i| &i.id == digest) {
                return Some(found);
            }
        }
    }
    // An image ID, or a prefix of one at least 4 hex digits long that only one image has.
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    if hex.len() < 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut matching = images.iter().filter(|i| {
        i.id.strip_prefix("sha256:")
            .unwrap_or(&i.id)
            .starts_with(hex)
    });
    let first = matching.next()?;
    matching.next().is_none().then_some(first)
}

/// The layer directories the containers of pods on this machine stack, from the
/// `containers/<name>/layers` file each container's start writes.
fn layers_in_use(pods_dir: &Path) -> BTreeSet<PathBuf> {
    let mut used = BTreeSet::new();
    let Ok(pods) = fs::read_dir(pods_dir) else {
        return used;
    };
    for pod in pods.flatten() {
        let Ok(containers) = fs::read_dir(pod.path().join("containers")) else {
            continue;
        };
        for c in containers.flatten() {
            if let Ok(text) = fs::read_to_string(c.path().join("layers")) {
                used.extend(text.lines().filter(|l| !l.is_empty()).map(PathBuf::from));
            }
        }
    }
    used
}
