//! `/api/v1/alerts` (acknowledge, assign) and `/api/v1/watched-terms` (what the crisis early
//! warning watches).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::alerts::{self, Act, AlertView, Showing};
use chorus_core::auth::can;
use chorus_core::crisis::watched::{self, NewWatchedTerm, WatchedTerm};
use chorus_core::state::AppState;

/// Which alerts to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// `open` (default), `acknowledged` or `all`.
    #[param(value_type = Option<String>)]
    pub status: Option<Showing>,
}

/// Alerts, newest first (at most 500): crisis spikes, SLA breaches, sentiment swings, posts by
/// influential customers.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("bearer" = [])), params(AlertQuery),
    responses((status = 200, body = Vec<AlertView>), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/alerts")]
pub async fn list(
    state: web::Data<AppState>,
    _who: Caller<can::ReadAlerts>,
    q: web::Query<AlertQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(alerts::list(&state.db, q.status.unwrap_or_default()).await?))
}

/// Acknowledge an alert: once, and everyone sees who did.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = AlertView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "already acknowledged")))]
#[post("/alerts/{id}/acknowledge")]
pub async fn acknowledge(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ReadAlerts>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "alert.acknowledge", "alert", id);
    Ok(HttpResponse::Ok().json(alerts::act(&state.db, &state.live, id, Act::Acknowledge, who.agent.id, audit).await?))
}

/// Whom to give an alert to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignAlert {
    /// The agent who deals with it.
    pub agent_id: i64,
}

/// Give an alert to someone to deal with (again, to move it on).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/assign", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "alert id")), request_body = AssignAlert,
    responses((status = 200, body = AlertView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[post("/alerts/{id}/assign")]
pub async fn assign(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ReadAlerts>,
    id: web::Path<i64>,
    body: web::Json<AssignAlert>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "alert.assign", "alert", id);
    let act = Act::Assign(body.agent_id);
    Ok(HttpResponse::Ok().json(alerts::act(&state.db, &state.live, id, act, who.agent.id, audit).await?))
}

/// The terms the crisis early warning watches, alphabetically.
#[utoipa::path(get, path = "/api/v1/watched-terms", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = Vec<WatchedTerm>), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/watched-terms")]
pub async fn terms(state: web::Data<AppState>, _who: Caller<can::ReadAlerts>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(watched::list(&state.db).await?))
}

/// Watch a term (PR, legal): every node's next scan counts it.
#[utoipa::path(post, path = "/api/v1/watched-terms", tag = "alerts", security(("bearer" = [])), request_body = NewWatchedTerm,
    responses((status = 201, body = WatchedTerm), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/watched-terms")]
pub async fn watch(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::RunCrises>,
    body: web::Json<NewWatchedTerm>,
) -> Result<HttpResponse, ApiError> {
    let audit = super::audit_entry(&req, &who, "watched_term.create", "watched_term", "");
    Ok(HttpResponse::Created().json(watched::add(&state.db, body.into_inner(), who.agent.id, audit).await?))
}

/// Stop watching a term.
#[utoipa::path(delete, path = "/api/v1/watched-terms/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "term id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/watched-terms/{id}")]
pub async fn unwatch(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::RunCrises>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "watched_term.delete", "watched_term", id);
    watched::remove(&state.db, id, audit).await?;
    Ok(HttpResponse::NoContent().finish())
}
