//! `GET/POST /api/v1/agents`, `PATCH /api/v1/agents/{id}`, `DELETE /api/v1/agents/{id}/sessions`.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chorus_core::Error;

use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::agents::{self, AgentPatch, AgentView, NewAgent};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::state::AppState;

/// All agents.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/agents")]
pub async fn list(state: web::Data<AppState>, _who: Caller<can::ReadDirectory>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(agents::list(&state.db).await?))
}

/// Create an agent (admin only).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])), request_body = NewAgent,
    responses((status = 201, body = AgentView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/agents")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageAgents>,
    body: web::Json<NewAgent>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = agents::create(&txn, body.into_inner()).await?;
    audit::record(&txn, super::audit_entry(&req, &who, "agent.create", "agent", created.id).with_after(&created))
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// Change an agent (admin): name, roles, skills, capacity, or disable them. Takes effect on
/// their live sessions at once: narrowed to the new roles' topics, or closed when disabled.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = i64, Path, description = "agent id")), request_body = AgentPatch,
    responses((status = 200, body = AgentView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[patch("/agents/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageAgents>,
    id: web::Path<i64>,
    body: web::Json<AgentPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after, evs) = agents::update(&txn, who.agent.id, id, body.into_inner()).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "agent.update", "agent", id).with_before(&before).with_after(&after),
    )
    .await?;
    txn.commit().await?;
    state.live.publish(&evs);
    Ok(HttpResponse::Ok().json(after))
}

/// Sign an agent out everywhere (admin): every token stops working and their live sockets close.
#[utoipa::path(delete, path = "/api/v1/agents/{id}/sessions", tag = "agents", security(("bearer" = [])),
    params(("id" = i64, Path, description = "agent id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/agents/{id}/sessions")]
pub async fn revoke_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageAgents>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    use sea_orm::EntityTrait;
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    entity::agent::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::Domain(Error::NotFound("agent")))?;
    let (n, revoked) = agents::revoke_sessions(&txn, id, None).await?;
    let entry = super::audit_entry(&req, &who, "agent.sessions_revoke", "agent", id);
    audit::record(&txn, entry.with_after(&serde_json::json!({"revoked": n}))).await?;
    txn.commit().await?;
    state.live.publish(&[revoked]);
    Ok(HttpResponse::NoContent().finish())
}
