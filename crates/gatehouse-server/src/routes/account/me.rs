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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    last_name: Option<Option<String>>,
}

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

#[derive(Serialize)]
pub(crate) struct SessionList {
    pub sessions: Vec<SessionView>,
}

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
