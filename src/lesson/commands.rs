//! A step's commands: `try:` lines that work on this machine, with placeholders filled from
//! the live pod, and `cluster:` lines, the kubectl equivalents on a real cluster.
//!
//! A placeholder is `{KIND}` or `{KIND:ARGS}`; text in braces that is not a word of lower-case
//! letters, digits and `:/-_` (a shell `${VAR}`, awk's `{print $1}`, `{a,b}`) stays as it is.
//!
//! | placeholder | becomes |
//! |---|---|
//! | `{pod}`, `{pod:NAME}` | the pod's name as it runs (a static pod's `NAME-<node>`) |
//! | `{uid}`, `{uid:NAME}` | the pod's UID |
//! | `{ip}`, `{ip:NAME}` | the pod's IP |
//! | `{pid:REF}` | the host PID of a container's main process, or of `pause` |
//! | `{ns:KIND:REF}` | `/proc/PID/ns/KIND` of that process (`host`: PID 1) |
//! | `{cgroup:REF}` | the cgroup directory of a container, of `pause` or of the `pod` |
//! | `{cgroup:REF:MEANING}` | the file holding that value on this machine's cgroup layout |
//! | `{owned:pid}` | the holder of the learner's hand-made pod (a lesson that `owns` a prefix) |
//! | `{owned:cgroups}` | its cgroup directories, one per hierarchy (one on cgroup v2) |
//! | `{owned:cgroup:MEANING}` | a file of that cgroup by meaning |
//!
//! REF is a container of the step's pod (`web`), `pause`, `pod`, `host`, or `NAME/web` for
//! another pod of the lesson. The cgroup MEANINGs are [`CgroupFile`]'s: the same lesson line
//! reads `cpu.max` on cgroup v2 and `cpu.cfs_quota_us` on v1.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::observe::NsKind;

/// What a cgroup file holds, named by meaning, not by file: the file differs between cgroup
/// v1 and v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupFile {
    /// The CPU limit: v2 `cpu.max` (quota and period), v1 `cpu.cfs_quota_us`.
    CpuLimit,
    /// The CFS period: v2 `cpu.max`, v1 `cpu.cfs_period_us`.
    CpuPeriod,
    /// The CPU request as a weight: v2 `cpu.weight`, v1 `cpu.shares`.
    CpuRequest,
    /// Throttling counters: `cpu.stat` on both.
    CpuStat,
    /// v2 `memory.max`, v1 `memory.limit_in_bytes`.
    MemoryLimit,
    /// v2 `memory.current`, v1 `memory.usage_in_bytes`.
    MemoryUsage,
    /// OOM counters: v2 `memory.events`, v1 `memory.oom_control`.
    MemoryEvents,
    /// `pids.max` on both.
    Pids,
    /// `pids.current` on both.
    PidsCurrent,
    /// The processes in the cgroup: `cgroup.procs` on both.
    Procs,
}

/// Which v1 controller's directory a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Cpu,
    Memory,
    Pids,
}

impl CgroupFile {
    pub const ALL: [(&'static str, CgroupFile); 10] = [
        ("cpu-limit", CgroupFile::CpuLimit),
        ("cpu-period", CgroupFile::CpuPeriod),
        ("cpu-request", CgroupFile::CpuRequest),
        ("cpu-stat", CgroupFile::CpuStat),
        ("memory-limit", CgroupFile::MemoryLimit),
        ("memory-usage", CgroupFile::MemoryUsage),
        ("memory-events", CgroupFile::MemoryEvents),
        ("pids", CgroupFile::Pids),
        ("pids-current", CgroupFile::PidsCurrent),
        ("procs", CgroupFile::Procs),
    ];

    pub fn parse(name: &str) -> Option<CgroupFile> {
        CgroupFile::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        CgroupFile::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(n, _)| n)
    }

    /// The file's name on cgroup `version` (1 or 2).
    pub fn file_name(self, version: u8) -> &'static str {
        let v2 = version >= 2;
        match self {
            CgroupFile::CpuLimit if v2 => "cpu.max",
            CgroupFile::CpuLimit => "cpu.cfs_quota_us",
            CgroupFile::CpuPeriod if v2 => "cpu.max",
            CgroupFile::CpuPeriod => "cpu.cfs_period_us",
            CgroupFile::CpuRequest if v2 => "cpu.weight",
            CgroupFile::CpuRequest => "cpu.shares",
            CgroupFile::CpuStat => "cpu.stat",
            CgroupFile::MemoryLimit if v2 => "memory.max",
            CgroupFile::MemoryLimit => "memory.limit_in_bytes",
            CgroupFile::MemoryUsage if v2 => "memory.current",
            CgroupFile::MemoryUsage => "memory.usage_in_bytes",
            CgroupFile::MemoryEvents if v2 => "memory.events",
            CgroupFile::MemoryEvents => "memory.oom_control",
            CgroupFile::Pids => "pids.max",
            CgroupFile::PidsCurrent => "pids.current",
            CgroupFile::Procs => "cgroup.procs",
        }
    }

    /// The v1 controller whose directory holds the file.
    pub fn controller(self) -> Controller {
        match self {
            CgroupFile::CpuLimit
            | CgroupFile::CpuPeriod
            | CgroupFile::CpuRequest
            | CgroupFile::CpuStat => Controller::Cpu,
            CgroupFile::MemoryLimit
            | CgroupFile::MemoryUsage
            | CgroupFile::MemoryEvents
            | CgroupFile::Procs => Controller::Memory,
            CgroupFile::Pids | CgroupFile::PidsCurrent => Controller::Pids,
        }
    }
}

/// One placeholder of a `try:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// The pod's name as it runs; None: the step's pod.
    Pod(Option<String>),
    Uid(Option<String>),
    Ip(Option<String>),
    /// The host PID of a reference (`web`, `pause`, `other/web`).
    Pid(String),
    /// `/proc/PID/ns/KIND` of a reference.
    Ns(NsKind, String),
    /// A cgroup directory, or one of its files by meaning.
    Cgroup(String, Option<CgroupFile>),
    /// What the learner made by hand, by the lesson's `owns` prefix.
    Owned(OwnedValue),
}

/// What an `{owned:…}` placeholder names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnedValue {
    /// The holder's host PID.
    Pid,
    /// The PREFIX cgroup's directories, one per hierarchy, separated by spaces.
    Cgroups,
    /// A file of the PREFIX cgroup by meaning.
    File(CgroupFile),
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |kind: &str, name: &Option<String>| match name {
            Some(n) => format!("{{{kind}:{n}}}"),
            None => format!("{{{kind}}}"),
        };
        match self {
            Placeholder::Pod(n) => f.write_str(&opt("pod", n)),
            Placeholder::Uid(n) => f.write_str(&opt("uid", n)),
            Placeholder::Ip(n) => f.write_str(&opt("ip", n)),
            Placeholder::Pid(r) => write!(f, "{{pid:{r}}}"),
            Placeholder::Ns(kind, r) => write!(f, "{{ns:{}:{r}}}", kind.file_name()),
            Placeholder::Cgroup(r, None) => write!(f, "{{cgroup:{r}}}"),
            Placeholder::Cgroup(r, Some(file)) => write!(f, "{{cgroup:{r}:{}}}", file.name()),
            Placeholder::Owned(OwnedValue::Pid) => f.write_str("{owned:pid}"),
            Placeholder::Owned(OwnedValue::Cgroups) => f.write_str("{owned:cgroups}"),
            Placeholder::Owned(OwnedValue::File(file)) => {
                write!(f, "{{owned:cgroup:{}}}", file.name())
            }
        }
    }
}

/// A piece of a `try:` line: text as written, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Placeholder(Placeholder),
}

/// A placeholder that names nothing podlab knows, at this character offset of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderError {
    /// Characters from the start of the line to the `{`.
    pub offset: usize,
    /// The placeholder as written, braces included.
    pub written: String,
    pub message: String,
}

const KINDS: &str = "pod, uid, ip, pid:REF, ns:KIND:REF, cgroup:REF, cgroup:REF:MEANING, \
                     owned:pid, owned:cgroups, owned:cgroup:MEANING";

/// Whether the text between braces is meant as a placeholder (a word podlab reads), not
/// shell or awk text.
fn looks_like_placeholder(inner: &str) -> bool {
    inner.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && inner
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":/-_.".contains(c))
}

/// Splits a `try:` line into text and placeholders; every placeholder that names nothing is
/// an error (all of them, in line order).
pub fn parse_line(line: &str) -> Result<Vec<Piece>, Vec<PlaceholderError>> {
    let mut pieces = Vec::new();
    let mut errors = Vec::new();
    let mut text = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let after_dollar = i > 0 && chars[i - 1] == '$';
        if c == '{' && !after_dollar {
            if let Some(len) = chars[i + 1..].iter().position(|&c| c == '}') {
                let inner: String = chars[i + 1..i + 1 + len].iter().collect();
                if looks_like_placeholder(&inner) {
                    match parse_placeholder(&inner) {
                        Ok(p) => {
                            if !text.is_empty() {
                                pieces.push(Piece::Text(std::mem::take(&mut text)));
                            }
                            pieces.push(Piece::Placeholder(p));
                        }
                        Err(message) => errors.push(PlaceholderError {
                            offset: i,
                            written: format!("{{{inner}}}"),
                            message,
                        }),
                    }
                    i += len + 2;
                    continue;
                }
            }
        }
        text.push(c);
        i += 1;
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    if errors.is_empty() {
        Ok(pieces)
    } else {
        Err(errors)
    }
}

fn parse_placeholder(inner: &str) -> Result<Placeholder, String> {
    let mut parts = inner.splitn(2, ':');
    let kind = parts.next().unwrap_or_default();
    let rest = parts.next().filter(|r| !r.is_empty());
    let name = |rest: Option<&str>| -> Result<Option<String>, String> {
        match rest {
            None => Ok(None),
            Some(n) if n.contains(':') || n.contains('/') => {
                Err(format!("{n:?} is not a pod name of this lesson"))
            }
            Some(n) => Ok(Some(n.to_string())),
        }
    };
    let needs_ref = |what: &str| format!("{{{kind}}} needs {what}, e.g. {{{kind}:web}}");
    match kind {
        "pod" => Ok(Placeholder::Pod(name(rest)?)),
        "uid" => Ok(Placeholder::Uid(name(rest)?)),
        "ip" => Ok(Placeholder::Ip(name(rest)?)),
        "pid" => {
            let r = rest.ok_or_else(|| needs_ref("a container or pause"))?;
            if r.contains(':') {
                return Err(format!("{r:?} is not a container or pause"));
            }
            Ok(Placeholder::Pid(r.to_string()))
        }
        "ns" => {
            let r = rest.ok_or_else(|| {
                "{ns} needs a namespace kind and a container, e.g. {ns:net:web}".to_string()
            })?;
            let (kind_name, who) = r.split_once(':').ok_or_else(|| {
                format!("{{ns:{r}}} needs a namespace kind and a container, e.g. {{ns:net:{r}}}")
            })?;
            let kind = NsKind::ALL
                .into_iter()
                .find(|k| k.file_name() == kind_name)
                .ok_or_else(|| {
                    let kinds: Vec<&str> = NsKind::ALL.iter().map(|k| k.file_name()).collect();
                    format!(
                        "{kind_name:?} is not a namespace kind; kinds: {}",
                        kinds.join(", ")
                    )
                })?;
            if who.is_empty() || who.contains(':') {
                return Err(format!("{who:?} is not a container, pause or host"));
            }
            Ok(Placeholder::Ns(kind, who.to_string()))
        }
        "owned" => match rest {
            Some("pid") => Ok(Placeholder::Owned(OwnedValue::Pid)),
            Some("cgroups") => Ok(Placeholder::Owned(OwnedValue::Cgroups)),
            Some(r) if r.starts_with("cgroup:") => Ok(Placeholder::Owned(OwnedValue::File(
                cgroup_file(&r["cgroup:".len()..])?,
            ))),
            _ => Err("{owned} needs pid, cgroups or cgroup:MEANING".into()),
        },
        "cgroup" => {
            let r = rest.ok_or_else(|| needs_ref("a container, pause or pod"))?;
            let (who, file) = match r.split_once(':') {
                None => (r, None),
                Some((who, meaning)) => (who, Some(cgroup_file(meaning)?)),
            };
            if who.is_empty() {
                return Err(needs_ref("a container, pause or pod"));
            }
            Ok(Placeholder::Cgroup(who.to_string(), file))
        }
        other => Err(format!(
            "{{{other}}} names nothing podlab fills in; placeholders: {KINDS}"
        )),
    }
}

fn cgroup_file(meaning: &str) -> Result<CgroupFile, String> {
    CgroupFile::parse(meaning).ok_or_else(|| {
        let names: Vec<&str> = CgroupFile::ALL.iter().map(|(n, _)| *n).collect();
        format!(
            "{meaning:?} is not a cgroup value podlab knows; values: {}",
            names.join(", ")
        )
    })
}

/// Commands that act on every matching process of the host (other lessons' pods, a local
/// cluster's), never on this pod alone.
const HOST_WIDE: &[&str] = &["pgrep", "pkill", "pidof", "killall"];

/// Why a `try:` line cannot be offered as one that works here, if it cannot: it is a
/// kubectl line (those are `cluster:` lines), picks processes host-wide, or waits for a
/// terminal.
pub fn try_line_problem(line: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || "|;&()$`".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    if words.first() == Some(&"kubectl") || words.contains(&"kubectl") {
        return Some(
            "kubectl needs a cluster: put this line under cluster:, and write a try: line \
             that works here (podlab, nsenter, cat …)"
                .into(),
        );
    }
    // `ps -C NAME` on the host selects by name host-wide too; after `--` (podlab exec, nsenter)
    // it runs in the container's own PID namespace.
    let ps_by_name = words
        .windows(2)
        .enumerate()
        .any(|(i, w)| w[0] == "ps" && w[1].starts_with("-C") && !words[..i].contains(&"--"));
    let host_wide = words.iter().find(|w| HOST_WIDE.contains(w)).copied();
    if let Some(w) = host_wide.or(ps_by_name.then_some("ps -C")) {
        return Some(format!(
            "{w} picks processes on the whole host (other lessons' pods, a local cluster's): \
             name this pod's process with {{pid:CONTAINER}}"
        ));
    }
    let interactive = words.windows(2).any(|w| w[0] == "--" && is_shell(w[1]))
        && words.last().is_some_and(|w| is_shell(w))
        || words.contains(&"-it")
        || words.contains(&"-ti");
    if interactive {
        return Some(
            "this line waits for a terminal; s opens a shell in a container, so give a \
             command that ends by itself"
                .into(),
        );
    }
    if line.trim_end().ends_with('&') || line.contains("-w ") || line.trim_end().ends_with(" -w") {
        return Some("this line does not end by itself; give a command that does".into());
    }
    None
}

fn is_shell(word: &str) -> bool {
    matches!(word, "sh" | "bash" | "ash")
}

/// A step's `try:` line as the player shows it: filled from the live pod, or the template
/// with why it could not be filled yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilledLine {
    /// As written in the lesson.
    pub template: String,
    /// With every placeholder filled; None while something it names does not exist yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Why it could not be filled (in both languages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<crate::i18n::Text>,
    /// What it names is never made on this machine (a pod built without root and without a
    /// delegated cgroup subtree has no cgroup): `missing` says why, and the self-test skips it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_here: bool,
}

impl FilledLine {
    /// What to show: the filled line, else the template.
    pub fn shown(&self) -> &str {
        self.line.as_deref().unwrap_or(&self.template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_plain_text() {
        let pieces = parse_line("nsenter -t {pid:pause} -n ip addr").expect("parses");
        assert_eq!(
            pieces,
            vec![
                Piece::Text("nsenter -t ".into()),
                Piece::Placeholder(Placeholder::Pid("pause".into())),
                Piece::Text(" -n ip addr".into()),
            ]
        );
        let pieces = parse_line("cat {cgroup:burner:cpu-limit}").expect("parses");
        assert_eq!(
            pieces[1],
            Piece::Placeholder(Placeholder::Cgroup(
                "burner".into(),
                Some(CgroupFile::CpuLimit)
            ))
        );
        assert_eq!(
            parse_line("readlink {ns:net:other/web}").expect("parses")[1],
            Piece::Placeholder(Placeholder::Ns(NsKind::Net, "other/web".into()))
        );
    }

    #[test]
    fn shell_and_awk_braces_stay_text() {
        for line in [
            "echo ${HOME}",
            "awk '{print $1}' /proc/net/tcp",
            "ls /proc/{1,2}/ns",
            "echo {}",
        ] {
            assert_eq!(
                parse_line(line).expect("parses"),
                vec![Piece::Text(line.into())],
                "{line}"
            );
        }
    }

    #[test]
    fn a_placeholder_that_names_nothing_is_located() {
        let errors = parse_line("cat {cgroup:web:cpu-quota} {pids:web}").expect_err("bad");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].offset, 4);
        assert!(errors[0]
            .message
            .contains("\"cpu-quota\" is not a cgroup value"));
        assert_eq!(errors[1].written, "{pids:web}");
        assert!(errors[1].message.contains("names nothing"));
        let errors = parse_line("ls {ns:web}").expect_err("bad");
        assert!(errors[0].message.contains("namespace kind"), "{errors:?}");
        let errors = parse_line("kill {pid}").expect_err("bad");
        assert!(errors[0].message.contains("{pid} needs"), "{errors:?}");
    }

    #[test]
    fn cgroup_files_by_layout() {
        assert_eq!(CgroupFile::CpuLimit.file_name(2), "cpu.max");
        assert_eq!(CgroupFile::CpuLimit.file_name(1), "cpu.cfs_quota_us");
        assert_eq!(CgroupFile::CpuRequest.file_name(2), "cpu.weight");
        assert_eq!(CgroupFile::CpuRequest.file_name(1), "cpu.shares");
        assert_eq!(
            CgroupFile::MemoryLimit.file_name(1),
            "memory.limit_in_bytes"
        );
        for (name, file) in CgroupFile::ALL {
            assert_eq!(CgroupFile::parse(name), Some(file));
            assert_eq!(file.name(), name);
        }
    }

    #[test]
    fn try_lines_that_cannot_work_here() {
        assert!(try_line_problem("kubectl get pods").is_some());
        assert!(try_line_problem("kill -KILL $(pgrep -x pause)").is_some());
        assert!(try_line_problem("podlab exec web -c web -- sh").is_some());
        assert!(try_line_problem("podlab logs web -f -w x").is_some());
        assert!(try_line_problem("podlab exec {pod} -c web -- hostname").is_none());
        assert!(try_line_problem("podlab exec {pod} -c web -- sh -c 'echo hi'").is_none());
        assert!(try_line_problem("nsenter -t {pid:pause} -n ip addr").is_none());
        assert!(try_line_problem("ps -C sleep -o pid").is_some());
        assert!(try_line_problem("podlab exec {pod} -c app -- ps -C sleep").is_none());
    }

    #[test]
    fn placeholders_print_as_written() {
        for line in [
            "{pod}",
            "{uid:ipc-b}",
            "{pid:pause}",
            "{ns:net:web}",
            "{cgroup:pod}",
            "{cgroup:web:memory-limit}",
            "{owned:pid}",
            "{owned:cgroups}",
            "{owned:cgroup:procs}",
        ] {
            let pieces = parse_line(line).expect("parses");
            let Piece::Placeholder(p) = &pieces[0] else {
                panic!("{line}")
            };
            assert_eq!(p.to_string(), line);
        }
    }

    #[test]
    fn owned_placeholders_name_the_holder_and_the_cgroup() {
        assert_eq!(
            parse_line("echo {owned:pid}").expect("parses")[1],
            Piece::Placeholder(Placeholder::Owned(OwnedValue::Pid))
        );
        assert_eq!(
            parse_line("cat {owned:cgroup:pids}").expect("parses")[1],
            Piece::Placeholder(Placeholder::Owned(OwnedValue::File(CgroupFile::Pids)))
        );
        assert!(parse_line("{owned}").is_err());
        assert!(parse_line("{owned:web}").is_err());
        assert!(parse_line("{owned:cgroup:nope}").is_err());
    }
}
