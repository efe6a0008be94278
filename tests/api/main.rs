//! API tests against a real server on 127.0.0.1:0 (SQLite, or PostgreSQL with
//! `CHORUS_TEST_DATABASE_URL`).

mod approvals;
mod auth;
mod channels;
mod claims;
mod cluster;
mod conversations;
mod coord;
mod crisis;
mod escalations;
mod group_commit;
mod helpers;
mod import;
mod ingest_api;
mod live;
mod live_cluster;
mod metrics_live;
mod ops;
mod replies;
mod sla;
mod teams;
mod threading;
mod triage_table;
mod webhooks;
mod writing;
mod ws_client;
