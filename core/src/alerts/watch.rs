//! Sentiment swings and influential customers, found in the customer messages sent since a
//! little before the last look (the newest thousand of them). Every node looks; the alert's
//! unique key makes each one raised once. Messages whose alerts exist are skipped before
//! anything is written, so a look over messages already seen costs one read.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use entity::alert::{self, Kind};
use entity::{customer, message};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::NewAlert;
use crate::error::Error;
use crate::live::Live;

/// Most messages one look reads.
const PAGE: u64 = 1000;

/// When a customer's mood or reach calls for an alert.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// How often each node looks, in milliseconds.
    pub scan_interval_ms: u64,
    /// Customers with at least this many followers raise `influencer_post` (once per
    /// conversation).
    pub influencer_followers: i64,
    /// A message at or below this sentiment (VADER compound, -1 to 1)…
    pub swing_to: f64,
    /// …after one at or above this in the same conversation raises `sentiment_swing`.
    pub swing_from: f64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { scan_interval_ms: 10_000, influencer_followers: 10_000, swing_to: -0.5, swing_from: 0.3 }
    }
}

impl AlertSettings {
    fn lookback(&self) -> chrono::Duration {
        // Three periods: a node that missed a look (busy, restarting) still sees the messages.
        chrono::Duration::milliseconds(i64::try_from(self.scan_interval_ms.saturating_mul(3)).unwrap_or(30_000))
    }
}

/// What one message calls for, given its customer and whether the conversation had a message
/// at or above `swing_from` before it.
fn alerts_for(
    m: &message::Model,
    who: Option<&customer::Model>,
    was_positive: bool,
    s: &AlertSettings,
) -> Vec<NewAlert> {
    let mut out = Vec::new();
    if let Some(followers) = who.and_then(|c| c.followers).filter(|f| *f >= s.influencer_followers) {
        out.push(NewAlert {
            kind: Kind::InfluencerPost,
            dedupe_key: format!("influencer_post:{}", m.conversation_id),
            title: format!("A customer with {followers} followers wrote on {}", m.network),
            detail: format!("{} message in conversation {}", m.visibility, m.conversation_id),
            conversation_id: Some(m.conversation_id),
            crisis_alert_id: None,
        });
    }
    if was_positive && m.sentiment.is_some_and(|v| v <= s.swing_to) {
        out.push(NewAlert {
            kind: Kind::SentimentSwing,
            dedupe_key: format!("sentiment_swing:{}", m.id),
            title: format!("A customer's mood turned negative on {}", m.network),
            detail: format!(
                "sentiment {:.2} after {:.2} or more earlier in conversation {}",
                m.sentiment.unwrap_or_default(),
                s.swing_from,
                m.conversation_id
            ),
            conversation_id: Some(m.conversation_id),
            crisis_alert_id: None,
        });
    }
    out
}

/// One look; returns how many alerts it raised.
pub async fn scan(db: &DatabaseConnection, live: &Live, s: &AlertSettings) -> Result<usize, Error> {
    let since = Utc::now() - s.lookback();
    // By the messages' own time, which is indexed (the early warning reads it too): an import of
    // old history raises nothing, and the look costs an index range, not a table scan.
    let recent = message::Entity::find()
        .filter(message::Column::SentAt.gte(since))
        .filter(message::Column::Direction.eq("inbound"))
        .filter(message::Column::DeletedAt.is_null())
        .order_by_desc(message::Column::Id)
        .limit(PAGE)
        .all(db)
        .await?;
    if recent.is_empty() {
        return Ok(0);
    }
    let people: HashSet<i64> = recent.iter().map(|m| m.customer_id).collect();
    let customers: HashMap<i64, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(people))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    // Conversations with a positive customer message: a negative one after it is a swing.
    let negative: Vec<&message::Model> =
        recent.iter().filter(|m| m.sentiment.is_some_and(|v| v <= s.swing_to)).collect();
    let positive_before: HashSet<i64> = if negative.is_empty() {
        HashSet::new()
    } else {
        message::Entity::find()
            .select_only()
            .column(message::Column::ConversationId)
            .filter(message::Column::Direction.eq("inbound"))
            .filter(message::Column::ConversationId.is_in(negative.iter().map(|m| m.conversation_id)))
            .filter(message::Column::Sentiment.gte(s.swing_from))
            .filter(message::Column::DeletedAt.is_null())
            .distinct()
            .into_tuple::<i64>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let wanted: Vec<NewAlert> = recent
        .iter()
        .flat_map(|m| alerts_for(m, customers.get(&m.customer_id), positive_before.contains(&m.conversation_id), s))
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let known: HashSet<String> = alert::Entity::find()
        .select_only()
        .column(alert::Column::DedupeKey)
        .filter(alert::Column::DedupeKey.is_in(wanted.iter().map(|a| a.dedupe_key.clone())))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let fresh: Vec<NewAlert> =
        wanted.into_iter().filter(|a| !known.contains(&a.dedupe_key) && seen.insert(a.dedupe_key.clone())).collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    // One transaction for the look: the store's single writer (SQLite) is taken once, not once
    // per alert, so a burst of alerts does not queue up claims and replies behind it.
    let txn = crate::db::begin_write(db).await?;
    let mut evs = Vec::with_capacity(fresh.len());
    for a in fresh {
        evs.extend(super::raise(&txn, a).await?);
    }
    txn.commit().await?;
    live.publish(&evs);
    Ok(evs.len())
}

/// Runs [`scan`] every `scan_interval_ms` until the node shuts down.
pub fn spawn(db: DatabaseConnection, live: Live, s: AlertSettings) {
    let handle = live.clone();
    handle.every(Duration::from_millis(s.scan_interval_ms), "alerts raised", move || {
        let (db, live, s) = (db.clone(), live.clone(), s.clone());
        async move { scan(&db, &live, &s).await }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(sentiment: f64, text: &str) -> message::Model {
        message::Model {
            id: 9,
            conversation_id: 4,
            brand_account_id: 1,
            customer_id: 2,
            network: "x".into(),
            direction: "inbound".into(),
            visibility: "public".into(),
            platform_message_id: "p9".into(),
            in_reply_to: None,
            agent_id: None,
            author_name: None,
            text: text.into(),
            sentiment: Some(sentiment),
            sent_at: Utc::now(),
            received_at: Utc::now(),
            origin: None,
            edited_at: None,
            deleted_at: None,
        }
    }

    fn person(followers: Option<i64>) -> customer::Model {
        customer::Model {
            id: 2,
            display_name: "Dana".into(),
            followers,
            created_from: "x".into(),
            crm_id: None,
            merged_into: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_large_following_and_a_turn_for_the_worse_each_raise_one_alert() {
        let s = AlertSettings::default();
        let big = person(Some(250_000));
        let kinds = |m: &message::Model, c: &customer::Model, was_positive| {
            alerts_for(m, Some(c), was_positive, &s).into_iter().map(|a| (a.kind, a.dedupe_key)).collect::<Vec<_>>()
        };
        assert_eq!(kinds(&msg(0.1, "hello"), &big, false), vec![(Kind::InfluencerPost, "influencer_post:4".into())]);
        assert_eq!(
            kinds(&msg(-0.8, "this is awful"), &person(Some(12)), true),
            vec![(Kind::SentimentSwing, "sentiment_swing:9".into())]
        );
        assert!(kinds(&msg(-0.8, "this is awful"), &person(None), false).is_empty(), "negative from the start");
        assert!(kinds(&msg(-0.2, "meh"), &person(None), true).is_empty(), "not negative enough");
    }

    #[test]
    fn an_alert_copies_neither_the_words_nor_the_name() {
        let s = AlertSettings::default();
        let m = msg(-0.9, "Dana here, this is awful");
        for a in alerts_for(&m, Some(&person(Some(1_000_000))), true, &s) {
            let all = format!("{} {}", a.title, a.detail);
            assert!(!all.contains("awful") && !all.contains("Dana"), "{all}");
        }
    }
}
