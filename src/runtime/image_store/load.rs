//! `podlab load FILE`: images from an archive, as `docker load` and `ctr import` take them.
//!
//! Two formats: the one `docker save` writes (`manifest.json` naming each image's config, tags
//! and layer tars) and an OCI image layout in a tar (`oci-layout`, `index.json`, `blobs/sha256/`,
//! as `skopeo copy … oci-archive:` and `docker save` since 25 write it; an index that lists
//! several platforms is resolved to this machine's). The archive is unpacked into a private
//! directory of the store first (regular files, directories and links inside it only); every
//! OCI blob is checked against its digest, every layer against the DiffID its config names.

use std::fs;
use std::path::{Path, PathBuf};

use eyre::{bail, eyre, Context, Result};
use serde::Deserialize;

use super::layer::{file_digest, Hashing};
use super::{RunConfig, Store, StoreLock, StoredImage, MAX_JSON_BYTES};
use crate::kube::image::{is_sha256_hex, Reference};

/// The biggest archive podlab loads.
pub const MAX_ARCHIVE_BYTES: u64 = 64 << 30;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// What loading one image did.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: String,
    pub references: Vec<String>,
    pub layers_new: usize,
    pub layers_reused: usize,
    /// Files of other owners became the user's (root inside): loaded without root.
    pub not_kept: super::NotKept,
}

/// The platform images are chosen for: Go's names, as image indexes use them.
pub fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    };
    ("linux", arch)
}

/// One image of an archive, its files found and checked.
struct ArchiveImage {
    config: PathBuf,
    references: Vec<String>,
    layers: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Debug, Deserialize)]
struct OciIndex {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct OciManifest {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// An image config (OCI and Docker write the same fields).
#[derive(Debug, Deserialize)]
pub struct ImageConfigFile {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    pub rootfs: RootFs,
}

#[derive(Debug, Default, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    pub working_dir: Option<String>,
    #[serde(rename = "User", default)]
    pub user: Option<String>,
    #[serde(rename = "StopSignal", default)]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl ImageConfigFile {
    pub fn run_config(&self) -> RunConfig {
        let c = self.config.as_ref();
        RunConfig {
            entrypoint: c.and_then(|c| c.entrypoint.clone()).unwrap_or_default(),
            cmd: c.and_then(|c| c.cmd.clone()).unwrap_or_default(),
            env: c.and_then(|c| c.env.clone()).unwrap_or_default(),
            working_dir: c.and_then(|c| c.working_dir.clone()).unwrap_or_default(),
            user: c.and_then(|c| c.user.clone()).unwrap_or_default(),
            stop_signal: c.and_then(|c| c.stop_signal.clone()).unwrap_or_default(),
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let size = fs::metadata(path)
        .wrap_err_with(|| format!("the archive has no {what} ({})", path.display()))?
        .len();
    if size > MAX_JSON_BYTES {
        bail!("{what} is {size} bytes, more than the limit of {MAX_JSON_BYTES}");
    }
    let bytes = fs::read(path).wrap_err_with(|| format!("failed to read {what}"))?;
    serde_json::from_slice(&bytes).wrap_err_with(|| format!("{what} is not valid JSON of its kind"))
}

impl Store {
    /// Load every image of an archive.
    pub fn load(&self, archive: &Path) -> Result<Vec<Loaded>> {
        let size = fs::metadata(archive)
            .wrap_err_with(|| format!("failed to read {}", archive.display()))?
            .len();
        if size > MAX_ARCHIVE_BYTES {
            bail!(
                "{} is {size} bytes, more than the limit of {MAX_ARCHIVE_BYTES}",
                archive.display()
            );
        }
        let lock = self.lock()?;
        let work = self.private_dir("load")?;
        let mut added: Vec<String> = Vec::new();
        let result = self.load_unpacked(archive, &work, &mut added, &lock);
        let _ = fs::remove_dir_all(&work);
        if result.is_err() {
            self.forget_added(&added);
        }
        result
    }

    fn load_unpacked(
        &self,
        archive: &Path,
        work: &Path,
        added: &mut Vec<String>,
        lock: &StoreLock,
    ) -> Result<Vec<Loaded>> {
        let file = fs::File::open(archive)
            .wrap_err_with(|| format!("failed to open {}", archive.display()))?;
        let stream = super::layer::decompressed_reader(file)?;
        unpack_archive(stream, work)
            .wrap_err_with(|| format!("{} is not an image archive", archive.display()))?;
        let stem = archive
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let images = if work.join("manifest.json").is_file() {
            self.docker_images(work)?
        } else if work.join("index.json").is_file() {
            self.oci_images(work, &stem)?
        } else {
            bail!(
                "{} is neither a docker save archive (manifest.json) nor an OCI archive (index.json)",
                archive.display()
            );
        };
        if images.is_empty() {
            bail!("{} holds no image", archive.display());
        }
        let mut loaded = Vec::new();
        for image in images {
            loaded.push(self.add_image(&image, added, lock)?);
        }
        Ok(loaded)
    }

    fn docker_images(&self, work: &Path) -> Result<Vec<ArchiveImage>> {
        let entries: Vec<DockerManifestEntry> =
            read_json(&work.join("manifest.json"), "manifest.json")?;
        entries
            .into_iter()
            .map(|e| {
                let config = inside(work, &e.config)?;
                let references = e
                    .repo_tags
                    .unwrap_or_default()
                    .iter()
                    .map(|t| normalized(t))
                    .collect::<Result<Vec<_>>>()?;
                let layers = e
                    .layers
                    .iter()
                    .map(|l| inside(work, l))
                    .collect::<Result<Vec<_>>>()?;
                Ok(ArchiveImage {
                    config,
                    references,
                    layers,
                })
            })
            .collect()
    }

    fn oci_images(&self, work: &Path, stem: &str) -> Result<Vec<ArchiveImage>> {
        let index: OciIndex = read_json(&work.join("index.json"), "index.json")?;
        if !index.media_type.is_empty() && index.media_type != OCI_INDEX {
            bail!(
                "index.json has media type {:?}, not an OCI index",
                index.media_type
            );
        }
        let mut out = Vec::new();
        for top in &index.manifests {
            let references = oci_references(top, stem)?;
            let manifest = resolve_manifest(work, top, 0)?;
            let config = manifest
                .config
                .as_ref()
                .ok_or_else(|| eyre!("manifest {} has no config", top.digest))?;
            let config_path = verified_blob(work, config, MAX_JSON_BYTES)?;
            let layers = manifest
                .layers
                .iter()
                .map(|l| verified_blob(work, l, super::MAX_LAYER_BYTES))
                .collect::<Result<Vec<_>>>()?;
            out.push(ArchiveImage {
                config: config_path,
                references,
                layers,
            });
        }
        Ok(out)
    }

    /// Unpack the layers of one image and record it.
    fn add_image(
        &self,
        image: &ArchiveImage,
        added: &mut Vec<String>,
        lock: &StoreLock,
    ) -> Result<Loaded> {
        let (config_path, references, layer_blobs) =
            (&image.config, &image.references, &image.layers);
        let config: ImageConfigFile = read_json(config_path, "the image config")?;
        let id = file_digest(config_path, MAX_JSON_BYTES)?;
        if config.rootfs.diff_ids.len() != layer_blobs.len() {
            bail!(
                "image {id}: its config names {} layers, its manifest {}",
                config.rootfs.diff_ids.len(),
                layer_blobs.len()
            );
        }
        let mut new = 0;
        let mut not_kept = super::NotKept::default();
        let mut size = 0;
        for (diff_id, blob) in config.rootfs.diff_ids.iter().zip(layer_blobs) {
            let (was_new, flat) = self.add_layer(blob, diff_id, lock)?;
            if was_new {
                new += 1;
                added.push(diff_id.clone());
            }
            not_kept |= flat;
            size += self.layer_size(diff_id);
        }
        let stored = StoredImage {
            id: id.clone(),
            references: references.clone(),
            layers: config.rootfs.diff_ids.clone(),
            config: config.run_config(),
            size,
            architecture: config.architecture.clone(),
            os: config.os.clone(),
        };
        self.record(stored, lock)?;
        Ok(Loaded {
            id,
            references: references.clone(),
            layers_new: new,
            layers_reused: layer_blobs.len() - new,
            not_kept,
        })
    }
}

fn normalized(text: &str) -> Result<String> {
    Reference::parse(text)
        .map(|r| r.to_string())
        .map_err(|e| eyre!("the archive names an image {text:?}: {e}"))
}

/// The names an OCI index gives a manifest: containerd's full name, or the ref.name
/// annotation (a full reference, or only a tag: then the image is `localhost/<archive name>`).
fn oci_references(top: &Descriptor, stem: &str) -> Result<Vec<String>> {
    if let Some(name) = top.annotations.get("io.containerd.image.name") {
        return Ok(vec![normalized(name)?]);
    }
    let Some(name) = top.annotations.get("org.opencontainers.image.ref.name") else {
        return Ok(Vec::new());
    };
    if name.contains('/') || name.contains('@') {
        return Ok(vec![normalized(name)?]);
    }
    let repo: String = stem
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let repo = repo.trim_matches('-');
    let repo = if repo.is_empty() { "image" } else { repo };
    Ok(vec![normalized(&format!("localhost/{repo}:{name}"))?])
}

/// Follow an index (or a Docker manifest list) to the manifest for this machine's platform.
fn resolve_manifest(work: &Path, desc: &Descriptor, depth: u32) -> Result<OciManifest> {
    if depth > 4 {
        bail!("image indexes nest too deep at {}", desc.digest);
    }
    let path = verified_blob(work, desc, MAX_JSON_BYTES)?;
    let manifest: OciManifest = read_json(&path, &format!("manifest {}", desc.digest))?;
    let is_index = [OCI_INDEX, DOCKER_LIST].contains(&desc.media_type.as_str())
        || [OCI_INDEX, DOCKER_LIST].contains(&manifest.media_type.as_str())
        || manifest.manifests.is_some();
    if !is_index {
        return Ok(manifest);
    }
    let (os, arch) = host_platform();
    let children = manifest.manifests.unwrap_or_default();
    let chosen = children
        .iter()
        .find(|m| {
            m.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == arch)
        })
        .ok_or_else(|| {
            let offered: Vec<String> = children
                .iter()
                .filter_map(|m| m.platform.as_ref())
                .map(|p| format!("{}/{}", p.os, p.architecture))
                .collect();
            eyre!(
                "image index {} has no image for {os}/{arch} (it has {})",
                desc.digest,
                offered.join(", ")
            )
        })?;
    resolve_manifest(work, chosen, depth + 1)
}

/// The path of a blob of an OCI layout, after checking its content against its digest.
fn verified_blob(work: &Path, desc: &Descriptor, limit: u64) -> Result<PathBuf> {
    let hex = desc
        .digest
        .strip_prefix("sha256:")
        .filter(|h| is_sha256_hex(h))
        .ok_or_else(|| eyre!("{:?} is not a sha256 digest", desc.digest))?;
    let path = inside(work, &format!("blobs/sha256/{hex}"))?;
    let actual = file_digest(&path, limit)?;
    if actual != desc.digest {
        bail!(
            "blob {} is corrupt: its content has digest {actual}",
            desc.digest
        );
    }
    Ok(path)
}

/// A path the archive names, which must stay inside it (links followed).
fn inside(work: &Path, rel: &str) -> Result<PathBuf> {
    let joined = work.join(rel.trim_start_matches('/'));
    let real = joined
        .canonicalize()
        .wrap_err_with(|| format!("the archive has no {rel}"))?;
    let base = work.canonicalize()?;
    if !real.starts_with(&base) {
        bail!("the archive names {rel}, which lies outside it");
    }
    Ok(real)
}

/// Unpack the outer archive: directories, regular files and links only, nothing outside.
fn unpack_archive(stream: impl std::io::Read, work: &Path) -> Result<()> {
    let mut counted = Hashing::new(stream, MAX_ARCHIVE_BYTES);
    let mut archive = tar::Archive::new(&mut counted);
    archive.set_preserve_permissions(false);
    archive.set_preserve_ownerships(false);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        let path = entry.path()?.into_owned();
        let allowed = kind.is_file()
            || kind.is_dir()
            || kind.is_symlink()
            || kind.is_hard_link()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions();
        if !allowed {
            bail!("{} is not a file or a directory", path.display());
        }
        if path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            bail!("{:?} climbs out of the archive with '..'", path.display());
        }
        if !entry.unpack_in(work)? {
            bail!("{:?} lies outside the archive", path.display());
        }
    }
    Ok(())
}
