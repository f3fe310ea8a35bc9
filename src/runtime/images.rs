//! The image store. Nothing can be pulled here, so podlab builds its images locally:
//! `busybox` (any tag, any registry) is a rootfs made once from the host's static busybox, and
//! `nginx` is a clearly labelled stand-in on that rootfs: busybox httpd serving
//! /usr/share/nginx/html on port 80. One module, one job, so an OCI-archive importer can be added.
//! Without a static busybox on the machine, [`ensure_busybox`] offers to install one.

use std::fs;
use std::io::IsTerminal;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use eyre::{bail, eyre, Context, Result};
use serde::{Deserialize, Serialize};

use super::image_store::{RunConfig, Store};
use crate::i18n::Lang;
use crate::kube::image::Reference;

/// The images podlab can serve, by the last path component of the reference.
pub const AVAILABLE: &[&str] = &["busybox", "nginx"];

const NGINX_INDEX: &str = "<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>This page is served by podlab's stand-in for nginx: busybox httpd on port 80,
serving /usr/share/nginx/html.</p>
</body>
</html>
";

/// An image reference resolved to what a container is made of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResolvedImage {
    pub reference: String,
    /// The local image name (`busybox`, `nginx`, or the last component of a stored image's).
    pub name: String,
    /// The overlay's lower directories, top first: a stored image's layers, or the one rootfs
    /// of a stand-in.
    pub lowers: Vec<PathBuf>,
    /// What the image says to run with (Docker's ENTRYPOINT, CMD, ENV, WORKDIR, USER).
    pub config: RunConfig,
    /// What served the reference, for the pod's events.
    pub served_by: String,
    /// The image came from the image store (loaded or pulled), not a stand-in.
    #[serde(default)]
    pub stored: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImageInfo {
    busybox_version: String,
}

/// The local name for a reference: `registry.k8s.io/busybox:1.27.2` → `busybox`.
pub fn local_name(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

pub struct ImageStore {
    root: PathBuf,
}

impl Default for ImageStore {
    fn default() -> Self {
        ImageStore::new(super::paths::image_root())
    }
}

impl ImageStore {
    pub fn new(root: PathBuf) -> ImageStore {
        ImageStore { root }
    }

    /// True once both images exist (then the host's busybox is no longer needed).
    pub fn is_built(&self) -> bool {
        self.root.join("images.json").is_file()
            && AVAILABLE
                .iter()
                .all(|n| self.root.join(n).join("rootfs").is_dir())
    }

    /// The store of loaded images, at the same root.
    pub fn store(&self) -> Store {
        Store::new(self.root.clone())
    }

    /// Resolve a reference: an image of the store first (loaded or pulled), else a stand-in,
    /// building the stand-ins first if they are missing.
    pub fn resolve(&self, reference: &str) -> Result<ResolvedImage> {
        if let Ok(parsed) = Reference::parse(reference) {
            let store = self.store();
            if let Some(image) = store.find(&parsed.to_string())? {
                return Ok(ResolvedImage {
                    reference: reference.to_string(),
                    name: parsed.short_name().to_string(),
                    lowers: store.lowerdirs(&image)?,
                    config: image.config.clone(),
                    served_by: format!("image {} of podlab's image store", image.short_id()),
                    stored: true,
                });
            }
        }
        let name = local_name(reference);
        if !AVAILABLE.contains(&name) {
            bail!(
                "image {reference:?} is not in podlab's image store (podlab load FILE adds it; podlab images lists what is there), and podlab has a stand-in only for {} (any tag or registry)",
                AVAILABLE.join(" and ")
            );
        }
        let info = self.ensure_built()?;
        let rootfs = self.root.join(name).join("rootfs");
        let (default_command, served_by) = match name {
            "nginx" => (
                ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
                    .map(String::from)
                    .to_vec(),
                format!(
                    "podlab's stand-in (busybox httpd, {})",
                    info.busybox_version
                ),
            ),
            _ => (
                vec!["sh".to_string()],
                format!("podlab's busybox image ({})", info.busybox_version),
            ),
        };
        Ok(ResolvedImage {
            reference: reference.to_string(),
            name: name.to_string(),
            lowers: vec![rootfs],
            config: RunConfig {
                cmd: default_command,
                ..RunConfig::default()
            },
            served_by,
            stored: false,
        })
    }

    /// Build both images once from the host's busybox. Safe to call concurrently: each image is
    /// built in a private directory and renamed into place.
    pub fn ensure_built(&self) -> Result<ImageInfoView> {
        let info_path = self.root.join("images.json");
        if let Ok(text) = fs::read(&info_path) {
            if let Ok(info) = serde_json::from_slice::<ImageInfo>(&text) {
                if AVAILABLE
                    .iter()
                    .all(|n| self.root.join(n).join("rootfs").is_dir())
                {
                    return Ok(ImageInfoView {
                        busybox_version: info.busybox_version,
                    });
                }
            }
        }
        let busybox = find_host_busybox()?;
        let version = busybox_version(&busybox)?;
        fs::create_dir_all(&self.root)
            .wrap_err_with(|| format!("failed to create image store {}", self.root.display()))?;
        for name in AVAILABLE {
            let dest = self.root.join(name);
            if dest.join("rootfs").is_dir() {
                continue;
            }
            let tmp = self.root.join(format!(".{name}.{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            build_busybox_rootfs(&busybox, &tmp.join("rootfs"))?;
            if *name == "nginx" {
                let html = tmp.join("rootfs/usr/share/nginx/html");
                fs::create_dir_all(&html)?;
                fs::write(html.join("index.html"), NGINX_INDEX)?;
            }
            if fs::rename(&tmp, &dest).is_err() {
                // Someone else built it first; theirs is as good as ours.
                let _ = fs::remove_dir_all(&tmp);
            }
        }
        let info = ImageInfo {
            busybox_version: version.clone(),
        };
        let tmp = info_path.with_extension(format!("json.{}", std::process::id()));
        fs::write(&tmp, serde_json::to_vec(&info)?)?;
        fs::rename(&tmp, &info_path)?;
        Ok(ImageInfoView {
            busybox_version: version,
        })
    }
}

pub struct ImageInfoView {
    pub busybox_version: String,
}

/// Where a busybox unpacked without root goes: `apt-get download` and `dpkg-deb -x` put the
/// package's files below it (`bin/busybox` or `usr/bin/busybox`).
pub fn user_busybox_dir() -> PathBuf {
    super::paths::data_dir().join("busybox")
}

/// The host's busybox, which must be statically linked: it runs inside a rootfs with no libc.
/// One unpacked into the user's data dir counts too.
pub fn find_host_busybox() -> Result<PathBuf> {
    let unpacked = user_busybox_dir();
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .chain([unpacked.join("bin"), unpacked.join("usr/bin")])
        .map(|dir| dir.join("busybox"));
    let mut dynamic = None;
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        if is_static_elf(&path)? {
            return Ok(path);
        }
        dynamic.get_or_insert(path);
    }
    match dynamic {
        Some(path) => Err(eyre!(
            "{} is dynamically linked and cannot run inside a container rootfs; install a static busybox (Debian/Ubuntu: apt-get install busybox-static)",
            path.display()
        )),
        None => Err(eyre!(
            "busybox is not installed; podlab builds its images from it (Debian/Ubuntu: apt-get install busybox-static)"
        )),
    }
}

/// Make sure a static busybox is on the machine, offering to install it with apt-get (asked on
/// the terminal, before any screen is drawn).
pub fn ensure_busybox(lang: Lang) -> Result<()> {
    if ImageStore::default().is_built() {
        return Ok(());
    }
    let Err(missing) = find_host_busybox() else {
        return Ok(());
    };
    let missing = match lang {
        Lang::En => missing,
        Lang::Zh => eyre!(
            "没有找到静态链接的 busybox；podlab 用它来构建镜像（Debian/Ubuntu：apt-get install \
             busybox-static）。详情：{missing:#}"
        ),
    };
    let apt = Path::new("/usr/bin/apt-get").exists();
    if !apt || !std::io::stdin().is_terminal() {
        return Err(missing);
    }
    if super::rootless::is_rootless() {
        return unpack_busybox_for_user(missing, lang);
    }
    let question = format!(
        "{missing:#}\n{}",
        lang.pick(
            "Install busybox-static now with apt-get? [y/N]",
            "现在用 apt-get 安装 busybox-static 吗？[y/N]"
        )
    );
    if !Lang::ask(&question, false)? {
        return Err(missing);
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "busybox-static"])
        .status()
        .map_err(|e| {
            eyre!(
                "{} {e}",
                lang.pick("failed to run apt-get:", "无法运行 apt-get：")
            )
        })?;
    if !status.success() {
        return Err(eyre!(
            "{} ({status}){}",
            lang.pick(
                "apt-get install busybox-static failed",
                "apt-get install busybox-static 失败"
            ),
            lang.pick("; try: apt-get update first", "；请先运行：apt-get update")
        ));
    }
    find_host_busybox().map(|_| ())
}

/// Without root: offer to fetch the busybox-static package with `apt-get download` (no root
/// needed) and unpack it with `dpkg-deb -x` into the user's data dir.
fn unpack_busybox_for_user(missing: eyre::Report, lang: Lang) -> Result<()> {
    let dir = user_busybox_dir();
    let question = format!(
        "{missing:#}\n{} {} {}",
        lang.pick(
            "Download busybox-static with apt-get download and unpack it with dpkg-deb -x into",
            "现在用 apt-get download 下载 busybox-static，并用 dpkg-deb -x 解包到",
        ),
        dir.display(),
        lang.pick("(no root needed)? [y/N]", "（不需要 root）吗？[y/N]"),
    );
    if !Lang::ask(&question, false)? {
        return Err(missing);
    }
    let work = super::paths::data_dir().join(format!(".download.{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).wrap_err_with(|| format!("failed to create {}", work.display()))?;
    let result = download_and_unpack(&work, &dir, lang);
    let _ = fs::remove_dir_all(&work);
    result?;
    find_host_busybox().map(|_| ())
}

fn download_and_unpack(work: &Path, dir: &Path, lang: Lang) -> Result<()> {
    let run = |cmd: &mut Command, what: &str| -> Result<()> {
        let status = cmd
            .status()
            .map_err(|e| eyre!("{} {what}: {e}", lang.pick("failed to run", "无法运行")))?;
        if status.success() {
            Ok(())
        } else {
            Err(eyre!("{what} {} ({status})", lang.pick("failed", "失败")))
        }
    };
    run(
        Command::new("apt-get")
            .args(["download", "busybox-static"])
            .current_dir(work),
        "apt-get download busybox-static",
    )?;
    let deb = fs::read_dir(work)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or_else(|| eyre!("apt-get download left no .deb in {}", work.display()))?;
    fs::create_dir_all(dir).wrap_err_with(|| format!("failed to create {}", dir.display()))?;
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir),
        "dpkg-deb -x",
    )
}

/// A static executable has no PT_INTERP program header. Only the headers are read.
pub(crate) fn is_static_elf(path: &Path) -> Result<bool> {
    use goblin::elf::{program_header, Elf, ProgramHeader};
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .wrap_err_with(|| format!("failed to read {}", path.display()))?;
    let not_elf =
        |e: goblin::error::Error| eyre!("{} is not an ELF executable: {e}", path.display());
    let header = Elf::parse_header(&head).map_err(not_elf)?;
    let ctx = goblin::container::Ctx::new(
        if header.e_ident[4] == 2 {
            goblin::container::Container::Big
        } else {
            goblin::container::Container::Little
        },
        goblin::container::Endian::from(header.e_ident[5] == 1),
    );
    let phdrs = ProgramHeader::parse(&head, header.e_phoff as usize, header.e_phnum as usize, ctx)
        .map_err(not_elf)?;
    Ok(!phdrs.iter().any(|p| p.p_type == program_header::PT_INTERP))
}

fn busybox_version(busybox: &Path) -> Result<String> {
    let out = Command::new(busybox)
        .output()
        .wrap_err_with(|| format!("failed to run {}", busybox.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    // "BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary."
    Ok(first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" "))
}

fn build_busybox_rootfs(busybox: &Path, rootfs: &Path) -> Result<()> {
    for dir in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "var/log", "var/run", "proc", "sys",
        "dev", "root", "home", "run",
    ] {
        fs::create_dir_all(rootfs.join(dir))
            .wrap_err_with(|| format!("failed to create {}/{dir}", rootfs.display()))?;
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    fs::copy(busybox, rootfs.join("bin/busybox"))
        .wrap_err_with(|| format!("failed to copy {}", busybox.display()))?;
    let list = Command::new(busybox)
        .arg("--list-full")
        .output()
        .wrap_err("failed to list busybox applets")?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "bin/busybox" {
            continue;
        }
        let link = rootfs.join(applet);
        if link.exists() {
            continue;
        }
        symlink("/bin/busybox", &link)
            .wrap_err_with(|| format!("failed to link applet {applet}"))?;
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
    )?;
    fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    // Mount points for files kubelet manages.
    for file in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        fs::write(rootfs.join(file), "")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::local_name;

    #[test]
    fn references_resolve_to_local_names() {
        for (reference, name) in [
            ("busybox", "busybox"),
            ("busybox:1.36", "busybox"),
            ("registry.k8s.io/busybox:1.27.2", "busybox"),
            ("docker.io/library/nginx:1.29", "nginx"),
            ("localhost:5000/nginx", "nginx"),
            ("nginx@sha256:abc", "nginx"),
            ("quay.io/app/web:1", "web"),
        ] {
            assert_eq!(local_name(reference), name, "{reference}");
        }
    }
}
