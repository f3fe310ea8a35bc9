//! What /proc shows is written by processes (comm, cmdline) and the kernel, and read while it
//! changes: every parser must take any bytes. The first byte picks the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podlab::observe::net::{
    assign_addresses, parse_fib_trie_local, parse_if_inet6, parse_net_dev, parse_route,
    parse_sockets,
};
use podlab::observe::procfs_read::{
    parse_cgroup, parse_cmdline, parse_ns_link, parse_pid_list, parse_socket_link, parse_stat,
    parse_status,
};
use podlab::observe::Proto;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    match which % 8 {
        0 => {
            if let Some(stat) = parse_stat(bytes) {
                let _ = stat.kernel_thread();
                let _ = stat.cpu_seconds();
            }
        }
        1 => {
            let _ = parse_status(bytes);
        }
        2 => {
            let _ = parse_cmdline(bytes);
        }
        3 => {
            let _ = parse_cgroup(bytes);
        }
        4 => {
            let _ = parse_ns_link(bytes);
            let _ = parse_socket_link(bytes);
            let mut children = Vec::new();
            parse_pid_list(bytes, &mut children);
        }
        5 => {
            for proto in [Proto::Tcp, Proto::Tcp6, Proto::Udp, Proto::Udp6] {
                let _ = parse_sockets(&text, proto);
            }
        }
        _ => {
            // One namespace's network files, separated by NUL: fib_trie, route, dev, if_inet6.
            let mut files = text.split('\0');
            let fib = files.next().unwrap_or_default();
            let route = files.next().unwrap_or_default();
            let dev = files.next().unwrap_or_default();
            let inet6 = files.next().unwrap_or_default();
            let local = parse_fib_trie_local(fib);
            let routes = parse_route(route).unwrap_or_default();
            for r in &routes {
                let _ = r.to_route();
            }
            let mut interfaces = parse_net_dev(dev).unwrap_or_default();
            let v6 = parse_if_inet6(inet6);
            assign_addresses(&mut interfaces, &local, &routes, &v6);
        }
    }
});
