//! The kernel requests podlab makes, one function per `ip` command it stands for.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::Netlink;
use crate::kube::pod_network::Ipv4Cidr;

/// What podlab needs to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// "veth", "bridge", … (None for physical devices and lo).
    pub kind: Option<String>,
    /// Index of the bridge it is attached to.
    pub master: Option<u32>,
}

/// A route of the host, for overlap checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: Ipv4Cidr,
    pub output_interface: Option<u32>,
    /// How `ip route` would show it, for error messages.
    pub shown: String,
}

fn link_message(index: u32) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message
}

fn summarize(message: &LinkMessage) -> Link {
    let mut link = Link {
        index: message.header.index,
        name: String::new(),
        kind: None,
        master: None,
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => link.name = name.clone(),
            LinkAttribute::Controller(index) => link.master = Some(*index),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(kind) = info {
                        link.kind = Some(kind.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}

/// `ip link show`
pub fn list_links(nl: &mut Netlink) -> io::Result<Vec<Link>> {
    let answers = nl.dump(RouteNetlinkMessage::GetLink(link_message(0)))?;
    Ok(answers
        .iter()
        .filter_map(|a| match a {
            RouteNetlinkMessage::NewLink(m) => Some(summarize(m)),
            _ => None,
        })
        .collect())
}

/// `ip link show NAME`; None when there is no such interface.
pub fn find_link(nl: &mut Netlink, name: &str) -> io::Result<Option<Link>> {
    Ok(list_links(nl)?.into_iter().find(|l| l.name == name))
}

/// `ip link add NAME type bridge`
pub fn add_bridge(nl: &mut Netlink, name: &str) -> io::Result<()> {
    let mut message = link_message(0);
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    message
        .attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    nl.execute(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// `ip link add HOST master BRIDGE type veth peer name PEER netns <netns>`: the peer is born
/// inside the pod's namespace, so it never shows up on the host.
pub fn add_veth_pair(
    nl: &mut Netlink,
    host: &str,
    master: u32,
    peer: &str,
    peer_netns: RawFd,
) -> io::Result<()> {
    let mut peer_message = link_message(0);
    peer_message
        .attributes
        .push(LinkAttribute::IfName(peer.to_string()));
    peer_message
        .attributes
        .push(LinkAttribute::NetNsFd(peer_netns));
    let mut message = link_message(0);
    message
        .attributes
        .push(LinkAttribute::IfName(host.to_string()));
    message.attributes.push(LinkAttribute::Controller(master));
    message.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_message))),
    ]));
    nl.execute(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// `ip link set DEV up`
pub fn set_up(nl: &mut Netlink, index: u32) -> io::Result<()> {
    let mut message = link_message(index);
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    nl.execute(RouteNetlinkMessage::SetLink(message), 0)
}

/// `ip link del DEV` (for a veth this removes its peer too)
pub fn delete_link(nl: &mut Netlink, index: u32) -> io::Result<()> {
    nl.execute(RouteNetlinkMessage::DelLink(link_message(index)), 0)
}

/// `ip addr add IP/PREFIX dev DEV`
pub fn add_address(nl: &mut Netlink, index: u32, ip: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = prefix_len;
    message.header.index = index;
    message
        .attributes
        .push(AddressAttribute::Local(IpAddr::V4(ip)));
    message
        .attributes
        .push(AddressAttribute::Address(IpAddr::V4(ip)));
    if prefix_len < 31 {
        let broadcast = u32::from(ip) | (u32::MAX >> prefix_len);
        message
            .attributes
            .push(AddressAttribute::Broadcast(Ipv4Addr::from(broadcast)));
    }
    nl.execute(
        RouteNetlinkMessage::NewAddress(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// `ip -4 addr show dev DEV`: its IPv4 addresses with prefix lengths.
pub fn ipv4_addresses(nl: &mut Netlink, index: u32) -> io::Result<Vec<(Ipv4Addr, u8)>> {
    let mut request = AddressMessage::default();
    request.header.family = AddressFamily::Inet;
    let answers = nl.dump(RouteNetlinkMessage::GetAddress(request))?;
    let mut found = Vec::new();
    for answer in answers {
        let RouteNetlinkMessage::NewAddress(message) = answer else {
            continue;
        };
        if message.header.index != index {
            continue;
        }
        for attribute in &message.attributes {
            if let AddressAttribute::Local(IpAddr::V4(ip)) = attribute {
                found.push((*ip, message.header.prefix_len));
            }
        }
    }
    Ok(found)
}

/// `ip route add default via GATEWAY`
pub fn add_default_route(nl: &mut Netlink, gateway: Ipv4Addr) -> io::Result<()> {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet;
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    message
        .attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    nl.execute(
        RouteNetlinkMessage::NewRoute(message),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// `ip -4 route show table all`, without default routes (they cover everything by design).
pub fn ipv4_routes(nl: &mut Netlink, links: &[Link]) -> io::Result<Vec<Route>> {
    let mut request = RouteMessage::default();
    request.header.address_family = AddressFamily::Inet;
    let answers = nl.dump(RouteNetlinkMessage::GetRoute(request))?;
    let mut routes = Vec::new();
    for answer in answers {
        let RouteNetlinkMessage::NewRoute(message) = answer else {
            continue;
        };
        let header = &message.header;
        if header.address_family != AddressFamily::Inet || header.destination_prefix_length == 0 {
            continue;
        }
        if matches!(header.kind, RouteType::Multicast) {
            continue;
        }
        let mut destination = None;
        let mut output_interface = None;
        for attribute in &message.attributes {
            match attribute {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => destination = Some(*ip),
                RouteAttribute::Oif(index) => output_interface = Some(*index),
                _ => {}
            }
        }
        let Some(network) = destination else { continue };
        // Local and broadcast routes name single addresses; mask host bits to get a range.
        let len = header.destination_prefix_length.min(32);
        let masked = if len == 0 {
            0
        } else {
            u32::from(network) & (u32::MAX << (32 - u32::from(len)))
        };
        let Ok(destination) = Ipv4Cidr::new(Ipv4Addr::from(masked), len) else {
            continue;
        };
        let device = output_interface
            .and_then(|i| links.iter().find(|l| l.index == i))
            .map(|l| format!(" dev {}", l.name))
            .unwrap_or_default();
        let kind = match header.kind {
            RouteType::Local => "local ",
            RouteType::Broadcast => "broadcast ",
            RouteType::BlackHole => "blackhole ",
            RouteType::Unreachable => "unreachable ",
            RouteType::Prohibit => "prohibit ",
            _ => "",
        };
        let shown_destination = if len == 32 {
            network.to_string()
        } else {
            destination.to_string()
        };
        routes.push(Route {
            destination,
            output_interface,
            shown: format!("{kind}{shown_destination}{device}"),
        });
    }
    Ok(routes)
}
