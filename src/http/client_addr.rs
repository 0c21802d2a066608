//! The client's address behind reverse proxies and load balancers, for the
//! rate limit's buckets.
//!
//! Behind a proxy every request comes from the proxy's address, so keyed
//! by the peer alone every client would share one bucket. Proxies name the
//! client in `Forwarded` (RFC 7239) or `X-Forwarded-For`, but anyone can
//! send those headers: they are read only when the peer is one of
//! `[http] trusted_proxies`, and then from the right, past every trusted
//! hop, to the first address no trusted proxy vouches for (what a client
//! wrote to the left of that is its own claim). From any other peer the
//! headers are ignored.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// Hops read from a forwarding header at most; a longer chain is cut at
/// its right end (the hops nearest to us).
const MAX_HOPS: usize = 32;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts the peers in `nets` (`[http] trusted_proxies`, parsed by
    /// the configuration).
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The address the request is from: the peer's, unless the peer is a
    /// trusted proxy that names the client in `Forwarded` (preferred) or
    /// `X-Forwarded-For`.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?.ip());
        if self.0.is_empty() || !self.trusts(peer) {
            return Some(peer);
        }
        let chain = forwarded(headers).or_else(|| x_forwarded_for(headers));
        let Some(chain) = chain else {
            return Some(peer);
        };
        // From the right: the nearest hop first. An entry that is not an
        // address (`unknown`, an obfuscated name) ends the walk: nothing to
        // its left can be checked.
        let mut client = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(addr) if self.trusts(*addr) => client = *addr,
                Some(addr) => return Some(*addr),
                None => break,
            }
        }
        Some(client)
    }
}

/// IPv4 addresses mapped into IPv6 (`::ffff:10.0.0.1`, as a dual-stack
/// socket reports them) as plain IPv4, so IPv4 CIDRs match them.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` addresses of every `Forwarded` header, in order.
fn forwarded(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    for value in headers.get_all("forwarded") {
        let value = value.to_str().ok()?;
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim())
            });
            hops.push(node.and_then(node_addr));
        }
    }
    (!hops.is_empty()).then(|| last(hops))
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.to_str().ok()?;
        hops.extend(value.split(',').map(|hop| node_addr(hop.trim())));
    }
    (!hops.is_empty()).then(|| last(hops))
}

fn last(mut hops: Vec<Option<IpAddr>>) -> Vec<Option<IpAddr>> {
    if hops.len() > MAX_HOPS {
        hops.drain(..hops.len() - MAX_HOPS);
    }
    hops
}

/// An address from a node: `192.0.2.60`, `"192.0.2.60:4711"`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn node_addr(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(addr) = node.parse::<IpAddr>() {
        return Some(canonical(addr));
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    let inner = node.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn peer(addr: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(addr.parse().unwrap(), 40_000))
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        TrustedProxies::new(crate::config::parse_proxies(&list).unwrap())
    }

    fn ip(addr: &str) -> Option<IpAddr> {
        Some(addr.parse().unwrap())
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        assert_eq!(
            proxies(&[]).client(peer("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(trusted.client(peer("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_hops_to_its_left_are_skipped() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.7"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.1.1")]);
        // 10.0.0.5 (trusted) got it from 10.1.1.1 (trusted), which got it
        // from 203.0.113.9: the client. 1.2.3.4 is that client's claim.
        assert_eq!(trusted.client(peer("10.0.0.5"), &h), ip("203.0.113.9"));
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "192.0.2.7"),
        ]);
        assert_eq!(trusted.client(peer("10.0.0.5"), &h), ip("203.0.113.9"));
        // Forwarded wins over X-Forwarded-For, with ports, quotes and IPv6.
        let h = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8::1]:4711";proto=https, for=10.2.2.2"#,
            ),
            ("x-forwarded-for", "198.51.100.77"),
        ]);
        assert_eq!(trusted.client(peer("10.0.0.5"), &h), ip("2001:db8::1"));
        let h = headers(&[("forwarded", "for=\"198.51.100.3:1234\"")]);
        assert_eq!(trusted.client(peer("10.0.0.5"), &h), ip("198.51.100.3"));
    }

    #[test]
    fn without_a_usable_header_the_peer_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            trusted.client(peer("10.0.0.5"), &headers(&[])),
            ip("10.0.0.5")
        );
        // An unknown hop ends the walk at the last trusted address.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.3.3.3")]);
        assert_eq!(trusted.client(peer("10.0.0.5"), &h), ip("10.3.3.3"));
        // A dual-stack socket's mapped address matches an IPv4 CIDR.
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client(peer("::ffff:10.0.0.5"), &h),
            ip("203.0.113.9")
        );
    }
}
