//! `GET /admin/t/{tenant}/events`: the tenant's audit events, newest
//! first, a page at a time (`?kind=&subject=&since=&cursor=&limit=`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::service::audit_log::EventPage;
use gatehouse_core::store::EventQuery;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AppQuery, TenantCtx};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/t/{tenant}/events", get(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `login.failure`, `user.disabled`, …
    kind: Option<String>,
    /// A user id, client id or key id.
    subject: Option<String>,
    /// Seconds since the epoch: only events from then on.
    since: Option<i64>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// At most 500 (default 100).
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/admin/t/{tenant}/events",
    operation_id = "admin_list_events",
    tag = "admin",
    summary = "The tenant's audit events, a page at a time",
    params(crate::openapi::TenantPath, ListQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of events, newest first, and the cursor of the next.",
            body = crate::openapi::schemas::EventPage),
        (status = 400, description = "The query is malformed.", body = crate::openapi::schemas::ErrorBody),
        crate::openapi::AdminTenantRoute,
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantCtx(ctx): TenantCtx,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<EventPage>> {
    let query = EventQuery {
        kind: q.kind.filter(|k| !k.is_empty()),
        subject: q.subject.filter(|s| !s.is_empty()),
        since: q.since,
        before_id: q.cursor.filter(|c| !c.is_empty() && c.len() <= 64),
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(state.services.events(&ctx, query).await?))
}
