//! Rate limits (GCRA, from the `governor` crate): per credential on the API, per client address
//! on login, per session on WebSocket commands. Kept per node: they protect the node and slow a
//! runaway integration or a credential-stuffing run; the per-account lockout (in the store) is
//! what holds across nodes.

use std::num::NonZeroU32;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::http::error::ApiError;
use chorus_core::config::LimitSettings;

/// The node's limiters.
pub struct Limits {
    api: Option<DefaultKeyedRateLimiter<String>>,
    login: Option<DefaultKeyedRateLimiter<String>>,
    ws: Option<Quota>,
}

fn quota(per: u32, burst: u32, per_minute: bool) -> Option<Quota> {
    let per = NonZeroU32::new(per)?;
    let q = if per_minute { Quota::per_minute(per) } else { Quota::per_second(per) };
    Some(NonZeroU32::new(burst).map_or(q, |b| q.allow_burst(b)))
}

fn refuse(not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX).saturating_add(1))
}

impl Limits {
    /// From the settings (a rate of 0 switches that limit off).
    pub fn new(s: &LimitSettings) -> Self {
        Self {
            api: quota(s.api_per_second, s.api_burst, false).map(governor::RateLimiter::dashmap),
            login: quota(s.logins_per_minute, s.login_burst, true).map(governor::RateLimiter::dashmap),
            ws: quota(s.ws_commands_per_second, s.ws_burst, false),
        }
    }

    /// One API request by this caller (a hashed credential, or an address).
    pub fn api(&self, key: &str) -> Result<(), ApiError> {
        match &self.api {
            Some(l) => l.check_key(&key.to_owned()).map_err(|n| refuse(&n)),
            None => Ok(()),
        }
    }

    /// One login attempt from this address.
    pub fn login(&self, ip: &str) -> Result<(), ApiError> {
        match &self.login {
            Some(l) => l.check_key(&ip.to_owned()).map_err(|n| refuse(&n)),
            None => Ok(()),
        }
    }

    /// A limiter for one WebSocket session's commands.
    pub fn session(&self) -> Option<DefaultDirectRateLimiter> {
        self.ws.map(governor::RateLimiter::direct)
    }

    /// Forgets callers that have been quiet, so the maps do not grow with every token ever seen.
    pub fn forget_quiet(&self) {
        for l in [&self.api, &self.login].into_iter().flatten() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Checks a session's command limiter.
pub fn session_check(l: Option<&DefaultDirectRateLimiter>) -> Result<(), ApiError> {
    match l {
        Some(l) => l.check().map_err(|n| refuse(&n)),
        None => Ok(()),
    }
}

/// The middleware on `/api/v1`: logins count per address; a request without a credential per
/// address. A request with one is charged once the credential is checked (by the extractors,
/// `auth::extractor::charge`): to the credential (its SHA-256, never the credential itself)
/// when valid, else to the address. Ingest is left to its own load shedding.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(limits) = req.app_data::<web::Data<Limits>>() {
        let path = req.path();
        let ip =
            || crate::http::extract::client_ip(req.request()).map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        if path == "/api/v1/auth/login" {
            limits.login(&ip())?;
        } else if !path.starts_with("/api/v1/ingest/") && crate::http::extract::token_of(req.request()).is_none() {
            limits.api(&format!("ip:{}", ip()))?;
        }
    }
    next.call(req).await
}
