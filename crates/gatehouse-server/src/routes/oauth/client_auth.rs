//! Client authentication at the token, introspection and revocation
//! endpoints (RFC 6749 §2.3.1): `client_secret_basic` (HTTP Basic with the
//! form-urlencoded id and secret), `client_secret_post` (both in the
//! form), or a public client's bare `client_id`. Only reading what was
//! sent is done here; whether it authenticates is core's.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::error::OAuthError;
use gatehouse_core::service::clients::ClientCredentials;
use percent_encoding::percent_decode_str;
use secrecy::SecretString;

use crate::error::ApiResult;

/// What the request presented, from its `Authorization: Basic` header and
/// its form's `client_id` / `client_secret`.
pub(crate) fn presented(
    headers: &HeaderMap,
    form_client_id: Option<String>,
    form_secret: Option<SecretString>,
) -> ApiResult<ClientCredentials> {
    let basic = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
    {
        // RFC 9110 §11.1: the scheme is case-insensitive.
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("basic") => Some(basic(value.trim())?),
        _ => None,
    };
    let form_client_id = form_client_id.filter(|c| !c.is_empty());
    match basic {
        Some((id, secret)) => {
            // §2.3: "MUST NOT use more than one authentication method".
            if form_secret.is_some() {
                return Err(OAuthError::InvalidRequest(
                    "the client authenticated twice (Basic and client_secret); use one method"
                        .into(),
                )
                .into());
            }
            if form_client_id.as_ref().is_some_and(|f| *f != id) {
                return Err(invalid_client().into());
            }
            Ok(ClientCredentials {
                client_id: Some(id),
                secret: Some(secret),
                via_basic: true,
            })
        }
        None => Ok(ClientCredentials {
            client_id: form_client_id,
            secret: form_secret,
            via_basic: false,
        }),
    }
}

fn invalid_client() -> OAuthError {
    OAuthError::InvalidClient(
        "the client could not be authenticated: unknown client, wrong secret, or no secret sent"
            .into(),
    )
}

/// `base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
fn basic(value: &str) -> ApiResult<(String, SecretString)> {
    let malformed = || -> crate::error::ApiError {
        OAuthError::InvalidClient(
            "the Basic client credentials are malformed: base64 of `client_id:client_secret`"
                .into(),
        )
        .into()
    };
    let bytes = STANDARD.decode(value).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let decode = |part: &str| -> ApiResult<String> {
        percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| malformed())
    };
    let id = decode(id)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, SecretString::from(decode(secret)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn with_basic(raw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(raw));
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn basic_parts_are_form_urldecoded() {
        let c = presented(&with_basic("my%20client:s%3Acr+t"), None, None).unwrap();
        assert_eq!(c.client_id.as_deref(), Some("my client"));
        assert_eq!(c.secret.unwrap().expose_secret(), "s:cr t");
        assert!(c.via_basic);
    }

    #[test]
    fn one_method_only() {
        let twice = presented(
            &with_basic("a:b"),
            None,
            Some(SecretString::from("b".to_string())),
        );
        assert!(twice.is_err());
        let other_id = presented(&with_basic("a:b"), Some("c".into()), None);
        assert!(other_id.is_err());
        let same_id = presented(&with_basic("a:b"), Some("a".into()), None);
        assert!(same_id.is_ok());
        let post = presented(&HeaderMap::new(), Some("a".into()), None).unwrap();
        assert_eq!(post.client_id.as_deref(), Some("a"));
        assert!(post.secret.is_none() && !post.via_basic);
    }
}
