//! The domain's error type: every way a domain call can fail, with a stable machine-readable
//! code. The face maps each to an HTTP status (`chorus::http::error`) and to a WebSocket error
//! frame once; store and coordination failures are classified here, by their kind and SQLSTATE,
//! never by message text.

use serde::Serialize;
use utoipa::ToSchema;

/// Everything a domain call can fail with. The face (HTTP and WebSocket) maps each variant
/// to a status or an error frame once; here nothing knows about either.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value that parses but is not acceptable (empty text, too many messages, bad query).
    #[error("{0}")]
    Validation(String),
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(&'static str),
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
    AlreadyClaimed(crate::ids::AgentId),
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
    /// The server is shedding load (ingest queue full) or shutting down.
    #[error("{0}")]
    Unavailable(&'static str),
    /// The store chose this write as the victim of a collision with another writer (a
    /// deadlock, a serialization failure, a busy SQLite file) and it kept colliding when tried
    /// again: nothing of it was stored, and the same request may simply be sent again.
    #[error("another change to the same records was being written at the same moment; nothing was stored, try again")]
    Collided,
    /// A public reply holds private details (email, phone, order or account reference) the
    /// agent has not confirmed.
    #[error("{0}")]
    PrivateDetails(String),
    /// Anything else: logged with its cause chain, shown as a generic 500.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
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

impl Error {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::IpNotAllowed => "ip_not_allowed",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::AlreadyClaimed(_) => "already_claimed",
            Error::StaleClaim => "stale_claim",
            Error::HolderChanged(_) => "holder_changed",
            Error::AtCapacity(_) => "at_capacity",
            Error::CoordinationUnavailable(_) => "coordination_unavailable",
            Error::NotConfigured(_) => "not_configured",
            Error::Unavailable(_) | Error::Collided => "unavailable",
            Error::Locked(_) => "locked",
            Error::PrivateDetails(_) => "private_details",
            Error::Unexpected(_) => "internal",
        }
    }

    /// The code and message as clients see them (internal causes are logged, not shown).
    pub fn detail(&self) -> ErrorDetail {
        let message = match self {
            Error::Unexpected(e) => {
                tracing::error!(error.cause_chain = ?e, error.message = %e, "request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        ErrorDetail { code: self.code(), message }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::unreachable(&e) {
            tracing::warn!(error.message = %e, "the store is unreachable");
            return Error::Unavailable("the store is unreachable; try again shortly");
        }
        if crate::db::collided(&e) {
            tracing::warn!(error.message = %e, "a store write collided with another writer");
            return Error::Collided;
        }
        Error::Unexpected(anyhow::Error::new(e))
    }
}
