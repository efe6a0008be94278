//! Chorus: a real-time collaborative inbox server for social customer care. This crate is the
//! face: HTTP, WebSocket, the command line and the running server, over `chorus-core`.
//!
//! # Layout
//!
//! - [`http`]: the REST API, webhooks, the console's files, the OpenAPI document; each handler
//!   translates a request into one `chorus_core` call and its result into a response.
//!   [`http::error`] maps the domain's error to a status once.
//! - [`ws`]: the WebSocket session: frames in, one function per command, frames out.
//! - [`startup`]: builds a node's services and the HTTP server; [`cli`] the command line;
//!   [`telemetry`] logs and spans; [`demo`] a stream of realistic traffic for `chorus demo`.
//!
//! The one-way rule: this crate uses `chorus-core`, never the reverse; domain rules (audit,
//! privacy, permissions on data) live in the core's functions, not here, so REST and WebSocket
//! cannot drift.

pub mod cli;
pub mod demo;
pub mod demo_run;
pub mod forecast_cli;
pub mod http;
pub mod startup;
pub mod telemetry;
pub mod ws;
