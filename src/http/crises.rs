//! `/api/v1/crises`: declare, change, publish approved responses, stand down, timeline; and the
//! early-warning alerts.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chorus_core::Error;
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::auth::can;
use chorus_core::crisis::{self, CrisisPatch, CrisisView, Declare, NewResponse, ResponseView, timeline};
use chorus_core::state::AppState;

fn ip(req: &HttpRequest) -> Option<String> {
    crate::http::extract::client_ip(req).map(|a| a.to_string())
}

/// Which crises to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CrisisQuery {
    /// `active` (default), `resolved` or `all`.
    pub status: Option<String>,
}

/// Crises, newest first (anyone signed in: the banner comes from here after a reload).
#[utoipa::path(get, path = "/api/v1/crises", tag = "crisis", security(("bearer" = [])), params(CrisisQuery),
    responses((status = 200, body = Vec<CrisisView>), (status = 400, body = crate::http::error::ErrorBody)))]
#[get("/crises")]
pub async fn list(
    state: web::Data<AppState>,
    _who: Caller<can::ReadCrises>,
    q: web::Query<CrisisQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(crisis::list(&state.db, q.status.as_deref()).await?))
}

/// Declare a crisis (PR, legal, admin): every session on every node gets `crisis.declared`.
#[utoipa::path(post, path = "/api/v1/crises", tag = "crisis", security(("bearer" = [])), request_body = Declare,
    responses((status = 201, body = CrisisView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/crises")]
pub async fn declare(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::RunCrises>,
    body: web::Json<Declare>,
) -> Result<HttpResponse, ApiError> {
    let v = crisis::declare(&state.db, &state.live, &state.crises, &who.agent, body.into_inner(), ip(&req)).await?;
    Ok(HttpResponse::Created().json(v))
}

/// One crisis, with its current approved responses.
#[utoipa::path(get, path = "/api/v1/crises/{id}", tag = "crisis", security(("bearer" = [])),
    params(("id" = i64, Path, description = "crisis id")),
    responses((status = 200, body = CrisisView), (status = 404, body = crate::http::error::ErrorBody)))]
#[get("/crises/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _who: Caller<can::ReadCrises>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(crisis::get(&state.db, id.into_inner()).await?))
}

/// Change an active crisis: holding message, severity, rota, holds, acknowledgements.
#[utoipa::path(patch, path = "/api/v1/crises/{id}", tag = "crisis", security(("bearer" = [])),
    params(("id" = i64, Path, description = "crisis id")), request_body = CrisisPatch,
    responses((status = 200, body = CrisisView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "stood down")))]
#[patch("/crises/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::RunCrises>,
    id: web::Path<i64>,
    body: web::Json<CrisisPatch>,
) -> Result<HttpResponse, ApiError> {
    let (db, live, crises) = (&state.db, &state.live, &state.crises);
    let v = crisis::update(db, live, crises, id.into_inner(), &who.agent, body.into_inner(), ip(&req)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Publish a new version of an approved response; every agent gets `crisis.response` at once.
#[utoipa::path(post, path = "/api/v1/crises/{id}/responses", tag = "crisis", security(("bearer" = [])),
    params(("id" = i64, Path, description = "crisis id")), request_body = NewResponse,
    responses((status = 201, body = ResponseView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/crises/{id}/responses")]
pub async fn respond(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::RunCrises>,
    id: web::Path<i64>,
    body: web::Json<NewResponse>,
) -> Result<HttpResponse, ApiError> {
    let v = crisis::respond(&state.db, &state.live, id.into_inner(), &who.agent, body.into_inner(), ip(&req)).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Stand a crisis down: banners clear, linked conversations get their tier and team back.
#[utoipa::path(post, path = "/api/v1/crises/{id}/resolve", tag = "crisis", security(("bearer" = [])),
    params(("id" = i64, Path, description = "crisis id")),
    responses((status = 200, body = CrisisView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/crises/{id}/resolve")]
pub async fn resolve(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::RunCrises>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let v = crisis::resolve(&state.db, &state.live, &state.crises, id.into_inner(), &who.agent, ip(&req)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// How to export a timeline.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The incident's timeline: volumes and responses per minute, approvals, who did what.
#[utoipa::path(get, path = "/api/v1/crises/{id}/timeline", tag = "crisis", security(("bearer" = [])),
    params(("id" = i64, Path, description = "crisis id"), TimelineQuery),
    responses((status = 200, body = timeline::Timeline, description = "JSON, or text/csv with format=csv"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[get("/crises/{id}/timeline")]
pub async fn export(
    state: web::Data<AppState>,
    _who: Authed<can::ExportCrises>,
    id: web::Path<i64>,
    q: web::Query<TimelineQuery>,
) -> Result<HttpResponse, ApiError> {
    let t = timeline::build(&state.db, id.into_inner()).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(HttpResponse::Ok().json(t)),
        "csv" => Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(timeline::csv(&t)?)),
        _ => Err(ApiError::Domain(Error::Validation("format must be json or csv".into()))),
    }
}

/// The latest early-warning alerts, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/crisis-alerts", tag = "crisis", security(("bearer" = [])),
    responses((status = 200, description = "alerts as `crisis.alert` carries them"), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/crisis-alerts")]
pub async fn alerts(state: web::Data<AppState>, _who: Caller<can::ReadAlerts>) -> Result<HttpResponse, ApiError> {
    use entity::crisis_alert;
    let rows = crisis_alert::Entity::find().order_by_desc(crisis_alert::Column::Id).limit(100).all(&state.db).await?;
    Ok(HttpResponse::Ok().json(rows))
}
