//! `/api/v1/metrics/live`: the floor right now, for supervisors and wallboards.

use actix_web::{HttpResponse, get, web};

use crate::auth::AuthedAgent;
use crate::error::ApiError;
use crate::metrics::live::{self, LiveFigures};
use crate::state::AppState;

/// The queue (by tier and team, oldest wait, overdue, escalated), the agents (online, away,
/// with room, at capacity) and today's first responses against target (supervisors,
/// wallboards, PR, legal).
#[utoipa::path(get, path = "/api/v1/metrics/live", tag = "metrics", security(("bearer" = [])),
    responses((status = 200, body = LiveFigures), (status = 403, body = crate::error::ErrorBody)))]
#[get("/metrics/live")]
pub async fn current(state: web::Data<AppState>, who: AuthedAgent) -> Result<HttpResponse, ApiError> {
    if !who
        .agent
        .roles
        .iter()
        .any(|r| matches!(r.as_str(), "supervisor" | "wallboard" | "approver" | "legal" | "admin"))
    {
        return Err(ApiError::Forbidden("the live figures are for supervisors and wallboards"));
    }
    Ok(HttpResponse::Ok().json(live::figures(&state.db, &state.coord).await?))
}
