//! Plain-text views of an observe snapshot (pure: Snapshot → String), in English or Chinese:
//! `podlab inspect` prints them, and the TUI's panels take their tree rows, units and marks.
//!
//! Columns are measured by display width, so Chinese headers line up. "Same as pause" is shown
//! with a symbol (`=`), never by colour alone.

use std::collections::{BTreeMap, HashMap};

use unicode_width::UnicodeWidthStr;

use crate::i18n::Lang;
use crate::kube::pod_state::ContainerState;
use crate::observe::model::{
    CgroupInfo, Gap, GapReason, Limit, NsKind, ProcessInfo, Role, SandboxKind, Snapshot,
};

/// Marks a namespace shared with pause (or with the sandbox's first process tree).
pub const SHARED_MARK: &str = "=";
/// Marks a namespace of the container's own.
pub const OWN_MARK: &str = "*";

fn t(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// Every section, separated by blank lines. The host-wide view leaves out the full tree.
pub fn render(s: &Snapshot, lang: Lang) -> String {
    let mut parts = vec![header(s, lang)];
    if !matches!(s.scope, crate::observe::model::Scope::Host) {
        parts.push(tree(s, lang));
    }
    parts.push(sandboxes(s, lang));
    parts.push(namespaces(s, lang));
    parts.push(network(s, lang));
    parts.push(cgroups(s, lang));
    parts.push(gaps(s, lang));
    parts.retain(|p| !p.is_empty());
    parts.join("\n")
}

pub fn header(s: &Snapshot, lang: Lang) -> String {
    let layout = match s.host.cgroup_layout {
        crate::observe::model::CgroupLayout::Unified => "v2",
        crate::observe::model::CgroupLayout::Legacy => "v1",
        crate::observe::model::CgroupLayout::Hybrid => {
            t(lang, "hybrid (v1 controllers)", "混合（v1 控制器）")
        }
        crate::observe::model::CgroupLayout::Unknown => "?",
    };
    format!(
        "{} {}   {} {}   {} {}\n",
        t(lang, "processes on host:", "主机进程数："),
        s.host.process_count,
        t(lang, "shown:", "显示："),
        s.processes.len(),
        t(lang, "cgroups:", "cgroup 布局："),
        layout
    )
}

/// The process tree with host PID and the PIDs inside nested PID namespaces, like
/// `4242 [1] pause`. A `⇣` marks where a new PID namespace starts.
pub fn tree(s: &Snapshot, lang: Lang) -> String {
    let mut out = format!(
        "{}\n",
        t(
            lang,
            "PROCESS TREE   host PID [PID inside the pod's PID namespace]",
            "进程树   主机 PID [Pod 的 PID 命名空间内的 PID]"
        )
    );
    for row in tree_rows(s, lang) {
        out.push_str(&row.text);
        out.push('\n');
    }
    out
}

/// One line of the process tree, with the process it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub pid: i32,
    pub text: String,
}

/// The lines of `tree` without its header, each with its PID (for views that style lines).
pub fn tree_rows(s: &Snapshot, lang: Lang) -> Vec<TreeRow> {
    let by_pid: HashMap<i32, &ProcessInfo> = s.processes.iter().map(|p| (p.pid, p)).collect();
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut roots = Vec::new();
    for p in s.processes.iter().filter(|p| !p.kernel_thread) {
        if by_pid.contains_key(&p.ppid) {
            children.entry(p.ppid).or_default().push(p.pid);
        } else {
            roots.push(p.pid);
        }
    }
    let mut out = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        tree_node(
            &mut out,
            &by_pid,
            &children,
            *root,
            "",
            i + 1 == roots.len(),
            lang,
            0,
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn tree_node(
    out: &mut Vec<TreeRow>,
    by_pid: &HashMap<i32, &ProcessInfo>,
    children: &BTreeMap<i32, Vec<i32>>,
    pid: i32,
    prefix: &str,
    last: bool,
    lang: Lang,
    depth: usize,
) {
    let Some(p) = by_pid.get(&pid) else { return };
    let branch = if depth == 0 {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    let parent_depth = by_pid.get(&p.ppid).map(|pp| pp.ns_pids.len()).unwrap_or(1);
    let new_pidns = depth > 0 && p.ns_pids.len() > parent_depth;
    let inner = if p.ns_pids.len() > 1 {
        format!(
            " [{}]",
            p.ns_pids[1..]
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join("/")
        )
    } else {
        String::new()
    };
    let role = match &p.role {
        Role::Shim => format!("  ({})", t(lang, "shim", "shim 进程")),
        Role::Pause => "  (pause)".to_string(),
        Role::Container(name) => format!("  ({} {name})", t(lang, "container", "容器")),
        Role::Other => String::new(),
    };
    // As /proc/<pid>/status says it, only for a filtered process (most are not).
    let seccomp = match p.seccomp {
        Some(sc) if sc.is_filtered() => match sc.filters {
            Some(n) => format!(
                "  Seccomp {} ({} {n})",
                sc.mode,
                t(lang, "filters:", "过滤器数")
            ),
            None => format!("  Seccomp {}", sc.mode),
        },
        _ => String::new(),
    };
    let zombie = if p.state.is_zombie() {
        format!(
            "  Z {}",
            t(lang, "(zombie, not yet reaped)", "（僵尸进程，尚未回收）")
        )
    } else {
        String::new()
    };
    let args = if p.cmdline.len() > 1 {
        format!(" {}", p.cmdline[1..].join(" "))
    } else {
        String::new()
    };
    out.push(TreeRow {
        pid,
        text: format!(
            "{prefix}{branch}{}{}{inner} {}{}{role}{seccomp}{zombie}",
            if new_pidns { "⇣ " } else { "" },
            p.pid,
            p.comm,
            truncate(&args, 40),
        ),
    });
    let kids = children.get(&pid).cloned().unwrap_or_default();
    let child_prefix = if depth == 0 {
        prefix.to_string()
    } else {
        format!("{prefix}{}", if last { "   " } else { "│  " })
    };
    for (i, k) in kids.iter().enumerate() {
        tree_node(
            out,
            by_pid,
            children,
            *k,
            &child_prefix,
            i + 1 == kids.len(),
            lang,
            depth + 1,
        );
    }
}

fn kind_name(kind: SandboxKind, lang: Lang) -> &'static str {
    match kind {
        SandboxKind::PodlabPod => t(lang, "podlab pod", "podlab Pod"),
        SandboxKind::KubernetesPod => t(lang, "Kubernetes pod", "Kubernetes Pod"),
        SandboxKind::Docker => t(lang, "docker container", "docker 容器"),
        SandboxKind::Podman => t(lang, "podman container", "podman 容器"),
        SandboxKind::Unshared => t(lang, "own net namespace", "独立网络命名空间"),
        SandboxKind::PodShaped => t(
            lang,
            "pod-shaped: one holds net, ipc, uts; the others joined",
            "Pod 形状：一个进程持有 net、ipc、uts，其余加入",
        ),
    }
}

/// One block per sandbox: kind, name, phase, shim, pause, containers with state.
pub fn sandboxes(s: &Snapshot, lang: Lang) -> String {
    if s.sandboxes.is_empty() {
        return String::new();
    }
    let zombie = |pid: Option<i32>| {
        s.processes
            .iter()
            .any(|p| Some(p.pid) == pid && p.state.is_zombie())
    };
    let mut out = format!("{}\n", t(lang, "SANDBOXES", "沙箱（Pod / 容器组）"));
    for sb in &s.sandboxes {
        out.push_str(&format!("{}  {}", kind_name(sb.kind, lang), sb.name));
        if let Some(pod) = &sb.pod {
            out.push_str(&format!("  {:?}", pod.phase));
            if let Some(ip) = &pod.ip {
                out.push_str(&format!("  IP {ip}"));
            }
        }
        if let Some(shim) = sb.shim {
            out.push_str(&format!("  shim {shim}"));
        }
        if let Some(pause) = sb.pause {
            out.push_str(&format!("  pause {pause}"));
            if sb.pause_zombie {
                out.push_str(t(lang, " (zombie!)", "（僵尸！）"));
            }
        }
        out.push('\n');
        let mut rows = Vec::new();
        for c in &sb.containers {
            let state = match c.status.as_ref().map(|st| &st.state) {
                Some(ContainerState::Waiting { reason }) => format!("Waiting ({reason})"),
                Some(ContainerState::Running { .. }) => "Running".to_string(),
                Some(ContainerState::Terminated {
                    exit_code, reason, ..
                }) => {
                    format!("Terminated ({reason}, {exit_code})")
                }
                None if c.pids.is_empty() => "-".to_string(),
                None if zombie(c.main_pid) => "Zombie".to_string(),
                None => "Running".to_string(),
            };
            let restarts = c
                .status
                .as_ref()
                .map(|st| st.restart_count.to_string())
                .unwrap_or_else(|| "-".into());
            rows.push(vec![
                format!("  {}", c.name),
                c.main_pid
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into()),
                state,
                restarts,
                c.pids.len().to_string(),
            ]);
        }
        out.push_str(&table(
            &[
                t(lang, "  CONTAINER", "  容器"),
                t(lang, "PID", "PID"),
                t(lang, "STATE", "状态"),
                t(lang, "RESTARTS", "重启次数"),
                t(lang, "PROCS", "进程数"),
            ],
            &rows,
        ));
        if let Some(pod) = &sb.pod {
            for e in pod.events.iter().rev().take(5).rev() {
                out.push_str(&format!(
                    "  {:?} {} {}: {}\n",
                    e.kind, e.reason, e.object, e.message
                ));
            }
        }
    }
    out
}

fn ns_label(kind: NsKind) -> &'static str {
    match kind {
        NsKind::PidForChildren => "pid4child",
        other => other.file_name(),
    }
}

/// Rows: containers; columns: namespace types; cells: inode, with `=` when it is pause's.
pub fn namespaces(s: &Snapshot, lang: Lang) -> String {
    let by_pid: HashMap<i32, &ProcessInfo> = s.processes.iter().map(|p| (p.pid, p)).collect();
    let mut out = String::new();
    for sb in &s.sandboxes {
        let reference = if sb.pause.is_some() {
            "pause"
        } else {
            t(lang, "first", "首个进程")
        };
        out.push_str(&match lang {
            Lang::En => format!(
                "NAMESPACES {}   ({SHARED_MARK} same as {reference}, {OWN_MARK} own, ? unreadable)\n",
                sb.name
            ),
            Lang::Zh => format!(
                "命名空间 {}   （{SHARED_MARK} 与 {reference} 相同，{OWN_MARK} 自己的，? 读不到）\n",
                sb.name
            ),
        });
        let mut header: Vec<&str> = vec![t(lang, "CONTAINER", "容器")];
        header.extend(NsKind::ALL.iter().map(|k| ns_label(*k)));
        let mut rows = Vec::new();
        for c in &sb.containers {
            let proc_ns = c
                .main_pid
                .and_then(|p| by_pid.get(&p))
                .map(|p| &p.namespaces);
            let mut row = vec![c.name.clone()];
            for kind in NsKind::ALL {
                let inode = proc_ns.and_then(|ns| ns.get(&kind)).map(|id| id.inode);
                let mark = if c.shared_with_pause.contains(&kind) {
                    SHARED_MARK
                } else if c.own.contains(&kind) {
                    OWN_MARK
                } else {
                    " "
                };
                row.push(match inode {
                    Some(i) => format!("{mark}{i}"),
                    None => "?".to_string(),
                });
            }
            rows.push(row);
        }
        if !s.host.namespaces.is_empty() {
            rows.push(host_row(s, sb, &by_pid, lang));
        }
        out.push_str(&table(&header, &rows));
    }
    out
}

/// The host's own namespaces (PID 1's), `=` where the sandbox's pause is in them (a
/// hostNetwork pod's net and uts), as the explorer's matrix shows them.
fn host_row(
    s: &Snapshot,
    sb: &crate::observe::Sandbox,
    by_pid: &HashMap<i32, &ProcessInfo>,
    lang: Lang,
) -> Vec<String> {
    let pause = sb.pause.and_then(|p| by_pid.get(&p)).map(|p| &p.namespaces);
    let mut row = vec![t(lang, "host", "宿主机").to_string()];
    for kind in NsKind::ALL {
        let host = s.host.namespaces.get(&kind);
        let same = matches!(
            (host, pause.and_then(|ns| ns.get(&kind))),
            (Some(a), Some(b)) if a.same_as(b)
        );
        row.push(match host {
            Some(id) => format!("{}{}", if same { SHARED_MARK } else { " " }, id.inode),
            None => "?".to_string(),
        });
    }
    row
}

/// Interfaces and addresses, and who listens on which port.
pub fn network(s: &Snapshot, lang: Lang) -> String {
    let mut out = String::new();
    for n in &s.networks {
        let owner = s
            .sandboxes
            .iter()
            .find(|sb| sb.net.is_some_and(|id| id.same_as(&n.id)))
            .map(|sb| sb.name.as_str())
            .unwrap_or("-");
        out.push_str(&format!(
            "{} net:[{}]  ({owner})\n",
            t(lang, "NETWORK", "网络"),
            n.id.inode
        ));
        let rows: Vec<Vec<String>> = n
            .interfaces
            .iter()
            .map(|i| {
                let mut addrs = i.ipv4.clone();
                addrs.extend(i.ipv6.iter().cloned());
                vec![
                    format!("  {}", i.name),
                    if addrs.is_empty() {
                        "-".into()
                    } else {
                        addrs.join(" ")
                    },
                    format!("{}/{}", i.rx_packets, i.tx_packets),
                    format!("{}/{}", bytes(i.rx_bytes), bytes(i.tx_bytes)),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                t(lang, "  INTERFACE", "  网卡"),
                t(lang, "ADDRESSES", "地址"),
                t(lang, "PACKETS rx/tx", "包数 收/发"),
                t(lang, "BYTES rx/tx", "字节 收/发"),
            ],
            &rows,
        ));
        if !n.listeners.is_empty() {
            let rows: Vec<Vec<String>> = n
                .listeners
                .iter()
                .map(|l| {
                    let addr = if l.address.contains(':') {
                        format!("[{}]:{}", l.address, l.port)
                    } else {
                        format!("{}:{}", l.address, l.port)
                    };
                    vec![
                        format!("  {:?}", l.proto).to_lowercase(),
                        addr,
                        l.container.clone().unwrap_or_else(|| "-".into()),
                        l.pids
                            .iter()
                            .map(i32::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    t(lang, "  LISTENING", "  监听"),
                    t(lang, "ADDRESS", "地址"),
                    t(lang, "CONTAINER", "容器"),
                    t(lang, "PIDS", "PID"),
                ],
                &rows,
            ));
        }
    }
    out
}

/// Requests and limits in Kubernetes units, usage, throttling and OOM counts.
pub fn cgroups(s: &Snapshot, lang: Lang) -> String {
    let mut out = String::new();
    for sb in &s.sandboxes {
        let mut rows = Vec::new();
        if let Some(c) = &sb.cgroup {
            rows.push(cgroup_row(&format!("({})", t(lang, "pod", "Pod")), c));
        }
        for c in &sb.containers {
            if let Some(cg) = &c.cgroup {
                rows.push(cgroup_row(&c.name, cg));
            }
        }
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{} {}\n",
            t(lang, "CGROUPS", "cgroup 资源"),
            sb.name
        ));
        out.push_str(&table(
            &[
                t(lang, "CONTAINER", "容器"),
                t(lang, "CPU REQ", "CPU 请求"),
                t(lang, "CPU LIM", "CPU 上限"),
                t(lang, "MEM LIM", "内存上限"),
                t(lang, "MEM USED", "内存用量"),
                t(lang, "PIDS", "进程数"),
                t(lang, "THROTTLED", "被限流"),
                t(lang, "OOM KILLS", "OOM 杀死"),
                t(lang, "PATH", "路径"),
            ],
            &rows,
        ));
    }
    out
}

fn cgroup_row(name: &str, c: &CgroupInfo) -> Vec<String> {
    let dash = || "-".to_string();
    let throttled = match (c.nr_throttled, c.throttled_usec) {
        (Some(n), Some(us)) => format!("{n}× {:.1}s", us as f64 / 1e6),
        (Some(n), None) => format!("{n}×"),
        _ => dash(),
    };
    vec![
        name.to_string(),
        c.cpu_request_millis.map(millicores).unwrap_or_else(dash),
        c.cpu_limit_millis
            .map(|l| limit(l, millicores))
            .unwrap_or_else(dash),
        c.memory_limit.map(|l| limit(l, bytes)).unwrap_or_else(dash),
        c.memory_usage.map(bytes).unwrap_or_else(dash),
        match (c.pids_current, c.pids_max) {
            (Some(cur), Some(max)) => format!("{cur}/{}", limit(max, |v| v.to_string())),
            (Some(cur), None) => cur.to_string(),
            _ => dash(),
        },
        throttled,
        c.oom_kill.map(|n| n.to_string()).unwrap_or_else(dash),
        c.path.clone(),
    ]
}

/// A limit in the given unit, or "max" when there is none.
pub fn limit(l: Limit, show: impl Fn(u64) -> String) -> String {
    match l {
        Limit::Unlimited => "max".to_string(),
        Limit::Value(v) => show(v),
    }
}

/// 250 → "250m", 1000 → "1", 1500 → "1500m" (the way a manifest would say it).
pub fn millicores(m: u64) -> String {
    if m > 0 && m.is_multiple_of(1000) {
        (m / 1000).to_string()
    } else {
        format!("{m}m")
    }
}

/// Binary units as Kubernetes writes them: 67108864 → "64Mi", 1536 → "1.5Ki".
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["Ki", "Mi", "Gi", "Ti", "Pi"];
    if b < 1024 {
        return b.to_string();
    }
    let mut value = b as f64;
    let mut unit = "";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if (value - value.round()).abs() < 0.05 {
        format!("{}{unit}", value.round() as u64)
    } else {
        format!("{value:.1}{unit}")
    }
}

/// How far a pull is: "2/5 layers, 1.5Mi of 4Mi".
pub fn pull_progress(p: &crate::kube::image::PullProgress, lang: Lang) -> String {
    let (layers, comma, of) = match lang {
        Lang::En => (" layers", ", ", " of "),
        Lang::Zh => (" 层", "，", " / "),
    };
    format!(
        "{}/{}{layers}{comma}{}{of}{}",
        p.layers_done,
        p.layers,
        bytes(p.bytes_fetched()),
        bytes(p.bytes)
    )
}

/// What could not be read, in a few lines.
pub fn gaps(s: &Snapshot, lang: Lang) -> String {
    if s.gaps.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{} ({})\n",
        t(lang, "NOT READABLE", "未能读取"),
        s.gaps.len()
    );
    for g in s.gaps.iter().take(8) {
        out.push_str(&format!("  {}\n", gap_line(g, lang)));
    }
    if s.gaps.len() > 8 {
        out.push_str(&format!("  … {}\n", s.gaps.len() - 8));
    }
    out
}

pub fn gap_line(g: &Gap, lang: Lang) -> String {
    let why = match &g.reason {
        GapReason::Vanished => t(lang, "process exited", "进程已退出").to_string(),
        GapReason::PermissionDenied => t(lang, "permission denied", "权限不足").to_string(),
        GapReason::Zombie => t(
            lang,
            "zombie (nothing left to read)",
            "僵尸进程（已无可读内容）",
        )
        .to_string(),
        GapReason::Missing => t(lang, "not in this kernel", "此内核没有").to_string(),
        GapReason::Unparsable => t(lang, "not understood", "无法解析").to_string(),
        GapReason::Other(e) => e.clone(),
    };
    match g.pid {
        Some(pid) => format!("pid {pid} {}: {why}", g.what),
        None => format!("{}: {why}", g.what),
    }
}

/// Left-aligned columns sized by display width (CJK is two columns wide).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.width());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(widths[i].saturating_sub(cell.width()) + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// Cut to at most `max` display columns, with "…" when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for ch in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(ch);
        w += cw;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(millicores(250), "250m");
        assert_eq!(millicores(1000), "1");
        assert_eq!(millicores(0), "0m");
        assert_eq!(bytes(64 * 1024 * 1024), "64Mi");
        assert_eq!(bytes(1536), "1.5Ki");
        assert_eq!(bytes(100), "100");
    }

    #[test]
    fn table_aligns_by_display_width() {
        let t = table(&["容器", "X"], &[vec!["ab".into(), "1".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        // "容器" is 4 columns wide: "X" and "1" start in the same column.
        assert_eq!(lines[0].find('X').map(|i| lines[0][..i].width()), Some(6));
        assert_eq!(lines[1].find('1').map(|i| lines[1][..i].width()), Some(6));
    }

    #[test]
    fn truncate_wide() {
        assert_eq!(truncate("网络命名空间", 5), "网络…");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
