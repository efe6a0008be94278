//! The HTTP error type: every failure a client can see, with a stable machine-readable code,
//! mapped to a status once, here. Bodies are always `{"error": {"code", "message"}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// Valid JSON, wrong shape (missing field, wrong type, unknown field).
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// A value that parses but is not acceptable (empty text, too many messages, bad query).
    #[error("{0}")]
    Validation(String),
    /// The body is larger than the configured limit.
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A webhook without a valid signature.
    #[error("{0}")]
    BadSignature(&'static str),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Valid credentials, used from an address their allowlist does not include.
    #[error("not allowed from this address")]
    IpNotAllowed,
    /// Unknown id or route.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A conflicting state (e.g. an email already in use).
    #[error("{0}")]
    Conflict(String),
    /// Another agent holds the conversation.
    #[error("conversation is claimed by agent {0}")]
    AlreadyClaimed(i64),
    /// The caller's claim is gone: its fencing token is older than the newest one seen.
    #[error("your claim on this conversation is no longer valid (a newer claim exists)")]
    StaleClaim,
    /// A held reply's author no longer holds its conversation (reassigned, released, resolved):
    /// it goes out only if the approver confirms it for the current holder (`send_for`).
    #[error("{0}")]
    HolderChanged(String),
    /// The agent already holds as many conversations as their capacity allows.
    #[error("you already hold {0} conversations, your capacity")]
    AtCapacity(i32),
    /// Redis (cluster coordination) cannot be reached; nothing was granted.
    #[error("coordination unavailable: {0}")]
    CoordinationUnavailable(String),
    /// A feature that needs configuration the operator has not given.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// Too many failed logins: the account is locked for this many more seconds.
    #[error("too many failed logins; try again in {0} s")]
    Locked(i64),
    /// Too many requests from this credential or address: try again in this many seconds.
    #[error("too many requests; try again in {0} s")]
    RateLimited(i64),
    /// The server is shedding load (ingest queue full) or shutting down.
    #[error("{0}")]
    Unavailable(&'static str),
    /// A background task of this node is down or keeps failing (readiness).
    #[error("background task {0} is down or keeps failing")]
    TaskFailing(&'static str),
    /// A public reply holds private details (email, phone, order or account reference) the
    /// agent has not confirmed.
    #[error("{0}")]
    PrivateDetails(String),
    /// Anything else: logged with its cause chain, shown as a generic 500.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable code and a human message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `malformed_json`, `invalid_payload`, `validation`, `payload_too_large`,
    /// `unauthorized`, `bad_signature`, `forbidden`, `ip_not_allowed`, `not_found`, `conflict`, `already_claimed`,
    /// `stale_claim`, `holder_changed`, `at_capacity`, `coordination_unavailable`, `not_configured`, `unavailable`,
    /// `locked`, `rate_limited`, `private_details`, `internal`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl ApiError {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidPayload(_) => "invalid_payload",
            ApiError::Validation(_) => "validation",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::BadSignature(_) => "bad_signature",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::IpNotAllowed => "ip_not_allowed",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::AlreadyClaimed(_) => "already_claimed",
            ApiError::StaleClaim => "stale_claim",
            ApiError::HolderChanged(_) => "holder_changed",
            ApiError::AtCapacity(_) => "at_capacity",
            ApiError::CoordinationUnavailable(_) => "coordination_unavailable",
            ApiError::NotConfigured(_) => "not_configured",
            ApiError::Unavailable(_) | ApiError::TaskFailing(_) => "unavailable",
            ApiError::Locked(_) => "locked",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::PrivateDetails(_) => "private_details",
            ApiError::Unexpected(_) => "internal",
        }
    }

    /// The code and message as clients see them (internal causes are logged, not shown).
    pub fn detail(&self) -> ErrorDetail {
        let message = match self {
            ApiError::Unexpected(e) => {
                tracing::error!(error.cause_chain = ?e, error.message = %e, "request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        ErrorDetail { code: self.code(), message }
    }

    /// A body that could not be read: `validation` when the NUL guard stopped it
    /// ([`crate::http::nul`]), `malformed_json` otherwise.
    pub fn from_payload(e: &actix_web::error::PayloadError) -> Self {
        if let actix_web::error::PayloadError::Io(io) = e
            && io.get_ref().is_some_and(|inner| inner.is::<crate::http::nul::NulInBody>())
        {
            return ApiError::Validation(crate::http::nul::REFUSED.into());
        }
        ApiError::MalformedJson(format!("reading body: {e}"))
    }

    /// Classifies a serde_json failure: syntax/EOF is malformed, data errors are shape errors.
    pub fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(e.to_string()),
            Category::Data => ApiError::InvalidPayload(e.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_)
            | ApiError::InvalidPayload(_)
            | ApiError::Validation(_)
            | ApiError::PrivateDetails(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) | ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::IpNotAllowed => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_)
            | ApiError::AlreadyClaimed(_)
            | ApiError::StaleClaim
            | ApiError::HolderChanged(_)
            | ApiError::AtCapacity(_) => StatusCode::CONFLICT,
            ApiError::CoordinationUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotConfigured(_) | ApiError::Unavailable(_) | ApiError::TaskFailing(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Locked(_) | ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        if let ApiError::Locked(secs) | ApiError::RateLimited(secs) = self {
            r.insert_header((actix_web::http::header::RETRY_AFTER, secs.max(&1).to_string()));
        }
        r.json(ErrorBody { error: self.detail() })
    }
}

impl From<crate::coord::CoordError> for ApiError {
    fn from(e: crate::coord::CoordError) -> Self {
        use crate::coord::CoordError;
        match e {
            CoordError::Held(agent) => ApiError::AlreadyClaimed(agent),
            CoordError::StaleClaim => ApiError::StaleClaim,
            CoordError::AtCapacity(n) => ApiError::AtCapacity(i32::try_from(n).unwrap_or(i32::MAX)),
            CoordError::Unavailable(m) => ApiError::CoordinationUnavailable(m),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::unreachable(&e) {
            tracing::warn!(error.message = %e, "the store is unreachable");
            return ApiError::Unavailable("the store is unreachable; try again shortly");
        }
        ApiError::Unexpected(anyhow::Error::new(e))
    }
}

/// Maps actix's own extractor errors (JSON body, query string, path) into our error shape.
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default().limit(limit).error_handler(|err, _req| {
        use actix_web::error::JsonPayloadError;
        let api = match &err {
            JsonPayloadError::OverflowKnownLength { limit, .. } | JsonPayloadError::Overflow { limit } => {
                ApiError::PayloadTooLarge { limit: *limit }
            }
            JsonPayloadError::Deserialize(e) => ApiError::from_json(e),
            JsonPayloadError::ContentType => ApiError::Validation("expected Content-Type: application/json".into()),
            JsonPayloadError::Payload(p) => ApiError::from_payload(p),
            other => ApiError::MalformedJson(other.to_string()),
        };
        api.into()
    })
}

/// Query-string errors as `validation`.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|err, _req| ApiError::Validation(err.to_string()).into())
}

/// Path errors (a non-numeric id) as `not_found`.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|_err, _req| ApiError::NotFound("resource").into())
}
