//! Chorus: a real-time collaborative inbox server for social customer care.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod bench_live;
pub mod cli;
pub mod config;
pub mod conversations;
pub mod coord;
pub mod db;
pub mod demo;
pub mod demo_run;
pub mod error;
pub mod events;
pub mod http;
pub mod ingest;
pub mod listening;
pub mod live;
pub mod prom;
pub mod scratch_db;
pub mod startup;
pub mod state;
pub mod teams;
pub mod telemetry;
pub mod triage;
pub mod ws;
