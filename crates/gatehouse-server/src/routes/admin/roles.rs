//! `/admin/t/{tenant}/users/{user}/roles`: a user's tenant roles (the
//! `roles` claim, and the scopes of the same names the user may be
//! granted). `{user}` is a user id or username.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use gatehouse_core::service::TenantContext;
use gatehouse_core::user::User;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/t/{tenant}/users/{user}/roles",
            get(show).put(replace).post(add),
        )
        .route(
            "/admin/t/{tenant}/users/{user}/roles/{role}",
            put(grant).delete(revoke),
        )
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UserRoles)]
struct Roles {
    user_id: String,
    username: String,
    roles: Vec<String>,
}

impl From<User> for Roles {
    fn from(u: User) -> Self {
        Self {
            user_id: u.id,
            username: u.username,
            roles: u.roles,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RoleList)]
struct RolesBody {
    roles: Vec<String>,
}

/// `{"role": "billing"}` or `{"roles": ["billing", "ops"]}`: roles to add.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RolesToAdd)]
struct AddBody {
    role: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// What a route does to the user's roles.
enum Change {
    Show,
    Replace(Vec<String>),
    Add(Vec<String>),
    Revoke(String),
}

/// Finds the user by id or username, applies the change, answers the roles.
async fn change(
    state: &AppState,
    ctx: &TenantContext,
    user: &str,
    change: Change,
) -> ApiResult<Json<Roles>> {
    let accounts = &state.services.accounts;
    let tenant = ctx.tenant();
    let user = accounts.find(tenant, user).await?;
    let user = match change {
        Change::Show => user,
        Change::Replace(roles) => accounts.set_roles(tenant, &user.id, &roles).await?,
        Change::Add(roles) => accounts.grant_roles(tenant, &user.id, &roles).await?,
        Change::Revoke(role) => accounts.revoke_role(tenant, &user.id, &role).await?,
    };
    Ok(Json(user.into()))
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/users/{user}/roles",
    operation_id = "admin_user_roles",
    tag = "admin",
    summary = "A user's roles",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The user's roles.", body = Roles),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Show).await
}

/// Replaces the whole list.
#[utoipa::path(
    put,
    path = "/admin/t/{tenant}/users/{user}/roles",
    operation_id = "admin_replace_user_roles",
    tag = "admin",
    summary = "Replace a user's roles",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    request_body = RolesBody,
    responses(
        (status = 200, description = "The user's roles.", body = Roles),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
async fn replace(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<RolesBody>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Replace(body.roles)).await
}

/// Adds roles, keeping those the user has.
#[utoipa::path(
    post,
    path = "/admin/t/{tenant}/users/{user}/roles",
    operation_id = "admin_add_user_roles",
    tag = "admin",
    summary = "Add roles to a user",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username.")),
    security(("admin_token" = [])),
    request_body = AddBody,
    responses(
        (status = 200, description = "The user's roles.", body = Roles),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
async fn add(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<AddBody>,
) -> ApiResult<Json<Roles>> {
    let roles = body.role.into_iter().chain(body.roles).collect();
    change(&state, &ctx, &user, Change::Add(roles)).await
}

#[utoipa::path(
    put,
    path = "/admin/t/{tenant}/users/{user}/roles/{role}",
    operation_id = "admin_grant_user_role",
    tag = "admin",
    summary = "Grant a user one role",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username."), ("role" = String, Path, description = "A role name.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The user's roles.", body = Roles),
        (status = 400, description = "A role name breaks the rules.", body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn grant(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, role)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Add(vec![role])).await
}

#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/users/{user}/roles/{role}",
    operation_id = "admin_revoke_user_role",
    tag = "admin",
    summary = "Take one role from a user",
    params(crate::openapi::TenantPath, ("user" = String, Path, description = "The user's id or username."), ("role" = String, Path, description = "A role name.")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The user's roles.", body = Roles),
        (status = 400, description = "A role name breaks the rules.", body = crate::openapi::schemas::ErrorBody),
        (status = 404, description = "No tenant has this name, or it has no such user.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn revoke(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, role)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Revoke(role)).await
}
