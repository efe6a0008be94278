//! Where a request comes from, and what that allows: the client's address (believing
//! `X-Forwarded-For` only from trusted proxies) and the roles usable from it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::config::SecuritySettings;

/// The client's address. From a trusted proxy, the `X-Forwarded-For` chain is read from the
/// right (the proxies nearest us append last) and the first address that is not itself a
/// trusted proxy is the client; a client cannot forge its way past that, since anything it put
/// in the header sits to the left. From anyone else the header is ignored.
pub fn client_ip(req: &HttpRequest, security: &SecuritySettings) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !listed(&security.trusted_proxies, peer) {
        return Some(peer);
    }
    let chain: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|a| a.trim().parse::<IpAddr>().ok())
        .collect();
    Some(from_chain(&chain, &security.trusted_proxies).unwrap_or(peer))
}

fn from_chain(chain: &[IpAddr], trusted: &[IpNet]) -> Option<IpAddr> {
    chain.iter().rev().find(|a| !listed(trusted, **a)).or_else(|| chain.first()).copied()
}

/// Whether the address is in one of the networks (IPv4-mapped IPv6 counts as IPv4).
pub fn listed(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

/// The roles usable from `ip`: those without an allowlist, and those whose list has it. An
/// unknown address (no peer) passes only roles without a list.
pub fn usable_roles(roles: &[String], ip: Option<IpAddr>, lists: &BTreeMap<String, Vec<IpNet>>) -> Vec<String> {
    roles
        .iter()
        .filter(|r| match lists.get(r.as_str()) {
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
        let chain = [ip("6.6.6.6"), ip("203.0.113.9"), ip("10.0.0.2")];
        assert_eq!(from_chain(&chain, &trusted), Some(ip("203.0.113.9")), "the forged 6.6.6.6 is ignored");
        assert_eq!(from_chain(&[ip("10.0.0.3"), ip("10.0.0.2")], &trusted), Some(ip("10.0.0.3")));
        assert_eq!(from_chain(&[], &trusted), None);
    }

    #[test]
    fn roles_outside_their_allowlist_are_not_usable() {
        let mut lists = BTreeMap::new();
        lists.insert("admin".to_owned(), nets(&["10.0.0.0/8", "::1/128"]));
        let roles = vec!["agent".to_owned(), "admin".to_owned()];
        assert_eq!(usable_roles(&roles, Some(ip("10.1.2.3")), &lists), roles);
        assert_eq!(usable_roles(&roles, Some(ip("192.0.2.1")), &lists), vec!["agent".to_owned()]);
        assert_eq!(usable_roles(&roles, None, &lists), vec!["agent".to_owned()]);
        assert_eq!(usable_roles(&roles, Some(ip("::ffff:10.0.0.1")), &lists), roles, "IPv4-mapped");
    }
}
