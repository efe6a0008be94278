//! `/api/v1/forecast` and `/api/v1/staffing`: the coming hours' inbound work with its
//! prediction interval, and the agents each hour needs against those online.

use actix_web::{HttpResponse, get, web};
use chorus_core::auth::can;
use chorus_core::forecast::{self, ForecastQuery, ForecastView};
use chorus_core::staffing::plan::{self, StaffingQuery, StaffingView};
use chorus_core::state::AppState;

use super::metrics::json_or_csv;
use crate::http::error::ApiError;
use crate::http::extract::Caller;

/// Conversations expected per hour from the start of today (UTC), in total or for one team or
/// network, with a prediction interval; actual counts beside them for hours gone by, and the
/// forecast made at the start of the day (actual against forecast). JSON, or CSV
/// (`format=csv`).
#[utoipa::path(get, path = "/api/v1/forecast", tag = "metrics", security(("bearer" = [])), params(ForecastQuery),
    responses((status = 200, body = ForecastView, description = "JSON, or text/csv with format=csv"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/forecast")]
pub async fn get_forecast(
    state: web::Data<AppState>,
    _who: Caller<can::ReadMetrics>,
    q: web::Query<ForecastQuery>,
) -> Result<HttpResponse, ApiError> {
    let policies = state.sla.current();
    let view = forecast::read(&state.db, &state.forecasts, &policies, &q, chrono::Utc::now()).await?;
    json_or_csv(q.format.as_deref(), &view, forecast::csv, "chorus-forecast.csv")
}

/// Agents needed per hour to meet the first-response target (Erlang C with the agents'
/// concurrency, docs/staffing.md), from the forecast, the measured handling time and the SLA
/// policy, against the agents online (hours gone by and now) or online at the same hour of the
/// week the last time it came round (hours to come), each hour flagged `under`, `over` or `ok`.
/// JSON, or CSV (`format=csv`).
#[utoipa::path(get, path = "/api/v1/staffing", tag = "metrics", security(("bearer" = [])), params(StaffingQuery),
    responses((status = 200, body = StaffingView, description = "JSON, or text/csv with format=csv"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/staffing")]
pub async fn get_staffing(
    state: web::Data<AppState>,
    _who: Caller<can::ReadMetrics>,
    q: web::Query<StaffingQuery>,
) -> Result<HttpResponse, ApiError> {
    let policies = state.sla.current();
    let view = plan::read(&state.db, &state.coord, &state.forecasts, &policies, &q, chrono::Utc::now()).await?;
    json_or_csv(q.format.as_deref(), &view, plan::csv, "chorus-staffing.csv")
}
