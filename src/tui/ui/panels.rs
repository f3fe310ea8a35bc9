//! The live panels as lines of styled text: process tree, namespace matrix, network,
//! cgroups and events. Units and marks come from `present::text`.

use std::collections::{HashMap, HashSet};

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::Ctx;
use crate::kube::pod_state::{human_age, EventType};
use crate::observe::{Limit, NsId, NsKind, Pressure, ProcessInfo, Role, Snapshot};
use crate::present::text::{self as otext, OWN_MARK, SHARED_MARK};
use crate::tui::app::Session;
use crate::tui::observed::Mark;
use crate::tui::words::{self, tr};
use crate::tui::wrap::fit;

fn snapshot<'a>(ctx: &'a Ctx) -> Option<&'a Snapshot> {
    ctx.app.shown().and_then(|o| o.snapshot.as_ref())
}

fn marked(ctx: &Ctx, mark: &Mark) -> bool {
    ctx.app.is_marked(mark, ctx.now)
}

/// A row that proves a lesson check that just passed.
fn proves(ctx: &Ctx, mark: &Mark) -> bool {
    ctx.app.is_evidence(mark, ctx.now)
}

/// How a proving row is drawn: bold, whatever the theme's colours (and `✓` in front).
fn proof_style(ctx: &Ctx) -> Style {
    ctx.theme.done.add_modifier(ratatui::style::Modifier::BOLD)
}

fn nothing(ctx: &Ctx) -> Vec<Line<'static>> {
    let text = if ctx.app.shown().is_none() {
        words::NO_DATA
    } else {
        words::NOTHING_YET
    };
    vec![Line::from(Span::styled(text.get(ctx.lang), ctx.theme.dim))]
}

/// Two columns in front of a row: `✓` when it proves a check that just passed, `+` when it
/// just changed, `▶` when it is selected.
fn row_prefix(proof: bool, changed: bool, selected: bool) -> String {
    format!(
        "{}{}",
        if proof {
            "✓"
        } else if changed {
            "+"
        } else {
            " "
        },
        if selected { "▶" } else { " " }
    )
}

/// Host PIDs of the selected container's processes.
fn selected_pids(ctx: &Ctx, s: &Snapshot) -> HashSet<i32> {
    let Some(sel) = ctx.app.selected.as_deref() else {
        return HashSet::new();
    };
    s.sandboxes
        .iter()
        .flat_map(|sb| sb.containers.iter())
        .filter(|c| c.name == sel && !c.is_pause)
        .flat_map(|c| c.pids.iter().copied())
        .collect()
}

pub fn processes(ctx: &Ctx, width: u16) -> Vec<Line<'static>> {
    let Some(s) = snapshot(ctx) else {
        return nothing(ctx);
    };
    let lang = ctx.lang;
    let mut lines = vec![Line::from(Span::styled(
        fit(
            &format!(
                "{}   {}   Z {}",
                words::HOST_PID.get(lang),
                words::NEW_PIDNS.get(lang),
                words::ZOMBIE.get(lang)
            ),
            width as usize,
        ),
        ctx.theme.dim,
    ))];
    let rows = otext::tree_rows(s, lang);
    if rows.is_empty() {
        lines.extend(nothing(ctx));
        return lines;
    }
    let by_pid: HashMap<i32, &ProcessInfo> = s.processes.iter().map(|p| (p.pid, p)).collect();
    let selected = selected_pids(ctx, s);
    for row in rows {
        let changed = marked(ctx, &Mark::Process(row.pid));
        let proof = proves(ctx, &Mark::Process(row.pid));
        let is_selected = selected.contains(&row.pid);
        let p = by_pid.get(&row.pid);
        let style = if proof {
            proof_style(ctx)
        } else if is_selected {
            ctx.theme.selected
        } else if changed {
            ctx.theme.changed
        } else if p.is_some_and(|p| p.state.is_zombie()) {
            ctx.theme.warning
        } else if p.is_some_and(|p| matches!(p.role, Role::Shim)) {
            ctx.theme.dim
        } else {
            ctx.theme.base
        };
        let text = fit(
            &format!("{}{}", row_prefix(proof, changed, is_selected), row.text),
            width as usize,
        );
        lines.push(Line::from(Span::styled(text, style)));
    }
    lines
}

/// The namespace kinds shown, most telling first; the rarely different ones only when wide.
fn ns_kinds(width: u16) -> Vec<NsKind> {
    let mut kinds = vec![
        NsKind::Net,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Pid,
        NsKind::Mnt,
        NsKind::Cgroup,
        NsKind::User,
        NsKind::Time,
    ];
    if width >= 130 {
        kinds.push(NsKind::PidForChildren);
    }
    kinds
}

/// Keep the items whose flag is set (the columns shown).
fn keep_flagged<T>(items: &mut Vec<T>, kept: &[bool]) {
    let mut flags = kept.iter();
    items.retain(|_| flags.next().copied().unwrap_or(false));
}

/// A user namespace that is not the host's: a pod's own (`hostUsers: false`).
fn own_user(kind: NsKind, id: Option<&NsId>, s: &Snapshot) -> bool {
    kind == NsKind::User
        && matches!((id, s.host.namespaces.get(&kind)), (Some(a), Some(b)) if !a.same_as(b))
}

fn ns_label(kind: NsKind) -> &'static str {
    match kind {
        NsKind::PidForChildren => "pid4child",
        other => other.file_name(),
    }
}

struct NsRow {
    name: String,
    /// What the panel's marks call the row: the container's name, or `host`.
    key: String,
    selected: bool,
    namespaces: Vec<(NsKind, Option<NsId>, &'static str)>,
}

/// The host's own namespaces (PID 1's), last, so the learner sees down each column which of
/// the pod's namespaces are the host's: `=` where pause is in the host's namespace (a
/// hostNetwork pod's net), no mark where the pod has its own.
fn host_row(
    s: &Snapshot,
    kinds: &[NsKind],
    by_pid: &HashMap<i32, &ProcessInfo>,
    lang: crate::i18n::Lang,
) -> NsRow {
    let pause = s
        .sandboxes
        .first()
        .and_then(|sb| sb.containers.iter().find(|c| c.is_pause))
        .and_then(|c| c.main_pid)
        .and_then(|pid| by_pid.get(&pid))
        .map(|p| &p.namespaces);
    let namespaces = kinds
        .iter()
        .map(|k| {
            let id = s.host.namespaces.get(k).copied();
            let same = match (id, pause.and_then(|n| n.get(k))) {
                (Some(a), Some(b)) => a.same_as(b),
                _ => false,
            };
            (*k, id, if same { SHARED_MARK } else { " " })
        })
        .collect();
    NsRow {
        name: tr(lang, "host", "宿主机").to_string(),
        key: "host".to_string(),
        selected: false,
        namespaces,
    }
}

pub fn namespaces(ctx: &Ctx, width: u16) -> Vec<Line<'static>> {
    let Some(s) = snapshot(ctx) else {
        return nothing(ctx);
    };
    let lang = ctx.lang;
    let mut kinds = ns_kinds(width);
    let by_pid: HashMap<i32, &ProcessInfo> = s.processes.iter().map(|p| (p.pid, p)).collect();
    let mut rows: Vec<NsRow> = Vec::new();
    let legend;
    if s.sandboxes.is_empty() {
        // Processes outside any sandbox: compare each tree's root with the host.
        legend = tr(
            lang,
            "= same as the host   * own   ? unreadable   + changed",
            "= 与宿主机相同   * 自己的   ? 读不到   + 刚变化",
        );
        let pids: HashSet<i32> = s.processes.iter().map(|p| p.pid).collect();
        for p in s
            .processes
            .iter()
            .filter(|p| !p.kernel_thread && !pids.contains(&p.ppid))
            .take(12)
        {
            let namespaces = kinds
                .iter()
                .map(|k| {
                    let id = p.namespaces.get(k).copied();
                    let mark = match (id, s.host.namespaces.get(k)) {
                        (Some(a), Some(b)) if a.same_as(b) => SHARED_MARK,
                        (Some(_), Some(_)) => OWN_MARK,
                        _ => " ",
                    };
                    (*k, id, mark)
                })
                .collect();
            let name = format!("{} {}", p.pid, p.comm);
            rows.push(NsRow {
                key: name.clone(),
                name,
                selected: false,
                namespaces,
            });
        }
    } else {
        legend = words::LEGEND_NS.get(lang);
        for sb in &s.sandboxes {
            // Containers not started yet have no namespaces to show.
            for c in sb.containers.iter().filter(|c| c.main_pid.is_some()) {
                let ns = c
                    .main_pid
                    .and_then(|p| by_pid.get(&p))
                    .map(|p| &p.namespaces);
                let namespaces = kinds
                    .iter()
                    .map(|k| {
                        let id = ns.and_then(|n| n.get(k));
                        let mark = if c.shared_with_pause.contains(k) {
                            SHARED_MARK
                        } else if c.own.contains(k) {
                            OWN_MARK
                        } else if c.is_pause && own_user(*k, id, s) {
                            // hostUsers: false: the pod's own user namespace, not the host's.
                            OWN_MARK
                        } else {
                            " "
                        };
                        (*k, ns.and_then(|n| n.get(k)).copied(), mark)
                    })
                    .collect();
                rows.push(NsRow {
                    name: c.name.clone(),
                    key: c.name.clone(),
                    selected: !c.is_pause && ctx.app.selected.as_deref() == Some(&c.name),
                    namespaces,
                });
            }
        }
        if !rows.is_empty() && !s.host.namespaces.is_empty() {
            rows.push(host_row(s, &kinds, &by_pid, lang));
        }
    }
    let mut lines = vec![Line::from(Span::styled(
        fit(legend, width as usize),
        ctx.theme.dim,
    ))];
    if rows.is_empty() {
        lines.extend(nothing(ctx));
        return lines;
    }
    let header_name = if s.sandboxes.is_empty() {
        tr(lang, "process", "进程")
    } else {
        words::CONTAINER.get(lang)
    };
    let name_w = rows
        .iter()
        .map(|r| r.name.width())
        .chain([header_name.width()])
        .max()
        .unwrap_or(8)
        .min(20);
    // Full inodes when they fit (leaving out user and time, which pods share with the host,
    // if that makes them fit); else the mark and the last four digits, still enough to compare
    // down a column.
    let fits = |n: usize| 2 + name_w + n * 12 <= width as usize;
    // A pod with a user namespace of its own (hostUsers: false) keeps the user column.
    let user_is_own = rows.iter().any(|r| {
        r.namespaces
            .iter()
            .any(|(k, id, _)| own_user(*k, id.as_ref(), s))
    });
    let full = if fits(kinds.len()) {
        true
    } else if fits(6) {
        // The first six kinds; with a pod's own user namespace, the first five and user.
        let kept: Vec<bool> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match user_is_own {
                false => i < 6,
                true => i < 5 || *k == NsKind::User,
            })
            .collect();
        keep_flagged(&mut kinds, &kept);
        for row in &mut rows {
            keep_flagged(&mut row.namespaces, &kept);
        }
        true
    } else {
        false
    };
    let cell_w = if full { 11 } else { 6 };
    let mut header = vec![Span::styled(
        format!("  {} ", fit(header_name, name_w)),
        ctx.theme.title,
    )];
    for k in &kinds {
        header.push(Span::styled(
            format!("{} ", fit(ns_label(*k), cell_w)),
            ctx.theme.title,
        ));
    }
    lines.push(Line::from(header));
    for row in rows {
        let changed: Vec<bool> = row
            .namespaces
            .iter()
            .map(|(k, _, _)| marked(ctx, &Mark::Namespace(row.key.clone(), *k)))
            .collect();
        let any_changed = changed.iter().any(|c| *c);
        let proof: Vec<bool> = row
            .namespaces
            .iter()
            .map(|(k, _, _)| proves(ctx, &Mark::Namespace(row.key.clone(), *k)))
            .collect();
        let any_proof = proof.iter().any(|p| *p);
        let name_style = if any_proof {
            proof_style(ctx)
        } else if row.selected {
            ctx.theme.selected
        } else {
            ctx.theme.base
        };
        let mut spans = vec![
            Span::raw(row_prefix(any_proof, any_changed, row.selected)),
            Span::styled(fit(&row.name, name_w), name_style),
            Span::raw(" "),
        ];
        for (((_, id, mark), changed), proof) in row.namespaces.iter().zip(changed).zip(proof) {
            let text = match id {
                Some(id) if full => format!("{mark}{}", id.inode),
                Some(id) => {
                    let digits = id.inode.to_string();
                    let tail = &digits[digits.len().saturating_sub(4)..];
                    format!("{mark}…{tail}")
                }
                None => "?".to_string(),
            };
            let style = if proof {
                proof_style(ctx)
            } else if changed {
                ctx.theme.changed
            } else if *mark == SHARED_MARK {
                ctx.theme.shared
            } else if *mark == OWN_MARK {
                ctx.theme.own
            } else {
                ctx.theme.dim
            };
            spans.push(Span::styled(fit(&text, cell_w), style));
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    lines
}

pub fn network(ctx: &Ctx, width: u16) -> Vec<Line<'static>> {
    let Some(s) = snapshot(ctx) else {
        return nothing(ctx);
    };
    let lang = ctx.lang;
    let w = width as usize;
    let mut lines = Vec::new();
    let state_ip = ctx
        .app
        .shown()
        .and_then(|o| o.state.as_ref())
        .and_then(|st| st.sandbox.as_ref())
        .and_then(|sb| sb.ip.clone());
    let ip = state_ip.or_else(|| {
        s.sandboxes
            .iter()
            .find_map(|sb| sb.pod.as_ref().and_then(|p| p.ip.clone()))
    });
    if ctx.app.session != Session::ReadOnly || ip.is_some() {
        let proof = proves(ctx, &Mark::PodIp);
        let style = if proof {
            proof_style(ctx)
        } else if marked(ctx, &Mark::PodIp) {
            ctx.theme.changed
        } else {
            ctx.theme.title
        };
        let text = format!(
            "{}{}: {}",
            if proof { "✓ " } else { "" },
            words::POD_IP.get(lang),
            ip.as_deref()
                .unwrap_or(tr(lang, "none yet (loopback only)", "还没有（只有回环）"))
        );
        lines.push(Line::from(Span::styled(fit(&text, w), style)));
    }
    if s.networks.is_empty() {
        lines.push(Line::from(Span::styled(
            tr(
                lang,
                "no network namespace of its own yet",
                "还没有自己的网络命名空间",
            ),
            ctx.theme.dim,
        )));
        return lines;
    }
    for n in &s.networks {
        lines.push(Line::from(Span::styled(
            fit(
                &format!("{} net:[{}]", words::INTERFACES.get(lang), n.id.inode),
                w,
            ),
            ctx.theme.title,
        )));
        for i in &n.interfaces {
            let changed = marked(ctx, &Mark::Interface(i.name.clone()));
            let proof = proves(ctx, &Mark::Interface(i.name.clone()));
            let mut addrs = i.ipv4.clone();
            addrs.extend(i.ipv6.iter().cloned());
            let addrs = if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(" ")
            };
            let text = format!(
                "{}{:<6} {addrs}  rx {} tx {}",
                row_prefix(proof, changed, false),
                i.name,
                otext::bytes(i.rx_bytes),
                otext::bytes(i.tx_bytes)
            );
            let style = if proof {
                proof_style(ctx)
            } else if changed {
                ctx.theme.changed
            } else {
                ctx.theme.base
            };
            lines.push(Line::from(Span::styled(fit(&text, w), style)));
        }
        lines.push(Line::from(Span::styled(
            words::LISTENING.get(lang),
            ctx.theme.title,
        )));
        if n.listeners.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("  {}", words::NO_LISTENERS.get(lang)),
                ctx.theme.dim,
            )));
        }
        for l in &n.listeners {
            let changed = marked(ctx, &Mark::Listener(l.port));
            let proof = proves(ctx, &Mark::Listener(l.port));
            let addr = if l.address.contains(':') {
                format!("[{}]:{}", l.address, l.port)
            } else {
                format!("{}:{}", l.address, l.port)
            };
            let who = match (&l.container, l.pids.first()) {
                (Some(c), Some(pid)) => format!("{c} (pid {pid})"),
                (Some(c), None) => c.clone(),
                (None, Some(pid)) => format!("pid {pid}"),
                (None, None) => "-".into(),
            };
            let selected = l.container.is_some() && l.container == ctx.app.selected;
            let text = format!(
                "{}{} {addr} ← {who}",
                row_prefix(proof, changed, selected),
                format!("{:?}", l.proto).to_lowercase()
            );
            let style = if proof {
                proof_style(ctx)
            } else if changed {
                ctx.theme.changed
            } else {
                ctx.theme.base
            };
            lines.push(Line::from(Span::styled(fit(&text, w), style)));
        }
    }
    lines
}

/// A usage bar with the percentage: `████░░░░ 48%`; no bar without a limit.
fn usage_bar(
    ctx: &Ctx,
    used: Option<u64>,
    limit: Option<Limit>,
    width: usize,
) -> Vec<Span<'static>> {
    let used_text = used.map(otext::bytes).unwrap_or_else(|| "-".into());
    match (used, limit) {
        (Some(u), Some(Limit::Value(l))) if l > 0 && width >= 6 => {
            let ratio = (u as f64 / l as f64).clamp(0.0, 1.0);
            let filled = (ratio * width as f64).round() as usize;
            vec![
                Span::styled(format!("{used_text:>6} "), ctx.theme.base),
                Span::styled("█".repeat(filled), ctx.theme.bar_full),
                Span::styled("░".repeat(width - filled), ctx.theme.bar_empty),
                Span::styled(format!(" {:>3.0}%", ratio * 100.0), ctx.theme.base),
            ]
        }
        _ => vec![Span::styled(format!("{used_text:>6} "), ctx.theme.base)],
    }
}

pub fn cgroups(ctx: &Ctx, width: u16) -> Vec<Line<'static>> {
    let Some(s) = snapshot(ctx) else {
        return nothing(ctx);
    };
    let lang = ctx.lang;
    let mut rows: Vec<(String, Mark, bool, &crate::observe::CgroupInfo)> = Vec::new();
    for sb in &s.sandboxes {
        if let Some(cg) = &sb.cgroup {
            rows.push((
                format!("({})", tr(lang, "pod", "Pod")),
                Mark::Cgroup(String::new()),
                false,
                cg,
            ));
        }
        for c in &sb.containers {
            if let Some(cg) = &c.cgroup {
                let selected = !c.is_pause && ctx.app.selected.as_deref() == Some(&c.name);
                rows.push((c.name.clone(), Mark::Cgroup(c.name.clone()), selected, cg));
            }
        }
    }
    if rows.is_empty() {
        return nothing(ctx);
    }
    let name_w = rows
        .iter()
        .map(|r| r.0.width())
        .chain([words::CONTAINER.get(lang).width()])
        .max()
        .unwrap_or(8)
        .min(16);
    let head = |t: &str, w: usize| Span::styled(format!("{} ", fit(t, w)), ctx.theme.title);
    let titles = [
        tr(lang, "CPU req", "CPU 请求"),
        tr(lang, "CPU lim", "CPU 上限"),
        tr(lang, "MEM lim", "内存上限"),
        tr(lang, "throttl", "被限流"),
        "OOM",
    ];
    // Columns: cpu req, cpu lim, mem lim, throttled, oom kills; then the usage bar.
    let widths: Vec<usize> = titles
        .iter()
        .zip([7, 7, 7, 8, 4])
        .map(|(t, w)| t.width().max(w))
        .collect();
    let fixed = 2 + name_w + 1 + widths.iter().map(|w| w + 1).sum::<usize>();
    let bar_w = (width as usize).saturating_sub(fixed + 13).clamp(0, 24);
    let mut header = vec![Span::raw("  "), head(words::CONTAINER.get(lang), name_w)];
    for (t, w) in titles.iter().zip(&widths) {
        header.push(head(t, *w));
    }
    header.push(head(tr(lang, "memory used", "内存用量"), 20));
    let mut lines = limits_not_enforced(ctx, width);
    lines.push(Line::from(header));
    let pressures: Vec<(String, Option<Pressure>, Option<Pressure>)> = rows
        .iter()
        .filter(|r| r.3.cpu_pressure.is_some() || r.3.memory_pressure.is_some())
        .map(|r| (r.0.clone(), r.3.cpu_pressure, r.3.memory_pressure))
        .collect();
    let weights: Vec<(String, bool, u64)> = rows
        .iter()
        .filter_map(|r| {
            let is_pod = matches!(&r.1, Mark::Cgroup(name) if name.is_empty());
            r.3.cpu_weight.map(|w| (r.0.clone(), is_pod, w))
        })
        .collect();
    for (name, mark, selected, cg) in rows {
        let changed = marked(ctx, &mark);
        let proof = proves(ctx, &mark);
        let dash = || "-".to_string();
        let cell = |t: String, w: usize| format!("{} ", fit(&t, w));
        let oom = cg.oom_kill.unwrap_or(0);
        let oom_text = match cg.oom_kill {
            Some(0) | None => cell(
                cg.oom_kill.map(|n| n.to_string()).unwrap_or_else(dash),
                widths[4],
            ),
            Some(n) => cell(format!("‼{n}"), widths[4]),
        };
        let name_style = if proof {
            proof_style(ctx)
        } else if selected {
            ctx.theme.selected
        } else {
            ctx.theme.base
        };
        let value_style = if proof {
            proof_style(ctx)
        } else if changed {
            ctx.theme.changed
        } else {
            ctx.theme.base
        };
        let mut spans = vec![
            Span::raw(row_prefix(proof, changed, selected)),
            Span::styled(cell(name, name_w), name_style),
            Span::styled(
                cell(
                    cg.cpu_request_millis
                        .map(otext::millicores)
                        .unwrap_or_else(dash),
                    widths[0],
                ),
                value_style,
            ),
            Span::styled(
                cell(
                    cg.cpu_limit_millis
                        .map(|l| otext::limit(l, otext::millicores))
                        .unwrap_or_else(dash),
                    widths[1],
                ),
                value_style,
            ),
            Span::styled(
                cell(
                    cg.memory_limit
                        .map(|l| otext::limit(l, otext::bytes))
                        .unwrap_or_else(dash),
                    widths[2],
                ),
                value_style,
            ),
            Span::styled(
                cell(
                    match cg.nr_throttled {
                        Some(n) => format!("{n}×"),
                        None => dash(),
                    },
                    widths[3],
                ),
                if cg.nr_throttled.unwrap_or(0) > 0 {
                    ctx.theme.warning
                } else {
                    ctx.theme.base
                },
            ),
            Span::styled(
                oom_text,
                if oom > 0 {
                    ctx.theme.warning
                } else {
                    ctx.theme.base
                },
            ),
        ];
        spans.extend(usage_bar(ctx, cg.memory_usage, cg.memory_limit, bar_w));
        lines.push(Line::from(spans));
    }
    lines.extend(weight_line(ctx, &weights, width));
    lines.extend(pressure_lines(ctx, &pressures, name_w));
    lines
}

/// cgroup v2: the `cpu.weight` of each row, since the pod's is kubelet's (a linear line) and a
/// container's runc's (a log curve): one CPU reads 39 on the pod and 100 on its container.
fn weight_line(ctx: &Ctx, weights: &[(String, bool, u64)], width: u16) -> Vec<Line<'static>> {
    let lang = ctx.lang;
    let pod = weights.iter().find(|w| w.1);
    let leaves: Vec<String> = weights
        .iter()
        .filter(|w| !w.1)
        .map(|(name, _, w)| format!("{name} {w}"))
        .collect();
    let Some((pod_name, _, pod_weight)) = pod else {
        return Vec::new();
    };
    if leaves.is_empty() {
        return Vec::new();
    }
    let text = format!(
        "{pod_name} {pod_weight} ({}) · {} ({})",
        tr(lang, "kubelet, linear", "kubelet，线性"),
        leaves.join(" · "),
        tr(lang, "runc, log curve", "runc，对数曲线"),
    );
    let label = "cpu.weight ";
    let room = (width as usize).saturating_sub(2 + label.width());
    vec![Line::from(vec![
        Span::raw("  "),
        Span::styled(label, ctx.theme.title),
        Span::styled(fit(&text, room), ctx.theme.base),
    ])]
}

/// cgroup v2 pressure (PSI): how much of the last 10 s some (or all) of a cgroup's tasks
/// waited for CPU or memory. Nothing on v1, which has no pressure files.
fn pressure_lines(
    ctx: &Ctx,
    rows: &[(String, Option<Pressure>, Option<Pressure>)],
    name_w: usize,
) -> Vec<Line<'static>> {
    if rows.is_empty() {
        return Vec::new();
    }
    let lang = ctx.lang;
    let col = 15;
    let cell = |t: &str, w: usize| format!("{} ", fit(t, w));
    let shown = |p: Option<Pressure>| match p {
        None => "-".to_string(),
        Some(p) => match p.full_avg10 {
            Some(full) => format!("{:.1}/{:.1}%", p.some_avg10, full),
            None => format!("{:.1}%", p.some_avg10),
        },
    };
    let mut lines = vec![Line::from(vec![
        Span::raw("  "),
        Span::styled(
            cell(tr(lang, "pressure 10s", "压力 10 秒"), name_w),
            ctx.theme.title,
        ),
        Span::styled(
            cell(tr(lang, "CPU some/full", "CPU 部分/全部"), col),
            ctx.theme.title,
        ),
        Span::styled(
            cell(tr(lang, "memory some/full", "内存 部分/全部"), col + 2),
            ctx.theme.title,
        ),
    ])];
    for (name, cpu, memory) in rows {
        let stalled = |p: &Option<Pressure>| p.is_some_and(|p| p.some_avg10 >= 1.0);
        let style = |p: &Option<Pressure>| {
            if stalled(p) {
                ctx.theme.warning
            } else {
                ctx.theme.base
            }
        };
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(cell(name, name_w), ctx.theme.base),
            Span::styled(cell(&shown(*cpu), col), style(cpu)),
            Span::styled(cell(&shown(*memory), col + 2), style(memory)),
        ]));
    }
    lines
}

/// A pod built without root where nothing enforces its limits: the cgroup panel says so, and
/// why, above values that are then only the user's own cgroup's.
fn limits_not_enforced(ctx: &Ctx, width: u16) -> Vec<Line<'static>> {
    let note = ctx
        .app
        .shown()
        .and_then(|o| o.state.as_ref())
        .and_then(|s| s.rootless.as_ref())
        .and_then(|r| r.limits_not_enforced.as_ref());
    let Some(note) = note else {
        return Vec::new();
    };
    crate::tui::wrap::wrap(&format!("⚠ {}", note.get(ctx.lang)), width as usize)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, ctx.theme.warning)))
        .collect()
}

/// The pod's events, oldest first, ending with the newest (scrolling goes back in time).
pub fn events(ctx: &Ctx, width: u16, height: u16) -> Vec<Line<'static>> {
    let Some(state) = ctx.app.shown().and_then(|o| o.state.as_ref()) else {
        return nothing(ctx);
    };
    let lang = ctx.lang;
    if state.events.is_empty() {
        return vec![Line::from(Span::styled(
            words::NO_EVENTS.get(lang),
            ctx.theme.dim,
        ))];
    }
    let wall = ctx
        .app
        .shown()
        .and_then(|o| o.wall_time())
        .unwrap_or(state.created_at);
    let reason_w = state
        .events
        .iter()
        .map(|e| e.reason.width())
        .max()
        .unwrap_or(8)
        .min(20);
    let all: Vec<Line<'static>> = state
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let changed = marked(ctx, &Mark::Event(i));
            let proof = proves(ctx, &Mark::Event(i));
            let warning = e.kind == EventType::Warning;
            let text = format!(
                "{}{:>5} {} {} {}",
                if proof {
                    "✓"
                } else if changed {
                    "+"
                } else {
                    " "
                },
                human_age(wall - e.time),
                if warning { "!" } else { "·" },
                fit(&e.reason, reason_w),
                // Which container, as kubectl 1.35 prefixes its field path (shortened here).
                match crate::kube::events::container_of(&e.object) {
                    Some(container) => format!("{container}: {}", e.message),
                    None => e.message.clone(),
                }
            );
            let style: Style = if proof {
                proof_style(ctx)
            } else if changed {
                ctx.theme.changed
            } else if warning {
                ctx.theme.warning
            } else {
                ctx.theme.base
            };
            Line::from(Span::styled(fit(&text, width as usize), style))
        })
        .collect();
    let back = ctx.app.scroll[crate::tui::app::Focus::Events.index()] as usize;
    let end = all
        .len()
        .saturating_sub(back.min(all.len().saturating_sub(1)));
    let start = end.saturating_sub(height as usize);
    all[start..end].to_vec()
}
