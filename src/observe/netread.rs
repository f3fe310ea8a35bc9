//! The network namespaces of shown sandboxes: interfaces, addresses, routes and listeners,
//! read through /proc/<pid>/net of one member each.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::group::Processes;
use super::model::{
    Gap, GapReason, Listener, NetNamespace, NsId, NsKind, ProcessInfo, Proto, Role, Sandbox,
};
use super::net;
use super::procfs_read::ProcDir;

/// Listening sockets are re-read at most this often per network namespace (or when the
/// sandbox's processes change): the kernel walks its whole TCP hash table for every read of
/// /proc/<pid>/net/tcp, milliseconds each.
const LISTENERS_TTL: Duration = Duration::from_secs(2);

/// While the namespace's socket counters (`net/sockstat`, `sockstat6`: cheap, no table walk)
/// stay the same, no socket came, went or started listening, and the listeners are kept this
/// long instead. A listener closed and another opened in the same quarter second would keep
/// the counts equal; this bounds how long that could go unseen.
const LISTENERS_QUIET_TTL: Duration = Duration::from_secs(10);

struct CachedListeners {
    read_at: Instant,
    members: Vec<i32>,
    /// The socket counters when the tables were read; empty when they could not be read.
    counts: Vec<u64>,
    listeners: Vec<Listener>,
}

pub struct NetReader {
    proc_root: PathBuf,
    buf: Vec<u8>,
    /// Whether to read listening sockets at all (see `Collector::set_listeners`).
    pub listeners_wanted: bool,
    listeners: HashMap<u64, CachedListeners>,
    counts: Vec<u64>,
}

impl NetReader {
    pub fn new(proc_root: PathBuf) -> NetReader {
        NetReader {
            proc_root,
            buf: Vec::with_capacity(8192),
            listeners_wanted: true,
            listeners: HashMap::new(),
            counts: Vec::new(),
        }
    }

    pub fn forget(&mut self) {
        self.listeners.clear();
    }

    pub fn read_networks(
        &mut self,
        sandboxes: &[Sandbox],
        procs: &Processes,
        gaps: &mut Vec<Gap>,
    ) -> Vec<NetNamespace> {
        let mut out: Vec<NetNamespace> = Vec::new();
        let mut refreshed_one_already = false;
        for sb in sandboxes {
            let Some(net) = sb.net else { continue };
            if out.iter().any(|n| n.id.same_as(&net)) {
                continue;
            }
            // Every live process of the sandbox in this net namespace.
            let members: Vec<&ProcessInfo> = sb
                .containers
                .iter()
                .flat_map(|c| c.pids.iter())
                .chain(sb.shim.iter())
                .filter_map(|p| procs.get(p))
                .filter(|p| !p.state.is_zombie())
                .filter(|p| {
                    p.namespaces
                        .get(&NsKind::Net)
                        .is_some_and(|n| n.same_as(&net))
                })
                .collect();
            let Some(via) = members.first().map(|p| p.pid) else {
                gaps.push(Gap {
                    pid: sb.pause,
                    what: format!("network of {}", sb.name),
                    reason: GapReason::Zombie,
                });
                continue;
            };
            let Ok(dir) = ProcDir::open(&self.proc_root, via) else {
                gaps.push(Gap {
                    pid: Some(via),
                    what: "net".into(),
                    reason: GapReason::Vanished,
                });
                continue;
            };
            let member_pids: Vec<i32> = members.iter().map(|p| p.pid).collect();
            if !self.listeners_wanted {
                out.push(self.read_net(&dir, net, false, gaps));
                continue;
            }
            // Read when new or when the members changed; when only old, at most one namespace
            // per tick is read again, so a host with many pods does not pay for all at once.
            self.read_socket_counts(&dir);
            let counts = &self.counts;
            let cached = self.listeners.get(&net.inode).filter(|c| {
                let age = c.read_at.elapsed();
                let quiet = !counts.is_empty() && c.counts == *counts;
                c.members == member_pids
                    && (age < LISTENERS_TTL
                        || (quiet && age < LISTENERS_QUIET_TTL)
                        || refreshed_one_already)
            });
            let cached = cached.map(|c| c.listeners.clone());
            let fresh = cached.is_none();
            if fresh && self.listeners.contains_key(&net.inode) {
                refreshed_one_already = true;
            }
            let mut ns = self.read_net(&dir, net, fresh, gaps);
            match cached {
                Some(listeners) => ns.listeners = listeners,
                None => {
                    if !ns.listeners.is_empty() {
                        self.attach_listener_owners(&mut ns, &members, gaps);
                    }
                    self.listeners.insert(
                        net.inode,
                        CachedListeners {
                            read_at: Instant::now(),
                            members: member_pids,
                            counts: self.counts.clone(),
                            listeners: ns.listeners.clone(),
                        },
                    );
                }
            }
            out.push(ns);
        }
        // Forget the namespaces of sandboxes that are gone.
        self.listeners
            .retain(|inode, _| out.iter().any(|n| n.id.inode == *inode));
        out
    }

    /// The namespace's socket counters into `self.counts`; empty if either file is unreadable.
    fn read_socket_counts(&mut self, dir: &ProcDir) {
        self.counts.clear();
        for file in ["net/sockstat", "net/sockstat6"] {
            if dir.read(file, &mut self.buf).is_err() {
                self.counts.clear();
                return;
            }
            net::parse_socket_counts(&String::from_utf8_lossy(&self.buf), &mut self.counts);
        }
    }

    fn read_net(
        &mut self,
        dir: &ProcDir,
        id: NsId,
        with_listeners: bool,
        gaps: &mut Vec<Gap>,
    ) -> NetNamespace {
        let pid = dir.pid;
        let read = |name: &str, buf: &mut Vec<u8>, gaps: &mut Vec<Gap>| -> String {
            match dir.read(name, buf) {
                Ok(()) => String::from_utf8_lossy(buf).into_owned(),
                Err(e) => {
                    // No IPv6 in this kernel or namespace: if_inet6 and tcp6 are simply absent.
                    if e.kind() != std::io::ErrorKind::NotFound || !name.contains('6') {
                        gaps.push(Gap {
                            pid: Some(pid),
                            what: name.to_string(),
                            reason: GapReason::from_io(&e),
                        });
                    }
                    String::new()
                }
            }
        };
        let buf = &mut self.buf;
        let fib = read("net/fib_trie", buf, gaps);
        let route = read("net/route", buf, gaps);
        let inet6 = read("net/if_inet6", buf, gaps);
        let dev = read("net/dev", buf, gaps);
        let mut unparsable = |what: &str| {
            gaps.push(Gap {
                pid: Some(pid),
                what: what.to_string(),
                reason: GapReason::Unparsable,
            })
        };
        let routes = net::parse_route(&route).unwrap_or_else(|| {
            unparsable("net/route");
            Vec::new()
        });
        let mut interfaces = net::parse_net_dev(&dev).unwrap_or_else(|| {
            unparsable("net/dev");
            Vec::new()
        });
        net::assign_addresses(
            &mut interfaces,
            &net::parse_fib_trie_local(&fib),
            &routes,
            &net::parse_if_inet6(&inet6),
        );
        let mut listeners = Vec::new();
        let tables = if with_listeners {
            &SOCKET_TABLES[..]
        } else {
            &[]
        };
        for (file, proto) in tables.iter().copied() {
            let text = read(file, buf, gaps);
            match net::parse_sockets(&text, proto) {
                Some(found) => listeners.extend(found),
                None => gaps.push(Gap {
                    pid: Some(pid),
                    what: file.to_string(),
                    reason: GapReason::Unparsable,
                }),
            }
        }
        NetNamespace {
            id,
            read_via: pid,
            interfaces,
            routes: routes.iter().map(net::RawRoute::to_route).collect(),
            listeners,
        }
    }

    /// Which shown process holds each listening socket: match socket inodes in /proc/<pid>/fd.
    fn attach_listener_owners(
        &mut self,
        ns: &mut NetNamespace,
        members: &[&ProcessInfo],
        gaps: &mut Vec<Gap>,
    ) {
        let mut inodes = Vec::new();
        for p in members {
            inodes.clear();
            let result = ProcDir::open(&self.proc_root, p.pid)
                .and_then(|dir| dir.socket_inodes(&mut inodes));
            if let Err(e) = result {
                gaps.push(Gap {
                    pid: Some(p.pid),
                    what: "fd".into(),
                    reason: GapReason::from_io(&e),
                });
                continue;
            }
            for l in ns
                .listeners
                .iter_mut()
                .filter(|l| inodes.contains(&l.inode))
            {
                l.pids.push(p.pid);
                if l.container.is_none() {
                    l.container = match &p.role {
                        Role::Container(name) => Some(name.clone()),
                        Role::Pause => Some("pause".into()),
                        _ => None,
                    };
                }
            }
        }
    }
}

const SOCKET_TABLES: [(&str, Proto); 4] = [
    ("net/tcp", Proto::Tcp),
    ("net/tcp6", Proto::Tcp6),
    ("net/udp", Proto::Udp),
    ("net/udp6", Proto::Udp6),
];
