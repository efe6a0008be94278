//! `/api/v1/teams` and team membership: who works which queue, and whether it is pushed.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::audit_entry as entry;
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::state::AppState;
use chorus_core::teams::{self, NewTeam, TeamPatch, TeamView};

/// Reloads this node's routes after a change, so the next batch routes by them (other nodes
/// pick the change up within `teams::REFRESH`).
async fn reload(state: &AppState) {
    if let Err(e) = state.teams.reload(&state.db).await {
        tracing::warn!(error.message = %e, "reloading team routes after a change failed");
    }
}

/// All teams, with their members.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<TeamView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/teams")]
pub async fn list(state: web::Data<AppState>, _who: Caller<can::ReadDirectory>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(teams::list(&state.db).await?))
}

/// Create a team (admin).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), request_body = NewTeam,
    responses((status = 201, body = TeamView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/teams")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageAgents>,
    body: web::Json<NewTeam>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = teams::create(&txn, body.into_inner()).await?;
    audit::record(&txn, entry(&req, &who, "team.create", "team", created.id).with_after(&created)).await?;
    txn.commit().await?;
    reload(&state).await;
    Ok(HttpResponse::Created().json(created))
}

/// Change a team's name, routes or push (supervisor): routes apply to conversations that open
/// from now on; turning push on hands the team's waiting work to its members within a second.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "team id")), request_body = TeamPatch,
    responses((status = 200, body = TeamView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody)))]
#[patch("/teams/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageTeams>,
    id: web::Path<i64>,
    body: web::Json<TeamPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after) = teams::update(&txn, id, body.into_inner()).await?;
    audit::record(&txn, entry(&req, &who, "team.update", "team", id).with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    reload(&state).await;
    Ok(HttpResponse::Ok().json(after))
}

/// The team to put an agent on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMembership {
    /// The team, or `null` for none.
    pub team_id: Option<i64>,
}

/// Put an agent on a team, or take them off (supervisor). Their next `next` works the new
/// team's queue; they need not reconnect.
#[utoipa::path(put, path = "/api/v1/agents/{id}/team", tag = "teams", security(("bearer" = [])),
    params(("id" = i64, Path, description = "agent id")), request_body = TeamMembership,
    responses((status = 200, body = chorus_core::agents::AgentView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[put("/agents/{id}/team")]
pub async fn set_agent_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageTeams>,
    id: web::Path<i64>,
    body: web::Json<TeamMembership>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after) = teams::set_agent_team(&txn, id, body.team_id).await?;
    audit::record(&txn, entry(&req, &who, "agent.team", "agent", id).with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}
