//! SLA policies: first- and next-response targets per priority tier and network, counted in
//! business hours (a time zone, weekly opening hours, holidays). The most specific policy wins —
//! tier and network, then tier, then network, then one for everything — and without any, the
//! `[sla]` targets of the configuration apply around the clock. Policies live in the store and
//! each node holds them compiled, swapped in whole after a change here and every [`REFRESH`] for
//! other nodes' changes (the pattern of team routes and crises).

pub mod calendar;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use crate::cached::{Cached, Kind};
use chrono::{DateTime, Duration, Utc};
use entity::sla_policy;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use calendar::{Calendar, Window};

use crate::error::Error;

/// How often a node re-reads the policies.
pub const REFRESH: StdDuration = StdDuration::from_secs(2);
/// Longest target: 30 days.
const MAX_TARGET_SECS: i64 = 30 * 86_400;

/// A compiled policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The stored policy (`None`: the configuration's targets).
    pub id: Option<i64>,
    /// First response target.
    pub first: Duration,
    /// Next response target.
    pub next: Duration,
    /// When the clock runs.
    pub calendar: Calendar,
}

impl Policy {
    /// When a first response to a customer waiting since `from` is due.
    pub fn first_due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add(from, self.first)
    }

    /// When a next response to a customer waiting since `from` is due.
    pub fn next_due(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add(from, self.next)
    }
}

/// Every policy a node applies.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// (tier or 0, network or "", policy), most specific first.
    scoped: Vec<(i16, String, Arc<Policy>)>,
    /// From the configuration, per tier (index 0: tier 1).
    fallback: [Arc<Policy>; 2],
}

impl PolicySet {
    /// Only the configuration's targets.
    pub fn from_settings(s: &SlaSettings) -> Self {
        let secs = |v: u64| Duration::seconds(i64::try_from(v).unwrap_or(MAX_TARGET_SECS).min(MAX_TARGET_SECS));
        let p = |first, next| {
            Arc::new(Policy { id: None, first: secs(first), next: secs(next), calendar: Calendar::always() })
        };
        Self {
            scoped: Vec::new(),
            fallback: [
                p(s.tier1_first_response_secs, s.tier1_next_response_secs),
                p(s.tier2_first_response_secs, s.tier2_next_response_secs),
            ],
        }
    }

    /// The policy for a conversation of this tier on this network; none for noise (tier 3),
    /// which is never due.
    pub fn for_conversation(&self, tier: i16, network: &str) -> Option<&Policy> {
        if !(1..=2).contains(&tier) {
            return None;
        }
        let hit = self
            .scoped
            .iter()
            .find(|(t, n, _)| (*t == tier || *t == 0) && (n == network || n.is_empty()))
            .map(|(_, _, p)| p.as_ref());
        Some(hit.unwrap_or(&self.fallback[usize::from(tier == 2)]))
    }
}

/// The policies as this node holds them.
#[derive(Clone)]
pub struct Policies {
    current: Cached<PolicySet>,
    settings: SlaSettings,
}

impl Default for Policies {
    fn default() -> Self {
        Self::new(&SlaSettings::default())
    }
}

impl Policies {
    /// Starts with the configuration's targets only; [`Policies::reload`] adds the stored ones.
    pub fn new(settings: &SlaSettings) -> Self {
        Self { current: Cached::new(PolicySet::from_settings(settings)), settings: settings.clone() }
    }

    /// The set in force.
    pub fn current(&self) -> Arc<PolicySet> {
        self.current.current()
    }

    /// The settings version the policies were read at.
    pub fn version(&self) -> i64 {
        self.current.version()
    }

    /// Re-reads the stored policies.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), Error> {
        let version = crate::cached::version(db, Kind::SlaPolicies).await?;
        self.reload_at(db, version).await
    }

    /// Re-reads them, the store being at `version` (read before this).
    pub async fn reload_at(&self, db: &impl ConnectionTrait, version: i64) -> Result<(), Error> {
        let rows = sla_policy::Entity::find().order_by_asc(sla_policy::Column::Id).all(db).await?;
        let mut set = PolicySet::from_settings(&self.settings);
        for r in rows {
            let view = PolicyView::from(r);
            match compile(&view) {
                Ok(p) => set.scoped.push((view.priority.unwrap_or(0), view.network.unwrap_or_default(), Arc::new(p))),
                Err(e) => {
                    tracing::warn!(policy = view.id, error.message = %e, "skipping an SLA policy that does not compile")
                }
            }
        }
        // Most specific first: tier and network, tier, network, everything.
        set.scoped.sort_by_key(|(t, n, _)| (*t == 0, n.is_empty()));
        self.current.offer(version, set);
        Ok(())
    }
}

/// A policy as written by an admin or supervisor.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// What it is called.
    pub name: String,
    /// 1 or 2; absent for every tier.
    #[serde(default)]
    pub priority: Option<i16>,
    /// A network (`x`, `facebook`, `instagram`, `whatsapp`, …); absent for every network.
    #[serde(default)]
    pub network: Option<String>,
    /// First response target, in business seconds.
    pub first_response_secs: i64,
    /// Next response target (after a later customer message), in business seconds.
    pub next_response_secs: i64,
    /// IANA time zone of the opening hours (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// Weekly opening hours; empty (the default) is 24/7.
    #[serde(default)]
    pub hours: Vec<Window>,
    /// Closed dates, `YYYY-MM-DD` in the policy's time zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn utc() -> String {
    "UTC".into()
}

/// A stored policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicyView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Tier, or null for every tier.
    pub priority: Option<i16>,
    /// Network, or null for every network.
    pub network: Option<String>,
    /// First response target, business seconds.
    pub first_response_secs: i64,
    /// Next response target, business seconds.
    pub next_response_secs: i64,
    /// Time zone.
    pub timezone: String,
    /// Opening hours (empty: 24/7).
    pub hours: Vec<Window>,
    /// Closed dates.
    pub holidays: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<sla_policy::Model> for PolicyView {
    fn from(m: sla_policy::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            priority: (m.priority != 0).then_some(m.priority),
            network: (!m.network.is_empty()).then_some(m.network),
            first_response_secs: m.first_response_secs,
            next_response_secs: m.next_response_secs,
            timezone: m.timezone,
            hours: serde_json::from_value(m.hours).unwrap_or_default(),
            holidays: serde_json::from_value(m.holidays).unwrap_or_default(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

fn compile(v: &PolicyView) -> Result<Policy, String> {
    Ok(Policy {
        id: Some(v.id),
        first: Duration::seconds(v.first_response_secs),
        next: Duration::seconds(v.next_response_secs),
        calendar: Calendar::new(&v.timezone, &v.hours, &v.holidays)?,
    })
}

fn check(spec: &PolicySpec) -> Result<(), Error> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::Validation("name must be 1 to 100 characters".into()));
    }
    if spec.priority.is_some_and(|p| !(1..=2).contains(&p)) {
        return Err(Error::Validation("priority is 1 or 2 (tier 3 is noise and never due)".into()));
    }
    if let Some(n) = &spec.network
        && serde_json::from_value::<crate::network::Network>(serde_json::json!(n)).is_err()
    {
        return Err(Error::Validation(format!("unknown network {n:?}")));
    }
    for s in [spec.first_response_secs, spec.next_response_secs] {
        if !(1..=MAX_TARGET_SECS).contains(&s) {
            return Err(Error::Validation(format!("targets are 1 to {MAX_TARGET_SECS} seconds")));
        }
    }
    if spec.hours.len() > 50 || spec.holidays.len() > 1000 {
        return Err(Error::Validation("at most 50 opening windows and 1000 holidays".into()));
    }
    Calendar::new(&spec.timezone, &spec.hours, &spec.holidays).map(|_| ()).map_err(Error::Validation)
}

fn unique_scope(e: sea_orm::DbErr, spec: &PolicySpec) -> Error {
    if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
        Error::Conflict(format!(
            "a policy for tier {} on network {} exists already",
            spec.priority.map_or("any".into(), |p| p.to_string()),
            spec.network.as_deref().unwrap_or("any")
        ))
    } else {
        e.into()
    }
}

/// Every stored policy.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<PolicyView>, Error> {
    let rows = sla_policy::Entity::find().order_by_asc(sla_policy::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(PolicyView::from).collect())
}

/// One policy.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<PolicyView, Error> {
    let row = sla_policy::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("sla policy"))?;
    Ok(row.into())
}

fn columns(spec: &PolicySpec, m: &mut sla_policy::ActiveModel) {
    m.name = Set(spec.name.trim().to_owned());
    m.priority = Set(spec.priority.unwrap_or(0));
    m.network = Set(spec.network.clone().unwrap_or_default());
    m.first_response_secs = Set(spec.first_response_secs);
    m.next_response_secs = Set(spec.next_response_secs);
    m.timezone = Set(spec.timezone.clone());
    m.hours = Set(serde_json::json!(spec.hours));
    m.holidays = Set(serde_json::json!(spec.holidays));
    m.updated_at = Set(Utc::now());
}

/// Adds a policy (409 when one exists for the same tier and network).
pub async fn create(db: &impl ConnectionTrait, spec: PolicySpec) -> Result<PolicyView, Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::SlaPolicies).await?;
    check(&spec)?;
    let mut m = sla_policy::ActiveModel { created_at: Set(Utc::now()), ..Default::default() };
    columns(&spec, &mut m);
    Ok(m.insert(db).await.map_err(|e| unique_scope(e, &spec))?.into())
}

/// Replaces a policy.
pub async fn replace(db: &impl ConnectionTrait, id: i64, spec: PolicySpec) -> Result<PolicyView, Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::SlaPolicies).await?;
    check(&spec)?;
    let mut m: sla_policy::ActiveModel = sla_policy::ActiveModel { id: sea_orm::Unchanged(id), ..Default::default() };
    columns(&spec, &mut m);
    match m.update(db).await {
        Ok(row) => Ok(row.into()),
        Err(sea_orm::DbErr::RecordNotUpdated) => Err(Error::NotFound("sla policy")),
        Err(e) => Err(unique_scope(e, &spec)),
    }
}

/// Deletes a policy.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), Error> {
    // First, before any other write: every node's ingest reloads on the new version.
    crate::cached::bump(db, Kind::SlaPolicies).await?;
    let done = sla_policy::Entity::delete_by_id(id).exec(db).await?;
    if done.rows_affected == 0 { Err(Error::NotFound("sla policy")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: i64, priority: Option<i16>, network: Option<&str>, first: i64) -> PolicyView {
        PolicyView {
            id,
            name: format!("p{id}"),
            priority,
            network: network.map(str::to_owned),
            first_response_secs: first,
            next_response_secs: first,
            timezone: "UTC".into(),
            hours: Vec::new(),
            holidays: Vec::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_most_specific_policy_wins() {
        let mut set = PolicySet::from_settings(&SlaSettings::default());
        for v in [
            view(1, None, None, 100),
            view(2, Some(1), None, 200),
            view(3, None, Some("x"), 300),
            view(4, Some(1), Some("x"), 400),
        ] {
            let p = compile(&v).unwrap_or_else(|e| panic!("{e}"));
            set.scoped.push((v.priority.unwrap_or(0), v.network.clone().unwrap_or_default(), Arc::new(p)));
        }
        set.scoped.sort_by_key(|(t, n, _)| (*t == 0, n.is_empty()));
        let first = |t, n| set.for_conversation(t, n).map(|p| p.first.num_seconds());
        assert_eq!(first(1, "x"), Some(400));
        assert_eq!(first(1, "facebook"), Some(200));
        assert_eq!(first(2, "x"), Some(300));
        assert_eq!(first(2, "facebook"), Some(100));
        assert_eq!(first(3, "x"), None);
        let bare = PolicySet::from_settings(&SlaSettings::default());
        assert_eq!(bare.for_conversation(1, "x").map(|p| p.first.num_seconds()), Some(30 * 60));
        assert_eq!(bare.for_conversation(2, "x").map(|p| p.first.num_seconds()), Some(4 * 3600));
    }
}

/// Response-time targets per priority tier, in seconds. Due times are set on ingest.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaSettings {
    /// First response target for tier 1 conversations.
    pub tier1_first_response_secs: u64,
    /// First response target for tier 2 conversations.
    pub tier2_first_response_secs: u64,
    /// Next response target (a customer message after the first reply), tier 1.
    pub tier1_next_response_secs: u64,
    /// Next response target, tier 2.
    pub tier2_next_response_secs: u64,
    /// `sla.warning` goes out this long before a response is due.
    pub warning_secs: u64,
    /// How often each node looks for warnings and breaches, in milliseconds.
    pub sweep_interval_ms: u64,
}

impl Default for SlaSettings {
    fn default() -> Self {
        // The guide's benchmark: most customers expect an answer within the hour on social;
        // first-tier issues well inside it.
        Self {
            tier1_first_response_secs: 30 * 60,
            tier2_first_response_secs: 4 * 3600,
            tier1_next_response_secs: 60 * 60,
            tier2_next_response_secs: 4 * 3600,
            warning_secs: 5 * 60,
            sweep_interval_ms: 1_000,
        }
    }
}
