//! Images the tests build themselves, with the tar crate: layers (a busybox rootfs from the
//! host's static busybox, whiteouts, opaque directories, hostile paths), configs, and archives
//! in both formats `podlab load` reads (an OCI layout in a tar, and `docker save`'s).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// One layer tar, built entry by entry.
pub struct Layer {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for Layer {
    fn default() -> Self {
        Layer::new()
    }
}

impl Layer {
    pub fn new() -> Layer {
        Layer {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    pub fn dir(mut self, path: &str) -> Layer {
        let mut h = Layer::header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut h, path, std::io::empty())
            .expect("dir entry");
        self
    }

    pub fn file(self, path: &str, content: &[u8]) -> Layer {
        self.file_owned(path, content, 0o644, 0)
    }

    pub fn file_owned(mut self, path: &str, content: &[u8], mode: u32, uid: u64) -> Layer {
        let mut h = Layer::header(tar::EntryType::Regular, mode, content.len() as u64);
        h.set_uid(uid);
        h.set_gid(uid);
        self.builder
            .append_data(&mut h, path, content)
            .expect("file entry");
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Layer {
        let mut h = Layer::header(tar::EntryType::Symlink, 0o777, 0);
        self.builder
            .append_link(&mut h, path, target)
            .expect("symlink entry");
        self
    }

    /// An entry whose name is written as given, `..` and all (the tar crate's own setters
    /// refuse such names).
    pub fn raw_file(mut self, path: &str, content: &[u8]) -> Layer {
        let mut h = Layer::header(tar::EntryType::Regular, 0o644, content.len() as u64);
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        self.builder.append(&h, content).expect("raw entry");
        self
    }

    /// A layer with busybox at /bin/busybox, its applets as links, and /etc/passwd with root
    /// and `app` (1000:1000).
    pub fn busybox() -> Layer {
        let busybox = std::fs::read(host_busybox()).expect("read the host's busybox");
        let mut layer = Layer::new()
            .dir("bin")
            .dir("etc")
            .dir("tmp")
            .dir("home")
            .dir("home/app")
            .file_owned("bin/busybox", &busybox, 0o755, 0);
        for applet in [
            "sh", "ls", "cat", "echo", "id", "pwd", "env", "sleep", "test", "stat", "readlink",
            "true", "printf",
        ] {
            layer = layer.symlink(&format!("bin/{applet}"), "/bin/busybox");
        }
        layer
            .file(
                "etc/passwd",
                b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
            )
            .file("etc/group", b"root:x:0:\napp:x:1000:\n")
    }

    /// A file with extended attributes in a PAX header (`SCHILY.xattr.NAME`), as `tar --xattrs`
    /// and image builders write them.
    pub fn file_with_xattrs(
        mut self,
        path: &str,
        content: &[u8],
        xattrs: &[(&str, &[u8])],
    ) -> Layer {
        let keys: Vec<(String, &[u8])> = xattrs
            .iter()
            .map(|(name, value)| (format!("SCHILY.xattr.{name}"), *value))
            .collect();
        self.builder
            .append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))
            .expect("pax header");
        self.file_owned(path, content, 0o755, 0)
    }

    /// Everything under `src` (symlinks as symlinks) at `path` in the layer.
    pub fn tree(mut self, path: &str, src: &Path) -> Layer {
        self.builder.follow_symlinks(false);
        self.builder
            .append_dir_all(path, src)
            .unwrap_or_else(|e| panic!("add {} to a layer: {e}", src.display()));
        self
    }

    /// Real nginx from Debian's `nginx` and `nginx-common` packages (downloaded, not
    /// installed: `apt-get install --download-only nginx`, which `scripts/test` runs, leaves
    /// them in /var/cache/apt/archives), with the host's copies of the libraries it links: a
    /// layer for the top of [`Layer::busybox`]'s (which gives it a shell, and `wget` here).
    /// None (skipped, and says so) when the packages are not there, except under CI.
    pub fn nginx_from_debian(scratch: &Path) -> Option<Layer> {
        let archives = Path::new("/var/cache/apt/archives");
        let deb = |name: &str| {
            std::fs::read_dir(archives)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{name}_")) && n.ends_with(".deb"))
                })
        };
        let (Some(nginx), Some(common)) = (deb("nginx"), deb("nginx-common")) else {
            if std::env::var_os("CI").is_some()
                || std::env::var_os("PODLAB_REQUIRE_PRIVILEGED").is_some()
            {
                panic!("Debian's nginx packages are not in {}; scripts/test downloads them (apt-get install --download-only nginx)", archives.display());
            }
            super::skipped("needs Debian's nginx packages (apt-get install --download-only nginx)");
            return None;
        };
        let root = scratch.join("nginx-root");
        for package in [&nginx, &common] {
            let out = std::process::Command::new("dpkg-deb")
                .arg("-x")
                .arg(package)
                .arg(&root)
                .output()
                .expect("run dpkg-deb");
            assert!(
                out.status.success(),
                "dpkg-deb -x {}: {}",
                package.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let binary = root.join("usr/sbin/nginx");
        let ldd = std::process::Command::new("ldd")
            .arg(&binary)
            .output()
            .expect("run ldd");
        assert!(ldd.status.success(), "ldd {}", binary.display());
        // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)" and "/lib64/ld-linux-x86-64.so.2 (0x…)"
        let libraries: Vec<String> = String::from_utf8_lossy(&ldd.stdout)
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let path = l.split_once("=> ").map_or(l, |(_, p)| p);
                let path = path.split_whitespace().next()?;
                path.starts_with('/').then(|| path.to_string())
            })
            .collect();
        assert!(
            libraries.iter().any(|l| l.contains("libc.so")),
            "{libraries:?}"
        );
        let mut layer = Layer::new()
            .dir("bin")
            .symlink("bin/wget", "/bin/busybox")
            .dir("etc")
            .dir("usr")
            .dir("usr/sbin")
            .file_owned("usr/sbin/nginx", &std::fs::read(&binary).unwrap(), 0o755, 0)
            .tree("etc/nginx", &root.join("etc/nginx"))
            .dir("usr/share")
            .tree("usr/share/nginx", &root.join("usr/share/nginx"));
        let mut dirs = std::collections::BTreeSet::new();
        for library in &libraries {
            let inside = library.trim_start_matches('/');
            let parent = Path::new(inside).parent().unwrap();
            for dir in parent
                .ancestors()
                .filter(|d| !d.as_os_str().is_empty())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                if dirs.insert(dir.to_path_buf()) {
                    layer = layer.dir(dir.to_str().unwrap());
                }
            }
            // The file itself, whatever symlinks lead to it on the host.
            let bytes = std::fs::read(library).unwrap_or_else(|e| panic!("read {library}: {e}"));
            layer = layer.file_owned(inside, &bytes, 0o755, 0);
        }
        for dir in [
            "var",
            "var/lib",
            "var/lib/nginx",
            "var/log",
            "var/log/nginx",
            "run",
            "var/lock",
        ] {
            layer = layer.dir(dir);
        }
        Some(
            layer
                .file(
                    "etc/passwd",
                    b"root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
                )
                .file("etc/group", b"root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"),
        )
    }

    pub fn finish(self) -> Vec<u8> {
        self.builder.into_inner().expect("finish layer")
    }
}

/// `security.capability` as the kernel stores it (`struct vfs_cap_data`, revision 2) for
/// `cap_net_raw=ep`: what `setcap cap_net_raw+ep` writes on ping.
pub fn cap_net_raw_ep() -> Vec<u8> {
    const REVISION_2: u32 = 0x0200_0000;
    const EFFECTIVE: u32 = 0x1;
    const CAP_NET_RAW: u32 = 13;
    [REVISION_2 | EFFECTIVE, 1 << CAP_NET_RAW, 0, 0, 0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

/// An extended attribute of `path` (not following a symlink), if it has one.
pub fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: valid NUL-terminated strings and a buffer of the given length.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| {
        buf.truncate(n as usize);
        buf
    })
}

/// The host's static busybox (the tests' images are built from it, as podlab's stand-ins are).
pub fn host_busybox() -> PathBuf {
    ["/usr/bin/busybox", "/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("a static busybox on this machine (apt-get install busybox-static)")
}

/// An image: its layer tars (bottom first, uncompressed) and config fields.
pub struct TestImage {
    pub layers: Vec<Vec<u8>>,
    pub entrypoint: Vec<&'static str>,
    pub cmd: Vec<&'static str>,
    pub env: Vec<&'static str>,
    pub working_dir: &'static str,
    pub user: &'static str,
    /// Gzip the layer blobs (OCI archives; docker save archives are always plain).
    pub gzip: bool,
    /// Compress the layer blobs with zstd instead, as zstd:chunked does: two frames with a
    /// skippable frame between them.
    pub zstd: bool,
}

impl TestImage {
    pub fn new(layers: Vec<Vec<u8>>) -> TestImage {
        TestImage {
            layers,
            entrypoint: vec![],
            cmd: vec!["sh"],
            env: vec!["PATH=/usr/local/bin:/usr/bin:/bin"],
            working_dir: "",
            user: "",
            gzip: false,
            zstd: false,
        }
    }

    pub fn config(&self) -> Vec<u8> {
        let diff_ids: Vec<String> = self.layers.iter().map(|l| sha256(l)).collect();
        serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Entrypoint": if self.entrypoint.is_empty() { serde_json::Value::Null } else { serde_json::json!(self.entrypoint) },
                "Cmd": self.cmd,
                "Env": self.env,
                "WorkingDir": self.working_dir,
                "User": self.user,
            },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        }))
        .expect("config json")
    }

    pub fn blob(&self, layer: &[u8]) -> Vec<u8> {
        if self.zstd {
            let (first, second) = layer.split_at(layer.len() / 2);
            let mut blob = zstd::encode_all(first, 3).expect("zstd");
            // A skippable frame: magic 0x184D2A50, a 4-byte length, that many bytes.
            blob.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
            blob.extend_from_slice(&4u32.to_le_bytes());
            blob.extend_from_slice(b"toc!");
            blob.extend(zstd::encode_all(second, 3).expect("zstd"));
            return blob;
        }
        if !self.gzip {
            return layer.to_vec();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(layer).expect("gzip");
        gz.finish().expect("gzip")
    }

    /// An OCI image layout as a tar, its index naming the image `reference`. `corrupt` flips a
    /// byte of the last layer blob after its digest was taken.
    pub fn oci_archive(&self, reference: &str, corrupt: bool) -> Vec<u8> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let config = self.config();
        let config_digest = sha256(&config);
        let mut layer_descs = Vec::new();
        let count = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let mut blob = self.blob(layer);
            let digest = sha256(&blob);
            layer_descs.push(serde_json::json!({
                "mediaType": if self.zstd {
                    "application/vnd.oci.image.layer.v1.tar+zstd"
                } else if self.gzip {
                    "application/vnd.oci.image.layer.v1.tar+gzip"
                } else {
                    "application/vnd.oci.image.layer.v1.tar"
                },
                "digest": digest,
                "size": blob.len(),
            }));
            if corrupt && i + 1 == count {
                let mid = blob.len() / 2;
                blob[mid] ^= 0xff;
            }
            files.push((blob_path(&digest), blob));
        }
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": layer_descs,
        }))
        .expect("manifest json");
        let manifest_digest = sha256(&manifest);
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest.len(),
                "annotations": { "org.opencontainers.image.ref.name": reference },
            }],
        }))
        .expect("index json");
        files.push((blob_path(&config_digest), config));
        files.push((blob_path(&manifest_digest), manifest));
        files.push(("index.json".into(), index));
        files.push((
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ));
        archive(&files)
    }

    /// A `docker save` archive (the format before Docker 25): `<n>/layer.tar`, the config as
    /// `<id>.json`, and manifest.json with the tag.
    pub fn docker_archive(&self, tag: &str) -> Vec<u8> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let config = self.config();
        let id = sha256(&config);
        let hex = id.trim_start_matches("sha256:").to_string();
        let mut layer_paths = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let path = format!("layer{i}/layer.tar");
            files.push((path.clone(), layer.clone()));
            layer_paths.push(path);
        }
        files.push((format!("{hex}.json"), config));
        let manifest = serde_json::to_vec(&serde_json::json!([{
            "Config": format!("{hex}.json"),
            "RepoTags": [tag],
            "Layers": layer_paths,
        }]))
        .expect("manifest json");
        files.push(("manifest.json".into(), manifest));
        archive(&files)
    }
}

fn blob_path(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

fn archive(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        out.append_data(&mut h, path, bytes.as_slice())
            .expect("archive entry");
    }
    out.into_inner().expect("finish archive")
}

/// Write `bytes` to a file under cargo's scratch dir for tests.
pub fn write_archive(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("images");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write archive");
    path
}

/// Whether `path` is overlayfs's whiteout (a character device 0:0).
pub fn is_whiteout(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0)
}

/// Debian's docker-registry, serving on a free port of 127.0.0.1 from a private directory;
/// stopped (and its directory removed) when dropped, also when the test fails.
pub struct Registry {
    child: std::process::Child,
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:<port>`
    pub host: String,
    /// `user:password` skopeo pushes with (a registry behind a token issuer).
    pub push_creds: Option<String>,
}

impl Registry {
    /// None (the test is skipped, and says so) when docker-registry or skopeo is missing,
    /// except under CI, where that fails: `scripts/test` installs both.
    pub fn start() -> Option<Registry> {
        Registry::start_with("")
    }

    /// A registry with more configuration (e.g. an `auth:` section).
    pub fn start_with(more_config: &str) -> Option<Registry> {
        for tool in ["docker-registry", "skopeo"] {
            let found = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                if std::env::var_os("CI").is_some()
                    || std::env::var_os("PODLAB_REQUIRE_PRIVILEGED").is_some()
                {
                    panic!("{tool} is missing; scripts/test installs it (apt-get install {tool})");
                }
                super::skipped(&format!("needs {tool} (apt-get install {tool})"));
                return None;
            }
        }
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("registry dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n{more_config}",
                dir.path().join("data").display()
            ),
        )
        .expect("registry config");
        let child = std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            dir,
            host,
            push_creds: None,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "docker-registry did not listen on {}",
                registry.host
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(registry)
    }

    /// Push an OCI archive as `repo:tag` with skopeo; `docker_types` pushes Docker schema-2
    /// media types instead of OCI's.
    pub fn push(&self, archive: &Path, repo_tag: &str, docker_types: bool) {
        let mut cmd = std::process::Command::new("skopeo");
        cmd.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        if docker_types {
            cmd.args(["--format", "v2s2"]);
        }
        if let Some(creds) = &self.push_creds {
            cmd.args(["--dest-creds", creds]);
        }
        let out = cmd
            .arg(format!("oci-archive:{}", archive.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The file of a blob in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Stop the registry now (it stays stopped).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An image store of its own in cargo's scratch dir, removed with the returned guard.
pub fn temp_store() -> (tempfile::TempDir, podlab::runtime::image_store::Store) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let store = podlab::runtime::image_store::Store::new(dir.path().join("images"));
    (dir, store)
}

/// The entries of a store's layers directory (private ones too).
pub fn layer_dirs(
    store: &podlab::runtime::image_store::Store,
) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(store.root().join("layers"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
