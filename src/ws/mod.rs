//! `GET /ws`: an agent's live session. Authenticated on upgrade with the login token (bearer
//! header, the `chorus_token` cookie, or `?token=` for clients that cannot set headers), then
//! handed to a task of its own on the worker's runtime (the actix-ws stream is not `Send`).

pub mod protocol;
mod session;

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Open a live session (WebSocket upgrade). The protocol is described in docs/protocol.md.
#[utoipa::path(get, path = "/ws", tag = "live",
    params(("token" = Option<String>, Query, description = "login token, when no bearer header or cookie can be sent")),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, body = crate::error::ErrorBody, description = "not a WebSocket upgrade"),
        (status = 401, body = crate::error::ErrorBody)))]
#[get("/ws")]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = crate::auth::token_of(&req)
        .or_else(|| web::Query::<TokenQuery>::from_query(req.query_string()).ok().and_then(|q| q.0.token))
        .ok_or(ApiError::Unauthorized("missing token (bearer header, chorus_token cookie, or ?token=)"))?;
    let ip = crate::auth::client_ip(&req);
    let who = crate::auth::agent_for(&state, &token, ip).await?;
    let (response, ws, stream) =
        actix_ws::handle(&req, body).map_err(|e| ApiError::Validation(format!("not a WebSocket upgrade: {e}")))?;
    let max = state.settings.live.max_frame_bytes;
    let stream = stream.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    let span = tracing::info_span!(
        "ws",
        agent_id = who.agent.id,
        login_id = who.session_id,
        session_id = tracing::field::Empty
    );
    let login = session::Login { id: who.session_id, expires_at: who.expires_at };
    actix_web::rt::spawn(session::run(state.get_ref().clone(), who.agent, ws, stream, span, ip, login));
    Ok(response)
}
