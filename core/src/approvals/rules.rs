//! Approval rules: which replies wait for a human decision before they go out, and to whom the
//! request goes. Rules live in the store and are read afresh for every reply, so an edit by PR
//! or an admin applies to the very next reply on every node, with no restart and no cache to
//! go stale (replies are typed by people: one small query each costs nothing).

use chrono::Utc;
use entity::approval_rule::Kind;
use entity::{approval_rule, conversation};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::groups::GROUPS;
use crate::error::Error;
use crate::network::{Network, Visibility};
use crate::triage::text::{Lexicon, topic_match};

/// Most agents an agent rule names.
const MAX_AGENTS: usize = 200;
const MAX_NOTE_CHARS: usize = 1000;

/// A rule as it is written (create or replace).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `topic` (keywords in the reply or the customer's messages, or the conversation's
    /// category), `agent` (every reply by these agents), `crisis` (every reply in a conversation
    /// linked to an active crisis), `risk` (public replies on conversations whose risk is at least
    /// `risk_at_least`) or `spot_check` (a random `percent` of all replies).
    #[schema(value_type = String, example = "topic")]
    pub kind: Kind,
    /// Who decides: `team_lead`, `pr` or `legal`.
    pub group: String,
    /// `topic`: words or phrases (whole words, any case).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// `topic`: triage categories (e.g. `complaint`, `urgent`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// `agent`: the agents whose every reply is held (e.g. new hires).
    #[serde(default)]
    pub agent_ids: Vec<i64>,
    /// `risk`: the lowest risk (0–100) that holds a public reply.
    #[serde(default)]
    pub risk_at_least: Option<i32>,
    /// `spot_check`: the share of replies held, 1–100 percent.
    #[serde(default)]
    pub percent: Option<i32>,
    /// Disabled rules are kept but hold nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Why the rule exists, for whoever edits it next.
    #[serde(default)]
    pub note: Option<String>,
    /// Minutes a request it raises may wait for its group; then it moves to the next group
    /// (team lead → PR → legal), after a reminder at three quarters of the time. 1 to 10080
    /// (a week); none: no deadline.
    #[serde(default)]
    pub deadline_mins: Option<i32>,
    /// Only replies on these networks (empty: every network).
    #[serde(default)]
    pub networks: Vec<Network>,
    /// Only public or only private replies (none: both).
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Only replies to customers with any of these tags (empty: every customer).
    #[serde(default)]
    pub customer_tags: Vec<String>,
    /// Only conversations whose customer's mood is this now (none: any).
    #[serde(default)]
    pub sentiment: Option<Mood>,
}

fn yes() -> bool {
    true
}

/// A conversation's mood, from its customer's latest sentiment (VADER's compound score: under
/// -0.05 negative, over 0.05 positive, the usual cut-offs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    /// Unhappy.
    Negative,
    /// Neither (or not known yet).
    Neutral,
    /// Happy.
    Positive,
}

impl Mood {
    /// The mood of a sentiment score.
    pub fn of(score: Option<f64>) -> Self {
        match score {
            Some(s) if s < -0.05 => Mood::Negative,
            Some(s) if s > 0.05 => Mood::Positive,
            _ => Mood::Neutral,
        }
    }

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mood::Negative => "negative",
            Mood::Neutral => "neutral",
            Mood::Positive => "positive",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Mood::Negative, Mood::Neutral, Mood::Positive].into_iter().find(|m| m.as_str() == s)
    }
}

/// Longest deadline: a week.
const MAX_DEADLINE_MINS: i32 = 7 * 24 * 60;

/// A rule as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RuleView {
    /// Id.
    pub id: i64,
    /// The rule.
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// Who wrote it.
    pub created_by: i64,
    /// Last change.
    pub updated_at: chrono::DateTime<Utc>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

impl From<approval_rule::Model> for RuleView {
    fn from(m: approval_rule::Model) -> Self {
        Self {
            id: m.id,
            spec: RuleSpec {
                kind: m.kind,
                group: m.group_name,
                keywords: strings(&m.keywords),
                categories: strings(&m.categories),
                agent_ids: serde_json::from_value(m.agent_ids).unwrap_or_default(),
                risk_at_least: m.risk_at_least,
                percent: m.percent,
                enabled: m.enabled,
                note: m.note,
                deadline_mins: m.deadline_mins,
                networks: m.networks.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default(),
                visibility: m.visibility.as_deref().and_then(Visibility::parse),
                customer_tags: m.customer_tags.as_ref().map(strings).unwrap_or_default(),
                sentiment: m.sentiment.as_deref().and_then(Mood::parse),
            },
            created_by: m.created_by,
            updated_at: m.updated_at,
        }
    }
}

/// Checks a rule and normalizes it (terms trimmed, lowercased, deduplicated). Fields that do not
/// belong to the rule's kind are refused rather than silently ignored.
pub fn clean(mut s: RuleSpec) -> Result<RuleSpec, Error> {
    if !GROUPS.contains(&s.group.as_str()) {
        return Err(Error::Validation(format!("group must be one of {}", GROUPS.join(", "))));
    }
    s.keywords = crate::triage::text::clean_terms("keywords", &s.keywords)?;
    s.categories = crate::triage::text::clean_terms("categories", &s.categories)?;
    s.agent_ids.sort_unstable();
    s.agent_ids.dedup();
    s.customer_tags = crate::triage::text::clean_terms("customer_tags", &s.customer_tags)?;
    s.networks.sort_unstable();
    s.networks.dedup();
    if s.deadline_mins.is_some_and(|d| !(1..=MAX_DEADLINE_MINS).contains(&d)) {
        return Err(Error::Validation(format!("deadline_mins must be 1 to {MAX_DEADLINE_MINS}")));
    }
    if s.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(Error::Validation(format!("note: at most {MAX_NOTE_CHARS} characters")));
    }
    let k = s.kind;
    let stray = |present: bool, field: &str, owner: Kind| {
        if present && k != owner {
            Err(Error::Validation(format!("{field} applies only to {owner} rules")))
        } else {
            Ok(())
        }
    };
    stray(!s.keywords.is_empty(), "keywords", Kind::Topic)?;
    stray(!s.categories.is_empty(), "categories", Kind::Topic)?;
    stray(!s.agent_ids.is_empty(), "agent_ids", Kind::Agent)?;
    stray(s.risk_at_least.is_some(), "risk_at_least", Kind::Risk)?;
    stray(s.percent.is_some(), "percent", Kind::SpotCheck)?;
    match k {
        Kind::Topic if s.keywords.is_empty() && s.categories.is_empty() => {
            Err(Error::Validation("a topic rule needs keywords or categories".into()))
        }
        Kind::Agent if s.agent_ids.is_empty() || s.agent_ids.len() > MAX_AGENTS => {
            Err(Error::Validation(format!("an agent rule needs 1 to {MAX_AGENTS} agent_ids")))
        }
        Kind::Risk if !s.risk_at_least.is_some_and(|r| (0..=100).contains(&r)) => {
            Err(Error::Validation("a risk rule needs risk_at_least between 0 and 100".into()))
        }
        Kind::SpotCheck if !s.percent.is_some_and(|p| (1..=100).contains(&p)) => {
            Err(Error::Validation("a spot_check rule needs percent between 1 and 100".into()))
        }
        _ => Ok(s),
    }
}

async fn known_agents(db: &impl ConnectionTrait, ids: &[i64]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = entity::agent::Entity::find().filter(entity::agent::Column::Id.is_in(ids.to_vec())).all(db).await?;
    match ids.iter().find(|id| !found.iter().any(|a| a.id == **id)) {
        Some(missing) => Err(Error::Validation(format!("agent {missing} does not exist"))),
        None => Ok(()),
    }
}

fn active(s: &RuleSpec, by: i64, now: chrono::DateTime<Utc>) -> approval_rule::ActiveModel {
    approval_rule::ActiveModel {
        kind: Set(s.kind),
        group_name: Set(s.group.clone()),
        keywords: Set(serde_json::json!(s.keywords)),
        categories: Set(serde_json::json!(s.categories)),
        agent_ids: Set(serde_json::json!(s.agent_ids)),
        risk_at_least: Set(s.risk_at_least),
        percent: Set(s.percent),
        enabled: Set(s.enabled),
        note: Set(s.note.clone()),
        deadline_mins: Set(s.deadline_mins),
        networks: Set((!s.networks.is_empty()).then(|| serde_json::json!(s.networks))),
        visibility: Set(s.visibility.map(|v| v.as_str().to_owned())),
        customer_tags: Set((!s.customer_tags.is_empty()).then(|| serde_json::json!(s.customer_tags))),
        sentiment: Set(s.sentiment.map(|m| m.as_str().to_owned())),
        created_by: Set(by),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

// Each write below writes first and reads after: on SQLite a transaction that reads and only
// then writes loses its snapshot to any other writer in between and fails at once.

/// Adds a rule.
pub async fn create(db: &impl ConnectionTrait, spec: RuleSpec, by: i64) -> Result<RuleView, Error> {
    let spec = clean(spec)?;
    let created = active(&spec, by, Utc::now()).insert(db).await?;
    known_agents(db, &spec.agent_ids).await?;
    Ok(RuleView::from(created))
}

/// A rule as stored now.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<RuleView, Error> {
    let found = approval_rule::Entity::find_by_id(id).one(db).await?;
    found.map(RuleView::from).ok_or(Error::NotFound("approval rule"))
}

/// Replaces a rule read as `before` (outside the caller's transaction).
pub async fn replace(db: &impl ConnectionTrait, before: &RuleView, spec: RuleSpec) -> Result<RuleView, Error> {
    let spec = clean(spec)?;
    let mut m = active(&spec, before.created_by, Utc::now());
    m.created_at = sea_orm::ActiveValue::NotSet;
    m.created_by = sea_orm::ActiveValue::NotSet;
    let after = approval_rule::Entity::update_many()
        .set(m)
        .filter(approval_rule::Column::Id.eq(before.id))
        .exec_with_returning(db)
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound("approval rule"))?;
    known_agents(db, &spec.agent_ids).await?;
    Ok(RuleView::from(after))
}

/// Deletes a rule.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), Error> {
    let gone = approval_rule::Entity::delete_many().filter(approval_rule::Column::Id.eq(id)).exec(db).await?;
    if gone.rows_affected == 0 {
        return Err(Error::NotFound("approval rule"));
    }
    Ok(())
}

/// Every rule, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<RuleView>, Error> {
    let rows = approval_rule::Entity::find().order_by_asc(approval_rule::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(RuleView::from).collect())
}

/// The enabled rules, as the next reply is checked against them.
pub async fn enabled(db: &impl ConnectionTrait) -> Result<Vec<RuleView>, Error> {
    let rows = approval_rule::Entity::find()
        .filter(approval_rule::Column::Enabled.eq(true))
        .order_by_asc(approval_rule::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(RuleView::from).collect())
}

/// One rule that held a reply, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Reason {
    /// The rule.
    pub rule_id: i64,
    /// Its kind.
    #[schema(value_type = String, example = "topic")]
    pub kind: Kind,
    /// Its group.
    pub group: String,
    /// What matched, in words.
    pub why: String,
    /// The rule's deadline, in minutes, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_mins: Option<i32>,
}

/// What a reply is checked on.
pub struct Subject<'a> {
    /// The conversation as it is now.
    pub conversation: &'a conversation::Model,
    /// The reply's author.
    pub author_id: i64,
    /// The reply's text.
    pub text: &'a str,
    /// `public` or `private`.
    pub visibility: &'a str,
    /// The customer's recent messages in the conversation.
    pub inbound: &'a [String],
    /// A uniform draw in 0..100 for spot checks.
    pub roll: i32,
    /// The customer's tags (read only when a rule asks about them).
    pub customer_tags: &'a [String],
}

/// Whether any rule looks at customer tags (so the caller only loads them then).
pub fn needs_customer_tags(rules: &[RuleView]) -> bool {
    rules.iter().any(|r| !r.spec.customer_tags.is_empty())
}

/// Whether the reply is one the rule applies to at all: its network, visibility, customer and
/// mood conditions (each unset one holds).
fn applies(r: &RuleView, s: &Subject) -> bool {
    let c = s.conversation;
    (r.spec.networks.is_empty() || r.spec.networks.iter().any(|n| n.as_str() == c.network))
        && r.spec.visibility.is_none_or(|v| v.as_str() == s.visibility)
        && (r.spec.customer_tags.is_empty() || r.spec.customer_tags.iter().any(|t| s.customer_tags.contains(t)))
        && r.spec.sentiment.is_none_or(|m| m == Mood::of(c.sentiment_now))
}

/// Whether a topic rule needs the customer's messages (so the caller only loads them then).
pub fn needs_inbound(rules: &[RuleView]) -> bool {
    rules.iter().any(|r| r.spec.kind == Kind::Topic && !r.spec.keywords.is_empty())
}

fn why(r: &RuleView, s: &Subject) -> Option<String> {
    let c = s.conversation;
    match r.spec.kind {
        Kind::Topic => {
            if let Some(w) = Lexicon::new(&r.spec.keywords).first(s.text) {
                return Some(format!("the reply mentions \"{w}\""));
            }
            let inbound: Vec<&str> = s.inbound.iter().map(String::as_str).collect();
            topic_match(&r.spec.keywords, &r.spec.categories, c.category.as_deref(), &inbound)
        }
        Kind::Agent => r.spec.agent_ids.contains(&s.author_id).then(|| "every reply by this agent is checked".into()),
        Kind::Crisis => c.crisis_id.map(|id| format!("the conversation is linked to crisis {id}")),
        Kind::Risk => {
            let at = r.spec.risk_at_least.unwrap_or(101);
            (s.visibility == "public" && c.risk >= at).then(|| format!("public reply at risk {} (≥ {at})", c.risk))
        }
        Kind::SpotCheck => {
            let p = r.spec.percent.unwrap_or(0);
            (s.roll < p).then(|| format!("random spot check ({p}%)"))
        }
    }
}

/// The rules that hold this reply (empty: it goes out at once).
pub fn evaluate(rules: &[RuleView], s: &Subject) -> Vec<Reason> {
    rules
        .iter()
        .filter(|r| r.spec.enabled && applies(r, s))
        .filter_map(|r| {
            why(r, s).map(|why| Reason {
                rule_id: r.id,
                kind: r.spec.kind,
                group: r.spec.group.clone(),
                why,
                deadline_mins: r.spec.deadline_mins,
            })
        })
        .collect()
}

/// The group a held reply goes to: the most senior among the rules that held it.
pub fn group_for(reasons: &[Reason]) -> Option<&'static str> {
    GROUPS.into_iter().rev().find(|g| reasons.iter().any(|r| r.group == *g))
}

/// How long a request held for `reasons` may wait for a group: the shortest deadline among
/// them (the most urgent rule sets the pace), none when no rule has one.
pub fn deadline_for(reasons: &[Reason]) -> Option<chrono::Duration> {
    reasons.iter().filter_map(|r| r.deadline_mins).min().map(|m| chrono::Duration::minutes(i64::from(m)))
}

#[cfg(test)]
mod tests;
