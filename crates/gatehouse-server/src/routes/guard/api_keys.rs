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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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

#[derive(Serialize)]
struct KeyList {
    api_keys: Vec<ApiKeyView>,
}

fn listed(keys: &[ApiKeyRecord]) -> axum::Json<KeyList> {
    axum::Json(KeyList {
        api_keys: keys.iter().map(ApiKeyView::from).collect(),
    })
}

async fn admin_create(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<CreatedApiKeyView>)> {
    Ok(created(
        state.services.api_keys.create(&ctx, body.into()).await?,
    ))
}

async fn admin_list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
) -> ApiResult<axum::Json<KeyList>> {
    Ok(listed(&state.services.api_keys.list(&ctx, None).await?))
}

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
