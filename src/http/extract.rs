//! Extractors: a handler that needs a caller asks for [`Authed`] (an agent holding a
//! permission), [`Caller`] (an agent or an API key holding it), [`AuthedAgent`] (anyone signed
//! in) or [`IngestKey`], and never reads headers itself.

use chorus_core::Error;
use std::future::Future;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use secrecy::ExposeSecret;

use crate::http::error::ApiError;
use crate::http::limits::Limits;
use chorus_core::agents::AgentView;
use chorus_core::auth::api_keys::{self, KeyCaller};
use chorus_core::auth::permissions::{Needs, Permission};
use chorus_core::state::AppState;

/// A logged-in agent, resolved from `Authorization: Bearer <token>` (or the `chorus_token`
/// cookie the browser console uses), with the roles usable from the client's address.
#[derive(Debug, Clone)]
pub struct AuthedAgent {
    /// The agent; `roles` are those usable from `ip` (see [`chorus_core::auth::address::usable_roles`]).
    pub agent: AgentView,
    /// The session the token belongs to (for logout).
    pub session_id: i64,
    /// The client's address (through trusted proxies).
    pub ip: Option<IpAddr>,
    /// When the login expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The login token of a request: `Authorization: Bearer …`, else the `chorus_token` cookie.
pub fn token_of(req: &HttpRequest) -> Option<String> {
    bearer_of(req).or_else(|| cookie_of(req))
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_of(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(|t| t.trim().to_owned())
}

/// The console's `chorus_token` cookie.
pub fn cookie_of(req: &HttpRequest) -> Option<String> {
    req.cookie("chorus_token").map(|c| c.value().to_owned())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Domain(Error::Unexpected(anyhow::anyhow!("app state missing"))))
}

/// The client's address of a request, by the node's trusted-proxy setting.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let state = state(req).ok()?;
    let forwarded = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
    chorus_core::auth::address::client_ip(req.peer_addr()?.ip(), forwarded, &state.settings.security)
}

/// Resolves a login token to its agent, with the roles usable from `ip`. Shared by every
/// extractor and the WebSocket upgrade, so the same rules hold everywhere.
pub async fn agent_for(state: &AppState, token: &str, ip: Option<IpAddr>) -> Result<AuthedAgent, ApiError> {
    if api_keys::looks_like(token) {
        return Err(ApiError::Domain(Error::Forbidden("API keys cannot use this route: it needs a signed-in agent")));
    }
    let (session, agent) = chorus_core::auth::authenticate(&state.db, token).await?;
    let mut view = AgentView::from(agent);
    view.roles = chorus_core::auth::usable_roles_or_refuse(&state.db, &state.settings.security, &view, ip).await?;
    tracing::Span::current().record("agent_id", view.id);
    Ok(AuthedAgent { agent: view, session_id: session.id, ip, expires_at: session.expires_at })
}

impl FromRequest for AuthedAgent {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_of(req);
        let state = state(req);
        let ip = client_ip(req);
        let limits = limits(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::Domain(Error::Unauthorized("missing bearer token")))?;
            let who = charge(limits.as_ref().map(|l| l.get_ref()), &token, ip, agent_for(&state, &token, ip).await)?;
            req.extensions_mut().insert(crate::http::settings_changed::Actor(format!("agent:{}", who.agent.id)));
            Ok(who)
        })
    }
}

/// The node's rate limits (absent only in an app built without them).
fn limits(req: &HttpRequest) -> Option<web::Data<Limits>> {
    req.app_data::<web::Data<Limits>>().cloned()
}

/// Charges an authenticated request to the API rate limit: to its credential's bucket when
/// the credential proved valid, else to the client's address. Made-up tokens so neither escape
/// the limit nor make a bucket each (the limiter's memory stays bounded by real credentials and
/// addresses). Requests without a credential are charged by the `/api/v1` middleware.
fn charge<T>(
    limits: Option<&Limits>,
    token: &str,
    ip: Option<IpAddr>,
    outcome: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let Some(limits) = limits else {
        return outcome;
    };
    let valid = !matches!(outcome, Err(ApiError::Domain(Error::Unauthorized(_))));
    let key = if valid {
        format!("t:{}", chorus_core::auth::token::hash(token))
    } else {
        format!("ip:{}", ip.map_or_else(|| "unknown".to_owned(), |a| a.to_string()))
    };
    limits.api(&key)?;
    outcome
}

/// A logged-in agent holding the permission `P` (see [`chorus_core::auth::permissions`]); anyone else gets
/// 403 `forbidden` before the handler runs, so the handler's signature is its access rule.
pub struct Authed<P> {
    who: AuthedAgent,
    need: PhantomData<fn() -> P>,
}

impl<P> std::ops::Deref for Authed<P> {
    type Target = AuthedAgent;

    fn deref(&self) -> &AuthedAgent {
        &self.who
    }
}

impl<P: Needs + 'static> FromRequest for Authed<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let who = AuthedAgent::from_request(req, payload);
        Box::pin(async move {
            let who = who.await?;
            chorus_core::auth::permissions::require(&who.agent.roles, P::PERMISSION)?;
            Ok(Authed { who, need: PhantomData })
        })
    }
}

/// Who is calling a route that integrations may use too.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in agent.
    Agent(AuthedAgent),
    /// An API key.
    Key(KeyCaller),
}

/// An agent or an API key holding the permission `P`: for the routes integrations read
/// (conversations, figures, the audit trail). Keys are checked against their scopes and their
/// address allowlist.
pub struct Caller<P> {
    /// Who.
    pub principal: Principal,
    /// From where.
    pub ip: Option<IpAddr>,
    need: PhantomData<fn() -> P>,
}

impl<P> Caller<P> {
    /// The agent, when an agent is calling.
    pub fn agent(&self) -> Option<&AgentView> {
        match &self.principal {
            Principal::Agent(a) => Some(&a.agent),
            Principal::Key(_) => None,
        }
    }

    /// How the audit trail names the caller: `agent:<id>` or `key:<id>`.
    pub fn actor(&self) -> String {
        match &self.principal {
            Principal::Agent(a) => format!("agent:{}", a.agent.id),
            Principal::Key(k) => format!("key:{}", k.id),
        }
    }
}

/// Checks an API key's address allowlist, auditing a refusal.
async fn key_from(state: &AppState, key: &str, ip: Option<IpAddr>, need: Permission) -> Result<KeyCaller, ApiError> {
    let k = api_keys::authenticate(&state.db, key).await?;
    if !k.allowlist.is_empty() && !ip.is_some_and(|ip| chorus_core::auth::address::listed(&k.allowlist, ip)) {
        chorus_core::auth::refuse_address(&state.db, &format!("key:{}", k.id), ip).await?;
        return Err(ApiError::Domain(Error::IpNotAllowed));
    }
    if !k.holds(need) {
        return Err(ApiError::Domain(Error::Forbidden(need.refusal())));
    }
    Ok(k)
}

impl<P: Needs + 'static> FromRequest for Caller<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_of(req);
        let state = state(req);
        let ip = client_ip(req);
        let limits = limits(req);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or(ApiError::Domain(Error::Unauthorized("missing bearer token")))?;
            let principal = if api_keys::looks_like(&token) {
                key_from(&state, &token, ip, P::PERMISSION).await.map(Principal::Key)
            } else {
                agent_for(&state, &token, ip).await.and_then(|who| {
                    chorus_core::auth::permissions::require(&who.agent.roles, P::PERMISSION)?;
                    Ok(Principal::Agent(who))
                })
            };
            let principal = charge(limits.as_ref().map(|l| l.get_ref()), &token, ip, principal)?;
            Ok(Caller { principal, ip, need: PhantomData })
        })
    }
}

/// A caller allowed to ingest: the configured ingest key (`X-Api-Key: <key>` or
/// `Authorization: Bearer <key>`), or an API key with the `ingest.write` scope.
#[derive(Debug, Clone, Copy)]
pub struct IngestKey;

impl FromRequest for IngestKey {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let given =
            req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned).or_else(|| token_of(req));
        let state = state(req);
        let ip = client_ip(req);
        Box::pin(async move {
            let state = state?;
            let given = given.ok_or(ApiError::Domain(Error::Unauthorized("missing API key")))?;
            if api_keys::looks_like(&given) {
                key_from(&state, &given, ip, Permission::IngestMessages).await?;
                return Ok(IngestKey);
            }
            let expected = state.settings.ingest_api_key.as_ref().ok_or(ApiError::Domain(Error::NotConfigured(
                "ingest API is disabled: set CHORUS_INGEST_API_KEY or make an API key with ingest.write",
            )))?;
            if chorus_core::auth::token::secrets_equal(&given, expected.expose_secret()) {
                Ok(IngestKey)
            } else {
                Err(ApiError::Domain(Error::Unauthorized("invalid API key")))
            }
        })
    }
}
