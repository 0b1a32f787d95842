//! The signed-in user's own account: `GET|PATCH {iss}/me` (profile; a new
//! email is unverified and mailed a link) and `GET {iss}/sessions`,
//! `DELETE {iss}/sessions/{id}` (where they are signed in, and ending one).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use gatehouse_core::service::user_admin::SessionView;
use gatehouse_core::user::User;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiError, ApiResult, REALM};
use crate::extract::{AppJson, AppPath, TenantCtx, bearer_token};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/me", get(me).patch(update_me))
        .route("/t/{tenant}/sessions", get(sessions))
        .route("/t/{tenant}/sessions/{id}", delete(end_session))
}

fn token(headers: &HeaderMap) -> ApiResult<SecretString> {
    bearer_token(headers).ok_or_else(|| ApiError::challenge(REALM, None))
}

#[utoipa::path(
    get,
    path = "/t/{tenant}/me",
    operation_id = "me",
    tag = "account",
    summary = "The signed-in user's profile",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user of the access token.", body = crate::openapi::schemas::User),
        crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn me(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
) -> ApiResult<Json<User>> {
    let token = token(&headers)?;
    Ok(Json(
        state.services.users.me(&ctx, token.expose_secret()).await?,
    ))
}

/// `"field": null` clears it; an absent field stays as it is.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Absent fields stay as they are; `null` clears one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    last_name: Option<Option<String>>,
}

#[utoipa::path(
    patch,
    path = "/t/{tenant}/me",
    operation_id = "update_me",
    tag = "account",
    summary = "Change the signed-in user's profile",
    description = "A new email is unverified until the user follows the link mailed to it.",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    request_body = ProfileBody,
    responses(
        (status = 200, description = "The changed profile.", body = crate::openapi::schemas::User),
        (status = 409, description = "Another user has this email (`conflict`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn update_me(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppJson(body): AppJson<ProfileBody>,
) -> ApiResult<Json<User>> {
    let token = token(&headers)?;
    let user = state
        .services
        .users
        .update_me(
            &ctx,
            token.expose_secret(),
            body.email,
            body.first_name,
            body.last_name,
        )
        .await?;
    Ok(Json(user))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionList {
    #[schema(value_type = Vec<crate::openapi::schemas::SessionView>)]
    pub sessions: Vec<SessionView>,
}

#[utoipa::path(
    get,
    path = "/t/{tenant}/sessions",
    operation_id = "my_sessions",
    tag = "account",
    summary = "Where the signed-in user is signed in",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's active sessions; `current` marks this token's.", body = SessionList),
        crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn sessions(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
) -> ApiResult<Json<SessionList>> {
    let token = token(&headers)?;
    let sessions = state
        .services
        .users
        .my_sessions(&ctx, token.expose_secret())
        .await?;
    Ok(Json(SessionList { sessions }))
}

#[utoipa::path(
    delete,
    path = "/t/{tenant}/sessions/{id}",
    operation_id = "end_my_session",
    tag = "account",
    summary = "End one of the signed-in user's sessions",
    params(crate::openapi::TenantPath, ("id" = String, Path, description = "The session's id.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is over."),
        (status = 404, description = "The tenant, or a session of this user with this id, does not exist.",
            body = crate::openapi::schemas::ErrorBody),
        crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn end_session(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppPath((_, id)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let token = token(&headers)?;
    state
        .services
        .users
        .end_my_session(&ctx, token.expose_secret(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
