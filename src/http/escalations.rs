//! Escalation: `POST /conversations/{id}/escalate` and `…/escalation/return`, the escalation
//! queues (`GET /escalations`) and the guidance on what to escalate (`/escalation-guides`).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};

use super::audit_entry as entry;
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::escalations::guides::{self, GuideSpec, GuideView};
use chorus_core::escalations::{self, Escalated, ListQuery, NewEscalation, ReturnNote};
use chorus_core::state::AppState;

fn ip(req: &HttpRequest) -> Option<String> {
    crate::http::extract::client_ip(req).map(|a| a.to_string())
}

/// Escalate a conversation you hold, with a reason: to your team lead (`team_lead`), onward to
/// `pr` or `legal` (team leads), or across to another team (`team` with `team_id`). Your claim
/// goes back; the group takes it from its escalation queue.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/escalate", tag = "escalations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = NewEscalation,
    responses((status = 200, body = Escalated), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "stale_claim or resolved")))]
#[post("/conversations/{id}/escalate")]
pub async fn escalate(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    body: web::Json<NewEscalation>,
) -> Result<HttpResponse, ApiError> {
    let out =
        escalations::escalate(&state.db, &state.live, id.into_inner(), &who.agent, body.into_inner(), ip(&req)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Return a conversation's open escalation to the agent who raised it, with a note (a member
/// of the group it went to). It is handed straight back to them with a new claim.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/escalation/return", tag = "escalations",
    security(("bearer" = [])), params(("id" = i64, Path, description = "conversation id")), request_body = ReturnNote,
    responses((status = 200, body = Escalated), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/conversations/{id}/escalation/return")]
pub async fn give_back(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    body: web::Json<ReturnNote>,
) -> Result<HttpResponse, ApiError> {
    let lease = std::time::Duration::from_secs(state.settings.claim_lease_secs);
    let out = escalations::give_back(&state.db, &state.live, id.into_inner(), &who.agent, &body.note, lease, ip(&req))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The escalation queues: open escalations (by default) with their conversations, oldest first
/// — the caller's groups' queues (admins: all), team escalations, and the ones they raised.
#[utoipa::path(get, path = "/api/v1/escalations", tag = "escalations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Escalated>), (status = 400, body = crate::http::error::ErrorBody)))]
#[get("/escalations")]
pub async fn list(
    state: web::Data<AppState>,
    who: Authed<can::ReadConversations>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(escalations::list(&state.db, &q, &who.agent).await?))
}

/// The guidance on what to escalate (anyone signed in).
#[utoipa::path(get, path = "/api/v1/escalation-guides", tag = "escalations", security(("bearer" = [])),
    responses((status = 200, body = Vec<GuideView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/escalation-guides")]
pub async fn list_guides(
    state: web::Data<AppState>,
    _who: Caller<can::ReadSettings>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(guides::list(&state.db).await?))
}

/// Add guidance (team leads, PR, legal, admins); conversations show it at once.
#[utoipa::path(post, path = "/api/v1/escalation-guides", tag = "escalations", security(("bearer" = [])),
    request_body = GuideSpec,
    responses((status = 201, body = GuideView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/escalation-guides")]
pub async fn create_guide(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageGuidance>,
    body: web::Json<GuideSpec>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = guides::create(&txn, body.into_inner(), who.agent.id).await?;
    let e = entry(&req, &who, "escalation_guide.create", "escalation_guide", created.id);
    audit::record(&txn, e.with_after(&created)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// Replace guidance.
#[utoipa::path(put, path = "/api/v1/escalation-guides/{id}", tag = "escalations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "guide id")), request_body = GuideSpec,
    responses((status = 200, body = GuideView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[put("/escalation-guides/{id}")]
pub async fn replace_guide(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageGuidance>,
    id: web::Path<i64>,
    body: web::Json<GuideSpec>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = guides::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let after = guides::replace(&txn, id, body.into_inner()).await?;
    let e = entry(&req, &who, "escalation_guide.update", "escalation_guide", id);
    audit::record(&txn, e.with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Delete guidance.
#[utoipa::path(delete, path = "/api/v1/escalation-guides/{id}", tag = "escalations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "guide id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/escalation-guides/{id}")]
pub async fn delete_guide(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageGuidance>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = guides::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    guides::delete(&txn, id).await?;
    let e = entry(&req, &who, "escalation_guide.delete", "escalation_guide", id);
    audit::record(&txn, e.with_before(&before)).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
