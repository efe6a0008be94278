//! The face's error: the domain's [`chorus_core::Error`] plus what only a request can get wrong
//! (a body that is not JSON, too large, unsigned; too many requests), mapped to an HTTP status
//! once, here. Bodies are always `{"error": {"code", "message"}}`; WebSocket error frames carry
//! the same code and message ([`ApiError::detail`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chorus_core::Error;
use chorus_core::error::ErrorDetail;
use serde::Serialize;
use utoipa::ToSchema;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The domain refused or failed.
    #[error(transparent)]
    Domain(#[from] Error),
    /// The body is not JSON at all.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// Valid JSON, wrong shape (missing field, wrong type, unknown field).
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// The body is larger than the configured limit.
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A webhook without a valid signature.
    #[error("{0}")]
    BadSignature(&'static str),
    /// Too many requests from this credential or address: try again in this many seconds.
    #[error("too many requests; try again in {0} s")]
    RateLimited(i64),
    /// A background task of this node is down or keeps failing (readiness).
    #[error("background task {0} is down or keeps failing")]
    TaskFailing(&'static str),
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Domain(e.into())
    }
}

impl From<chorus_core::ingest::IngestError> for ApiError {
    fn from(e: chorus_core::ingest::IngestError) -> Self {
        ApiError::Domain(e.into())
    }
}

impl From<chorus_core::coord::CoordError> for ApiError {
    fn from(e: chorus_core::coord::CoordError) -> Self {
        ApiError::Domain(e.into())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Domain(Error::Unexpected(e))
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

impl ApiError {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Domain(e) => e.code(),
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidPayload(_) => "invalid_payload",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BadSignature(_) => "bad_signature",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::TaskFailing(_) => "unavailable",
        }
    }

    /// The code and message as clients see them (internal causes are logged, not shown).
    pub fn detail(&self) -> ErrorDetail {
        match self {
            ApiError::Domain(e) => e.detail(),
            other => ErrorDetail { code: other.code(), message: other.to_string() },
        }
    }

    /// A body that could not be read: `validation` when the NUL guard stopped it
    /// ([`crate::http::nul`]), `malformed_json` otherwise.
    pub fn from_payload(e: &actix_web::error::PayloadError) -> Self {
        if let actix_web::error::PayloadError::Io(io) = e
            && io.get_ref().is_some_and(|inner| inner.is::<crate::http::nul::NulInBody>())
        {
            return Error::Validation(crate::http::nul::REFUSED.into()).into();
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

/// The status of a domain error: the one place a domain outcome becomes an HTTP status.
fn domain_status(e: &Error) -> StatusCode {
    match e {
        Error::Validation(_) | Error::PrivateDetails(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) | Error::IpNotAllowed => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_)
        | Error::AlreadyClaimed(_)
        | Error::StaleClaim
        | Error::HolderChanged(_)
        | Error::AtCapacity(_) => StatusCode::CONFLICT,
        Error::CoordinationUnavailable(_) | Error::NotConfigured(_) | Error::Unavailable(_) | Error::Collided => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::Locked(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) => domain_status(e),
            ApiError::MalformedJson(_) | ApiError::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::TaskFailing(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        if let ApiError::Domain(Error::Locked(secs)) | ApiError::RateLimited(secs) = self {
            r.insert_header((actix_web::http::header::RETRY_AFTER, secs.max(&1).to_string()));
        }
        if let ApiError::Domain(Error::Collided) = self {
            r.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
        }
        r.json(ErrorBody { error: self.detail() })
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
            JsonPayloadError::ContentType => Error::Validation("expected Content-Type: application/json".into()).into(),
            JsonPayloadError::Payload(p) => ApiError::from_payload(p),
            other => ApiError::MalformedJson(other.to_string()),
        };
        api.into()
    })
}

/// Query-string errors as `validation`.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::from(Error::Validation(err.to_string())).into())
}

/// Path errors (a non-numeric id) as `not_found`.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|_err, _req| ApiError::from(Error::NotFound("resource")).into())
}
