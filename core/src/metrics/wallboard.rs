//! The `wallboard` topic: each node looks at the live figures every
//! `CHORUS_METRICS__WALLBOARD_INTERVAL_MS` while any of its sessions listens, and pushes them to
//! those sessions as a `tick` frame only when they changed (or someone new started listening).
//! The figures come from the shared store and presence, so every node shows the same floor, and
//! a message ingested on one node shows on another's wallboards within one interval. Ticks are
//! state, not history: they are not in the event log and carry no `seq` (a client's resume
//! position is untouched by them), and a reconnecting wallboard simply gets the next one.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use serde_json::json;

use super::live::LiveFigures;
use crate::live::topics::WALLBOARD;
use crate::live::{Live, LiveEvent};

/// The figures without what changes by the mere passing of time (the clock, the waits), which
/// wallboards count up themselves: what "changed" is judged on.
fn fingerprint(f: &LiveFigures) -> String {
    let mut f = f.clone();
    f.at = chrono::DateTime::UNIX_EPOCH;
    f.queue.oldest_wait_secs = None;
    serde_json::to_string(&f).unwrap_or_default()
}

/// The frame sessions get: `{"type":"tick","event":"wallboard.tick","topic":"wallboard","data":LiveFigures}`
/// — the contract's `wallboard.tick`, as its own frame type because it has no `seq`.
pub fn frame(f: &LiveFigures) -> Arc<LiveEvent> {
    let data = json!({"type": "tick", "event": "wallboard.tick", "topic": WALLBOARD, "data": f}).to_string();
    Arc::new(LiveEvent { seq: 0, kind: "wallboard.tick".into(), topics: Box::new([]), frame: data.into() })
}

/// What the ticker needs for "needed now / online now".
#[derive(Clone)]
pub struct Staffing {
    /// The node's fits.
    pub forecasts: crate::forecast::Forecasts,
    /// The SLA policies (their targets and holidays).
    pub policies: crate::sla::Policies,
    /// The figures, shared with `GET /api/v1/metrics/live`.
    pub now: crate::staffing::plan::FloorNow,
}

/// Starts the node's wallboard ticker.
pub fn spawn(db: DatabaseConnection, live: Live, staffing: Staffing, every: Duration) {
    let handle = live.clone();
    let last: Arc<std::sync::Mutex<(String, usize)>> = Arc::default();
    handle.every(every, "wallboard ticks pushed", move || {
        let (db, live, last, staffing) = (db.clone(), live.clone(), last.clone(), staffing.clone());
        async move {
            let listeners = live.hub.listeners(WALLBOARD);
            if listeners == 0 {
                *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = (String::new(), 0);
                return Ok(0);
            }
            let mut figures = super::live::figures(&db, &live.coord, Default::default()).await?;
            let policies = staffing.policies.current();
            figures.staffing = staffing.now.get(&db, &live.coord, &staffing.forecasts, &policies).await;
            let print = fingerprint(&figures);
            {
                let mut l = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if l.0 == print && listeners <= l.1 {
                    l.1 = listeners;
                    return Ok(0);
                }
                *l = (print, listeners);
            }
            live.hub.deliver_local(WALLBOARD, &frame(&figures));
            Ok(0)
        }
    });
}
