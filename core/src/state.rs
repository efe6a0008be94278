//! The shared state every handler and background task sees. Built once, before the HTTP
//! server starts, and cloned cheaply (everything inside is `Arc` or a handle).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::coord::Coordination;
use crate::ingest::IngestWriter;
use crate::listening::Listening;
use crate::live::Live;
use crate::prom::Metrics;
use crate::teams::Teams;

/// Application state.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub db: DatabaseConnection,
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// The group-commit ingest writer.
    pub ingest: IngestWriter,
    /// Compiled listening searches (shared with the writer).
    pub listening: Listening,
    /// Teams' routes as this node holds them (shared with the writer).
    pub teams: Teams,
    /// The active crises as this node holds them (shared with the writer).
    pub crises: crate::crisis::Crises,
    /// SLA policies as this node holds them (shared with the writer).
    pub sla: crate::sla::Policies,
    /// Wakes this node's reply sender when a reply is queued here.
    pub reply_wake: Arc<tokio::sync::Notify>,
    /// Prometheus instruments.
    pub metrics: Metrics,
    /// Claims and leases: in process, or Redis when `REDIS_URL` is set.
    pub coord: Coordination,
    /// The live layer: the shared event log and this node's WebSocket sessions.
    pub live: Live,
    /// The forecasts this node fitted in the current hour.
    pub forecasts: crate::forecast::Forecasts,
    /// "Needed / online now", shared by the wallboard's ticks and the live figures.
    pub staffing_now: crate::staffing::plan::FloorNow,
    /// The CRM lookup, when one is configured.
    pub crm: Option<Arc<crate::customers::crm::CrmLookup>>,
}

impl AppState {
    /// The reply outbox's handles on this node.
    pub fn outbox(&self) -> crate::replies::Outbox<'_> {
        crate::replies::Outbox {
            db: &self.db,
            live: &self.live,
            wake: &self.reply_wake,
            crm: self.crm.as_ref(),
            metrics: &self.metrics,
        }
    }
}
