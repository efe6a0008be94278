//! Chorus's load tools: benchmarks that print their figures and the soak test that checks the
//! cluster's promises under failure. They drive real `chorus serve` processes over HTTP and
//! WebSocket, so they live here and the server links none of their clients.
//!
//! # Layout
//!
//! - [`bench`]: ingest and triage throughput; the helpers the others share.
//! - [`bench_live`]: live sessions (idle memory, fan-out delay, claim round trips, the crisis
//!   mix), against a bare broadcaster (`--baseline`) and another build (`--against`) in the
//!   same run.
//! - [`bench_metrics`]: metrics reads over a month of history.
//! - [`bench_soak`]: three nodes, a Redis Cluster, kills and restarts; the invariants checked.
//! - [`scratch_db`]: a fresh database per run (also used by the integration tests).
//!
//! This crate depends on `chorus` (the server) and `chorus-core`; nothing depends on it but
//! the integration tests.

pub mod bench;
pub mod bench_live;
pub mod bench_metrics;
pub mod bench_soak;
pub mod scratch_db;
