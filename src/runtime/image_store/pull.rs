//! `podlab pull REF`: an image from a registry over the OCI distribution protocol, with
//! oci-client: Docker Hub's anonymous token flow (and `docker.io/library/` for short names),
//! a manifest list resolved to this machine's platform, OCI and Docker schema-2 media types.
//! Plain HTTP only for `localhost` and 127.0.0.0/8 registries, as Docker does; credentials
//! from a Docker `config.json` when it has the registry; Docker Hub through a mirror when one
//! is set (`--registry-mirror` or `PODLAB_REGISTRY_MIRROR`), the way containerd asks one.
//!
//! Every blob is checked against its digest (the config against the manifest's, each layer
//! against its descriptor's while it downloads and again on disk), then unpacked as `load`
//! does, against the DiffID the config names. A layer already in the store is not fetched
//! again. The async runtime lives only in this call, in a process of its own (the `podlab
//! pull` command): the shim never runs it.

use std::fs;
use std::path::{Path, PathBuf};

use eyre::{bail, eyre, Context, Result};

use super::layer::file_digest;
use super::load::ImageConfigFile;
use super::{Store, StoredImage, MAX_JSON_BYTES, MAX_LAYER_BYTES};
use crate::kube::image::Reference;

/// Where Docker Hub references are fetched from instead, when set.
pub const MIRROR_ENV: &str = "PODLAB_REGISTRY_MIRROR";

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// A mirror for Docker Hub (`host[:port]`).
    pub mirror: Option<String>,
    /// A Docker `config.json` (default: `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

impl PullOptions {
    /// The options from the environment (the mirror setting).
    pub fn from_env() -> PullOptions {
        PullOptions {
            mirror: std::env::var(MIRROR_ENV).ok().filter(|m| !m.is_empty()),
            docker_config: None,
        }
    }
}

/// What a pull reports as it goes (`podlab pull --progress-json` writes each as a JSON line,
/// which the shim reads while the pull is a step of a pod's creation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// The manifest is read: this many layers, this many bytes to fetch at most.
    Manifest { layers: usize, bytes: u64 },
    /// A layer is downloading: `done` of its `total` bytes are here (reported a few times a
    /// second, not for every chunk).
    Fetching {
        digest: String,
        done: u64,
        total: u64,
    },
    /// One layer: already in the store, or fetched and unpacked.
    Layer {
        digest: String,
        bytes: u64,
        cached: bool,
    },
}

/// One line of `podlab pull --progress-json`: progress, then the result or the error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullReport {
    Progress(Progress),
    Pulled { id: String, size: u64 },
    Error { message: String },
}

impl PullReport {
    /// What `progress` becomes with this line.
    pub fn apply(&self, progress: &mut crate::kube::image::PullProgress) {
        match self {
            PullReport::Progress(Progress::Manifest { layers, bytes }) => {
                progress.layers = *layers;
                progress.bytes = *bytes;
                progress.layers_done = 0;
                progress.bytes_done = 0;
            }
            PullReport::Progress(Progress::Fetching { done, .. }) => {
                progress.fetching = *done;
            }
            PullReport::Progress(Progress::Layer { bytes, .. }) => {
                progress.layers_done += 1;
                progress.bytes_done += bytes;
                progress.fetching = 0;
            }
            PullReport::Pulled { .. } | PullReport::Error { .. } => {}
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub reference: String,
    pub id: String,
    pub layers_new: usize,
    pub layers_reused: usize,
    pub bytes_fetched: u64,
    pub not_kept: super::NotKept,
}

/// The host the registry is reached at for `reference`: the mirror for Docker Hub when set.
fn endpoint(reference: &Reference, options: &PullOptions) -> Option<String> {
    options
        .mirror
        .clone()
        .filter(|_| reference.registry == crate::kube::image::DEFAULT_REGISTRY)
}

/// Whether a host (`name[:port]`) is reached over plain HTTP: localhost and 127.0.0.0/8.
fn plain_http(host: &str) -> bool {
    Reference::parse(&format!("{host}/x"))
        .map(|r| r.is_insecure_registry())
        .unwrap_or(false)
}

/// Credentials for a registry from a Docker config.json (`auths.<host>.auth`, base64 of
/// `user:password`); Docker Hub's key is its old index URL.
pub fn docker_credentials(config: &str, registry: &str) -> Option<(String, String)> {
    use base64::Engine;
    let json: serde_json::Value = serde_json::from_str(config).ok()?;
    let auths = json.get("auths")?.as_object()?;
    let keys: Vec<String> = if registry == crate::kube::image::DEFAULT_REGISTRY {
        [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ]
        .map(String::from)
        .to_vec()
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    };
    let entry = keys.iter().find_map(|k| auths.get(k))?;
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn docker_config_text(options: &PullOptions) -> Option<String> {
    let path = options.docker_config.clone().or_else(|| {
        std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
            })
    })?;
    fs::read_to_string(path).ok()
}

impl Store {
    /// Pull `reference` into the store.
    pub fn pull(
        &self,
        reference: &Reference,
        options: &PullOptions,
        mut progress: impl FnMut(&Progress),
    ) -> Result<Pulled> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .wrap_err("failed to start the pull's runtime")?;
        let lock = self.lock()?;
        let work = self.private_dir("pull")?;
        let mut added = Vec::new();
        let result = runtime.block_on(self.pull_into(
            reference,
            options,
            &work,
            &mut added,
            &lock,
            &mut progress,
        ));
        let _ = fs::remove_dir_all(&work);
        if result.is_err() {
            self.forget_added(&added);
        }
        result
    }

    async fn pull_into(
        &self,
        reference: &Reference,
        options: &PullOptions,
        work: &Path,
        added: &mut Vec<String>,
        lock: &super::StoreLock,
        progress: &mut impl FnMut(&Progress),
    ) -> Result<Pulled> {
        use oci_client::client::{ClientConfig, ClientProtocol};
        use oci_client::secrets::RegistryAuth;
        let mirror = endpoint(reference, options);
        let host = mirror.clone().unwrap_or_else(|| reference.registry.clone());
        let protocol = if plain_http(&host) {
            ClientProtocol::HttpsExcept(vec![host.clone()])
        } else {
            ClientProtocol::Https
        };
        let client = oci_client::Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(std::time::Duration::from_secs(15)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            ..Default::default()
        });
        let mut oref: oci_client::Reference = reference
            .to_string()
            .parse()
            .map_err(|e| eyre!("{reference}: {e}"))?;
        if let Some(mirror) = &mirror {
            oref.set_mirror_registry(mirror.clone());
        }
        let auth = docker_config_text(options)
            .and_then(|text| docker_credentials(&text, &reference.registry))
            .map_or(RegistryAuth::Anonymous, |(u, p)| RegistryAuth::Basic(u, p));
        let (manifest, _digest, config) = client
            .pull_manifest_and_config(&oref, &auth)
            .await
            .map_err(|e| {
                eyre!(
                    "failed to pull {reference} from {host}: {}",
                    with_causes(&e)
                )
            })?;
        if config.len() as u64 > MAX_JSON_BYTES {
            bail!("the config of {reference} is bigger than the limit of {MAX_JSON_BYTES} bytes");
        }
        let config_path = work.join("config.json");
        fs::write(&config_path, &config)?;
        let id = file_digest(&config_path, MAX_JSON_BYTES)?;
        if id != manifest.config.digest {
            bail!(
                "the config of {reference} is corrupt: the manifest says {}, its content is {id}",
                manifest.config.digest
            );
        }
        let parsed: ImageConfigFile = serde_json::from_str(&config)
            .wrap_err_with(|| format!("the config of {reference} is not an image config"))?;
        if parsed.rootfs.diff_ids.len() != manifest.layers.len() {
            bail!(
                "{reference}: its config names {} layers, its manifest {}",
                parsed.rootfs.diff_ids.len(),
                manifest.layers.len()
            );
        }
        progress(&Progress::Manifest {
            layers: manifest.layers.len(),
            bytes: manifest.layers.iter().map(|l| l.size.max(0) as u64).sum(),
        });
        let mut pulled = Pulled {
            reference: reference.to_string(),
            id: id.clone(),
            layers_new: 0,
            layers_reused: 0,
            bytes_fetched: 0,
            not_kept: super::NotKept::default(),
        };
        let mut size = 0;
        for (desc, diff_id) in manifest.layers.iter().zip(&parsed.rootfs.diff_ids) {
            let bytes = desc.size.max(0) as u64;
            if self.has_layer(diff_id) {
                pulled.layers_reused += 1;
                size += self.layer_size(diff_id);
                progress(&Progress::Layer {
                    digest: desc.digest.clone(),
                    bytes,
                    cached: true,
                });
                continue;
            }
            if bytes > MAX_LAYER_BYTES {
                bail!(
                    "layer {} of {reference} is {bytes} bytes, more than the limit of {MAX_LAYER_BYTES}",
                    desc.digest
                );
            }
            let blob = work.join("layer");
            let file = tokio::fs::File::create(&blob)
                .await
                .wrap_err_with(|| format!("failed to create {}", blob.display()))?;
            let digest = desc.digest.clone();
            let mut report = |done| {
                progress(&Progress::Fetching {
                    digest: digest.clone(),
                    done,
                    total: bytes,
                })
            };
            let counted = Counted::new(file, &mut report);
            client.pull_blob(&oref, desc, counted).await.map_err(|e| {
                eyre!(
                    "failed to fetch layer {} of {reference}: {}",
                    desc.digest,
                    with_causes(&e)
                )
            })?;
            let on_disk = file_digest(&blob, MAX_LAYER_BYTES)?;
            if on_disk != desc.digest {
                bail!(
                    "layer {} of {reference} is corrupt: its content has digest {on_disk}",
                    desc.digest
                );
            }
            let (new, flattened) = self.add_layer(&blob, diff_id, lock)?;
            let _ = fs::remove_file(&blob);
            if new {
                added.push(diff_id.clone());
            }
            pulled.layers_new += 1;
            pulled.bytes_fetched += bytes;
            pulled.not_kept |= flattened;
            size += self.layer_size(diff_id);
            progress(&Progress::Layer {
                digest: desc.digest.clone(),
                bytes,
                cached: false,
            });
        }
        self.record(
            StoredImage {
                id,
                references: vec![reference.to_string()],
                layers: parsed.rootfs.diff_ids.clone(),
                config: parsed.run_config(),
                size,
                architecture: parsed.architecture.clone(),
                os: parsed.os.clone(),
            },
            lock,
        )?;
        Ok(pulled)
    }
}

/// A file being downloaded that says how many bytes it holds, a few times a second.
struct Counted<'a> {
    file: tokio::fs::File,
    done: u64,
    said: std::time::Instant,
    report: &'a mut dyn FnMut(u64),
}

impl<'a> Counted<'a> {
    /// How often the count is reported.
    const EVERY: std::time::Duration = std::time::Duration::from_millis(200);

    fn new(file: tokio::fs::File, report: &'a mut dyn FnMut(u64)) -> Counted<'a> {
        Counted {
            file,
            done: 0,
            said: std::time::Instant::now(),
            report,
        }
    }
}

impl tokio::io::AsyncWrite for Counted<'_> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = std::pin::Pin::new(&mut this.file).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &written {
            this.done += *n as u64;
            if this.said.elapsed() >= Self::EVERY {
                this.said = std::time::Instant::now();
                (this.report)(this.done);
            }
        }
        written
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().file).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().file).poll_shutdown(cx)
    }
}

/// An error with the errors that caused it: the HTTP client says "error sending request" and
/// only its causes say why (no name resolution, no route, a refused connection), which decides
/// whether the machine is offline.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_docker_config() {
        // base64 of "ann:secret" and "bob:pw"
        let config = r#"{"auths": {
            "https://index.docker.io/v1/": {"auth": "YW5uOnNlY3JldA=="},
            "127.0.0.1:5000": {"auth": "Ym9iOnB3"}
        }}"#;
        assert_eq!(
            docker_credentials(config, "docker.io"),
            Some(("ann".into(), "secret".into()))
        );
        assert_eq!(
            docker_credentials(config, "127.0.0.1:5000"),
            Some(("bob".into(), "pw".into()))
        );
        assert_eq!(docker_credentials(config, "quay.io"), None);
        assert_eq!(docker_credentials("not json", "docker.io"), None);
    }

    /// The lines `podlab pull --progress-json` writes, read back into the progress the
    /// explorer shows.
    #[test]
    fn progress_lines_add_up() {
        let lines = [
            PullReport::Progress(Progress::Manifest {
                layers: 2,
                bytes: 300,
            }),
            PullReport::Progress(Progress::Layer {
                digest: "sha256:a".into(),
                bytes: 100,
                cached: true,
            }),
            PullReport::Progress(Progress::Fetching {
                digest: "sha256:b".into(),
                done: 50,
                total: 200,
            }),
        ];
        let mut progress = crate::kube::image::PullProgress::default();
        for line in &lines {
            let text = serde_json::to_string(line).unwrap();
            assert!(!text.contains('\n'));
            let back: PullReport = serde_json::from_str(&text).unwrap();
            assert_eq!(&back, line);
            back.apply(&mut progress);
        }
        assert_eq!((progress.layers_done, progress.layers), (1, 2));
        assert_eq!(progress.bytes_fetched(), 150);
        assert_eq!(
            crate::present::text::pull_progress(&progress, crate::i18n::Lang::En),
            "1/2 layers, 150 of 300"
        );
        PullReport::Progress(Progress::Layer {
            digest: "sha256:b".into(),
            bytes: 200,
            cached: false,
        })
        .apply(&mut progress);
        assert_eq!((progress.layers_done, progress.bytes_fetched()), (2, 300));
        assert_eq!(
            crate::present::text::pull_progress(&progress, crate::i18n::Lang::Zh),
            "2/2 层，300 / 300"
        );
    }

    #[test]
    fn only_docker_hub_goes_through_the_mirror() {
        let options = PullOptions {
            mirror: Some("127.0.0.1:5001".into()),
            docker_config: None,
        };
        let hub = Reference::parse("nginx").unwrap();
        assert_eq!(endpoint(&hub, &options).as_deref(), Some("127.0.0.1:5001"));
        let other = Reference::parse("quay.io/a/b").unwrap();
        assert_eq!(endpoint(&other, &options), None);
        assert!(plain_http("127.0.0.1:5001"));
        assert!(plain_http("localhost"));
        assert!(!plain_http("registry.example"));
    }
}
