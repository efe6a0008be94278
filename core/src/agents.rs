//! Agents: creation, listing, passwords, and the first admin of a fresh install.

use chrono::Utc;
use entity::agent;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Role, password};
use crate::error::Error;
use crate::events::{NewEvent, kind};

/// The public view of an agent (never the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AgentView {
    /// Id.
    pub id: i64,
    /// Login email (lowercase).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Roles, e.g. `["agent"]`, `["admin"]`.
    pub roles: Vec<Role>,
    /// Skills; `network:<name>` and `category:<name>` route `next` and auto-assignment, e.g.
    /// `["network:x", "category:billing", "spanish"]`.
    pub skills: Vec<String>,
    /// Most conversations held at once.
    pub capacity: i32,
    /// Team, if any.
    pub team_id: Option<i64>,
    /// Disabled agents cannot log in.
    pub active: bool,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

impl From<agent::Model> for AgentView {
    fn from(m: agent::Model) -> Self {
        Self {
            id: m.id,
            roles: Role::parse_stored(&m.roles),
            skills: strings(&m.skills),
            email: m.email,
            name: m.name,
            capacity: m.capacity,
            team_id: m.team_id,
            active: m.active,
        }
    }
}

/// What it takes to create an agent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Initial password (at least 10 characters).
    pub password: String,
    /// Roles; defaults to `["agent"]`.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Skills (`network:<name>` and `category:<name>` route work; others are for people).
    #[serde(default)]
    pub skills: Vec<String>,
    /// Capacity; defaults to 5.
    #[serde(default)]
    pub capacity: Option<i32>,
}

/// Roles as they are stored: in [`Role::ALL`]'s order, each once.
fn stored_order(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// Lowercases and trims an email so logins are case-insensitive.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate(new: &NewAgent) -> Result<(), Error> {
    let email = normalize_email(&new.email);
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') {
        return Err(Error::Validation("email is not valid".into()));
    }
    if new.name.trim().is_empty() || new.name.len() > 200 {
        return Err(Error::Validation("name must be 1 to 200 characters".into()));
    }
    password::check_strength(&new.password).map_err(|m| Error::Validation(m.into()))?;
    check_skills(&new.skills)?;
    if matches!(new.capacity, Some(c) if !(0..=1000).contains(&c)) {
        return Err(Error::Validation("capacity must be between 0 and 1000".into()));
    }
    Ok(())
}

/// Skills are free text for people, except the two that route work: `network:<name>` must name
/// a network Chorus knows (a typo would silently route nothing to the agent).
fn check_skills(skills: &[String]) -> Result<(), Error> {
    if skills.len() > 100 || skills.iter().any(|s| s.trim().is_empty() || s.chars().count() > 100) {
        return Err(Error::Validation("skills: at most 100, each 1 to 100 characters".into()));
    }
    if let Some(bad) = skills.iter().find(|s| {
        s.strip_prefix("network:").is_some_and(|n| crate::network::Network::parse(&n.trim().to_lowercase()).is_none())
    }) {
        return Err(Error::Validation(format!("skills: unknown network in {bad:?}")));
    }
    Ok(())
}

/// Creates an agent; a taken email is a conflict.
#[tracing::instrument(skip_all, fields(email = %new.email))]
pub async fn create(db: &impl ConnectionTrait, new: NewAgent) -> Result<AgentView, Error> {
    validate(&new)?;
    let email = normalize_email(&new.email);
    if agent::Entity::find().filter(agent::Column::Email.eq(&email)).one(db).await?.is_some() {
        return Err(Error::Conflict(format!("an agent with email {email} already exists")));
    }
    let roles = if new.roles.is_empty() { vec![Role::Agent] } else { stored_order(new.roles) };
    let now = Utc::now();
    let model = agent::ActiveModel {
        email: Set(email),
        name: Set(new.name.trim().to_owned()),
        password_hash: Set(password::hash(new.password).await?),
        roles: Set(serde_json::json!(roles)),
        skills: Set(serde_json::json!(new.skills)),
        capacity: Set(new.capacity.unwrap_or(5)),
        team_id: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let view = AgentView::from(model);
    crate::events::append_one(db, crate::events::kind::AGENT_CREATED, serde_json::json!(view)).await?;
    Ok(view)
}

/// All agents, by id.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<AgentView>, Error> {
    Ok(agent::Entity::find().order_by_asc(agent::Column::Id).all(db).await?.into_iter().map(AgentView::from).collect())
}

/// A change to an agent (admin): only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Roles (replaces them all; at least one).
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    /// Skills (replaces them all).
    #[serde(default)]
    pub skills: Option<Vec<String>>,
    /// Capacity (0 to 1000).
    #[serde(default)]
    pub capacity: Option<i32>,
    /// `false` disables the account: it cannot log in and every session ends at once.
    #[serde(default)]
    pub active: Option<bool>,
}

fn validate_patch(p: &AgentPatch, me: i64, id: i64) -> Result<(), Error> {
    if let Some(n) = &p.name
        && (n.trim().is_empty() || n.chars().count() > 200)
    {
        return Err(Error::Validation("name must be 1 to 200 characters".into()));
    }
    if let Some(roles) = &p.roles
        && (roles.is_empty() || roles.len() > Role::ALL.len())
    {
        return Err(Error::Validation(format!("roles: give 1 to {}", Role::ALL.len())));
    }
    if let Some(skills) = &p.skills {
        check_skills(skills)?;
    }
    if matches!(p.capacity, Some(c) if !(0..=1000).contains(&c)) {
        return Err(Error::Validation("capacity must be between 0 and 1000".into()));
    }
    // An admin locking themselves out would leave nobody to undo it.
    if me == id && (p.active == Some(false) || p.roles.as_ref().is_some_and(|r| !r.contains(&Role::Admin))) {
        return Err(Error::Validation("you cannot disable yourself or give up your own admin role".into()));
    }
    Ok(())
}

/// Changes an agent. Disabling revokes every session; the `agent.updated` event reaches the
/// agent's live sessions on every node, which narrow their subscriptions to the new roles (or
/// close, when the account is disabled). Returns the agent before and after, and the events
/// to publish once the transaction commits.
pub async fn update(
    db: &impl ConnectionTrait,
    me: i64,
    id: i64,
    patch: AgentPatch,
) -> Result<(AgentView, AgentView, Vec<NewEvent>), Error> {
    validate_patch(&patch, me, id)?;
    let found = agent::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("agent"))?;
    let before = AgentView::from(found.clone());
    let mut am: agent::ActiveModel = found.into();
    if let Some(n) = patch.name {
        am.name = Set(n.trim().to_owned());
    }
    if let Some(r) = patch.roles {
        am.roles = Set(serde_json::json!(stored_order(r)));
    }
    if let Some(s) = patch.skills {
        am.skills = Set(serde_json::json!(s));
    }
    if let Some(c) = patch.capacity {
        am.capacity = Set(c);
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
    }
    am.updated_at = Set(Utc::now());
    let after = AgentView::from(am.update(db).await?);
    let mut evs = Vec::new();
    if !after.active {
        evs.push(revoke_sessions(db, id, None).await?.1);
    }
    let updated = NewEvent { kind: kind::AGENT_UPDATED, conversation_id: None, payload: serde_json::json!(after) };
    crate::events::append(db, std::slice::from_ref(&updated)).await?;
    evs.push(updated);
    Ok((before, after, evs))
}

/// Ends an agent's sessions (one login, or all of them with `None`): their tokens stop working
/// at once and the `session.revoked` event (returned, to publish once committed) closes their
/// live sockets on every node. Returns how many were open.
pub async fn revoke_sessions(
    db: &impl ConnectionTrait,
    agent_id: i64,
    login: Option<i64>,
) -> Result<(u64, NewEvent), Error> {
    use entity::session;
    use sea_orm::sea_query::Expr;
    let mut q = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::AgentId.eq(agent_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(l) = login {
        q = q.filter(session::Column::Id.eq(l));
    }
    let n = q.exec(db).await?.rows_affected;
    let payload = serde_json::json!({"agent_id": agent_id, "login_id": login});
    let revoked = NewEvent { kind: kind::SESSION_REVOKED, conversation_id: None, payload };
    crate::events::append(db, std::slice::from_ref(&revoked)).await?;
    Ok((n, revoked))
}

/// Replaces an agent's password.
pub async fn set_password(db: &impl ConnectionTrait, email: &str, new_password: String) -> Result<(), Error> {
    password::check_strength(&new_password).map_err(|m| Error::Validation(m.into()))?;
    let found = agent::Entity::find()
        .filter(agent::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await?
        .ok_or(Error::NotFound("agent"))?;
    let mut am: agent::ActiveModel = found.into();
    am.password_hash = Set(password::hash(new_password).await?);
    am.updated_at = Set(Utc::now());
    am.update(db).await?;
    Ok(())
}

/// The email of the admin a fresh install creates.
pub const FIRST_ADMIN_EMAIL: &str = "admin@localhost";

/// On an empty agents table, creates `admin@localhost`. Returns the generated one-time password
/// when none was configured, so `serve` can print it once.
pub async fn ensure_first_admin(
    db: &impl ConnectionTrait,
    configured: Option<String>,
) -> Result<Option<String>, Error> {
    if agent::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let generated = configured.is_none();
    let password = configured.unwrap_or_else(crate::auth::token::generate);
    create(
        db,
        NewAgent {
            email: FIRST_ADMIN_EMAIL.into(),
            name: "Administrator".into(),
            password: password.clone(),
            roles: vec![Role::Admin],
            skills: vec![],
            capacity: Some(5),
        },
    )
    .await?;
    Ok(generated.then_some(password))
}
