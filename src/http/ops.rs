//! Operations: liveness, readiness, Prometheus metrics.

use actix_web::{HttpResponse, get, web};
use chorus_core::Error;
use entity::conversation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::http::error::ApiError;
use chorus_core::conversations::{STATUS_NEW, STATUS_OPEN};
use chorus_core::state::AppState;
use chorus_core::triage::Tier;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "ok")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The store (and Redis, in cluster mode) answers, and every background task runs.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, body = crate::http::error::ErrorBody)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.live.is_shutting_down() {
        return Err(ApiError::Domain(Error::Unavailable("shutting down")));
    }
    answers_soon(state.db.ping(), "store not reachable").await?;
    answers_soon(state.coord.ping(), "coordination backend not reachable").await?;
    if let Some((task, why)) = state.live.tasks.unhealthy().into_iter().next() {
        tracing::warn!(task, why, "not ready: a background task is down or keeps failing");
        return Err(ApiError::TaskFailing(task));
    }
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"status": "ready", "store": "ok", "coordination": state.coord.backend()})))
}

/// A dependency's ping, bounded: a load balancer's check must get a clear 503 from a node whose
/// store or Redis hangs, not a timeout of its own.
async fn answers_soon<E: std::fmt::Display>(
    ping: impl std::future::Future<Output = Result<(), E>>,
    refusal: &'static str,
) -> Result<(), ApiError> {
    match tokio::time::timeout(std::time::Duration::from_secs(2), ping).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error.message = %e, "{refusal}");
            Err(ApiError::Domain(Error::Unavailable(refusal)))
        }
        Err(_) => {
            tracing::warn!("{refusal}: no answer within 2 s");
            Err(ApiError::Domain(Error::Unavailable(refusal)))
        }
    }
}

/// Prometheus text exposition: ingest counts and latency, group-commit sizes, queue depth.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let depth: Vec<(i16, i64)> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::Priority)
        .column_as(conversation::Column::Id.count(), "n")
        .filter(conversation::Column::Status.is_in([STATUS_NEW, STATUS_OPEN]))
        .filter(conversation::Column::Priority.lte(2))
        .group_by(conversation::Column::Priority)
        .into_tuple()
        .all(&state.db)
        .await?;
    for tier in [Tier::Tier1, Tier::Tier2] {
        let n = depth.iter().find(|(p, _)| *p == tier.as_i16()).map_or(0, |(_, n)| *n);
        state.metrics.queue_depth.with_label_values(&[tier.as_str()]).set(n);
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render()?))
}
