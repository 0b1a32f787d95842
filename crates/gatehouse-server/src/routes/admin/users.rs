//! `/admin/t/{tenant}/users`: list (cursor paging, prefix search), create
//! (with a password or an invitation), show, change (profile, email,
//! `disabled`, `email_verified`, roles), delete; a user's sessions, listed
//! and ended. `{user}` is a user id or a username.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use gatehouse_core::service::user_admin::{NewUser, UserPage, UserPatch};
use gatehouse_core::user::User;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, AppQuery, TenantCtx};
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
        .route("/admin/t/{tenant}/users/{user}/lock", delete(unlock))
}

/// Lifts the user's soft-lock and forgets their failed attempts; the user
/// (with `failed_logins` 0 and no `locked_until`).
#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/users/{user}/lock",
    operation_id = "admin_unlock_user",
    tag = "admin",
    summary = "Lift a user's soft-lock",
    description = "Forgets the user's failed password attempts.",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The user, with `failed_logins` 0 and no `locked_until`.",
            body = crate::openapi::schemas::User),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn unlock(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.services.users.unlock(&ctx, &user).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// A prefix of the username or email, case-insensitive.
    search: Option<String>,
    /// Users per page, at most 200.
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/users",
    operation_id = "admin_list_users",
    tag = "admin",
    summary = "The tenant's users, a page at a time",
    params(crate::openapi::TenantPath, ListQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of users and the cursor of the next.", body = crate::openapi::schemas::UserPage),
        (status = 400, description = "The query is malformed, or the cursor or limit is not accepted.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<UserPage>> {
    let page = state
        .services
        .users
        .list(&ctx, q.cursor, q.search.as_deref(), q.limit)
        .await?;
    Ok(Json(page))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewUser)]
struct CreateBody {
    username: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[schema(value_type = Option<String>)]
    password: Option<SecretString>,
    /// Mail a link to set the first password instead of giving one.
    #[serde(default)]
    invite: bool,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    roles: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/admin/t/{tenant}/users",
    operation_id = "admin_create_user",
    tag = "admin",
    summary = "Create a user",
    description = "With a password, or with `invite` (a link to set the first password is mailed).",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The user.", body = crate::openapi::schemas::User,
            links(
                ("show" = (operation_id = "admin_show_user",
                    parameters(("tenant" = "$request.path.tenant"), ("user" = "$response.body#/id")))),
                ("update" = (operation_id = "admin_update_user",
                    parameters(("tenant" = "$request.path.tenant"), ("user" = "$response.body#/id")))),
                ("sessions" = (operation_id = "admin_user_sessions",
                    parameters(("tenant" = "$request.path.tenant"), ("user" = "$response.body#/id")))),
                ("delete" = (operation_id = "admin_delete_user",
                    parameters(("tenant" = "$request.path.tenant"), ("user" = "$response.body#/id")))),
            )),
        (status = 409, description = "The username or email is taken (`conflict`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
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

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/users/{user}",
    operation_id = "admin_show_user",
    tag = "admin",
    summary = "One user",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The user.", body = crate::openapi::schemas::User),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.services.users.get(&ctx, &user).await?))
}

/// Absent fields stay; `null` clears an email or a name.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UserPatch)]
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

#[utoipa::path(
    patch,
    path = "/admin/t/{tenant}/users/{user}",
    operation_id = "admin_update_user",
    tag = "admin",
    summary = "Change a user",
    description = "Profile, email, `email_verified`, `disabled` (which ends their sessions), roles. \
        Absent fields stay; `null` clears an email or a name.",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The user.", body = crate::openapi::schemas::User),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        (status = 409, description = "Another user has this email (`conflict`).", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
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
#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/users/{user}",
    operation_id = "admin_delete_user",
    tag = "admin",
    summary = "Delete a user",
    description = "With their sessions; the username and email are free afterwards.",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn remove(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.services.users.delete(&ctx, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/users/{user}/sessions",
    operation_id = "admin_user_sessions",
    tag = "admin",
    summary = "A user's sessions",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The user's active sessions.", body = SessionList),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn sessions(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<SessionList>> {
    let sessions = state.services.users.sessions(&ctx, &user).await?;
    Ok(Json(SessionList { sessions }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SessionsRevoked)]
struct Revoked {
    revoked: u64,
}

#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/users/{user}/sessions",
    operation_id = "admin_end_user_sessions",
    tag = "admin",
    summary = "End every session of a user",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "How many sessions ended.", body = Revoked),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
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

#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/users/{user}/sessions/{id}",
    operation_id = "admin_end_user_session",
    tag = "admin",
    summary = "End one session of a user",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username."), ("id" = String, Path, description = "The session's id.")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "The session is over."),
        (status = 404, description = "No tenant, user, or session of the user has this name.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
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
