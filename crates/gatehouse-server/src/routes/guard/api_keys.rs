//! API keys, made by admins (`/admin/t/{tenant}/apikeys`) and by users for
//! themselves (`{iss}/apikeys`, with their bearer access token). The key
//! is in the 201 response and nowhere else, ever.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use gatehouse_core::apikey::ApiKeyRecord;
use gatehouse_core::service::api_keys::{ApiKeyView, CreatedApiKey, CreatedApiKeyView, NewApiKey};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult, REALM};
use crate::extract::{AppJson, AppPath, TenantCtx, bearer_token};
use crate::state::AppState;

pub fn admin_router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/t/{tenant}/apikeys",
            get(admin_list).post(admin_create),
        )
        .route("/admin/t/{tenant}/apikeys/{id}", delete(admin_revoke))
}

pub fn user_router() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/apikeys", get(own_list).post(own_create))
        .route("/t/{tenant}/apikeys/{id}", delete(own_revoke))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewApiKey)]
struct CreateBody {
    name: String,
    scopes: Option<Vec<String>>,
    /// Seconds from now.
    expires_in: Option<i64>,
    /// Admin only: the user (id or username) the key acts as.
    user: Option<String>,
}

impl From<CreateBody> for NewApiKey {
    fn from(b: CreateBody) -> Self {
        NewApiKey {
            name: b.name,
            scopes: b.scopes,
            expires_in: b.expires_in,
            user: b.user,
        }
    }
}

fn created(key: CreatedApiKey) -> (StatusCode, HeaderMap, axum::Json<CreatedApiKeyView>) {
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    (
        StatusCode::CREATED,
        headers,
        axum::Json(CreatedApiKeyView::from(&key)),
    )
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiKeyList)]
struct KeyList {
    #[schema(value_type = Vec<crate::openapi::schemas::ApiKeyView>)]
    api_keys: Vec<ApiKeyView>,
}

fn listed(keys: &[ApiKeyRecord]) -> axum::Json<KeyList> {
    axum::Json(KeyList {
        api_keys: keys.iter().map(ApiKeyView::from).collect(),
    })
}

#[utoipa::path(
    post,
    path = "/admin/t/{tenant}/apikeys",
    operation_id = "admin_create_api_key",
    tag = "admin",
    summary = "Make an API key",
    description = "A machine key, or (with `user`) a key that acts as that user.",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The key, shown this once; never cached.", body = crate::openapi::schemas::CreatedApiKeyView,
            links(("revoke" = (operation_id = "admin_revoke_api_key",
                parameters(("tenant" = "$request.path.tenant"), ("id" = "$response.body#/id")),
                description = "Revoke the key.")))),
        (status = 404, description = "No tenant, or no `user`, has this name.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::AdminTenantRoute,
    )
)]
async fn admin_create(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<CreatedApiKeyView>)> {
    Ok(created(
        state.services.api_keys.create(&ctx, body.into()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/apikeys",
    operation_id = "admin_list_api_keys",
    tag = "admin",
    summary = "The tenant's API keys",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every key (never the keys themselves).", body = KeyList),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn admin_list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<axum::Json<KeyList>> {
    Ok(listed(&state.services.api_keys.list(&ctx, None).await?))
}

#[utoipa::path(
    delete,
    path = "/admin/t/{tenant}/apikeys/{id}",
    operation_id = "admin_revoke_api_key",
    tag = "admin",
    summary = "Revoke an API key",
    params(crate::openapi::TenantPath, ("id" = String, Path, description = "The key's id.")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No tenant has this name, or it has no key with this id.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn admin_revoke(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppPath((_, id)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    state.services.api_keys.revoke(&ctx, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The verified caller of a self-service route: their user id and the
/// scopes their access token holds. Only access tokens do (not API keys:
/// a key cannot mint keys).
fn caller(
    state: &AppState,
    ctx: &gatehouse_core::service::TenantContext,
    headers: &HeaderMap,
) -> ApiResult<(String, String)> {
    let token = bearer_token(headers).ok_or_else(|| ApiError::challenge(REALM, None))?;
    let claims = state.services.gate.verify(ctx, token.expose_secret())?;
    Ok((claims.sub, claims.scope))
}

#[utoipa::path(
    post,
    path = "/t/{tenant}/apikeys",
    operation_id = "create_own_api_key",
    tag = "account",
    summary = "Make an API key for the signed-in user",
    description = "The key acts as the user, with at most the scopes of the access token. Only an access \
        token may make keys (an API key cannot).",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The key, shown this once; never cached.", body = crate::openapi::schemas::CreatedApiKeyView,
            links(("revoke" = (operation_id = "revoke_own_api_key",
                parameters(("tenant" = "$request.path.tenant"), ("id" = "$response.body#/id")),
                description = "Revoke the key.")))),
        (status = 403, description = "A scope asked for is not the token's (`insufficient_scope`), or `user` was named.",
            body = crate::openapi::schemas::ErrorBody),
        crate::openapi::JsonBody, crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn own_create(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<CreatedApiKeyView>)> {
    let (user_id, scope) = caller(&state, &ctx, &headers)?;
    let key = state
        .services
        .api_keys
        .create_for_user(&ctx, &user_id, &scope, body.into())
        .await?;
    Ok(created(key))
}

#[utoipa::path(
    get,
    path = "/t/{tenant}/apikeys",
    operation_id = "list_own_api_keys",
    tag = "account",
    summary = "The signed-in user's API keys",
    params(crate::openapi::TenantPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's keys (never the keys themselves).", body = KeyList),
        crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn own_list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
) -> ApiResult<axum::Json<KeyList>> {
    let (user_id, _) = caller(&state, &ctx, &headers)?;
    Ok(listed(
        &state.services.api_keys.list(&ctx, Some(&user_id)).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/t/{tenant}/apikeys/{id}",
    operation_id = "revoke_own_api_key",
    tag = "account",
    summary = "Revoke one of the signed-in user's API keys",
    params(crate::openapi::TenantPath, ("id" = String, Path, description = "The key's id.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No tenant has this name, or the user has no key with this id.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::BearerRoute, crate::openapi::TenantRoute,
    )
)]
async fn own_revoke(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    headers: HeaderMap,
    AppPath((_, id)): AppPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let (user_id, _) = caller(&state, &ctx, &headers)?;
    state
        .services
        .api_keys
        .revoke(&ctx, &id, Some(&user_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
