//! A network namespace as /proc/<pid>/net shows it: addresses, routes, interfaces, listeners.
//!
//! IPv4 addresses come from `fib_trie` (the LOCAL /32 entries are the addresses assigned to this
//! namespace) matched to an interface through `route`; IPv6 from `if_inet6`.
//!
//! `route`, `dev` and the socket tables go through procfs's parsers. procfs has none for
//! `fib_trie`, `if_inet6` and `sockstat`, which are parsed here.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use procfs::net::{
    InterfaceDeviceStatus, RouteEntries, TcpNetEntries, TcpState, UdpNetEntries, UdpState,
};
use procfs::{FromBufRead, FromBufReadSI};

use super::model::{Interface, Listener, Proto, Route};

/// Addresses with a `/32 host LOCAL` entry, deduplicated, in order of appearance.
/// Hand-written: procfs has no parser for `fib_trie`.
pub fn parse_fib_trie_local(text: &str) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    let mut last_leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(addr) = trimmed.strip_prefix("|-- ") {
            last_leaf = addr.trim().parse().ok();
        } else if trimmed.starts_with("/32 host LOCAL") {
            if let Some(addr) = last_leaf {
                if !out.contains(&addr) {
                    out.push(addr);
                }
            }
        }
    }
    out
}

/// The counters of `net/sockstat` and `sockstat6` that belong to the namespace and move when
/// its sockets come, go or change state: `sockets: used`, and `inuse` (TCP: hashed, i.e.
/// listening or connected; UDP: bound) and `tw` of each protocol line. `alloc` and `mem` are
/// host-wide and left out. Two equal results mean that, most likely, no socket started or
/// stopped listening in between. Hand-written: procfs has no parser for `sockstat`.
pub fn parse_socket_counts(text: &str, out: &mut Vec<u64>) {
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace().skip(1);
        while let (Some(key), Some(value)) = (words.next(), words.next()) {
            if matches!(key, "used" | "inuse" | "tw") {
                out.push(value.parse().unwrap_or(u64::MAX));
            }
        }
    }
}

/// A route as the kernel lists it: little-endian hex destination, gateway and mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRoute {
    pub interface: String,
    pub destination: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub mask: Ipv4Addr,
}

impl RawRoute {
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & u32::from(self.mask) == u32::from(self.destination)
    }

    pub fn to_route(&self) -> Route {
        let prefix = u32::from(self.mask).count_ones();
        Route {
            interface: self.interface.clone(),
            destination: format!("{}/{}", self.destination, prefix),
            gateway: (!self.gateway.is_unspecified()).then(|| self.gateway.to_string()),
        }
    }
}

/// The IPv4 routes of `net/route`; None when a line is not a route.
pub fn parse_route(text: &str) -> Option<Vec<RawRoute>> {
    let routes = RouteEntries::from_buf_read(text.as_bytes()).ok()?;
    Some(
        routes
            .0
            .into_iter()
            .map(|r| RawRoute {
                interface: r.iface,
                destination: r.destination,
                gateway: r.gateway,
                mask: r.mask,
            })
            .collect(),
    )
}

/// (interface, address/prefix) from `if_inet6`. Hand-written: procfs has no parser for it.
pub fn parse_if_inet6(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            let addr = parse_hex_ipv6(f.first()?)?;
            let prefix = u8::from_str_radix(f.get(2)?, 16).ok()?;
            Some((f.get(5)?.to_string(), format!("{addr}/{prefix}")))
        })
        .collect()
}

/// 32 hex digits in network order (if_inet6).
fn parse_hex_ipv6(hex: &str) -> Option<Ipv6Addr> {
    if hex.len() != 32 {
        return None;
    }
    let v = u128::from_str_radix(hex, 16).ok()?;
    Some(Ipv6Addr::from(v))
}

/// Interfaces with counters from `net/dev` (addresses filled in later), `lo` first and the
/// others by name; None when a line is not an interface.
pub fn parse_net_dev(text: &str) -> Option<Vec<Interface>> {
    let devices = InterfaceDeviceStatus::from_buf_read(text.as_bytes()).ok()?;
    let mut interfaces: Vec<Interface> = devices
        .0
        .into_values()
        .map(|d| Interface {
            name: d.name,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            rx_bytes: d.recv_bytes,
            rx_packets: d.recv_packets,
            tx_bytes: d.sent_bytes,
            tx_packets: d.sent_packets,
        })
        .collect();
    interfaces.sort_by(|a, b| (a.name != "lo", &a.name).cmp(&(b.name != "lo", &b.name)));
    Some(interfaces)
}

/// Listening (TCP) or bound and unconnected (UDP: its way of listening) sockets of one of the
/// tcp/tcp6/udp/udp6 tables; None when a line is not a socket.
pub fn parse_sockets(text: &str, proto: Proto) -> Option<Vec<Listener>> {
    let system = procfs::current_system_info();
    let listener = |local: SocketAddr, inode: u64| Listener {
        proto,
        address: local.ip().to_string(),
        port: local.port(),
        inode,
        pids: Vec::new(),
        container: None,
    };
    let listeners = match proto {
        Proto::Tcp | Proto::Tcp6 => TcpNetEntries::from_buf_read(text.as_bytes(), system)
            .ok()?
            .0
            .into_iter()
            .filter(|e| e.state == TcpState::Listen)
            .map(|e| listener(e.local_address, e.inode))
            .collect(),
        // UDP "state" 07 (TCP_CLOSE) is an unconnected, bound socket.
        Proto::Udp | Proto::Udp6 => UdpNetEntries::from_buf_read(text.as_bytes(), system)
            .ok()?
            .0
            .into_iter()
            .filter(|e| e.state == UdpState::Close)
            .map(|e| listener(e.local_address, e.inode))
            .collect(),
    };
    Some(listeners)
}

/// Put each IPv4 and IPv6 address on its interface. An IPv4 address goes to the interface whose
/// (non-default) route contains it; 127/8 to `lo`.
pub fn assign_addresses(
    interfaces: &mut Vec<Interface>,
    local_v4: &[Ipv4Addr],
    routes: &[RawRoute],
    v6: &[(String, String)],
) {
    for addr in local_v4 {
        let name = if addr.is_loopback() {
            Some("lo".to_string())
        } else {
            routes
                .iter()
                .filter(|r| !r.mask.is_unspecified() && r.contains(*addr))
                .max_by_key(|r| u32::from(r.mask).count_ones())
                .map(|r| r.interface.clone())
        };
        let name = name.unwrap_or_else(|| "?".to_string());
        interface_named(interfaces, &name)
            .ipv4
            .push(addr.to_string());
    }
    for (name, addr) in v6 {
        interface_named(interfaces, name).ipv6.push(addr.clone());
    }
}

fn interface_named<'a>(interfaces: &'a mut Vec<Interface>, name: &str) -> &'a mut Interface {
    let index = match interfaces.iter().position(|i| i.name == name) {
        Some(i) => i,
        None => {
            interfaces.push(Interface {
                name: name.to_string(),
                ipv4: Vec::new(),
                ipv6: Vec::new(),
                rx_bytes: 0,
                rx_packets: 0,
                tx_bytes: 0,
                tx_packets: 0,
            });
            interfaces.len() - 1
        }
    };
    &mut interfaces[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 10.88.0.0/16 2 0 2\n        |-- 10.88.0.0\n           /16 link UNICAST\n        |-- 10.88.0.7\n           /32 host LOCAL\n     |-- 127.0.0.1\n        /32 host LOCAL\nLocal:\n  +-- 0.0.0.0/0 3 0 5\n        |-- 10.88.0.7\n           /32 host LOCAL\n        |-- 10.88.255.255\n           /32 link BROADCAST\n";

    #[test]
    fn fib_trie_local_addresses() {
        let a = parse_fib_trie_local(FIB);
        assert_eq!(
            a,
            vec![Ipv4Addr::new(10, 88, 0, 7), Ipv4Addr::new(127, 0, 0, 1)]
        );
    }

    #[test]
    fn routes_and_assignment() {
        let routes = parse_route(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100580A\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
        )
        .expect("parses");
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].to_route().gateway.as_deref(), Some("10.88.0.1"));
        assert_eq!(routes[1].to_route().destination, "10.88.0.0/16");
        let mut ifs = parse_net_dev("Inter-|\n face |\n    lo:  10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 100 2 0 0 0 0 0 0 200 3 0 0 0 0 0 0\n").expect("parses");
        assert_eq!(ifs[1].tx_packets, 3);
        let v6 = parse_if_inet6("fe800000000000000000000000000001 02 40 20 80     eth0\n");
        assign_addresses(&mut ifs, &parse_fib_trie_local(FIB), &routes, &v6);
        assert_eq!(ifs[0].ipv4, vec!["127.0.0.1"]);
        assert_eq!(ifs[1].ipv4, vec!["10.88.0.7"]);
        assert_eq!(ifs[1].ipv6, vec!["fe80::1/64"]);
    }

    #[test]
    fn socket_counts() {
        let mut counts = Vec::new();
        parse_socket_counts(
            "sockets: used 10\nTCP: inuse 3 orphan 0 tw 1 alloc 9 mem 22\nUDP: inuse 2 mem 4\nFRAG: inuse 0 memory 0\n",
            &mut counts,
        );
        parse_socket_counts("TCP6: inuse 1\nbroken\nUDP6: inuse x\n", &mut counts);
        assert_eq!(counts, vec![10, 3, 1, 2, 0, 1, u64::MAX]);
    }

    #[test]
    fn tcp_listeners() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5631 1 0 100 0 0 10 0\n   1: 0100007F:0050 0100007F:9000 01 00000000:00000000 00:00000000 00000000     0        0 5632 1 0 100 0 0 10 0\n";
        let l = parse_sockets(t, Proto::Tcp).expect("parses");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].port, 8080);
        assert_eq!(l[0].address, "0.0.0.0");
        assert_eq!(l[0].inode, 5631);
        let t6 = "  sl header\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1\n";
        let l6 = parse_sockets(t6, Proto::Tcp6).expect("parses");
        assert_eq!(l6[0].address, "::1");
        assert_eq!(l6[0].port, 80);
    }
}
