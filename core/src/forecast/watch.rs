//! The forecast as an early warning: every few minutes each node compares the current and the
//! last complete hour with their forecast, in total and per network, and raises an alert
//! (`volume_off_forecast`, on the `alerts` topic with the crisis spikes) when the volume left
//! its 99 % prediction interval: far above is the first sign of a crisis; far below, of a
//! network that stopped delivering. Above also feeds the crisis early warning (a `crisis.alert`
//! with topic `forecast:<scope>`, which the alert links to). The alert's unique key makes it
//! once per slice, hour and direction, whichever node saw it first.

use std::time::Duration;

use chrono::Utc;
use entity::alert::Kind;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use super::model::Method;
use super::{ForecastQuery, Forecasts, Outside};
use crate::alerts::NewAlert;
use crate::error::Error;
use crate::live::Live;
use crate::network::Network;
use crate::sla::Policies;

/// How often each node looks.
pub const EVERY: Duration = Duration::from_secs(300);
/// The interval an alert is judged on: wide, so that chance alone raises about one hour in a
/// hundred, not one in five.
pub const LEVEL: f64 = 0.99;

/// Fewest conversations in an hour above its interval that raise the alert.
pub const MIN_ABOVE: i64 = 5;

/// The alert for a slice whose volume left its interval.
pub fn alert_for(network: Option<Network>, o: &Outside) -> NewAlert {
    let scope = network.map_or_else(|| "all networks".to_owned(), |n| n.as_str().to_owned());
    NewAlert {
        kind: Kind::VolumeOffForecast,
        dedupe_key: format!("volume_off_forecast:{scope}:{}:{}", o.hour.timestamp() / 3600, o.direction),
        title: format!("Inbound conversations {} their forecast on {scope}", o.direction),
        detail: format!(
            "{} conversations in the hour from {} UTC; the {:.0} % prediction interval was {:.0} to {:.0}",
            o.actual,
            o.hour.format("%Y-%m-%d %H:%M"),
            LEVEL * 100.0,
            o.lower,
            o.upper
        ),
        conversation_id: None,
        crisis_alert_id: None,
    }
}

/// One look; returns how many events it published (the alerts and their early-warning records).
pub async fn look(
    db: &DatabaseConnection,
    live: &Live,
    forecasts: &Forecasts,
    policies: &Policies,
) -> Result<usize, Error> {
    let set = policies.current();
    let now = Utc::now();
    let mut wanted = Vec::new();
    for network in std::iter::once(None).chain(Network::ALL.iter().copied().map(Some)) {
        let q = ForecastQuery {
            network: network.map(|n| n.as_str().to_owned()),
            days: Some(1),
            level: Some(LEVEL),
            ..ForecastQuery::default()
        };
        let view = super::read(db, forecasts, &set, &q, now).await?;
        // A repeated day or week (too little history to fit) is too rough to alarm anyone on.
        if !matches!(view.model, Method::Daily | Method::DailyWeekly) {
            continue;
        }
        // A handful at least: one stray conversation on a quiet night pages nobody.
        if let Some(o) = view.outside.filter(|o| o.direction != "above" || o.actual >= MIN_ABOVE) {
            let a = alert_for(network, &o);
            wanted.push((network, o, a));
        }
    }
    // Raised already (by this node or another): skipped before anything is written, so a look
    // over an hour that stays outside costs one read.
    let known: std::collections::HashSet<String> = entity::alert::Entity::find()
        .select_only()
        .column(entity::alert::Column::DedupeKey)
        .filter(entity::alert::Column::DedupeKey.is_in(wanted.iter().map(|(_, _, a)| a.dedupe_key.clone())))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    wanted.retain(|(_, _, a)| !known.contains(&a.dedupe_key));
    if wanted.is_empty() {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    let mut evs = Vec::with_capacity(wanted.len());
    for (network, o, mut a) in wanted {
        // Above its interval feeds the crisis early warning too, and the alert links to it.
        if o.direction == "above" {
            let scope = network.map_or("all", Network::as_str);
            if let Some((id, ev)) =
                crate::crisis::warning::record_forecast_spike(&txn, scope, network, o.hour, o.actual, o.forecast)
                    .await?
            {
                a.crisis_alert_id = Some(id);
                evs.push(ev);
            }
        }
        evs.extend(crate::alerts::raise(&txn, a).await?);
    }
    txn.commit().await?;
    live.publish(&evs);
    Ok(evs.len())
}

/// Runs [`look`] every [`EVERY`] until the node shuts down.
pub fn spawn(db: DatabaseConnection, live: Live, forecasts: Forecasts, policies: Policies) {
    let handle = live.clone();
    handle.every(EVERY, "forecast alerts raised", move || {
        let (db, live, forecasts, policies) = (db.clone(), live.clone(), forecasts.clone(), policies.clone());
        async move { look(&db, &live, &forecasts, &policies).await }
    });
}
