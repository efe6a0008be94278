//! `GET/POST /api/v1/agents` (admin).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use sea_orm::TransactionTrait;

use crate::agents::{self, AgentView, NewAgent};
use crate::audit;
use crate::auth::AuthedAgent;
use crate::error::ApiError;
use crate::state::AppState;

/// All agents.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 401, body = crate::error::ErrorBody)))]
#[get("/agents")]
pub async fn list(state: web::Data<AppState>, _who: AuthedAgent) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(agents::list(&state.db).await?))
}

/// Create an agent (admin only).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])), request_body = NewAgent,
    responses((status = 201, body = AgentView), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
#[post("/agents")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AuthedAgent,
    body: web::Json<NewAgent>,
) -> Result<HttpResponse, ApiError> {
    who.require_role("admin")?;
    let txn = state.db.begin().await?;
    let created = agents::create(&txn, body.into_inner()).await?;
    audit::record(
        &txn,
        audit::Entry {
            after: serde_json::to_value(&created).ok(),
            ..super::audit_entry(&req, &who, "agent.create", "agent", created.id)
        },
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}
