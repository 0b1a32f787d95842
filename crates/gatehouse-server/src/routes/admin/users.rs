//! `/admin/t/{tenant}/users`: list (cursor paging, prefix search), create
//! (with a password or an invitation), show, change (profile, email,
//! `disabled`, `email_verified`, roles), delete; a user's sessions, listed
//! and ended. `{user}` is a user id or a username.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use gatehouse_core::service::user_admin::{NewUser, UserPage, UserPatch};
use gatehouse_core::user::User;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, TenantCtx};
use crate::routes::account::{SessionList, present};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/t/{tenant}/users", get(list).post(create))
        .route(
            "/admin/t/{tenant}/users/{user}",
            get(show).patch(update).delete(remove),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/sessions",
            get(sessions).delete(end_all),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/sessions/{id}",
            delete(end_one),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    cursor: Option<String>,
    /// A prefix of the username or email, case-insensitive.
    search: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<UserPage>> {
    let page = state
        .services
        .users
        .list(&ctx, q.cursor, q.search.as_deref(), q.limit)
        .await?;
    Ok(Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    username: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    password: Option<SecretString>,
    /// Mail a link to set the first password instead of giving one.
    #[serde(default)]
    invite: bool,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    roles: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = state
        .services
        .users
        .create(
            &ctx,
            NewUser {
                username: body.username,
                email: body.email,
                first_name: body.first_name,
                last_name: body.last_name,
                password: body.password,
                invite: body.invite,
                email_verified: body.email_verified,
                roles: body.roles,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.services.users.get(&ctx, &user).await?))
}

/// Absent fields stay; `null` clears an email or a name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    last_name: Option<Option<String>>,
    email_verified: Option<bool>,
    disabled: Option<bool>,
    roles: Option<Vec<String>>,
}

async fn update(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<PatchBody>,
) -> ApiResult<Json<User>> {
    let patch = UserPatch {
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        email_verified: body.email_verified,
        disabled: body.disabled,
        roles: body.roles,
    };
    Ok(Json(state.services.users.patch(&ctx, &user, patch).await?))
}

/// Deletes the user and their sessions; the username and email are free
/// for a new account afterwards.
async fn remove(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.services.users.delete(&ctx, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<SessionList>> {
    let sessions = state.services.users.sessions(&ctx, &user).await?;
    Ok(Json(SessionList { sessions }))
}

#[derive(Serialize)]
struct Revoked {
    revoked: u64,
}

async fn end_all(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<Revoked>> {
    let revoked = state
        .services
        .users
        .revoke_sessions(&ctx, &user, None)
        .await?;
    Ok(Json(Revoked { revoked }))
}

async fn end_one(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, id)): AppPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    state
        .services
        .users
        .revoke_sessions(&ctx, &user, Some(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
