//! `/api/v1/metrics/live`, `/api/v1/metrics/history` and `/api/v1/sla-policies`: the floor right
//! now, the figures over time, and the targets they are measured against.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chorus_core::Error;

use super::audit_entry as entry;
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::metrics::floor::{Floor, FloorQuery};
use chorus_core::metrics::history::{self as hist, History, HistoryQuery};
use chorus_core::metrics::live::{self, LiveFigures};
use chorus_core::sla::{self, PolicySpec, PolicyView};
use chorus_core::state::AppState;

/// The queue (by tier and team, oldest wait, overdue, escalated), the agents (online, away,
/// with room, at capacity), today's first responses, and today's FRT, ART, attainment, breaches
/// and handling in and out of business hours, overall and per team.
/// `brand_account_id` narrows the queue and today's figures to one brand account.
#[utoipa::path(get, path = "/api/v1/metrics/live", tag = "metrics", security(("bearer" = [])), params(live::Scope),
    responses((status = 200, body = LiveFigures), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/metrics/live")]
pub async fn current(
    state: web::Data<AppState>,
    _who: Caller<can::ReadMetrics>,
    scope: web::Query<live::Scope>,
) -> Result<HttpResponse, ApiError> {
    let mut figures = live::figures(&state.db, &state.coord, scope.into_inner()).await?;
    let policies = state.sla.current();
    figures.staffing = state.staffing_now.get(&state.db, &state.coord, &state.forecasts, &policies).await;
    Ok(HttpResponse::Ok().json(figures))
}

/// The supervisor's floor: per agent their status now and through the day, conversations held,
/// handling time, replies, first responses, resolutions, breaches and last action; per team the
/// queue, its oldest wait and attainment; approval requests waiting, oldest first. Figures since
/// `since` (default: the start of the UTC day).
#[utoipa::path(get, path = "/api/v1/floor", tag = "metrics", security(("bearer" = [])), params(FloorQuery),
    responses((status = 200, body = Floor), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/floor")]
pub async fn floor(
    state: web::Data<AppState>,
    _who: Caller<can::ReadMetrics>,
    q: web::Query<FloorQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(chorus_core::metrics::floor::read(&state.db, &state.coord, &q).await?))
}

/// Figures by hour or day, optionally split by agent, team, network or category, as JSON or
/// CSV (`format=csv`).
#[utoipa::path(get, path = "/api/v1/metrics/history", tag = "metrics", security(("bearer" = [])),
    params(HistoryQuery),
    responses((status = 200, body = History, description = "JSON, or text/csv with format=csv"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/metrics/history")]
pub async fn over_time(
    state: web::Data<AppState>,
    _who: Caller<can::ReadMetrics>,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let h = hist::read(&state.db, &q).await?;
    json_or_csv(q.format.as_deref(), &h, hist::csv, "chorus-metrics.csv")
}

/// JSON (`format` absent or `json`), or CSV (`csv`) as a download named `name`: the figures'
/// endpoints answer both ways alike.
pub(super) fn json_or_csv<T: serde::Serialize>(
    format: Option<&str>,
    body: &T,
    csv: impl FnOnce(&T) -> Result<Vec<u8>, Error>,
    name: &str,
) -> Result<HttpResponse, ApiError> {
    match format.unwrap_or("json") {
        "json" => Ok(HttpResponse::Ok().json(body)),
        "csv" => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
            .body(csv(body)?)),
        other => Err(ApiError::Domain(Error::Validation(format!("format is json or csv (got {other:?})")))),
    }
}

/// The SLA policies (anyone signed in: agents see what they are measured against).
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "metrics", security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/sla-policies")]
pub async fn list_policies(
    state: web::Data<AppState>,
    _who: Caller<can::ReadSettings>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sla::list(&state.db).await?))
}

/// Add a policy for a tier and/or network (409 if that scope has one). Applies to customer
/// messages stored from now on, on every node.
#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "metrics", security(("bearer" = [])),
    request_body = PolicySpec,
    responses((status = 201, body = PolicyView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/sla-policies")]
pub async fn create_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageSlaPolicies>,
    body: web::Json<PolicySpec>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = sla::create(&txn, body.into_inner()).await?;
    let e = entry(&req, &who, "sla_policy.create", "sla_policy", created.id);
    audit::record(&txn, e.with_after(&created)).await?;
    txn.commit().await?;
    state.sla.reload(&state.db).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Replace a policy.
#[utoipa::path(put, path = "/api/v1/sla-policies/{id}", tag = "metrics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "policy id")), request_body = PolicySpec,
    responses((status = 200, body = PolicyView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody)))]
#[put("/sla-policies/{id}")]
pub async fn replace_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageSlaPolicies>,
    id: web::Path<i64>,
    body: web::Json<PolicySpec>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = sla::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let after = sla::replace(&txn, id, body.into_inner()).await?;
    let e = entry(&req, &who, "sla_policy.update", "sla_policy", id);
    audit::record(&txn, e.with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    state.sla.reload(&state.db).await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Delete a policy.
#[utoipa::path(delete, path = "/api/v1/sla-policies/{id}", tag = "metrics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "policy id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/sla-policies/{id}")]
pub async fn delete_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageSlaPolicies>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = sla::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    sla::delete(&txn, id).await?;
    let e = entry(&req, &who, "sla_policy.delete", "sla_policy", id);
    audit::record(&txn, e.with_before(&before)).await?;
    txn.commit().await?;
    state.sla.reload(&state.db).await?;
    Ok(HttpResponse::NoContent().finish())
}
