//! The OpenFaaS Ruby functions' formats, at `POST {iss}/compat/openfaas/*`.
//!
//! - `register`: `{username, password, email, first_name, last_name}` →
//!   `{"username": …, "status": "created"}`, or
//!   `{"error": "Username or E-Mail already in use"}`;
//! - `login`: `{username, password}` → `{"username": …, "token": …}`, or
//!   `{"error": "Invalid username/password"}`. The token carries
//!   `user: {email, first_name, last_name, username}`, with `iat` and `nbf`
//!   10 s in the past and `exp` 4 h ahead (configurable);
//! - `verify`: the token as the whole body → `[payload, header]` as
//!   ruby-jwt's `JWT.decode` returns them, or `{"error": "Failed to Decode
//!   JWT"}` / `{"error": "JWT Signature mismatch"}`.
//!
//! The originals ran under the classic watchdog, which answers 200 to
//! whatever the function prints; their clients read `error` from a 200. So
//! these documented outcomes are 200 here too. Only what the originals
//! could not answer at all (a body that is not JSON, a store that is down)
//! gets a 4xx or 5xx, still in the `{"error": …}` shape.
//!
//! Unlike the originals, the answers are valid JSON (the Ruby code printed
//! single quotes) and the token is also a Gatehouse access token: it
//! carries `iss`, `sub`, `aud` and `jti` as well, so `{iss}/auth` accepts it.
//! It is signed with the tenant's key: RS256, as the originals, unless the
//! tenant was moved to another algorithm.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::Error;
use gatehouse_core::TokenError;
use gatehouse_core::token::AccessClaims;
use gatehouse_core::user::{LoginName, Registration, User};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{lenient_json, no_store};
use crate::error::ApiError;
use crate::extract::{AppBytes, TenantCtx};
use crate::state::AppState;

/// The originals moved `iat` and `nbf` this far back, against clock skew.
const BACKDATE_SECS: i64 = 10;

const TAKEN: &str = "Username or E-Mail already in use";
const BAD_LOGIN: &str = "Invalid username/password";
const DECODE_FAILED: &str = "Failed to Decode JWT";
const SIGNATURE_MISMATCH: &str = "JWT Signature mismatch";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/compat/openfaas/register", post(register))
        .route("/t/{tenant}/compat/openfaas/login", post(login))
        .route("/t/{tenant}/compat/openfaas/verify", post(verify))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = OpenFaasRegistration)]
struct RegisterBody {
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = OpenFaasCredentials)]
struct LoginBody {
    username: String,
    #[schema(value_type = String)]
    password: SecretString,
}

/// The `user` claim of the originals' tokens.
#[derive(Serialize)]
struct OpenFaasUser<'a> {
    email: Option<&'a str>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    username: &'a str,
}

#[derive(Serialize)]
struct OpenFaasClaims<'a> {
    #[serde(flatten)]
    access: AccessClaims,
    user: OpenFaasUser<'a>,
}

/// The originals' answers, fields in their order.
#[derive(Serialize)]
struct Created<'a> {
    username: &'a str,
    status: &'static str,
}

#[derive(Serialize)]
struct LoggedIn<'a> {
    username: &'a str,
    token: &'a str,
}

/// `{"error": sentence}` with a status: the originals' error shape.
fn error(status: StatusCode, sentence: impl Into<String>) -> Response {
    (status, Json(json!({ "error": sentence.into() }))).into_response()
}

/// A failure the originals had no answer for, in their shape: the status
/// and sentence Gatehouse would give, and the server fault for the log.
fn fault(e: Error) -> Response {
    let api = ApiError::from(e);
    let mut response = error(api.status, api.description);
    if let Some(detail) = api.detail {
        response
            .extensions_mut()
            .insert(crate::error::ServerFault(detail));
    }
    response
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/compat/openfaas/register",
    operation_id = "openfaas_register",
    tag = "compat",
    summary = "The OpenFaaS register function's format",
    description = "`{username, password, email, first_name, last_name}`, read as JSON whatever the content type. \
        A taken name is answered with 200 and `{\"error\": …}`, as the original did.",
    params(crate::openapi::TenantPath),
    request_body(content = RegisterBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Created, or the original's error sentence.", body = crate::openapi::schemas::OpenFaasRegistered),
        (status = 400, description = "The body is not JSON, or lacks a field (`{\"error\": …}`).", body = crate::openapi::schemas::CompatError),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        (status = 503, description = "The store cannot be reached, or the hashing pool is full.", body = crate::openapi::schemas::CompatError),
        crate::openapi::RateLimited,
    )
)]
async fn register(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppBytes(body): AppBytes,
) -> Response {
    let body: RegisterBody = match lenient_json(&body) {
        Ok(b) => b,
        Err(sentence) => return error(StatusCode::BAD_REQUEST, sentence),
    };
    let registration = Registration {
        username: body.username,
        password: body.password,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
    };
    match state
        .services
        .accounts
        .register(ctx.tenant(), registration)
        .await
    {
        Ok(user) => Json(Created {
            username: &user.username,
            status: "created",
        })
        .into_response(),
        Err(Error::Conflict(_)) => error(StatusCode::OK, TAKEN),
        Err(Error::InvalidInput { message, .. }) => error(StatusCode::BAD_REQUEST, message),
        Err(e) => fault(e),
    }
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/compat/openfaas/login",
    operation_id = "openfaas_login",
    tag = "compat",
    summary = "The OpenFaaS login function's format",
    description = "`{username, password}` → `{username, token}`; the token carries the original's `user` claim, \
        `iat`/`nbf` 10 s in the past, 4 h expiry. Wrong credentials are answered with 200 and `{\"error\": …}`.",
    params(crate::openapi::TenantPath),
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The token, or the original's error sentence.", body = crate::openapi::schemas::OpenFaasLoggedIn),
        (status = 403, description = "The password matched but the account is disabled or unverified.", body = crate::openapi::schemas::CompatError),
        (status = 400, description = "The body is not JSON, or lacks a field (`{\"error\": …}`).", body = crate::openapi::schemas::CompatError),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        (status = 503, description = "The store cannot be reached, or the hashing pool is full.", body = crate::openapi::schemas::CompatError),
        crate::openapi::RateLimited,
    )
)]
async fn login(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppBytes(body): AppBytes,
) -> Response {
    let body: LoginBody = match lenient_json(&body) {
        Ok(b) => b,
        Err(sentence) => return error(StatusCode::BAD_REQUEST, sentence),
    };
    let name = LoginName::Username(body.username);
    let user = match state
        .services
        .password_login
        .authenticate(ctx.tenant(), &name, body.password)
        .await
    {
        Ok(user) => user,
        // A lock answers as a wrong password, as everywhere.
        Err(Error::InvalidCredentials | Error::AccountLocked { .. }) => {
            return error(StatusCode::OK, BAD_LOGIN);
        }
        Err(e) => return fault(e),
    };
    match sign_token(&state, &ctx, &user) {
        Ok(token) => no_store(
            Json(LoggedIn {
                username: &user.username,
                token: &token,
            })
            .into_response(),
        ),
        Err(e) => fault(e),
    }
}

fn sign_token(
    state: &AppState,
    ctx: &gatehouse_core::service::TenantContext,
    user: &User,
) -> Result<String, Error> {
    let issue = &state.services.issue;
    let access = issue.stateless_claims(
        ctx,
        user,
        state.compat.openfaas_token_ttl_secs,
        BACKDATE_SECS,
    )?;
    let jwt = issue.sign(
        ctx,
        &OpenFaasClaims {
            access,
            user: OpenFaasUser {
                email: user.email.as_deref(),
                first_name: user.first_name.as_deref(),
                last_name: user.last_name.as_deref(),
                username: &user.username,
            },
        },
    )?;
    gatehouse_core::service::issue::issued(ctx, gatehouse_core::telemetry::Grant::CompatOpenfaas);
    Ok(jwt)
}

/// The body is the token itself (as the Ruby function took it), or a JSON
/// string, or `{"token": …}`.
#[utoipa::path(
    post,
    path = "/t/{tenant}/compat/openfaas/verify",
    operation_id = "openfaas_verify",
    tag = "compat",
    summary = "The OpenFaaS verify function's format",
    description = "The body is the token itself, a JSON string, or `{\"token\": …}`. Answers `[payload, header]`, \
        or 200 with `{\"error\": …}` as the original did.",
    params(crate::openapi::TenantPath),
    request_body(content = String, content_type = "text/plain"),
    responses(
        (status = 200, description = "The decoded token, or the original's error sentence.", body = crate::openapi::schemas::OpenFaasVerified),
        (status = 404, description = "No tenant has this name.", body = crate::openapi::schemas::ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = crate::openapi::schemas::ErrorBody),
        (status = 503, description = "The store cannot be reached.", body = crate::openapi::schemas::ErrorBody),
    )
)]
async fn verify(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppBytes(body): AppBytes,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    let token = match serde_json::from_str::<Value>(text) {
        Ok(Value::String(t)) => t,
        Ok(Value::Object(o)) => match o.get("token") {
            Some(Value::String(t)) => t.clone(),
            _ => return error(StatusCode::OK, DECODE_FAILED),
        },
        _ => text.to_string(),
    };
    match state.services.gate.verify(&ctx, &token) {
        Ok(_) => match decoded_parts(&token) {
            Some((payload, header)) => Json(json!([payload, header])).into_response(),
            None => error(StatusCode::OK, DECODE_FAILED),
        },
        Err(Error::Token(TokenError::BadSignature)) => error(StatusCode::OK, SIGNATURE_MISMATCH),
        Err(_) => error(StatusCode::OK, DECODE_FAILED),
    }
}

/// The payload and header of a token that has already been verified, as
/// JSON values (all claims, including the ones Gatehouse does not model).
fn decoded_parts(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let payload = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    Some((
        serde_json::from_slice(&payload).ok()?,
        serde_json::from_slice(&header).ok()?,
    ))
}
