//! IPv4 ranges: parsing, the gateway and pod addresses inside a range, and overlap checks.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An IPv4 network such as `10.88.0.0/16` (host bits always zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix_len: u8,
}

/// The private ranges of RFC 1918: pod traffic never leaves the machine, so a pod range must
/// not shadow an address that exists somewhere else.
const PRIVATE_RANGES: [(Ipv4Addr, u8); 3] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
];

impl Ipv4Cidr {
    /// 10.88.0.0/16, the range of containerd's reference CNI config.
    pub const CONTAINERD_DEFAULT: Ipv4Cidr = Ipv4Cidr {
        network: Ipv4Addr::new(10, 88, 0, 0),
        prefix_len: 16,
    };

    /// A range from its network address; fails when host bits are set.
    pub fn new(network: Ipv4Addr, prefix_len: u8) -> Result<Ipv4Cidr, String> {
        if prefix_len > 32 {
            return Err(format!("prefix length {prefix_len} is larger than 32"));
        }
        let cidr = Ipv4Cidr {
            network: Ipv4Addr::from(u32::from(network) & mask(prefix_len)),
            prefix_len,
        };
        if cidr.network != network {
            return Err(format!("host bits are set; did you mean {cidr}?"));
        }
        Ok(cidr)
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Number of addresses in the range, network and broadcast included.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix_len))
    }

    fn first(&self) -> u32 {
        u32::from(self.network)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix_len)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix_len) == self.first()
    }

    /// Two ranges overlap when one contains the other's network address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }

    /// The bridge's address: the first usable address, as CNI's bridge plugin picks it.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first() + 1)
    }

    /// Addresses a pod may get: after the gateway, before the broadcast address.
    pub fn pod_addresses(&self) -> impl Iterator<Item = Ipv4Addr> {
        let (first, last) = (self.first(), self.last());
        (first.saturating_add(2)..last).map(Ipv4Addr::from)
    }

    /// True when the whole range lies inside an RFC 1918 private range.
    pub fn is_private(&self) -> bool {
        PRIVATE_RANGES.iter().any(|&(net, len)| {
            self.prefix_len >= len && u32::from(self.network) & mask(len) == u32::from(net)
        })
    }

    /// The first range of the same size inside 10.0.0.0/8, from 10.88.0.0 on, that overlaps
    /// none of `taken`: what to suggest when the configured range is in use.
    pub fn free_alternative(&self, taken: &[Ipv4Cidr]) -> Option<Ipv4Cidr> {
        let len = self.prefix_len.max(8);
        let step = 1u64 << (32 - u32::from(len));
        let start = u64::from(u32::from(Ipv4Addr::new(10, 88, 0, 0)));
        let end = u64::from(u32::from(Ipv4Addr::new(11, 0, 0, 0)));
        let wrap = u64::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)));
        let candidates = (start..end)
            .step_by(step as usize)
            .chain((wrap..start).step_by(step as usize));
        candidates
            .filter_map(|n| u32::try_from(n).ok())
            .filter_map(|n| Ipv4Cidr::new(Ipv4Addr::from(n), len).ok())
            .find(|c| !taken.iter().any(|t| t.overlaps(c)))
    }
}

fn mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n => u32::MAX << (32 - u32::from(n.min(32))),
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Ipv4Cidr, String> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not of the form ADDRESS/PREFIX, e.g. 10.88.0.0/16"))?;
        let network: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
        let prefix_len: u8 = len
            .parse()
            .map_err(|_| format!("{len:?} is not a prefix length"))?;
        Ipv4Cidr::new(network, prefix_len)
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = String;

    fn try_from(s: String) -> Result<Ipv4Cidr, String> {
        s.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().expect("test cidr parses")
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(cidr("10.88.0.0/16").to_string(), "10.88.0.0/16");
        assert_eq!(cidr("0.0.0.0/0").size(), 1 << 32);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "10.88.0.0",
            "10.88.0.0/33",
            "10.88.0.1/16",
            "ten/8",
            "10.88.0.0/x",
            "",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
        let err = "10.88.0.5/16".parse::<Ipv4Cidr>().expect_err("host bits");
        assert!(err.contains("10.88.0.0/16"), "{err}");
    }

    #[test]
    fn gateway_and_pod_addresses() {
        let c = cidr("10.88.0.0/16");
        assert_eq!(c.gateway(), Ipv4Addr::new(10, 88, 0, 1));
        let mut pods = c.pod_addresses();
        assert_eq!(pods.next(), Some(Ipv4Addr::new(10, 88, 0, 2)));
        assert_eq!(pods.last(), Some(Ipv4Addr::new(10, 88, 255, 254)));
        assert_eq!(
            cidr("10.0.0.0/30").pod_addresses().collect::<Vec<_>>(),
            vec![Ipv4Addr::new(10, 0, 0, 2)]
        );
        assert_eq!(cidr("10.0.0.0/31").pod_addresses().count(), 0);
        assert_eq!(cidr("10.0.0.0/32").pod_addresses().count(), 0);
    }

    #[test]
    fn overlap() {
        assert!(cidr("10.88.0.0/16").overlaps(&cidr("10.88.3.0/24")));
        assert!(cidr("10.88.3.0/24").overlaps(&cidr("10.0.0.0/8")));
        assert!(!cidr("10.88.0.0/16").overlaps(&cidr("10.89.0.0/16")));
        assert!(cidr("10.88.0.0/16").contains(Ipv4Addr::new(10, 88, 200, 7)));
        assert!(!cidr("10.88.0.0/16").contains(Ipv4Addr::new(10, 89, 0, 1)));
    }

    #[test]
    fn private_ranges() {
        assert!(cidr("10.88.0.0/16").is_private());
        assert!(cidr("172.20.0.0/16").is_private());
        assert!(cidr("192.168.7.0/24").is_private());
        assert!(!cidr("172.0.0.0/8").is_private());
        assert!(!cidr("8.8.8.0/24").is_private());
        assert!(!cidr("10.0.0.0/7").is_private());
    }

    #[test]
    fn suggests_a_free_range() {
        let c = cidr("10.88.0.0/16");
        assert_eq!(
            c.free_alternative(&[cidr("10.88.0.0/16")]),
            Some(cidr("10.89.0.0/16"))
        );
        assert_eq!(
            c.free_alternative(&[cidr("10.88.0.0/15")]),
            Some(cidr("10.90.0.0/16"))
        );
        assert_eq!(
            c.free_alternative(&[cidr("10.64.0.0/10"), cidr("10.128.0.0/9")]),
            Some(cidr("10.0.0.0/16"))
        );
        assert_eq!(c.free_alternative(&[cidr("10.0.0.0/8")]), None);
    }
}
