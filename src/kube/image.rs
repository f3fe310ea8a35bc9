//! Images as Kubernetes and the container runtimes name and use them, as pure functions: image
//! references normalized as Docker and containerd do (`nginx` is `docker.io/library/nginx:latest`),
//! `imagePullPolicy` defaulted as the API server does, a container's command from the pod's
//! `command`/`args` and the image's `Entrypoint`/`Cmd`, and the OCI layer rules for the paths in a
//! layer tar (whiteouts, opaque directories, paths that would climb out of the root).

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Docker Hub, where a reference without a registry host points.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The Hub namespace of official images (`nginx` is `library/nginx`).
pub const OFFICIAL_NAMESPACE: &str = "library";
pub const DEFAULT_TAG: &str = "latest";

/// An image reference, normalized: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    /// None only when the reference names a digest and no tag.
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl Reference {
    /// Parse a reference as `docker pull` and kubelet read one: the first path component is a
    /// registry when it has a `.` or a `:` or is `localhost`; otherwise the registry is Docker
    /// Hub, where a single-component name is an official image under `library/`. Without a tag or
    /// digest the tag is `latest`.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an image reference may not be empty".into());
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(parse_digest(d)?)),
            None => (text, None),
        };
        // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(name_tag[last_slash + i + 1..].to_string()),
            ),
            None => (name_tag, None),
        };
        if let Some(tag) = &tag {
            check_tag(tag)?;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY.to_string(),
            _ => registry,
        };
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("{OFFICIAL_NAMESPACE}/{repository}")
        } else {
            repository
        };
        check_repository(&repository, text)?;
        let tag = match (&tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            _ => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The last path component of the repository (`docker.io/library/nginx` → `nginx`).
    pub fn short_name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// Whether the registry is reached over plain HTTP, as Docker does for `localhost` and the
    /// loopback network 127.0.0.0/8.
    pub fn is_insecure_registry(&self) -> bool {
        let host = self.registry.split(':').next().unwrap_or_default();
        host == "localhost"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn parse_digest(text: &str) -> Result<String, String> {
    match text.strip_prefix("sha256:") {
        Some(hex) if is_sha256_hex(hex) => Ok(text.to_string()),
        _ => Err(format!(
            "{text:?} is not a digest (sha256: and 64 lowercase hex digits)"
        )),
    }
}

/// 64 lowercase hex digits, as in a `sha256:` digest.
pub fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{tag:?} is not a valid tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')"
        ))
    }
}

fn check_repository(repository: &str, whole: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
    };
    if repository.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "{whole:?} is not a valid image reference: repository names are lowercase letters, digits and '.', '_', '-' between '/'"
        ))
    }
}

/// `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn parse(text: &str) -> Option<PullPolicy> {
        match text {
            "Always" => Some(PullPolicy::Always),
            "IfNotPresent" => Some(PullPolicy::IfNotPresent),
            "Never" => Some(PullPolicy::Never),
            _ => None,
        }
    }

    /// The API server's default (`SetDefaults_Container`): `Always` for an image tagged
    /// `:latest` or not tagged at all (and named by no digest), `IfNotPresent` otherwise.
    pub fn default_for(image: &str) -> PullPolicy {
        match Reference::parse(image) {
            Ok(r) if r.digest.is_some() => PullPolicy::IfNotPresent,
            Ok(r) if r.tag.as_deref() == Some(DEFAULT_TAG) => PullPolicy::Always,
            _ => PullPolicy::IfNotPresent,
        }
    }

    /// A container's policy: the one it names, else the API server's default.
    pub fn of(named: Option<&str>, image: &str) -> PullPolicy {
        named
            .and_then(PullPolicy::parse)
            .unwrap_or_else(|| PullPolicy::default_for(image))
    }

    /// Whether kubelet pulls before a start: Always every time, IfNotPresent only when the
    /// image is not on the machine, Never not at all.
    pub fn pulls(self, present: bool) -> bool {
        match self {
            PullPolicy::Always => true,
            PullPolicy::IfNotPresent => !present,
            PullPolicy::Never => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// How far a pull is: the layers its manifest names and those done (fetched and unpacked, or
/// already in the store), the bytes to fetch and those fetched. The pull's own process reports
/// it; the shim keeps it with the container while the pull runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PullProgress {
    pub layers: usize,
    pub layers_done: usize,
    pub bytes: u64,
    /// The bytes of the layers done.
    pub bytes_done: u64,
    /// The bytes of the layer downloading now.
    #[serde(default)]
    pub fetching: u64,
}

impl PullProgress {
    /// The bytes fetched so far, the layer downloading now included.
    pub fn bytes_fetched(&self) -> u64 {
        (self.bytes_done + self.fetching).min(self.bytes.max(self.bytes_done))
    }
}

/// Whether a failed pull's message says the machine has no network (no name resolution, no
/// route), rather than that the registry answered no: then a stand-in may run instead.
pub fn is_offline_error(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "temporary failure in name resolution",
        "network is unreachable",
        "no route to host",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// The command a container runs, by Kubernetes' rules: `command` replaces the image's
/// Entrypoint (and then the image's Cmd is not used); `args` alone replace the image's Cmd.
pub fn container_command(
    command: &[String],
    args: &[String],
    entrypoint: &[String],
    cmd: &[String],
) -> Vec<String> {
    match (command.is_empty(), args.is_empty()) {
        (false, _) => command.iter().chain(args).cloned().collect(),
        (true, false) => entrypoint.iter().chain(args).cloned().collect(),
        (true, true) => entrypoint.iter().chain(cmd).cloned().collect(),
    }
}

/// A container's environment: the image's `Env`, then the pod's variables, a later name
/// replacing an earlier one in place (as containerd merges them).
pub fn merge_env<'a>(
    base: impl IntoIterator<Item = &'a str>,
    overrides: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let mut env: Vec<String> = Vec::new();
    let mut set = |name: &str, line: String| {
        let prefix = format!("{name}=");
        match env.iter_mut().find(|e| e.starts_with(&prefix)) {
            Some(slot) => *slot = line,
            None => env.push(line),
        }
    };
    for line in base {
        let name = line.split('=').next().unwrap_or(line);
        set(name, line.to_string());
    }
    for (name, value) in overrides {
        set(&name, format!("{name}={value}"));
    }
    env
}

/// The prefix of a whiteout file in an OCI layer.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The file that makes its directory opaque: the lower layers' content of it is hidden.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What one path of a layer tar means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerPath {
    /// The layer's root itself (`./`): nothing to make.
    Root,
    /// A file, directory or link at this path (relative, normalized).
    Plain(PathBuf),
    /// `dir/.wh.NAME`: `dir/NAME` of the layers below is deleted.
    Whiteout(PathBuf),
    /// `dir/.wh..wh..opq`: `dir` hides what the layers below have in it.
    Opaque(PathBuf),
}

/// Why a layer path is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRefused {
    pub path: String,
    pub why: &'static str,
}

impl fmt::Display for PathRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.path, self.why)
    }
}

/// Read one path of a layer tar: a leading `/` or `./` is dropped (as tar and Docker do); a
/// `..` anywhere is refused, as are whiteouts of `.` or `..` and other `.wh..wh.` names.
pub fn layer_path(path: &Path) -> Result<LayerPath, PathRefused> {
    let refused = |why| PathRefused {
        path: path.display().to_string(),
        why,
    };
    let mut rel = PathBuf::new();
    for part in path.components() {
        match part {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => return Err(refused("climbs out of the layer with '..'")),
            Component::Normal(p) => rel.push(p),
        }
    }
    let Some(file) = rel.file_name().and_then(|f| f.to_str()) else {
        return if rel.as_os_str().is_empty() {
            Ok(LayerPath::Root)
        } else {
            Ok(LayerPath::Plain(rel))
        };
    };
    let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    if file == OPAQUE_MARKER {
        return Ok(LayerPath::Opaque(parent));
    }
    match file.strip_prefix(WHITEOUT_PREFIX) {
        Some(rest) if rest.starts_with(WHITEOUT_PREFIX) => {
            Err(refused("is a reserved whiteout name"))
        }
        Some("" | "." | "..") => Err(refused("whites out nothing a layer may remove")),
        Some(name) => Ok(LayerPath::Whiteout(parent.join(name))),
        None => Ok(LayerPath::Plain(rel)),
    }
}

/// A Docker/OCI `User`: `uid`, `uid:gid`, `name` or `name:group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUser {
    pub user: String,
    pub group: Option<String>,
}

impl ImageUser {
    /// None for an empty `User` (root).
    pub fn parse(text: &str) -> Option<ImageUser> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let (user, group) = match text.split_once(':') {
            Some((u, g)) => (u, Some(g.to_string())),
            None => (text, None),
        };
        Some(ImageUser {
            user: user.to_string(),
            group,
        })
    }
}

/// Find `name` in the text of /etc/passwd (`name:x:uid:gid:...`): (uid, gid). A number is
/// a uid whatever the file says; its gid is then the entry's, or the same number.
pub fn passwd_lookup(passwd: &str, name: &str) -> Option<(u32, u32)> {
    let entry = passwd.lines().map(|l| l.split(':').collect::<Vec<_>>());
    let numeric = name.parse::<u32>().ok();
    for fields in entry {
        if fields.len() < 4 {
            continue;
        }
        let (Ok(uid), Ok(gid)) = (fields[2].parse::<u32>(), fields[3].parse::<u32>()) else {
            continue;
        };
        if fields[0] == name || numeric == Some(uid) {
            return Some((uid, gid));
        }
    }
    numeric.map(|uid| (uid, uid))
}

/// Find a group in the text of /etc/group (`name:x:gid:...`); a number is a gid.
pub fn group_lookup(group: &str, name: &str) -> Option<u32> {
    if let Ok(gid) = name.parse::<u32>() {
        return Some(gid);
    }
    group.lines().find_map(|l| {
        let fields: Vec<_> = l.split(':').collect();
        (fields.len() >= 3 && fields[0] == name)
            .then(|| fields[2].parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalized_as_docker_does() {
        for (text, want) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("nginx:1.29", "docker.io/library/nginx:1.29"),
            ("library/nginx", "docker.io/library/nginx:latest"),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
            (
                "index.docker.io/library/debian",
                "docker.io/library/debian:latest",
            ),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost/app:1", "localhost/app:1"),
            ("127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1"),
            ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ] {
            assert_eq!(Reference::parse(text).unwrap().to_string(), want, "{text}");
        }
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("nginx@{digest}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn bad_references_are_refused() {
        for text in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "nginx@sha256:12",
            "a//b",
            "a/b/",
        ] {
            assert!(Reference::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_registries() {
        for (text, plain) in [
            ("localhost:5000/a", true),
            ("127.0.0.1:5000/a", true),
            ("127.1.2.3/a", true),
            ("10.0.0.1:5000/a", false),
            ("nginx", false),
        ] {
            assert_eq!(
                Reference::parse(text).unwrap().is_insecure_registry(),
                plain,
                "{text}"
            );
        }
    }

    #[test]
    fn pull_policy_defaults_as_the_api_server() {
        use PullPolicy::*;
        for (image, want) in [
            ("nginx", Always),
            ("nginx:latest", Always),
            ("nginx:1.29", IfNotPresent),
            (&*format!("nginx@sha256:{}", "b".repeat(64)), IfNotPresent),
            (
                &*format!("nginx:latest@sha256:{}", "b".repeat(64)),
                IfNotPresent,
            ),
        ] {
            assert_eq!(PullPolicy::default_for(image), want, "{image}");
        }
    }

    #[test]
    fn only_a_missing_network_lets_a_stand_in_run() {
        for (message, offline) in [
            ("error sending request: dns error: failed to lookup address information: Temporary failure in name resolution", true),
            ("connect: Network is unreachable (os error 101)", true),
            ("Registry error: manifest unknown", false),
            ("connection refused", false),
            // What a pull's error says on a machine without DNS, its causes included.
            ("failed to pull docker.io/library/nginx:1.27 from docker.io: error sending request for url (https://index.docker.io/v2/library/nginx/manifests/1.27): client error (Connect): dns error: error resolving DNS: failed to lookup address information: Name or service not known", true),
        ] {
            assert_eq!(is_offline_error(message), offline, "{message}");
        }
    }

    #[test]
    fn command_and_args_combine_by_kubernetes_rules() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (ep, cmd) = (v(&["/entry"]), v(&["--default"]));
        assert_eq!(
            container_command(&[], &[], &ep, &cmd),
            v(&["/entry", "--default"])
        );
        assert_eq!(container_command(&v(&["sh"]), &[], &ep, &cmd), v(&["sh"]));
        assert_eq!(
            container_command(&v(&["sh"]), &v(&["-c", "x"]), &ep, &cmd),
            v(&["sh", "-c", "x"])
        );
        assert_eq!(
            container_command(&[], &v(&["-x"]), &ep, &cmd),
            v(&["/entry", "-x"])
        );
        assert_eq!(container_command(&[], &v(&["ls"]), &[], &cmd), v(&["ls"]));
    }

    #[test]
    fn the_pods_env_overrides_the_images() {
        let env = merge_env(
            ["PATH=/opt/bin", "A=1", "B=2"],
            [
                ("B".to_string(), "pod".to_string()),
                ("C".into(), "3".into()),
            ],
        );
        assert_eq!(env, ["PATH=/opt/bin", "A=1", "B=pod", "C=3"]);
    }

    #[test]
    fn layer_paths_follow_the_whiteout_rules() {
        let p = |s: &str| layer_path(Path::new(s));
        assert_eq!(p("./"), Ok(LayerPath::Root));
        assert_eq!(p("/etc/passwd"), Ok(LayerPath::Plain("etc/passwd".into())));
        assert_eq!(
            p("./etc/.wh.motd"),
            Ok(LayerPath::Whiteout("etc/motd".into()))
        );
        assert_eq!(p(".wh.tmp"), Ok(LayerPath::Whiteout("tmp".into())));
        assert_eq!(
            p("var/cache/.wh..wh..opq"),
            Ok(LayerPath::Opaque("var/cache".into()))
        );
        assert!(p("../etc/passwd").is_err());
        assert!(p("a/../../b").is_err());
        assert!(p("a/.wh..wh.plnk").is_err());
        assert!(p("a/.wh...").is_err());
        assert_eq!(p("a/.whx"), Ok(LayerPath::Plain("a/.whx".into())));
    }

    #[test]
    fn users_are_found_in_the_images_passwd() {
        let passwd = "root:x:0:0::/root:/bin/sh\nwww:x:33:34::/var/www:/bin/false\n";
        assert_eq!(passwd_lookup(passwd, "www"), Some((33, 34)));
        assert_eq!(passwd_lookup(passwd, "33"), Some((33, 34)));
        assert_eq!(passwd_lookup(passwd, "1000"), Some((1000, 1000)));
        assert_eq!(passwd_lookup(passwd, "nobody"), None);
        assert_eq!(group_lookup("staff:x:50:\n", "staff"), Some(50));
        assert_eq!(group_lookup("", "7"), Some(7));
        assert_eq!(
            ImageUser::parse("www:staff"),
            Some(ImageUser {
                user: "www".into(),
                group: Some("staff".into())
            })
        );
        assert_eq!(ImageUser::parse(""), None);
    }
}
