//! Who is calling: password login, opaque session tokens, the ingest API key.
//!
//! Tokens are 256 random bits shown once; only their SHA-256 is stored, so a leaked database
//! does not leak live sessions. Passwords are argon2id.

pub mod address;
pub mod api_keys;
pub mod groups;
pub mod password;
pub mod permissions;
pub mod role;
pub mod token;

pub use permissions::{Permission, can};
pub use role::Role;

use chrono::{Duration, Utc};
use entity::{agent, session};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::agents::{self, AgentView};
use crate::error::Error;

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
    db: &sea_orm::DatabaseConnection,
    email: &str,
    password: &str,
    ttl_secs: u64,
    lockout: &Lockout,
) -> Result<LoginOutcome, Error> {
    let email = agents::normalize_email(email);
    let found = agent::Entity::find().filter(agent::Column::Email.eq(&email)).one(db).await?;
    let now = Utc::now();
    if let Some(until) = found.as_ref().and_then(|a| a.locked_until).filter(|u| *u > now) {
        // Not even a right password opens a locked account until the lock ends.
        return Err(Error::Locked(Ord::max((until - now).num_seconds(), 1)));
    }
    let hash = found.as_ref().map(|a| a.password_hash.clone());
    let ok = password::verify_or_burn(password.to_owned(), hash).await?;
    let agent = match found {
        Some(a) if ok && a.active => a,
        Some(a) if !ok => {
            failed(db, &a, lockout, now).await?;
            login_refused(db, &a.email, Some(a.id), "wrong password", lockout.ip).await?;
            return Err(Error::Unauthorized("invalid email or password"));
        }
        Some(a) => {
            login_refused(db, &a.email, Some(a.id), "account disabled", lockout.ip).await?;
            return Err(Error::Unauthorized("invalid email or password"));
        }
        None => {
            login_refused(db, &email, None, "unknown email", lockout.ip).await?;
            return Err(Error::Unauthorized("invalid email or password"));
        }
    };
    let roles = AgentView::from(agent.clone()).roles;
    if !roles.is_empty() && address::usable_roles(&roles, lockout.ip, &lockout.role_allowlists).is_empty() {
        // The right password from the wrong place: no session, and the attempt is on record.
        refuse_address(db, &format!("agent:{}", agent.id), lockout.ip).await?;
        return Err(Error::IpNotAllowed);
    }
    if agent.failed_logins != 0 || agent.locked_until.is_some() {
        agent::Entity::update_many()
            .col_expr(agent::Column::FailedLogins, Expr::value(0))
            .col_expr(agent::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .filter(agent::Column::Id.eq(agent.id))
            .exec(db)
            .await?;
    }
    let token = token::generate();
    let expires_at = now + Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 4));
    // The session and its audit entry together: no login that the trail does not show.
    let txn = crate::db::begin_write(db).await?;
    let opened = session::ActiveModel {
        agent_id: Set(agent.id),
        token_hash: Set(token::hash(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let after = serde_json::json!({"login_id": opened.id, "expires_at": expires_at});
    let entry = crate::audit::Entry::by_agent(agent.id, "auth.login", ("agent", agent.id), after, None);
    crate::audit::record(&txn, crate::audit::Entry { ip: lockout.ip.map(|i| i.to_string()), ..entry }).await?;
    txn.commit().await?;
    Ok(LoginOutcome { token, agent: AgentView::from(agent) })
}

/// Records a refused login (`auth.login_failed`): who tried (the email as typed, normalized),
/// why, from where. The answer to the client stays the same whatever the reason.
async fn login_refused(
    db: &impl ConnectionTrait,
    email: &str,
    agent_id: Option<i64>,
    reason: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<(), Error> {
    crate::audit::record(
        db,
        crate::audit::Entry {
            actor: format!("login:{email}"),
            action: "auth.login_failed".into(),
            target_type: "agent".into(),
            target_id: agent_id.map(|id| id.to_string()),
            after: Some(serde_json::json!({"reason": reason})),
            ip: ip.map(|i| i.to_string()),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// When wrong passwords lock an account, where roles may be used from, and who is asking.
#[derive(Debug, Clone)]
pub struct Lockout {
    /// Wrong passwords in a row that lock it.
    pub max_failed: i32,
    /// For how long.
    pub lock: Duration,
    /// The client's address.
    pub ip: Option<std::net::IpAddr>,
    /// Per role, where it may be used from (`[security] role_allowlists`).
    pub role_allowlists: std::collections::BTreeMap<Role, Vec<ipnet::IpNet>>,
}

/// The roles of `agent` usable from `ip`; when the agent has roles and none is usable here,
/// the attempt is audited (`auth.ip_refused`) and refused.
pub async fn usable_roles_or_refuse(
    db: &impl ConnectionTrait,
    security: &crate::auth::address::SecuritySettings,
    agent: &AgentView,
    ip: Option<std::net::IpAddr>,
) -> Result<Vec<Role>, Error> {
    if security.role_allowlists.is_empty() {
        return Ok(agent.roles.clone());
    }
    let usable = address::usable_roles(&agent.roles, ip, &security.role_allowlists);
    if usable.is_empty() && !agent.roles.is_empty() {
        refuse_address(db, &format!("agent:{}", agent.id), ip).await?;
        return Err(Error::IpNotAllowed);
    }
    Ok(usable)
}

/// Records a request refused for its address.
pub async fn refuse_address(db: &impl ConnectionTrait, actor: &str, ip: Option<std::net::IpAddr>) -> Result<(), Error> {
    tracing::warn!(actor, ip = ?ip, "refused: address not allowed");
    let (target_type, target_id) = actor.split_once(':').unwrap_or((actor, ""));
    crate::audit::record(
        db,
        crate::audit::Entry {
            actor: actor.to_owned(),
            action: "auth.ip_refused".into(),
            target_type: if target_type == "key" { "api_key".into() } else { target_type.to_owned() },
            target_id: Some(target_id.to_owned()),
            ip: ip.map(|i| i.to_string()),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// Counts a wrong password (one conditional increment, so attempts racing on several nodes
/// are all counted) and locks the account, audited, when it reaches the limit.
async fn failed(
    db: &impl ConnectionTrait,
    a: &agent::Model,
    lockout: &Lockout,
    now: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    let counted = agent::Entity::update_many()
        .col_expr(agent::Column::FailedLogins, Expr::col(agent::Column::FailedLogins).add(1))
        .filter(agent::Column::Id.eq(a.id))
        .exec_with_returning(db)
        .await?;
    let Some(row) = counted.into_iter().next() else { return Ok(()) };
    if row.failed_logins < lockout.max_failed {
        return Ok(());
    }
    let until = now + lockout.lock;
    agent::Entity::update_many()
        .col_expr(agent::Column::FailedLogins, Expr::value(0))
        .col_expr(agent::Column::LockedUntil, Expr::value(Some(until)))
        .filter(agent::Column::Id.eq(a.id))
        .exec(db)
        .await?;
    crate::audit::record(
        db,
        crate::audit::Entry {
            actor: format!("login:{}", a.email),
            action: "auth.lockout".into(),
            target_type: "agent".into(),
            target_id: Some(a.id.to_string()),
            ip: lockout.ip.map(|i| i.to_string()),
            after: Some(serde_json::json!({"failed_logins": row.failed_logins, "locked_until": until})),
            ..Default::default()
        },
    )
    .await?;
    tracing::warn!(agent_id = a.id, "account locked after failed logins");
    Ok(())
}

/// Ends the session that carries this token and the live sockets opened with it, audited
/// (`auth.logout`) in the same transaction.
pub async fn logout(
    db: &sea_orm::DatabaseConnection,
    live: &crate::live::Live,
    agent_id: i64,
    session_id: i64,
    ip: Option<std::net::IpAddr>,
) -> Result<(), Error> {
    let txn = crate::db::begin_write(db).await?;
    let (_, revoked) = agents::revoke_sessions(&txn, agent_id, Some(session_id)).await?;
    let after = serde_json::json!({"login_id": session_id});
    let entry =
        crate::audit::Entry::by_agent(agent_id, "auth.logout", ("agent", agent_id), after, ip.map(|i| i.to_string()));
    crate::audit::record(&txn, entry).await?;
    txn.commit().await?;
    live.publish(&[revoked]);
    Ok(())
}

/// Whether a login is still good: not revoked, not expired, its agent active. Live sessions
/// ask this when told their access changed.
pub async fn still_valid(
    db: &impl ConnectionTrait,
    login_id: i64,
) -> Result<Option<(session::Model, agent::Model)>, Error> {
    let now = Utc::now();
    let Some(s) = session::Entity::find_by_id(login_id).one(db).await? else { return Ok(None) };
    if s.revoked_at.is_some() || s.expires_at <= now {
        return Ok(None);
    }
    Ok(agent::Entity::find_by_id(s.agent_id).one(db).await?.filter(|a| a.active).map(|a| (s, a)))
}

/// Finds the live session and active agent behind a bearer token.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<(session::Model, agent::Model), Error> {
    let now = Utc::now();
    let s = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token::hash(token)))
        .one(db)
        .await?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
        .ok_or(Error::Unauthorized("invalid or expired token"))?;
    let a = agent::Entity::find_by_id(s.agent_id)
        .one(db)
        .await?
        .filter(|a| a.active)
        .ok_or(Error::Unauthorized("invalid or expired token"))?;
    Ok((s, a))
}
