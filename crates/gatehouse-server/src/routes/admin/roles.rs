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

async fn show(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Show).await
}

/// Replaces the whole list.
async fn replace(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<RolesBody>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Replace(body.roles)).await
}

/// Adds roles, keeping those the user has.
async fn add(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user)): AppPath<(String, String)>,
    AppJson(body): AppJson<AddBody>,
) -> ApiResult<Json<Roles>> {
    let roles = body.role.into_iter().chain(body.roles).collect();
    change(&state, &ctx, &user, Change::Add(roles)).await
}

async fn grant(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, role)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Add(vec![role])).await
}

async fn revoke(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, user, role)): AppPath<(String, String, String)>,
) -> ApiResult<Json<Roles>> {
    change(&state, &ctx, &user, Change::Revoke(role)).await
}
