//! `GET/POST /api/v1/listening-rules`, `DELETE /api/v1/listening-rules/{id}`.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::listening::{self, ListeningRule, NewListeningRule};
use chorus_core::state::AppState;

/// Saved searches.
#[utoipa::path(get, path = "/api/v1/listening-rules", tag = "listening", security(("bearer" = [])),
    responses((status = 200, body = Vec<ListeningRule>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/listening-rules")]
pub async fn list(state: web::Data<AppState>, _who: Caller<can::ReadSettings>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(listening::list(&state.db).await?))
}

/// Save a search (supervisor or admin). Applies to messages ingested from now on.
#[utoipa::path(post, path = "/api/v1/listening-rules", tag = "listening", security(("bearer" = [])), request_body = NewListeningRule,
    responses((status = 201, body = ListeningRule), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/listening-rules")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageListening>,
    body: web::Json<NewListeningRule>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let rule = listening::create(&txn, body.into_inner()).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "listening_rule.create", "listening_rule", rule.id).with_after(&rule),
    )
    .await?;
    txn.commit().await?;
    state.listening.reload(&state.db).await?;
    Ok(HttpResponse::Created().json(rule))
}

/// Delete a saved search (supervisor or admin).
#[utoipa::path(delete, path = "/api/v1/listening-rules/{id}", tag = "listening", security(("bearer" = [])),
    params(("id" = i64, Path, description = "rule id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/listening-rules/{id}")]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageListening>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let rule = listening::delete(&txn, id.into_inner()).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "listening_rule.delete", "listening_rule", rule.id).with_before(&rule),
    )
    .await?;
    txn.commit().await?;
    state.listening.reload(&state.db).await?;
    Ok(HttpResponse::NoContent().finish())
}
