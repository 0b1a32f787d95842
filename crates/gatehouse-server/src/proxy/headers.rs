//! Which header fields cross proxy mode, in each direction.
//!
//! - Hop-by-hop fields describe one connection, not the message: RFC 9110
//!   §7.6.1 says a proxy removes `Connection`, every field it lists, and
//!   `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding` and
//!   `Upgrade`, and sends its own. The proxy credentials
//!   (`Proxy-Authorization`, `Proxy-Authenticate`) are meant for a proxy,
//!   never for the origin, so they go too.
//! - Towards the upstream, every `X-Auth-*` field the client sent is
//!   removed, in any spelling a framework would read as one (`X_Auth_User`
//!   is `HTTP_X_AUTH_USER` to CGI, WSGI and Rack, like `X-Auth-User`);
//!   only the gate's identity headers carry that name.
//! - `X-Forwarded-For` gains the client's address, `X-Forwarded-Host` is
//!   the client's `Host`, `X-Forwarded-Proto` is this listener's scheme,
//!   and `Via` names this hop (RFC 9110 §7.6.3).

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

/// The fields RFC 9110 §7.6.1 names as hop-by-hop, and the proxy
/// credentials.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// What this hop adds to `Via`.
const VIA: &str = "1.1 gatehouse";

/// The fields of `incoming` that may cross this hop: without hop-by-hop
/// fields, those `Connection` names, and those `drop` refuses.
fn end_to_end(incoming: &HeaderMap, drop: impl Fn(&HeaderName) -> bool) -> HeaderMap {
    let listed: Vec<String> = incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(incoming.len());
    for (name, value) in incoming {
        if HOP_BY_HOP.contains(name) || listed.iter().any(|l| l == name.as_str()) || drop(name) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// A field only the gate may set: `X-Auth-*`, however spelled.
fn is_identity_field(name: &HeaderName) -> bool {
    // Names are lowercase; `_` and `-` are one to the frameworks.
    let name = name.as_str().as_bytes();
    name.len() > 7
        && name[..7]
            .iter()
            .map(|b| if *b == b'_' { b'-' } else { *b })
            .eq(*b"x-auth-")
}

/// The request's fields as the upstream gets them: end-to-end fields the
/// client sent (no `Host`: the client sets the upstream's, and none of its
/// `X-Auth-*`), then the forwarding fields, then `identity`.
pub(crate) fn to_upstream(
    incoming: &HeaderMap,
    peer: SocketAddr,
    identity: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
) -> HeaderMap {
    let forwarding = |name: &HeaderName| {
        name == header::HOST
            || name == "x-forwarded-host"
            || name == "x-forwarded-proto"
            || is_identity_field(name)
    };
    let mut out = end_to_end(incoming, forwarding);
    // X-Forwarded-For: the chain the client's own proxies reported, then
    // the client as this hop saw it.
    let client = peer.ip().to_string();
    let chain = incoming
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .chain(std::iter::once(client.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    out.remove("x-forwarded-for");
    if let Ok(v) = HeaderValue::from_str(&chain) {
        out.insert("x-forwarded-for", v);
    }
    if let Some(host) = incoming.get(header::HOST) {
        out.insert("x-forwarded-host", host.clone());
    }
    out.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    out.append(header::VIA, HeaderValue::from_static(VIA));
    for (name, value) in identity {
        out.insert(name, value);
    }
    out
}

/// The upstream's answer's fields as the client gets them.
pub(crate) fn to_client(incoming: &HeaderMap) -> HeaderMap {
    let mut out = end_to_end(incoming, |_| false);
    out.append(header::VIA, HeaderValue::from_static(VIA));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    fn peer() -> SocketAddr {
        "127.0.0.9:5555".parse().unwrap()
    }

    #[test]
    fn hop_by_hop_fields_and_those_connection_lists_stay_behind() {
        let incoming = map(&[
            ("connection", "keep-alive, X-Secret-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic cHJveHk6cGFzcw=="),
            ("proxy-connection", "keep-alive"),
            ("accept", "application/json"),
            ("authorization", "Bearer t"),
        ]);
        let out = to_upstream(&incoming, peer(), []);
        for gone in [
            "connection",
            "keep-alive",
            "x-secret-hop",
            "te",
            "transfer-encoding",
            "upgrade",
            "proxy-authorization",
            "proxy-connection",
        ] {
            assert!(!out.contains_key(gone), "{gone} crossed");
        }
        assert_eq!(out["accept"], "application/json");
        assert_eq!(out["authorization"], "Bearer t", "the origin may read it");
        let back = to_client(&map(&[
            ("connection", "close"),
            ("proxy-authenticate", "Basic"),
            ("content-type", "text/plain"),
        ]));
        assert!(!back.contains_key("connection") && !back.contains_key("proxy-authenticate"));
        assert_eq!(back["content-type"], "text/plain");
        assert_eq!(back["via"], "1.1 gatehouse");
    }

    #[test]
    fn client_identity_fields_never_cross_in_any_spelling() {
        let incoming = map(&[
            ("x-auth-subject", "forged"),
            ("X_Auth_Username", "forged"),
            ("x-auth_tenant", "forged"),
            ("x-authority", "kept: not an identity field"),
        ]);
        let identity = [(
            HeaderName::from_static("x-auth-subject"),
            HeaderValue::from_static("u-1"),
        )];
        let out = to_upstream(&incoming, peer(), identity);
        assert_eq!(out.get_all("x-auth-subject").iter().count(), 1);
        assert_eq!(out["x-auth-subject"], "u-1");
        assert!(!out.contains_key("x_auth_username") && !out.contains_key("x-auth_tenant"));
        assert!(out.contains_key("x-authority"));
    }

    #[test]
    fn forwarding_fields_name_the_client_and_this_hop() {
        let incoming = map(&[
            ("host", "fn.example"),
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https-forged"),
            ("x-forwarded-host", "forged.example"),
            ("via", "1.1 edge"),
        ]);
        let out = to_upstream(&incoming, peer(), []);
        assert_eq!(out["x-forwarded-for"], "203.0.113.7, 127.0.0.9");
        assert_eq!(out["x-forwarded-host"], "fn.example");
        assert_eq!(out["x-forwarded-proto"], "http");
        assert!(!out.contains_key("host"), "the client sets the upstream's");
        let via: Vec<_> = out.get_all("via").iter().collect();
        assert_eq!(via, ["1.1 edge", "1.1 gatehouse"]);
        let alone = to_upstream(&HeaderMap::new(), peer(), []);
        assert_eq!(alone["x-forwarded-for"], "127.0.0.9");
        assert!(!alone.contains_key("x-forwarded-host"));
    }
}
