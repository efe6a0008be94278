//! `GET/POST /api/v1/api-keys`, `DELETE /api/v1/api-keys/{id}` (admin).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use crate::http::error::ApiError;
use crate::http::extract::Authed;
use chorus_core::audit;
use chorus_core::auth::api_keys::{self, ApiKeyView, CreatedApiKey, NewApiKey};
use chorus_core::auth::can;
use chorus_core::state::AppState;

/// Every API key (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "security", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiKeyView>), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/api-keys")]
pub async fn list(state: web::Data<AppState>, _who: Authed<can::ManageApiKeys>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(api_keys::list(&state.db).await?))
}

/// Make an API key. The answer holds the key: the only time it is shown.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "security", security(("bearer" = [])), request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/api-keys")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageApiKeys>,
    body: web::Json<NewApiKey>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = api_keys::create(&txn, who.agent.id, body.into_inner()).await?;
    let entry = super::audit_entry(&req, &who, "api_key.create", "api_key", created.api_key.id);
    audit::record(&txn, entry.with_after(&created.api_key)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// Revoke an API key: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "security", security(("bearer" = [])),
    params(("id" = i64, Path, description = "key id")),
    responses((status = 200, body = ApiKeyView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/api-keys/{id}")]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageApiKeys>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after) = api_keys::revoke(&txn, id).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "api_key.revoke", "api_key", id).with_before(&before).with_after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}
