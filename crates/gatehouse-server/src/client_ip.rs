//! Who is on the other end of a request: the client's IP address, decided
//! once per request and used by everything that records or counts clients
//! (the sessions a login opens, the audit trail, the rate limits), so they
//! all agree.
//!
//! The address is the socket's peer. Only when that peer is one of the
//! `trusted_proxies` (CIDRs) is a forwarding header believed, and then
//! only the header those proxies set (`forwarded_header`): its hops are
//! walked from the right — the one the nearest proxy appended — skipping
//! trusted addresses, and the first untrusted one is the client. Anything
//! to its left was written by the client and may be a lie. A header that
//! cannot be read is not guessed at: the peer stands.
//!
//! Without a socket (the Lambda adapter), the adapter reports API Gateway's
//! view of the caller as [`PeerIp`]; the same rules apply to it.

use std::net::IpAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, header};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::state::AppState;

/// The peer of a request that came without a socket: the Lambda adapter
/// puts API Gateway's `sourceIp` here. A socket's `ConnectInfo` wins over
/// it, so a client cannot set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIp(pub IpAddr);

/// The client's address as [`resolve`] decided it, in the request's
/// extensions for handlers and middleware (`None`: no socket and no
/// adapter report, e.g. `gatehouse invoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// The networks whose forwarding headers are believed
/// (`GATEHOUSE_TRUSTED_PROXIES`): comma-separated CIDRs or addresses in a
/// variable, a list or such a string in `gatehouse.toml`. Empty (the
/// default): no header is ever believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 192.168.1.10, fd00::/8`; a bare address is a
    /// network of one. The error names the entry that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(parse_net)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

fn parse_net(entry: &str) -> Result<IpNet, String> {
    let net = match entry.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            format!(
                "trusted_proxies: `{entry}` is not an IP address or CIDR \
                 (e.g. 10.0.0.0/8, 192.168.1.10, fd00::/8)"
            )
        })?,
    };
    // An IPv4 network written as IPv6-mapped (::ffff:10.0.0.0/104) is kept
    // as written; addresses are compared in canonical form, so write IPv4
    // networks as IPv4.
    Ok(net.trunc())
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            List(Vec<String>),
        }
        let text = match Form::deserialize(deserializer)? {
            Form::Text(text) => text,
            Form::List(list) => list.join(","),
        };
        TrustedProxies::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Which forwarding header the trusted proxies set. Only that one is read:
/// a proxy passes the other through untouched, so it holds whatever the
/// client wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy
    /// `forwardfor`, Traefik, Caddy, Envoy, AWS ALB, Cloudflare).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1` (HAProxy `forwarded`,
    /// some CDNs).
    Forwarded,
}

/// How a node tells its clients apart: the trusted proxies and the header
/// they set.
#[derive(Debug, Clone, Default)]
pub struct ClientIpSettings {
    pub trusted_proxies: TrustedProxies,
    pub header: ForwardedHeader,
}

/// The client's address: `peer` unless it is a trusted proxy whose
/// forwarding header names an untrusted hop (see the module's header).
pub fn resolve(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    settings: &ClientIpSettings,
) -> Option<IpAddr> {
    let peer = peer.map(|ip| ip.to_canonical())?;
    let trusted = &settings.trusted_proxies;
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let hops = match settings.header {
        ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
        ForwardedHeader::Forwarded => forwarded_for(headers),
    };
    // Malformed, or absent: the peer itself is the client.
    let Some(hops) = hops else {
        return Some(peer);
    };
    // From the right: the nearest proxy appended the last entry. Trusted
    // hops are our own proxies; the first untrusted one is the client.
    let mut leftmost = peer;
    for hop in hops.iter().rev() {
        if !trusted.contains(*hop) {
            return Some(*hop);
        }
        leftmost = *hop;
    }
    // Every hop is trusted: the client is inside the trusted network.
    Some(leftmost)
}

/// The addresses of every `X-Forwarded-For` line, in order; `None` when
/// there is none or any entry is not an address.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    let mut hops = Vec::new();
    for value in headers.get_all(XFF) {
        for entry in value.to_str().ok()?.split(',') {
            hops.push(parse_hop(entry.trim())?);
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// The `for=` of every element of every `Forwarded` line (RFC 7239 §4),
/// in order; `None` when there is none, or any element lacks `for=` or
/// names no address (`unknown` and obfuscated identifiers, §6, cannot be
/// counted).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(header::FORWARDED) {
        // Quoted strings holding `,` or `;` are not split correctly here;
        // `for=` values never hold them, and another parameter that did
        // would only make the element unreadable (then the peer stands).
        for element in value.to_str().ok()?.split(',') {
            let value = element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then_some(value.trim())
            })?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            hops.push(parse_hop(value)?);
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return port_ok
            .then(|| inside.parse::<std::net::Ipv6Addr>().ok())
            .flatten()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The request's peer: the socket's, else what the adapter reported.
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| extensions.get::<PeerIp>().map(|p| p.0))
}

/// Middleware over every API route: decides the client's address once and
/// leaves it in the request as [`ClientIp`] for what comes after (the rate
/// limits, [`crate::extract::ClientOrigin`]).
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = peer_of(request.extensions());
    let ip = resolve(peer, request.headers(), &state.client_ip);
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings(nets: &str, header: ForwardedHeader) -> ClientIpSettings {
        ClientIpSettings {
            trusted_proxies: TrustedProxies::parse(nets).unwrap(),
            header,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let s = settings("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(resolve(ip("203.0.113.9"), &h, &s), ip("203.0.113.9"));
        // Nobody is trusted by default.
        let none = ClientIpSettings::default();
        assert_eq!(resolve(ip("10.0.0.1"), &h, &none), ip("10.0.0.1"));
        assert_eq!(resolve(None, &h, &s), None);
    }

    #[test]
    fn a_trusted_peer_is_walked_from_the_right() {
        let s = settings("10.0.0.0/8, 192.168.1.10", ForwardedHeader::XForwardedFor);
        // The client wrote `6.6.6.6`; the edge proxy appended the real
        // address; an inner proxy appended the edge's.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(resolve(ip("192.168.1.10"), &h, &s), ip("198.51.100.7"));
        // Several lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("198.51.100.7"));
        // All hops trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(resolve(ip("10.0.0.2"), &headers(&[]), &s), ip("10.0.0.2"));
        // The other header is the client's to write, never read.
        let h = headers(&[("forwarded", "for=6.6.6.6")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("10.0.0.2"));
    }

    #[test]
    fn malformed_headers_leave_the_peer() {
        let s = settings("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        for bad in [
            "",
            "not-an-ip",
            "1.2.3.4, ",
            "1.2.3.4,,5.6.7.8",
            "1.2.3.4:99999",
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_str(bad).unwrap());
            assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("10.0.0.2"), "{bad:?}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"1.2.3.4\xff").unwrap(),
        );
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_for_per_rfc_7239() {
        let s = settings("10.0.0.0/8", ForwardedHeader::Forwarded);
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, For=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.9;by=10.0.0.1",
        )]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=192.0.2.60:80;proto=http")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("192.0.2.60"));
        for bad in ["for=unknown", "for=_hidden", "proto=http", "for=\"[::1\""] {
            let mut h = HeaderMap::new();
            h.insert("forwarded", HeaderValue::from_str(bad).unwrap());
            assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("10.0.0.2"), "{bad:?}");
        }
        // X-Forwarded-For is not read when Forwarded is the proxies' header.
        let h = headers(&[("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &s), ip("10.0.0.2"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let s = settings("127.0.0.1", ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7")]);
        assert_eq!(resolve(ip("::ffff:127.0.0.1"), &h, &s), ip("198.51.100.7"));
        assert_eq!(
            resolve(ip("::ffff:203.0.113.1"), &headers(&[]), &s),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn trusted_proxies_parse_with_one_line_errors() {
        let t = TrustedProxies::parse(" 10.0.0.1/8 ,fd00::/8,192.168.1.10,").unwrap();
        assert!(t.contains("10.200.0.1".parse().unwrap()));
        assert!(t.contains("fd00::5".parse().unwrap()));
        assert!(t.contains("192.168.1.10".parse().unwrap()));
        assert!(!t.contains("192.168.1.11".parse().unwrap()));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let e = TrustedProxies::parse("10.0.0.0/33").unwrap_err();
        assert!(e.contains("`10.0.0.0/33`") && !e.contains('\n'), "{e}");
        assert_eq!(parse_hop("[::1]:80"), ip("::1"));
        assert_eq!(parse_hop("[::1]:x"), None);
        assert_eq!(parse_hop("::1:80"), ip("::1:80"));
    }
}
