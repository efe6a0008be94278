//! Who is calling: password login, opaque session tokens, the ingest API key.
//!
//! Tokens are 256 random bits shown once; only their SHA-256 is stored, so a leaked database
//! does not leak live sessions. Passwords are argon2id.

mod extractor;
pub mod password;
pub mod token;

pub use extractor::{AuthedAgent, IngestKey, token_of};

use chrono::{Duration, Utc};
use entity::{agent, session};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::agents::{self, AgentView};
use crate::error::ApiError;

/// A successful login: the token (shown once) and who it belongs to.
pub struct LoginOutcome {
    /// The bearer token.
    pub token: String,
    /// The agent.
    pub agent: AgentView,
}

/// Checks the password and opens a session. Unknown email and wrong password give the same
/// answer, and both cost one argon2 verification, so the response does not reveal which.
#[tracing::instrument(skip_all, fields(email = %email))]
pub async fn login(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
    ttl_secs: u64,
) -> Result<LoginOutcome, ApiError> {
    let email = agents::normalize_email(email);
    let found = agent::Entity::find().filter(agent::Column::Email.eq(email)).one(db).await?;
    let hash = found.as_ref().map(|a| a.password_hash.clone());
    let ok = password::verify_or_burn(password.to_owned(), hash).await?;
    let agent = match found {
        Some(a) if ok && a.active => a,
        _ => return Err(ApiError::Unauthorized("invalid email or password")),
    };
    let token = token::generate();
    let now = Utc::now();
    session::ActiveModel {
        agent_id: Set(agent.id),
        token_hash: Set(token::hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 4))),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(LoginOutcome { token, agent: AgentView::from(agent) })
}

/// Ends the session that carries this token.
pub async fn logout(db: &impl ConnectionTrait, session_id: i64) -> Result<(), ApiError> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Finds the live session and active agent behind a bearer token.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<(session::Model, agent::Model), ApiError> {
    let now = Utc::now();
    let s = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token::hash(token)))
        .one(db)
        .await?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
        .ok_or(ApiError::Unauthorized("invalid or expired token"))?;
    let a = agent::Entity::find_by_id(s.agent_id)
        .one(db)
        .await?
        .filter(|a| a.active)
        .ok_or(ApiError::Unauthorized("invalid or expired token"))?;
    Ok((s, a))
}
