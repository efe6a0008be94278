//! Where a request comes from, and what that allows: the client's address (believing
//! `X-Forwarded-For` only from trusted proxies) and the roles usable from it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::auth::Role;

/// The client's address, from the connection's peer and the request's `X-Forwarded-For`
/// values. From a trusted proxy, the chain is read from the right (the proxies nearest us
/// append last) and the first address that is not itself a trusted proxy is the client; a
/// client cannot forge its way past that, since anything it put in the header sits to the
/// left. From anyone else the header is ignored.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    security: &SecuritySettings,
) -> Option<IpAddr> {
    if !listed(&security.trusted_proxies, peer) {
        return Some(peer);
    }
    let chain: Vec<Option<IpAddr>> = forwarded_for.flat_map(|v| v.split(',')).map(hop).collect();
    match from_chain(&chain, &security.trusted_proxies) {
        Hop::Client(ip) => Some(ip),
        // No header: the proxy asked on its own behalf (a health check).
        Hop::Proxy => Some(peer),
        Hop::Unreadable => None,
    }
}

/// One `X-Forwarded-For` entry: an address, or `address:port` as some proxies write it.
fn hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// What a trusted proxy's chain says about the client.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    /// The first untrusted address from the right.
    Client(IpAddr),
    /// No addresses at all.
    Proxy,
    /// Where the client's address should be there is something that is not an address: the
    /// client is unknown. Never the proxy's own address, which an allowlist may hold.
    Unreadable,
}

fn from_chain(chain: &[Option<IpAddr>], trusted: &[IpNet]) -> Hop {
    for entry in chain.iter().rev() {
        match entry {
            Some(ip) if listed(trusted, *ip) => {}
            Some(ip) => return Hop::Client(*ip),
            None => return Hop::Unreadable,
        }
    }
    // Every hop a trusted proxy: the leftmost is where the request came from.
    match chain.first() {
        Some(Some(ip)) => Hop::Client(*ip),
        _ => Hop::Proxy,
    }
}

/// Whether the address is in one of the networks (IPv4-mapped IPv6 counts as IPv4).
pub fn listed(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

/// A CIDR network, or a bare address as the one-address network it is (`192.0.2.7`,
/// `2001:db8::1`): allowlists are written both ways.
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Serde helpers for settings that hold networks (`[security]`), accepting bare addresses.
pub mod nets {
    use std::collections::BTreeMap;

    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer, de::Error};

    use crate::auth::Role;

    fn parse<E: Error>(list: Vec<String>) -> Result<Vec<IpNet>, E> {
        list.iter()
            .map(|s| super::parse_net(s).ok_or_else(|| E::custom(format!("{s:?} is not an address or a CIDR network"))))
            .collect()
    }

    /// A list of networks.
    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        parse(Vec::<String>::deserialize(d)?)
    }

    /// Networks per role.
    pub fn by_role<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Role, Vec<IpNet>>, D::Error> {
        BTreeMap::<String, Vec<String>>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| {
                let role = k.parse::<Role>().map_err(|e| D::Error::custom(format!("security.role_allowlists: {e}")))?;
                Ok((role, parse(v)?))
            })
            .collect()
    }
}

/// The roles usable from `ip`: those without an allowlist, and those whose list has it. An
/// unknown address (no peer) passes only roles without a list.
pub fn usable_roles(roles: &[Role], ip: Option<IpAddr>, lists: &BTreeMap<Role, Vec<IpNet>>) -> Vec<Role> {
    roles
        .iter()
        .filter(|r| match lists.get(r) {
            None => true,
            Some(nets) => ip.is_some_and(|ip| listed(nets, ip)),
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_client_is_the_first_untrusted_address_from_the_right() {
        let trusted = nets(&["10.0.0.0/8"]);
        let chain = [Some(ip("6.6.6.6")), Some(ip("203.0.113.9")), Some(ip("10.0.0.2"))];
        assert_eq!(from_chain(&chain, &trusted), Hop::Client(ip("203.0.113.9")), "the forged 6.6.6.6 is ignored");
        assert_eq!(from_chain(&[Some(ip("10.0.0.3")), Some(ip("10.0.0.2"))], &trusted), Hop::Client(ip("10.0.0.3")));
        assert_eq!(from_chain(&[], &trusted), Hop::Proxy);
        // Junk a client put on the left is never reached; junk where the client should be
        // makes the client unknown, not the proxy.
        let junk: Vec<Option<IpAddr>> = ["garbage", "203.0.113.5"].into_iter().map(hop).collect();
        assert_eq!(from_chain(&junk, &trusted), Hop::Client(ip("203.0.113.5")));
        let junk: Vec<Option<IpAddr>> = ["203.0.113.5", "garbage", "10.0.0.2"].into_iter().map(hop).collect();
        assert_eq!(from_chain(&junk, &trusted), Hop::Unreadable);
        assert_eq!(hop(" 198.51.100.7:4711"), Some(ip("198.51.100.7")));
        assert_eq!(hop("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
    }

    #[test]
    fn roles_outside_their_allowlist_are_not_usable() {
        let mut lists = BTreeMap::new();
        lists.insert(Role::Admin, nets(&["10.0.0.0/8", "::1/128"]));
        let roles = vec![Role::Agent, Role::Admin];
        assert_eq!(usable_roles(&roles, Some(ip("10.1.2.3")), &lists), roles);
        assert_eq!(usable_roles(&roles, Some(ip("192.0.2.1")), &lists), vec![Role::Agent]);
        assert_eq!(usable_roles(&roles, None, &lists), vec![Role::Agent]);
        assert_eq!(usable_roles(&roles, Some(ip("::ffff:10.0.0.1")), &lists), roles, "IPv4-mapped");
    }
}

/// Where requests may come from, and whom to believe about it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Load balancers and proxies (CIDRs) whose `X-Forwarded-For` is believed. A request from
    /// anywhere else is taken to come from its peer address, whatever its headers say.
    #[serde(deserialize_with = "crate::auth::address::nets::list")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Per role, the CIDRs its holders may use it from (e.g. `admin = ["10.0.0.0/8"]`); roles
    /// not listed work from anywhere. Outside a role's list an agent works with their other
    /// roles; with none left, the request is refused (403 `ip_not_allowed`, audited).
    #[serde(deserialize_with = "crate::auth::address::nets::by_role")]
    pub role_allowlists: std::collections::BTreeMap<crate::auth::Role, Vec<ipnet::IpNet>>,
    /// Origins besides the server's own (`https://care.example.com`) whose pages may open a
    /// live session authenticated by the console's cookie (a console served from elsewhere).
    pub allowed_origins: Vec<String>,
}
