//! Instagram comments that mention a brand account.
//!
//! Instagram's `mentions` webhook names only the comment (and its media): who wrote it and what
//! it says need a Graph API call (`GET /{ig-user-id}?fields=mentioned_comment.comment_id(…)`),
//! and Meta keeps no copy of the notification. So the delivery is acknowledged once the comment's
//! id is stored (`mention_lookups`), and every node looks stored ones up, ingests what it finds
//! as a public customer message (idempotent on the comment id, so two nodes looking up the same
//! comment store it once) and drops the row; a failure that may pass is tried again with
//! backoff, one that will not (the comment is gone, comments are off) is counted
//! (`mention_unavailable`). Without the Graph API configured (`CHORUS_REPLIES__CHANNEL=networks`
//! and a Meta access token) mentions are counted, not stored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::mention_lookup;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::delivery::MentionOf;
use super::normalized::{AccountRef, CustomerRef, NormalizedMessage};
use super::{IngestWriter, Source};
use crate::error::Error;
use crate::live::Live;
use crate::network::{Direction, Network, Visibility};
use crate::prom::Metrics;
use crate::replies::{ChannelMode, ReplySettings};
use crate::retry::Retry;

/// Lookups taken per pass.
const PASS: u64 = 32;
/// Tries before a mention is given up.
const ATTEMPTS: u32 = 8;

/// Whether this deployment can look mentions up.
pub fn configured(s: &ReplySettings) -> bool {
    s.channel == ChannelMode::Networks && s.meta_access_token.is_some()
}

/// Stores mentions to look up; one already waiting is not stored twice.
pub async fn record(db: &DatabaseConnection, mentions: &[MentionOf]) -> Result<(), DbErr> {
    if mentions.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = mentions.iter().map(|m| mention_lookup::ActiveModel {
        brand_account: Set(m.brand_account.clone()),
        comment_id: Set(m.comment_id.clone()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        received_at: Set(now),
        last_error: Set(None),
        ..Default::default()
    });
    mention_lookup::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([mention_lookup::Column::BrandAccount, mention_lookup::Column::CommentId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The Graph API client for lookups.
#[derive(Clone)]
struct Graph {
    http: reqwest::Client,
    url: String,
    token: SecretString,
}

/// Why a lookup failed: `Again` may pass (no answer, 429, 5xx), `Gone` will not.
enum Failure {
    Again(String),
    Gone(String),
}

#[derive(Deserialize)]
struct Answer {
    mentioned_comment: Option<Comment>,
}

#[derive(Deserialize)]
struct Comment {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    from: Option<From>,
}

#[derive(Deserialize)]
struct From {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl Graph {
    async fn comment(&self, row: &mention_lookup::Model) -> Result<NormalizedMessage, Failure> {
        // Both ids are digits (`meta::parse` takes no other), so the path needs no escaping.
        let url = format!(
            "{}/{}?fields=mentioned_comment.comment_id({}){{id,text,timestamp,username,from}}",
            self.url, row.brand_account, row.comment_id
        );
        let answer = self.http.get(&url).bearer_auth(self.token.expose_secret()).send().await;
        let r = answer.map_err(|e| Failure::Again(format!("no answer from the Graph API: {e}")))?;
        let status = r.status();
        let body = r.text().await.map_err(|e| Failure::Again(format!("answer cut off: {e}")))?;
        if !status.is_success() {
            let why = crate::replies::networks::reason(status, &body);
            return Err(if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                Failure::Again(why)
            } else {
                Failure::Gone(why)
            });
        }
        let c = serde_json::from_str::<Answer>(&body)
            .ok()
            .and_then(|a| a.mentioned_comment)
            .ok_or_else(|| Failure::Gone(format!("no mentioned_comment in the answer: {body:.200}")))?;
        message(row, c)
    }
}

/// The mention as a public message from its author. Instagram writes times as
/// `2017-05-19T23:27:28+0000`; without one, the time it was received stands in.
fn message(row: &mention_lookup::Model, c: Comment) -> Result<NormalizedMessage, Failure> {
    let username = c.from.as_ref().and_then(|f| f.username.clone()).or(c.username);
    let Some(author) = c.from.and_then(|f| f.id).or_else(|| username.clone()) else {
        return Err(Failure::Gone("the comment names no author".into()));
    };
    let sent_at = c
        .timestamp
        .as_deref()
        .and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z").ok())
        .map_or(row.received_at, |t| t.with_timezone(&Utc));
    let m = NormalizedMessage {
        network: Network::Instagram,
        brand_account: AccountRef { id: row.brand_account.clone(), name: None },
        customer: CustomerRef { id: author, handle: username.map(|u| format!("@{u}")), name: None, followers: None },
        direction: Direction::Inbound,
        visibility: Visibility::Public,
        platform_message_id: c.id,
        in_reply_to: None,
        text: c.text.unwrap_or_default(),
        sent_at,
        addressed_to_brand: true,
        language: None,
        origin: None,
    };
    m.validate().map_err(Failure::Gone)?;
    Ok(m)
}

/// Looks stored mentions up on every node, every two seconds.
pub fn spawn(
    db: DatabaseConnection,
    live: &Live,
    writer: IngestWriter,
    settings: &ReplySettings,
    metrics: Metrics,
) -> anyhow::Result<()> {
    let Some(token) = settings.meta_access_token.clone().filter(|_| configured(settings)) else {
        return Ok(());
    };
    crate::tls::install_crypto_provider();
    let timeout = Duration::from_millis(settings.send_timeout_ms);
    let http =
        reqwest::Client::builder().timeout(timeout).connect_timeout(timeout.min(Duration::from_secs(5))).build()?;
    let graph = Graph { http, url: settings.meta_graph_url.trim_end_matches('/').to_owned(), token };
    let retry = Retry::new(ATTEMPTS, settings.retry_base_ms, Duration::from_secs(600));
    live.every(Duration::from_secs(2), "Instagram mentions looked up", move || {
        let (db, graph, writer, metrics) = (db.clone(), graph.clone(), writer.clone(), metrics.clone());
        async move { pass(&db, &graph, &writer, &metrics, retry).await }
    });
    Ok(())
}

async fn pass(
    db: &DatabaseConnection,
    graph: &Graph,
    writer: &IngestWriter,
    metrics: &Metrics,
    retry: Retry,
) -> Result<usize, Error> {
    let due = mention_lookup::Entity::find()
        .filter(mention_lookup::Column::NextAttemptAt.lte(Utc::now()))
        .order_by_asc(mention_lookup::Column::Id)
        .limit(PASS)
        .all(db)
        .await?;
    let n = due.len();
    for row in due {
        match graph.comment(&row).await {
            Ok(m) => {
                writer.submit_waiting(Source::Meta, vec![m]).await?;
            }
            Err(Failure::Again(e)) if row.attempts + 1 < retry.max_attempts => {
                let wait = chrono::Duration::from_std(retry.backoff(row.attempts + 1)).unwrap_or(chrono::Duration::MAX);
                tracing::warn!(comment_id = row.comment_id, error.message = %e, "looking up an Instagram mention failed; will retry");
                mention_lookup::Entity::update_many()
                    .col_expr(mention_lookup::Column::Attempts, Expr::col(mention_lookup::Column::Attempts).add(1))
                    .col_expr(mention_lookup::Column::NextAttemptAt, Expr::value(Utc::now() + wait))
                    .col_expr(mention_lookup::Column::LastError, Expr::value(Some(e)))
                    .filter(mention_lookup::Column::Id.eq(row.id))
                    .exec(db)
                    .await?;
                continue;
            }
            Err(Failure::Again(e) | Failure::Gone(e)) => {
                tracing::warn!(comment_id = row.comment_id, error.message = %e, "an Instagram mention could not be looked up; dropped");
                metrics.webhook_ignored.with_label_values(&[Network::Instagram.as_str(), "mention_unavailable"]).inc();
            }
        }
        mention_lookup::Entity::delete_by_id(row.id).exec(db).await?;
    }
    Ok(n)
}
