//! `/admin/t/{tenant}/users/{user}/roles`: a user's tenant roles (the
//! `roles` claim, and the scopes of the same names the user may be
//! granted). `{user}` is a user id or username.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
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

#[derive(Serialize)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    roles: Vec<String>,
}

/// `{"role": "billing"}` or `{"roles": ["billing", "ops"]}`: roles to add.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    role: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<Roles>> {
    let user = state.services.accounts.find(ctx.tenant(), &user).await?;
    Ok(Json(user.into()))
}

/// Replaces the whole list.
async fn replace(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<RolesBody>,
) -> ApiResult<Json<Roles>> {
    let accounts = &state.services.accounts;
    let user = accounts.find(ctx.tenant(), &user).await?;
    let user = accounts
        .set_roles(ctx.tenant(), &user.id, &body.roles)
        .await?;
    Ok(Json(user.into()))
}

/// Adds roles, keeping those the user has.
async fn add(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<AddBody>,
) -> ApiResult<Json<Roles>> {
    let accounts = &state.services.accounts;
    let user = accounts.find(ctx.tenant(), &user).await?;
    let mut roles = user.roles.clone();
    for role in body.role.into_iter().chain(body.roles) {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    let user = accounts.set_roles(ctx.tenant(), &user.id, &roles).await?;
    Ok(Json(user.into()))
}

async fn grant(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, role)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Roles>> {
    let accounts = &state.services.accounts;
    let user = accounts.find(ctx.tenant(), &user).await?;
    let user = accounts.grant_role(ctx.tenant(), &user.id, &role).await?;
    Ok(Json(user.into()))
}

async fn revoke(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, role)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Roles>> {
    let accounts = &state.services.accounts;
    let user = accounts.find(ctx.tenant(), &user).await?;
    let user = accounts.revoke_role(ctx.tenant(), &user.id, &role).await?;
    Ok(Json(user.into()))
}
