//! The answers many routes share, described once: each is a response in
//! `components.responses`, and the groups below (`responses(TenantRoute,
//! JsonBody, …)` in a handler's `#[utoipa::path]`) refer to them. Every
//! one carries the error body of `crate::error::ApiError`.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// `components.responses`: name, status, description, and which header it
/// carries (RFC 6750 §3 challenge, RFC 9110 §10.2.3 `Retry-After`).
const SHARED: &[(&str, &str, &str, Extra)] = &[
    (
        "BadRequest",
        "400",
        "The request is malformed or breaks a rule: the body is not valid JSON \
         (or form), lacks a field, has an unknown or ill-typed one, or a value is \
         refused (`invalid_request`, naming the field and the rule).",
        Extra::None,
    ),
    (
        "Unauthorized",
        "401",
        "No `Authorization: Bearer` token was sent (`invalid_request`), or the \
         token is not valid here (`invalid_token`: malformed, expired, another \
         tenant's, its session ended). `WWW-Authenticate` carries the challenge.",
        Extra::Challenge,
    ),
    (
        "AdminUnauthorized",
        "401",
        "The admin token is missing (`invalid_request`) or wrong \
         (`invalid_token`); the challenge names the realm `gatehouse-admin`.",
        Extra::Challenge,
    ),
    (
        "AdminDisabled",
        "403",
        "The admin API is closed: the server runs without `GATEHOUSE_ADMIN_TOKEN` \
         (`admin_disabled`).",
        Extra::None,
    ),
    (
        "TenantNotFound",
        "404",
        "No tenant has the name in the path (`tenant_not_found`).",
        Extra::None,
    ),
    (
        "PayloadTooLarge",
        "413",
        "The body is larger than the 64 KiB every endpoint accepts.",
        Extra::None,
    ),
    (
        "UnsupportedMediaType",
        "415",
        "The body was sent with another `Content-Type` than the one this \
         endpoint reads.",
        Extra::None,
    ),
    (
        "TooManyRequests",
        "429",
        "Too many requests of this kind from this address (`rate_limited`); \
         `Retry-After` says when to come back (RFC 6585 §4).",
        Extra::RetryAfter,
    ),
    (
        "Unavailable",
        "503",
        "The store cannot be reached, or the password-hashing pool is full \
         (`temporarily_unavailable`); `Retry-After` says when to try again.",
        Extra::RetryAfter,
    ),
];

#[derive(Clone, Copy)]
enum Extra {
    None,
    Challenge,
    RetryAfter,
}

/// The responses of [`SHARED`], for `components.responses`.
pub(super) fn shared() -> Vec<(String, RefOr<Response>)> {
    SHARED
        .iter()
        .map(|(name, _, description, extra)| {
            let mut response = ResponseBuilder::new().description(*description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            );
            let string = || Object::with_type(Type::String);
            match extra {
                Extra::None => {}
                Extra::Challenge => {
                    response = response.header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(Some(string()))
                            .description(Some(
                                "The RFC 6750 challenge: `Bearer realm=…` with the error.",
                            ))
                            .build(),
                    );
                }
                Extra::RetryAfter => {
                    response = response.header(
                        "Retry-After",
                        HeaderBuilder::new()
                            .schema(Some(string()))
                            .description(Some("Seconds to wait before trying again."))
                            .build(),
                    );
                }
            }
            (name.to_string(), response.build().into())
        })
        .collect()
}

/// References to the shared responses of these names, by their statuses.
fn refs(names: &[&str]) -> BTreeMap<String, RefOr<Response>> {
    names
        .iter()
        .filter_map(|name| {
            SHARED
                .iter()
                .find(|(n, ..)| n == name)
                .map(|(n, status, ..)| {
                    (
                        (*status).to_string(),
                        RefOr::Ref(Ref::from_response_name(*n)),
                    )
                })
        })
        .collect()
}

/// Declares a group of shared responses usable in `responses(...)`.
macro_rules! group {
    ($(#[$doc:meta])* $name:ident => [$($response:literal),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                refs(&[$($response),*])
            }
        }
    };
}

group!(
    /// A route under `/t/{tenant}`: the tenant may not exist, the store may
    /// be away.
    TenantRoute => ["TenantNotFound", "Unavailable"]
);
group!(
    /// A route that reads a JSON body (`Content-Type: application/json`).
    JsonBody => ["BadRequest", "PayloadTooLarge", "UnsupportedMediaType"]
);
group!(
    /// A route that reads a body of its own kind, whatever its
    /// `Content-Type`: malformed or too large, never 415.
    RawBody => ["BadRequest", "PayloadTooLarge"]
);
group!(
    /// A route that needs the caller's `Authorization: Bearer` access token.
    BearerRoute => ["Unauthorized"]
);
group!(
    /// Every `/admin` route: the admin token, and the store.
    AdminRoute => ["AdminUnauthorized", "AdminDisabled", "Unavailable"]
);
group!(
    /// An admin route under `/admin/t/{tenant}`.
    AdminTenantRoute => ["AdminUnauthorized", "AdminDisabled", "TenantNotFound", "Unavailable"]
);
group!(
    /// The body limits alone (a route whose 400 has its own description).
    BodyLimits => ["PayloadTooLarge", "UnsupportedMediaType"]
);
group!(
    /// A route with a per-address rate limit (`crate::rate_limit`).
    RateLimited => ["TooManyRequests"]
);
group!(
    /// A route with no tenant in its path that still reads the store.
    StoreRoute => ["Unavailable"]
);
