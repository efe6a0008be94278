//! The optional CRM lookup. When an agent opens a conversation, Chorus posts the customer's
//! identities to the configured endpoint, signed like the outgoing webhooks
//! (`X-Chorus-Signature`), and shows what comes back (account number, plan, open orders) in the
//! conversation view. Nobody waits on it: the view answers with what is cached (or `pending`)
//! and the lookup runs in the background, time-limited; answers are kept for a TTL, failures
//! for a shorter one. Identifiers from the CRM answer (values with a digit or an `@`) are never
//! allowed into a public reply.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{conversation, customer, customer_identity};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::Error;

/// Largest CRM answer kept, in bytes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What the CRM said about a customer, as the conversation view shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CrmContext {
    /// `ok`, `pending` (a lookup is running; look again shortly), `failed` or `disabled`.
    pub status: String,
    /// The CRM's answer (a JSON object), when there is one; while `pending` after an earlier
    /// answer expired, that earlier answer.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Why the last lookup failed.
    pub error: Option<String>,
    /// When the shown answer was fetched.
    pub fetched_at: Option<DateTime<Utc>>,
}

impl CrmContext {
    /// No lookup is configured.
    pub fn disabled() -> Self {
        Self { status: "disabled".into(), data: None, error: None, fetched_at: None }
    }
}

struct Cached {
    at: Instant,
    ttl: Duration,
    ctx: CrmContext,
}

/// The lookup client and this node's cache (per customer).
pub struct CrmLookup {
    http: reqwest::Client,
    url: String,
    secret: SecretString,
    ttl: Duration,
    failure_ttl: Duration,
    cache: Mutex<HashMap<i64, Cached>>,
    running: Mutex<HashSet<i64>>,
}

impl CrmLookup {
    /// The lookup, when one is configured.
    pub fn new(s: &CrmSettings) -> anyhow::Result<Option<Arc<Self>>> {
        let (Some(url), Some(secret)) = (&s.lookup_url, &s.secret) else { return Ok(None) };
        crate::tls::install_crypto_provider();
        let timeout = Duration::from_millis(s.timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Chorus-CRM/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Arc::new(Self {
            http,
            url: url.clone(),
            secret: secret.clone(),
            ttl: Duration::from_secs(s.cache_ttl_secs),
            failure_ttl: Duration::from_secs(s.failure_ttl_secs),
            cache: Mutex::new(HashMap::new()),
            running: Mutex::new(HashSet::new()),
        })))
    }

    /// What is known now about the customer; starts a background lookup when nothing fresh is
    /// cached. Never waits on the CRM.
    pub fn context(self: &Arc<Self>, db: &DatabaseConnection, customer_id: i64) -> CrmContext {
        let cached =
            self.cache.lock().ok().and_then(|c| c.get(&customer_id).map(|e| (e.at.elapsed() < e.ttl, e.ctx.clone())));
        if let Some((true, ctx)) = cached {
            return ctx;
        }
        let started = self.running.lock().is_ok_and(|mut r| r.insert(customer_id));
        if started {
            let (me, db) = (self.clone(), db.clone());
            tokio::spawn(async move { me.refresh(&db, customer_id).await });
        }
        let stale = cached.map(|(_, c)| c).filter(|c| c.status == "ok");
        CrmContext {
            status: "pending".into(),
            fetched_at: stale.as_ref().and_then(|c| c.fetched_at),
            data: stale.and_then(|c| c.data),
            error: None,
        }
    }

    /// Drops what this node cached about these customers (they were erased).
    pub fn forget(&self, customers: &[i64]) {
        if let Ok(mut c) = self.cache.lock() {
            for id in customers {
                c.remove(id);
            }
        }
    }

    async fn refresh(&self, db: &DatabaseConnection, customer_id: i64) {
        let ctx = match self.fetch(db, customer_id).await {
            Ok(data) => CrmContext { status: "ok".into(), data: Some(data), error: None, fetched_at: Some(Utc::now()) },
            Err(e) => {
                tracing::warn!(customer_id, error.message = %e, "CRM lookup failed");
                CrmContext { status: "failed".into(), data: None, error: Some(e), fetched_at: None }
            }
        };
        let ttl = if ctx.status == "ok" { self.ttl } else { self.failure_ttl };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(customer_id, Cached { at: Instant::now(), ttl, ctx });
        }
        if let Ok(mut r) = self.running.lock() {
            r.remove(&customer_id);
        }
    }

    /// One signed lookup: the customer's identities out, a JSON object back.
    async fn fetch(&self, db: &DatabaseConnection, customer_id: i64) -> Result<Value, String> {
        let c = customer::Entity::find_by_id(customer_id)
            .one(db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "customer not found".to_owned())?;
        let identities = customer_identity::Entity::find()
            .filter(customer_identity::Column::CustomerId.eq(customer_id))
            .all(db)
            .await
            .map_err(|e| e.to_string())?;
        let body = json!({
            "customer_id": c.id,
            "crm_id": c.crm_id,
            "display_name": c.display_name,
            "identities": identities
                .iter()
                .map(|i| json!({"network": i.network, "platform_user_id": i.platform_user_id, "handle": i.handle}))
                .collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let sig = crate::signature::signature(self.secret.expose_secret(), Utc::now().timestamp(), &bytes);
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header(crate::signature::HEADER, sig)
            .body(bytes)
            .send()
            .await
            .map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { format!("unreachable: {e}") })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        let raw =
            resp.bytes().await.map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { e.to_string() })?;
        if raw.len() > MAX_ANSWER_BYTES {
            return Err(format!("answer larger than {MAX_ANSWER_BYTES} bytes"));
        }
        match serde_json::from_slice::<Value>(&raw) {
            Ok(v) if v.is_object() => Ok(v),
            _ => Err("answer is not a JSON object".to_owned()),
        }
    }

    /// Identifiers from the cached CRM answer for this customer that `text` contains.
    pub fn leaks(&self, customer_id: i64, text: &str) -> Vec<String> {
        let Some(data) = self.cache.lock().ok().and_then(|c| c.get(&customer_id).and_then(|e| e.ctx.data.clone()))
        else {
            return Vec::new();
        };
        let mut values = Vec::new();
        leaves(&data, &mut values);
        let lower = text.to_lowercase();
        values
            .into_iter()
            .filter(|v| v.chars().count() >= 4 && v.chars().any(|c| c.is_ascii_digit() || c == '@'))
            .filter(|v| lower.contains(&v.to_lowercase()))
            .collect()
    }
}

fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Value::Object(o) => o.values().for_each(|x| leaves(x, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The CRM context of a customer for a view: `disabled` without a configured lookup.
pub fn context_of(lookup: Option<&Arc<CrmLookup>>, db: &DatabaseConnection, customer_id: i64) -> CrmContext {
    lookup.map_or_else(CrmContext::disabled, |l| l.context(db, customer_id))
}

/// Refuses a public reply that would carry an identifier the CRM returned for the customer.
pub async fn guard_public_reply(
    lookup: Option<&Arc<CrmLookup>>,
    db: &DatabaseConnection,
    conversation_id: i64,
    visibility: &str,
    text: &str,
) -> Result<(), Error> {
    let Some(lookup) = lookup.filter(|_| visibility == "public") else { return Ok(()) };
    let Some(c) = conversation::Entity::find_by_id(conversation_id).one(db).await? else { return Ok(()) };
    let found = lookup.leaks(c.customer_id, text);
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::PrivateDetails(format!(
        "this public reply contains data from the CRM ({}): CRM data is never sent in public",
        found.join(", ")
    )))
}

/// The optional CRM lookup: when a conversation is opened, Chorus posts the customer's
/// identities to this endpoint (signed like outgoing webhooks) and shows what comes back.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrmSettings {
    /// The endpoint (`https://…`); unset switches the lookup off.
    pub lookup_url: Option<String>,
    /// The HMAC key of the `X-Chorus-Signature` header (required with `lookup_url`).
    pub secret: Option<SecretString>,
    /// How long one lookup may take, in milliseconds (nobody waits on it).
    pub timeout_ms: u64,
    /// How long an answer is kept before the next view looks again, in seconds.
    pub cache_ttl_secs: u64,
    /// How long a failed lookup is remembered before it is tried again, in seconds.
    pub failure_ttl_secs: u64,
    /// Allow an `http://` endpoint (tests, a CRM bridge on the same host).
    pub allow_http: bool,
}

impl Default for CrmSettings {
    fn default() -> Self {
        Self {
            lookup_url: None,
            secret: None,
            timeout_ms: 2_000,
            cache_ttl_secs: 300,
            failure_ttl_secs: 30,
            allow_http: false,
        }
    }
}
