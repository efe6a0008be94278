//! `GET /ws`: an agent's live session. Authenticated on upgrade with the login token (bearer
//! header, the `chorus_token` cookie, or `?token=` for clients that cannot set headers), then
//! handed to a task of its own on the worker's runtime (the actix-ws stream is not `Send`).

mod ack;
pub mod protocol;
mod session;
pub mod topic_access;

use actix_web::{HttpRequest, HttpResponse, get, web};
use chorus_core::Error;
use serde::Deserialize;

use crate::http::error::ApiError;
use chorus_core::state::AppState;

/// Whether an upgrade authenticated by cookie comes from a page of this server (its `Origin`
/// names the host the request was sent to) or from a configured origin. Browsers always send
/// `Origin` on a WebSocket upgrade; a request without one is not a browser's and must name its
/// token instead of relying on a cookie.
fn origin_allowed(req: &HttpRequest, allowed: &[String]) -> bool {
    let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Ok(origin) = url::Url::parse(origin) else { return false };
    let Some(host) = origin.host_str() else { return false };
    let authority = match origin.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    authority.eq_ignore_ascii_case(req.connection_info().host())
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Open a live session (WebSocket upgrade). The protocol is described in docs/protocol.md.
#[utoipa::path(get, path = "/ws", tag = "live",
    params(("token" = Option<String>, Query, description = "login token, when no bearer header or cookie can be sent")),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, body = crate::http::error::ErrorBody, description = "not a WebSocket upgrade"),
        (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody, description = "authenticated by cookie from another site's page")))]
#[get("/ws")]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    limits: web::Data<crate::http::limits::Limits>,
) -> Result<HttpResponse, ApiError> {
    let named = crate::http::extract::bearer_of(&req)
        .or_else(|| web::Query::<TokenQuery>::from_query(req.query_string()).ok().and_then(|q| q.0.token));
    let token = match named {
        Some(t) => t,
        None => {
            let t = crate::http::extract::cookie_of(&req).ok_or(ApiError::Domain(Error::Unauthorized(
                "missing token (bearer header, chorus_token cookie, or ?token=)",
            )))?;
            // A browser sends the cookie with any page's upgrade request: only the console's own
            // pages (or a configured origin) may open a session with it.
            if !origin_allowed(&req, &state.settings.security.allowed_origins) {
                return Err(ApiError::Domain(Error::Forbidden(
                    "this page's origin may not open a live session with the console's cookie",
                )));
            }
            t
        }
    };
    let ip = crate::http::extract::client_ip(&req);
    let who = crate::http::extract::agent_for(&state, &token, ip).await?;
    let (response, ws, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::Domain(Error::Validation(format!("not a WebSocket upgrade: {e}"))))?;
    let max = state.settings.live.max_frame_bytes;
    let stream = stream.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    let span = tracing::info_span!(
        "ws",
        agent_id = who.agent.id,
        login_id = who.session_id,
        session_id = tracing::field::Empty
    );
    let opener = session::Opener {
        login: session::Login { id: who.session_id, expires_at: who.expires_at },
        agent: who.agent,
        ip,
        limiter: limits.session(),
    };
    actix_web::rt::spawn(session::run(state.get_ref().clone(), opener, ws, stream, span));
    Ok(response)
}
