//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/me`.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::agents::AgentView;
use crate::auth::{self, AuthedAgent};
use crate::error::ApiError;
use crate::state::AppState;

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
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody), (status = 400, body = crate::error::ErrorBody)))]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, body: web::Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    if body.email.len() > 254 || body.password.len() > 1024 {
        return Err(ApiError::Unauthorized("invalid email or password"));
    }
    let out = auth::login(&state.db, &body.email, &body.password, state.settings.session_ttl_secs).await?;
    Ok(HttpResponse::Ok().json(LoginResponse { token: out.token, agent: out.agent }))
}

/// End the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, who: AuthedAgent) -> Result<HttpResponse, ApiError> {
    auth::logout(&state.db, who.session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = AgentView), (status = 401, body = crate::error::ErrorBody)))]
#[get("/me")]
pub async fn me(who: AuthedAgent) -> HttpResponse {
    HttpResponse::Ok().json(who.agent)
}
