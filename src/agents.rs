//! Agents: creation, listing, passwords, and the first admin of a fresh install.

use chrono::Utc;
use entity::agent;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password;
use crate::error::ApiError;

/// The roles Chorus knows. Finer permissions per role come with the security work; for now
/// `admin` may manage agents and every authenticated agent may read the queue.
pub const ROLES: &[&str] = &["agent", "supervisor", "approver", "legal", "admin", "wallboard"];

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
    pub roles: Vec<String>,
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
            roles: strings(&m.roles),
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
    pub roles: Vec<String>,
    /// Skills (`network:<name>` and `category:<name>` route work; others are for people).
    #[serde(default)]
    pub skills: Vec<String>,
    /// Capacity; defaults to 5.
    #[serde(default)]
    pub capacity: Option<i32>,
}

/// Lowercases and trims an email so logins are case-insensitive.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate(new: &NewAgent) -> Result<(), ApiError> {
    let email = normalize_email(&new.email);
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') {
        return Err(ApiError::Validation("email is not valid".into()));
    }
    if new.name.trim().is_empty() || new.name.len() > 200 {
        return Err(ApiError::Validation("name must be 1 to 200 characters".into()));
    }
    password::check_strength(&new.password).map_err(|m| ApiError::Validation(m.into()))?;
    if let Some(bad) = new.roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        return Err(ApiError::Validation(format!("unknown role {bad:?}; known: {}", ROLES.join(", "))));
    }
    if matches!(new.capacity, Some(c) if !(0..=1000).contains(&c)) {
        return Err(ApiError::Validation("capacity must be between 0 and 1000".into()));
    }
    Ok(())
}

/// Creates an agent; a taken email is a conflict.
#[tracing::instrument(skip_all, fields(email = %new.email))]
pub async fn create(db: &impl ConnectionTrait, new: NewAgent) -> Result<AgentView, ApiError> {
    validate(&new)?;
    let email = normalize_email(&new.email);
    if agent::Entity::find().filter(agent::Column::Email.eq(&email)).one(db).await?.is_some() {
        return Err(ApiError::Conflict(format!("an agent with email {email} already exists")));
    }
    let roles = if new.roles.is_empty() { vec!["agent".to_owned()] } else { new.roles };
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
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<AgentView>, ApiError> {
    Ok(agent::Entity::find().order_by_asc(agent::Column::Id).all(db).await?.into_iter().map(AgentView::from).collect())
}

/// Replaces an agent's password.
pub async fn set_password(db: &impl ConnectionTrait, email: &str, new_password: String) -> Result<(), ApiError> {
    password::check_strength(&new_password).map_err(|m| ApiError::Validation(m.into()))?;
    let found = agent::Entity::find()
        .filter(agent::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
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
) -> Result<Option<String>, ApiError> {
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
            roles: vec!["admin".into()],
            skills: vec![],
            capacity: Some(5),
        },
    )
    .await?;
    Ok(generated.then_some(password))
}
