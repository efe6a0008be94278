//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/me`.

use actix_web::{HttpResponse, get, post, web};
use chorus_core::Error;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::extract::AuthedAgent;
use chorus_core::agents::AgentView;
use chorus_core::auth;
use chorus_core::state::AppState;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A session token and its agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Who logged in.
    pub agent: AgentView,
}

/// Log in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::http::error::ErrorBody), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody, description = "ip_not_allowed: none of the agent's roles may be used from this address"),
        (status = 429, body = crate::http::error::ErrorBody, description = "locked after too many failed logins (Retry-After)")))]
#[post("/auth/login")]
pub async fn login(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.email.len() > 254 || body.password.len() > 1024 {
        return Err(ApiError::Domain(Error::Unauthorized("invalid email or password")));
    }
    let s = &state.settings;
    let lockout = auth::Lockout {
        max_failed: i32::try_from(s.max_failed_logins).unwrap_or(i32::MAX),
        lock: chrono::Duration::seconds(i64::try_from(s.lockout_secs).unwrap_or(900)),
        ip: crate::http::extract::client_ip(&req),
        role_allowlists: s.security.role_allowlists.clone(),
    };
    let out = auth::login(&state.db, &body.email, &body.password, s.session_ttl_secs, &lockout).await?;
    Ok(HttpResponse::Ok().json(LoginResponse { token: out.token, agent: out.agent }))
}

/// End the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::http::error::ErrorBody)))]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, who: AuthedAgent) -> Result<HttpResponse, ApiError> {
    auth::logout(&state.db, &state.live, who.agent.id, who.session_id, who.ip).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller and what their roles let them do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The agent.
    #[serde(flatten)]
    pub agent: AgentView,
    /// The permissions their roles hold (see docs/security.md), e.g. `conversations.work`.
    pub permissions: Vec<String>,
}

/// The caller, with the permissions their roles hold.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/me")]
pub async fn me(who: AuthedAgent) -> HttpResponse {
    let permissions = auth::permissions::held(&who.agent.roles).iter().map(|p| p.name().to_owned()).collect();
    HttpResponse::Ok().json(Me { agent: who.agent, permissions })
}
