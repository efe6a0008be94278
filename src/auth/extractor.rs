//! Extractors: a handler that needs a caller asks for [`AuthedAgent`] (or [`IngestKey`]) and
//! never reads headers itself.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use secrecy::ExposeSecret;

use crate::agents::AgentView;
use crate::error::ApiError;
use crate::state::AppState;

/// A logged-in agent, resolved from `Authorization: Bearer <token>` (or the `chorus_token`
/// cookie the browser console uses).
#[derive(Debug, Clone)]
pub struct AuthedAgent {
    /// The agent.
    pub agent: AgentView,
    /// The session the token belongs to (for logout).
    pub session_id: i64,
}

impl AuthedAgent {
    /// Refuses callers without the role (admins may do everything).
    pub fn require_role(&self, role: &str) -> Result<(), ApiError> {
        if self.agent.roles.iter().any(|r| r == role || r == "admin") {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this action"))
        }
    }
}

/// The login token of a request: `Authorization: Bearer …`, else the `chorus_token` cookie.
pub fn token_of(req: &HttpRequest) -> Option<String> {
    if let Some(h) = req.headers().get(actix_web::http::header::AUTHORIZATION)
        && let Ok(v) = h.to_str()
        && let Some(t) = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))
    {
        return Some(t.trim().to_owned());
    }
    req.cookie("chorus_token").map(|c| c.value().to_owned())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("app state missing")))
}

impl FromRequest for AuthedAgent {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_of(req);
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::Unauthorized("missing bearer token"))?;
            let (session, agent) = crate::auth::authenticate(&state.db, &token).await?;
            tracing::Span::current().record("agent_id", agent.id);
            Ok(AuthedAgent { agent: AgentView::from(agent), session_id: session.id })
        })
    }
}

/// A caller holding the ingest API key (`X-Api-Key: <key>` or `Authorization: Bearer <key>`).
#[derive(Debug, Clone, Copy)]
pub struct IngestKey;

impl FromRequest for IngestKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = (|| {
            let state = state(req)?;
            let expected = state
                .settings
                .ingest_api_key
                .as_ref()
                .ok_or(ApiError::NotConfigured("ingest API is disabled: set CHORUS_INGEST_API_KEY"))?;
            let given = req
                .headers()
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| token_of(req))
                .ok_or(ApiError::Unauthorized("missing API key"))?;
            if crate::auth::token::secrets_equal(&given, expected.expose_secret()) {
                Ok(IngestKey)
            } else {
                Err(ApiError::Unauthorized("invalid API key"))
            }
        })();
        std::future::ready(result)
    }
}
