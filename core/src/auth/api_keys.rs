//! API keys for integrations (CRM, BI, SIEM, ingest bridges): scoped to a few permissions,
//! optionally locked to addresses, hashed at rest (SHA-256: the key has 256 random bits) and
//! shown once. A key acts as itself (`key:<id>` in the audit trail), never as an agent, so it
//! may only hold permissions that need no agent: reading, ingesting, exporting, linking a customer to its CRM id.

use chrono::{DateTime, Utc};
use entity::api_key;
use ipnet::IpNet;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::permissions::Permission;
use super::token;
use crate::error::Error;

/// Every key starts with this, so a key is never mistaken for a login token (and secret
/// scanners can find leaked ones).
pub const PREFIX: &str = "chk_";

/// The permissions a key may hold.
pub const KEY_SCOPES: [Permission; 11] = [
    Permission::ReadDirectory,
    Permission::ReadConversations,
    Permission::ReadSettings,
    Permission::ReadCrises,
    Permission::ReadMetrics,
    Permission::ReadAlerts,
    Permission::ReadAudit,
    Permission::SearchArchive,
    Permission::ExportArchive,
    Permission::IngestMessages,
    Permission::LinkCrm,
];

/// Whether a bearer credential is an API key (rather than a login token).
pub fn looks_like(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

/// A key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ApiKeyView {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// Its first characters, to tell keys apart.
    pub prefix: String,
    /// Permission names it holds.
    pub scopes: Vec<String>,
    /// CIDRs it may be used from (empty: anywhere).
    pub ip_allowlist: Vec<String>,
    /// The admin who made it.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

impl From<api_key::Model> for ApiKeyView {
    fn from(m: api_key::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            prefix: m.prefix,
            scopes: strings(&m.scopes),
            ip_allowlist: strings(&m.ip_allowlist),
            created_by: m.created_by,
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// What it takes to make a key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What it is for (1 to 200 characters).
    pub name: String,
    /// Permission names, from `directory.read`, `conversations.read`, `settings.read`,
    /// `crises.read`, `metrics.read`, `alerts.read`, `audit.read`, `archive.search`,
    /// `archive.export`, `ingest.write`.
    pub scopes: Vec<String>,
    /// CIDRs it may be used from, e.g. `["203.0.113.0/24"]`; empty or absent: anywhere.
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    /// When it stops working.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new key: the secret (shown this once) and the key as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key. Send as `Authorization: Bearer <key>` (or `X-Api-Key` for ingest). Chorus
    /// keeps only its hash: it cannot be shown again.
    pub key: String,
    /// The key as listed.
    pub api_key: ApiKeyView,
}

fn parse_nets(list: &[String]) -> Result<Vec<IpNet>, Error> {
    if list.len() > 100 {
        return Err(Error::Validation("at most 100 networks in an allowlist".into()));
    }
    list.iter()
        .map(|s| {
            super::address::parse_net(s)
                .ok_or_else(|| Error::Validation(format!("{:?} is not an address or a CIDR network", s.trim())))
        })
        .collect()
}

fn validate(new: &NewApiKey) -> Result<Vec<IpNet>, Error> {
    if new.name.trim().is_empty() || new.name.chars().count() > 200 {
        return Err(Error::Validation("name must be 1 to 200 characters".into()));
    }
    if new.scopes.is_empty() {
        return Err(Error::Validation("give the key at least one scope".into()));
    }
    let allowed: Vec<&str> = KEY_SCOPES.iter().map(|p| p.name()).collect();
    if let Some(bad) = new.scopes.iter().find(|s| !allowed.contains(&s.as_str())) {
        return Err(Error::Validation(format!("a key cannot hold {bad:?}; it may hold {}", allowed.join(", "))));
    }
    if new.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(Error::Validation("expires_at is in the past".into()));
    }
    parse_nets(&new.ip_allowlist)
}

/// Makes a key; the secret is in the answer and nowhere else.
pub async fn create(db: &impl ConnectionTrait, by: i64, new: NewApiKey) -> Result<CreatedApiKey, Error> {
    let nets = validate(&new)?;
    let key = format!("{PREFIX}{}", token::generate());
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    let model = api_key::ActiveModel {
        name: Set(new.name.trim().to_owned()),
        prefix: Set(key.chars().take(12).collect()),
        key_hash: Set(token::hash(&key)),
        scopes: Set(serde_json::json!(scopes)),
        ip_allowlist: Set(serde_json::json!(nets.iter().map(ToString::to_string).collect::<Vec<_>>())),
        created_by: Set(Some(by)),
        created_at: Set(Utc::now()),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(CreatedApiKey { key, api_key: ApiKeyView::from(model) })
}

/// Every key, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiKeyView>, Error> {
    let rows = api_key::Entity::find().order_by_desc(api_key::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(ApiKeyView::from).collect())
}

/// Revokes a key: it stops working at once, on every node (each request reads the store).
pub async fn revoke(db: &impl ConnectionTrait, id: i64) -> Result<(ApiKeyView, ApiKeyView), Error> {
    let found = api_key::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("API key"))?;
    let before = ApiKeyView::from(found.clone());
    if found.revoked_at.is_some() {
        return Ok((before.clone(), before));
    }
    let mut am: api_key::ActiveModel = found.into();
    am.revoked_at = Set(Some(Utc::now()));
    Ok((before, ApiKeyView::from(am.update(db).await?)))
}

/// A key that authenticated: who it is, what it holds, where it may be used from.
#[derive(Debug, Clone)]
pub struct KeyCaller {
    /// The key's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Permission names.
    pub scopes: Vec<String>,
    /// Where it may be used from (empty: anywhere).
    pub allowlist: Vec<IpNet>,
}

impl KeyCaller {
    /// Whether it holds the permission.
    pub fn holds(&self, p: Permission) -> bool {
        self.scopes.iter().any(|s| s == p.name())
    }
}

/// Finds the live key behind a credential, and notes its use (at most once a minute, so a
/// busy integration does not write on every request).
pub async fn authenticate(db: &impl ConnectionTrait, key: &str) -> Result<KeyCaller, Error> {
    let now = Utc::now();
    let m = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(token::hash(key)))
        .one(db)
        .await?
        .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now))
        .ok_or(Error::Unauthorized("invalid, expired or revoked API key"))?;
    if m.last_used_at.is_none_or(|t| now - t > chrono::Duration::seconds(60)) {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(Some(now)))
            .filter(api_key::Column::Id.eq(m.id))
            .exec(db)
            .await?;
    }
    let allowlist = parse_nets(&strings(&m.ip_allowlist))?;
    Ok(KeyCaller { id: m.id, name: m.name, scopes: strings(&m.scopes), allowlist })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_only_permissions_that_need_no_agent() {
        for p in KEY_SCOPES {
            assert!(
                p.name().ends_with(".read")
                    || p.name().starts_with("archive.")
                    || p == Permission::IngestMessages
                    || p == Permission::LinkCrm,
                "{} would let a key act for an agent",
                p.name()
            );
        }
        let new = |scopes: &[&str], nets: &[&str]| NewApiKey {
            name: "CRM".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ip_allowlist: nets.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: None,
        };
        assert!(validate(&new(&["conversations.read"], &["10.0.0.0/8", "192.0.2.7"])).is_ok());
        assert!(validate(&new(&["conversations.work"], &[])).is_err());
        assert!(validate(&new(&[], &[])).is_err());
        assert!(validate(&new(&["metrics.read"], &["10.0.0.0/33"])).is_err());
        assert!(looks_like("chk_abc") && !looks_like("abc"));
    }
}
