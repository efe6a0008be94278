//! Chorus's domain: everything the inbox knows and decides, with no HTTP in it.
//!
//! # Layout
//!
//! The workspace is four layers; each depends only on the ones above it in this list, and the
//! compiler keeps it so (a crate cannot name a crate that depends on it):
//!
//! - `entity`, `migration`: the tables and their history.
//! - `chorus-core` (this crate): the domain, its store and its coordination.
//! - `chorus` (the root crate): the HTTP and WebSocket face, the command line, the server.
//! - `chorus-tools`: the benchmarks and the soak test (`chorus bench …` runs its binary).
//!
//! Inside this crate, from the bottom up:
//!
//! - Foundations: [`db`], [`error`] (the one domain error type), [`ids`] (typed ids and fencing
//!   tokens), [`network`] (the words for a message on its network), [`signature`] (HMAC-SHA256, in and out), [`prom`], [`retry`],
//!   [`tls`], [`cached`].
//! - The record: [`audit`] (who did what, written inside the work's own transaction),
//!   [`events`] (what every client sees, published with the commit that caused it).
//! - Coordination and live: [`coord`] (claims with fencing tokens, leases, the shared event
//!   log: in process or Redis), [`live`] (the node's hub of sessions' topics, the group
//!   commit, supervised tasks).
//! - The domain: [`agents`], [`auth`], [`teams`], [`brand_accounts`], [`triage`] (ranking one
//!   message), [`sla`], [`ingest`] (webhooks in, durable and idempotent), [`conversations`]
//!   (threading, claims, actions), [`replies`] (the reply state machine and the sender),
//!   [`approvals`] (the gate a held reply waits at), [`escalations`], [`crisis`],
//!   [`customers`], [`listening`], [`metrics`], [`webhooks_out`], [`erasure`], [`export`],
//!   [`archive`], [`example_responses`] and [`macros`] (an example made ready for one
//!   conversation), [`console_settings`] and [`saved_views`] (what each agent keeps).
//! - [`state`]: one node's services, built once at start and shared by every request.
//!
//! The one-way rule: nothing here names actix, a wire frame or an HTTP status. Errors are
//! [`error::Error`]; the face maps them to statuses and WebSocket codes once.

pub mod agents;
pub mod alerts;
pub mod approvals;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod brand_accounts;
pub mod cached;
pub mod config;
pub mod console_settings;
pub mod conversations;
pub mod coord;
pub mod crisis;
pub mod customers;
pub mod db;
pub mod detail;
pub mod erasure;
pub mod error;
pub mod escalations;
pub mod events;
pub mod example_responses;
pub mod export;
pub mod forecast;
pub mod ids;
pub mod ingest;
pub mod listening;
pub mod live;
pub mod macros;
pub mod metrics;
pub mod network;
pub mod prom;
pub mod replies;
pub mod retry;
pub mod saved_views;
pub mod signature;
pub mod sla;
pub mod staffing;
pub mod state;
pub mod teams;
pub mod tls;
pub mod triage;
pub mod webhooks_out;

pub use error::Error;
