//! `podlab load`, `podlab images`, `podlab rmi`: the image store on the command line, as
//! `docker load`, `crictl images` and `crictl rmi` show it.

use std::path::PathBuf;
use std::process::ExitCode;

use eyre::Result;

use crate::i18n::Lang;
use crate::present::text;
use crate::runtime::image_store::Store;

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The archive: `docker save` output or an OCI archive (a tar, or a gzip-compressed one).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The archive (the same as --input).
    #[arg(value_name = "FILE", required_unless_present = "input")]
    pub file: Option<PathBuf>,
}

pub fn load(args: &LoadArgs, lang: Lang) -> Result<ExitCode> {
    let Some(file) = args.input.as_ref().or(args.file.as_ref()) else {
        eyre::bail!("{}", lang.pick("no archive given", "没有给出归档文件"));
    };
    let store = Store::default();
    for image in store.load(file)? {
        let names = if image.references.is_empty() {
            image.id.clone()
        } else {
            image.references.join(", ")
        };
        println!("{} {names}", lang.pick("Loaded image:", "已载入镜像："));
        println!(
            "  {} {} ({} {}, {} {})",
            lang.pick("ID", "ID"),
            image.id,
            image.layers_new,
            lang.pick("new layer(s)", "个新层"),
            image.layers_reused,
            lang.pick("already in the store", "个已在镜像库中"),
        );
        say_not_kept(image.not_kept, lang);
    }
    Ok(ExitCode::SUCCESS)
}

/// What the layers could not keep without root, said after a load or a pull.
fn say_not_kept(not_kept: crate::runtime::image_store::NotKept, lang: Lang) {
    if not_kept.ownership {
        println!(
            "  {}",
            lang.pick(
                "files owned by other users in the layers are yours now, so root's inside the container (podlab runs without root with one uid mapping, as rootless podman does with one)",
                "层中属于其他用户的文件现在归你所有，在容器里就是 root 的（podlab 在无 root 下只有一个 uid 映射，和只有一个映射的 rootless podman 一样）"
            )
        );
    }
    if not_kept.xattrs {
        println!(
            "  {}",
            lang.pick(
                "extended attributes of the layers other than user.* (file capabilities such as ping's cap_net_raw) were left out: setting them needs root",
                "层中除 user.* 以外的扩展属性（比如 ping 的 cap_net_raw 这类文件能力）没有保留：设置它们需要 root"
            )
        );
    }
}

/// IMAGE TAG IMAGE ID SIZE, as crictl prints them.
pub fn images(lang: Lang) -> Result<ExitCode> {
    let store = Store::default();
    let list = store.images()?;
    let mut rows = Vec::new();
    for image in &list {
        let size = text::bytes(image.size);
        if image.references.is_empty() {
            rows.push(vec![
                "<none>".into(),
                "<none>".into(),
                image.short_id().into(),
                size.clone(),
            ]);
        }
        for reference in &image.references {
            let (name, tag) = match crate::kube::image::Reference::parse(reference) {
                Ok(r) => (r.name(), r.tag.unwrap_or_else(|| "<none>".into())),
                Err(_) => (reference.clone(), "<none>".into()),
            };
            rows.push(vec![name, tag, image.short_id().into(), size.clone()]);
        }
    }
    if rows.is_empty() {
        println!(
            "{}",
            lang.pick(
                "No images in the store. podlab load FILE adds some; busybox and the nginx stand-in are always there.",
                "镜像库中没有镜像。podlab load FILE 可以加入镜像；busybox 和 nginx 替身一直可用。"
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!(
        "{}",
        text::table(
            &[
                lang.pick("IMAGE", "镜像"),
                lang.pick("TAG", "标签"),
                lang.pick("IMAGE ID", "镜像 ID"),
                lang.pick("SIZE", "大小"),
            ],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub fn rmi(references: &[String], lang: Lang) -> Result<ExitCode> {
    let store = Store::default();
    let mut code = ExitCode::SUCCESS;
    for reference in references {
        match store.remove(reference) {
            Ok(lines) => {
                for line in lines {
                    println!("{line}");
                }
            }
            Err(e) => {
                eprintln!("podlab rmi: {e:#}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if code == ExitCode::SUCCESS {
        println!(
            "{}",
            lang.pick(
                "(layers no image uses any more are removed by podlab gc)",
                "（不再被任何镜像使用的层由 podlab gc 删除）"
            )
        );
    }
    Ok(code)
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The image: `nginx:1.29`, `docker.io/library/nginx:1.29`, `127.0.0.1:5000/app:1`, …
    pub image: String,
    /// Fetch Docker Hub images from this mirror instead (`host[:port]`; also
    /// PODLAB_REGISTRY_MIRROR).
    #[arg(long, value_name = "HOST")]
    pub registry_mirror: Option<String>,
    /// Report progress, the result and any error as JSON lines on stdout (what a pod's shim
    /// reads while the pull is a step of the pod's creation).
    #[arg(long, hide = true)]
    pub progress_json: bool,
}

pub fn pull(args: &PullArgs, lang: Lang) -> Result<ExitCode> {
    use crate::runtime::image_store::pull::PullOptions;
    let mut options = PullOptions::from_env();
    if args.registry_mirror.is_some() {
        options.mirror = args.registry_mirror.clone();
    }
    if args.progress_json {
        return Ok(pull_reporting_json(&args.image, &options));
    }
    let reference =
        crate::kube::image::Reference::parse(&args.image).map_err(|e| eyre::eyre!("{e}"))?;
    println!("{} {reference}", lang.pick("Pulling", "正在拉取"));
    let store = Store::default();
    let mut shown = PullShown::new(lang);
    let pulled = store.pull(&reference, &options, |p| shown.show(p));
    shown.clear_line();
    let pulled = pulled?;
    println!(
        "{} {} (ID {}, {} {}, {} {})",
        lang.pick("Pulled", "已拉取"),
        pulled.reference,
        pulled.id,
        pulled.layers_new,
        lang.pick("new layer(s)", "个新层"),
        pulled.layers_reused,
        lang.pick("already in the store", "个已在镜像库中"),
    );
    say_not_kept(pulled.not_kept, lang);
    Ok(ExitCode::SUCCESS)
}

/// `podlab pull --progress-json`: every report a line of JSON, the last one the result or the
/// error; the exit code says which too.
fn pull_reporting_json(
    image: &str,
    options: &crate::runtime::image_store::pull::PullOptions,
) -> ExitCode {
    use crate::runtime::image_store::pull::PullReport;
    use std::io::Write;
    let say = |report: &PullReport| {
        let mut out = std::io::stdout().lock();
        if let Ok(line) = serde_json::to_string(report) {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    let result = crate::kube::image::Reference::parse(image)
        .map_err(|e| eyre::eyre!("{e}"))
        .and_then(|reference| {
            let store = Store::default();
            let pulled = store.pull(&reference, options, |p| {
                say(&PullReport::Progress(p.clone()))
            })?;
            let size = store
                .find(&pulled.reference)
                .ok()
                .flatten()
                .map_or(0, |i| i.size);
            Ok(PullReport::Pulled {
                id: pulled.id,
                size,
            })
        });
    match result {
        Ok(report) => {
            say(&report);
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(&PullReport::Error {
                message: format!("{e:#}"),
            });
            ExitCode::FAILURE
        }
    }
}

/// A pull's progress on the terminal: a line per layer, and on a terminal the bytes of the
/// layer downloading now, on a line redrawn in place.
struct PullShown {
    lang: Lang,
    progress: crate::kube::image::PullProgress,
    terminal: bool,
    redrawn: bool,
}

impl PullShown {
    fn new(lang: Lang) -> PullShown {
        use std::io::IsTerminal;
        PullShown {
            lang,
            progress: Default::default(),
            terminal: std::io::stdout().is_terminal(),
            redrawn: false,
        }
    }

    fn show(&mut self, p: &crate::runtime::image_store::pull::Progress) {
        use crate::runtime::image_store::pull::{Progress, PullReport};
        use std::io::Write;
        let lang = self.lang;
        PullReport::Progress(p.clone()).apply(&mut self.progress);
        match p {
            Progress::Manifest { layers, bytes } => println!(
                "  {layers} {} ({})",
                lang.pick("layer(s)", "层"),
                text::bytes(*bytes)
            ),
            Progress::Fetching {
                digest,
                done,
                total,
            } => {
                if self.terminal {
                    print!(
                        "\r\x1b[K  {}: {} {} / {}  [{}]",
                        short_digest(digest),
                        lang.pick("fetching", "下载中"),
                        text::bytes(*done),
                        text::bytes(*total),
                        text::pull_progress(&self.progress, lang)
                    );
                    let _ = std::io::stdout().flush();
                    self.redrawn = true;
                }
            }
            Progress::Layer {
                digest,
                bytes,
                cached,
            } => {
                self.clear_line();
                let short = short_digest(digest);
                if *cached {
                    println!(
                        "  {short}: {}",
                        lang.pick("already in the store", "已在镜像库中")
                    );
                } else {
                    println!(
                        "  {short}: {} {}",
                        lang.pick("fetched and unpacked", "已下载并解包"),
                        text::bytes(*bytes)
                    );
                }
            }
        }
    }

    /// Take the redrawn line away before a line that stays.
    fn clear_line(&mut self) {
        use std::io::Write;
        if std::mem::take(&mut self.redrawn) {
            print!("\r\x1b[K");
            let _ = std::io::stdout().flush();
        }
    }
}

fn short_digest(digest: &str) -> &str {
    let short = digest.trim_start_matches("sha256:");
    &short[..short.len().min(12)]
}
