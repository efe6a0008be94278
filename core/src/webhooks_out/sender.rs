//! Sends due deliveries. Every node runs a sender; a delivery is taken by one node at a time (a
//! lease on the row, `locked_until`, longer than a send may take), POSTed signed, and its
//! result recorded: 2xx → `delivered`; anything else (another status, a redirect, a timeout, no
//! connection) → tried again after a doubling wait, until `webhooks.max_attempts`, then
//! `failed`. At least once: a node that dies after the receiver took a delivery and before it
//! recorded it sends it again when the lease runs out, with the same `X-Chorus-Event-Id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::{webhook_delivery, webhook_subscription};
use futures_util::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{STATUS_DELIVERED, STATUS_FAILED, STATUS_PENDING};
use crate::error::Error;
use crate::live::Live;
use crate::retry::Retry;
use crate::signature as sign;
use crate::webhooks_out::WebhookSettings;

/// Deliveries taken per pass.
const PASS: u64 = 32;
/// Deliveries of one pass in flight at once.
const CONCURRENT: usize = 8;
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How much of a refusal's body the log keeps.
const ERROR_BODY: usize = 300;

/// The HTTP side: a client with the send timeout, and the retry schedule.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    retry: Retry,
    /// A taken delivery stays this node's for this long (longer than any send).
    lease: chrono::Duration,
}

impl Sender {
    /// Builds the client (rustls with ring, see `crate::tls`). Redirects are not followed: a
    /// receiver that moved is a failure the admin sees in the log, not a place the signed
    /// payload goes unannounced.
    pub fn new(s: &WebhookSettings) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let timeout = Duration::from_millis(s.timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Chorus-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let lease = chrono::Duration::from_std(timeout + Duration::from_secs(30)).unwrap_or(chrono::Duration::hours(1));
        Ok(Self { http, retry: Retry::new(s.max_attempts, s.retry_base_ms, MAX_BACKOFF), lease })
    }
}

/// Runs the relay and the sender on this node until it shuts down: every `interval_ms` (and at
/// once when the relay made deliveries) a send pass starts on its own, so a slow receiver does
/// not hold up the next pass; passes never share a delivery (each takes its own lease).
pub fn spawn(db: DatabaseConnection, live: &Live, settings: &WebhookSettings) -> anyhow::Result<()> {
    let sender = Sender::new(settings)?;
    let interval = Duration::from_millis(settings.interval_ms);
    let settle = Duration::from_millis(settings.settle_ms);
    let wake = Arc::new(tokio::sync::Notify::new());
    let (d, w) = (db.clone(), wake.clone());
    live.every(interval, "webhook deliveries queued", move || {
        let (db, wake) = (d.clone(), w.clone());
        async move {
            let made = super::relay::pass(&db, settle).await?;
            if made > 0 {
                wake.notify_one();
            }
            Ok(made)
        }
    });
    // At most CONCURRENT deliveries in flight on this node, however many passes run.
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
    let stop = live.shutdown_signal();
    live.tasks.spawn("webhook sender", stop.clone(), move || {
        let (db, sender, wake, slots, stop) = (db.clone(), sender.clone(), wake.clone(), slots.clone(), stop.clone());
        async move {
            loop {
                if slots.available_permits() > 0 {
                    let (db, sender, slots) = (db.clone(), sender.clone(), slots.clone());
                    tokio::spawn(async move {
                        match pass(&db, &sender, &slots).await {
                            Ok(n) if n > 0 => tracing::debug!(count = n, "webhook deliveries sent or retried"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error.message = %e, "webhook sender pass failed"),
                        }
                    });
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(interval) => {}
                    () = stop.cancelled() => return crate::live::tasks::Ended::Done,
                }
            }
        }
    });
    Ok(())
}

/// One pass: every due delivery of an active subscription this node manages to take; returns
/// how many it handled.
pub async fn pass(db: &DatabaseConnection, sender: &Sender, slots: &tokio::sync::Semaphore) -> Result<usize, Error> {
    let subscriptions: HashMap<i64, webhook_subscription::Model> = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let free = Condition::any()
        .add(webhook_delivery::Column::LockedUntil.is_null())
        .add(webhook_delivery::Column::LockedUntil.lt(now));
    let due: Vec<(i64, i64)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .column(webhook_delivery::Column::SubscriptionId)
        .filter(webhook_delivery::Column::Status.eq(STATUS_PENDING))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(webhook_delivery::Column::SubscriptionId.is_in(subscriptions.keys().copied()))
        .filter(free.clone())
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(PASS)
        .into_tuple()
        .all(db)
        .await?;
    let handled = std::sync::atomic::AtomicUsize::new(0);
    futures_util::stream::iter(due)
        .for_each_concurrent(CONCURRENT, |(id, subscription_id)| {
            let (free, handled, subscriptions) = (free.clone(), &handled, &subscriptions);
            async move {
                let Some(subscription) = subscriptions.get(&subscription_id) else { return };
                let Ok(_slot) = slots.acquire().await else { return };
                // Take it: of several nodes, exactly one sees its update touch the row.
                // From now, not from the pass's start: later ones of a pass start later.
                let lock = Utc::now() + sender.lease;
                let taken = webhook_delivery::Entity::update_many()
                    .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(Some(lock)))
                    .filter(webhook_delivery::Column::Id.eq(id))
                    .filter(webhook_delivery::Column::Status.eq(STATUS_PENDING))
                    .filter(free)
                    .exec(db)
                    .await;
                match taken {
                    Ok(t) if t.rows_affected == 1 => {
                        if let Err(e) = deliver(db, sender, subscription, id).await {
                            // Taken again once its lease runs out.
                            tracing::warn!(delivery_id = id, error.message = %e, "recording a webhook delivery failed");
                        }
                        handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(delivery_id = id, error.message = %e, "taking a webhook delivery failed"),
                }
            }
        })
        .await;
    Ok(handled.into_inner())
}

/// The body of a delivery: `{"id", "event", "created_at", "data"}`.
pub fn body(d: &webhook_delivery::Model) -> Vec<u8> {
    let envelope = serde_json::json!({
        "id": d.event_id.to_string(),
        "event": d.event_kind,
        "created_at": d.created_at,
        "data": d.payload,
    });
    // A `Value` always serializes.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// How one attempt ended.
enum Outcome {
    Delivered(u16),
    Refused(u16, String),
    NoAnswer(String),
}

async fn attempt(sender: &Sender, s: &webhook_subscription::Model, d: &webhook_delivery::Model) -> Outcome {
    let body = body(d);
    let signature = sign::signature(&s.secret, Utc::now().timestamp(), &body);
    let sent = sender
        .http
        .post(&s.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Chorus-Event-Id", d.event_id.to_string())
        .header("X-Chorus-Delivery", d.id.to_string())
        .header(sign::HEADER, signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Outcome::NoAnswer("timed out".to_owned()),
        Err(e) => return Outcome::NoAnswer(error_chain(&e)),
    };
    let status = response.status();
    if status.is_success() {
        return Outcome::Delivered(status.as_u16());
    }
    // A little of what the receiver said, never all of it.
    let mut said = Vec::new();
    while said.len() < ERROR_BODY {
        match response.chunk().await {
            Ok(Some(bytes)) => said.extend_from_slice(&bytes),
            _ => break,
        }
    }
    let said: String = String::from_utf8_lossy(&said).chars().take(ERROR_BODY).collect();
    let why = format!("HTTP {}{}{}", status.as_u16(), if said.trim().is_empty() { "" } else { ": " }, said.trim());
    Outcome::Refused(status.as_u16(), why)
}

/// reqwest's message and its causes ("error sending request: … connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out.chars().take(ERROR_BODY).collect()
}

async fn deliver(
    db: &DatabaseConnection,
    sender: &Sender,
    subscription: &webhook_subscription::Model,
    id: i64,
) -> Result<(), Error> {
    let Some(d) = webhook_delivery::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    let outcome = attempt(sender, subscription, &d).await;
    let now = Utc::now();
    let none = Option::<chrono::DateTime<Utc>>::None;
    let update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::col(webhook_delivery::Column::Attempts).add(1))
        .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(none))
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.eq(STATUS_PENDING));
    let (status, error) = match outcome {
        Outcome::Delivered(status) => {
            update
                .col_expr(webhook_delivery::Column::Status, Expr::value(STATUS_DELIVERED))
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(Some(now)))
                .col_expr(webhook_delivery::Column::LastStatus, Expr::value(Some(i32::from(status))))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(Option::<String>::None))
                .exec(db)
                .await?;
            return Ok(());
        }
        Outcome::Refused(status, why) => (Some(i32::from(status)), why),
        Outcome::NoAnswer(why) => (None, why),
    };
    let attempts = d.attempts + 1;
    let update = update
        .col_expr(webhook_delivery::Column::LastStatus, Expr::value(status))
        .col_expr(webhook_delivery::Column::LastError, Expr::value(Some(error.clone())));
    if attempts >= sender.retry.max_attempts {
        tracing::warn!(delivery_id = id, subscription_id = subscription.id, attempts, error.message = %error,
            "webhook delivery failed; out of attempts");
        update.col_expr(webhook_delivery::Column::Status, Expr::value(STATUS_FAILED)).exec(db).await?;
    } else {
        let wait = chrono::Duration::from_std(sender.retry.backoff(attempts)).unwrap_or(chrono::Duration::hours(1));
        tracing::info!(delivery_id = id, subscription_id = subscription.id, attempts, error.message = %error,
            "webhook delivery failed; will retry");
        update.col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now + wait)).exec(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_its_base_and_is_capped_at_an_hour() {
        let retry = Retry::new(8, 1000, MAX_BACKOFF);
        let waits: Vec<u64> = (1..=14).map(|n| retry.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]);
        assert_eq!(retry.backoff(i32::MAX), MAX_BACKOFF);
        let fast = Retry::new(3, 20, MAX_BACKOFF);
        assert_eq!(fast.backoff(3), Duration::from_millis(80));
    }
}
