//! `chorus demo`: the server plus a simulated stream of social traffic, so a newcomer sees a
//! live, ranked queue within seconds of starting it.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;

use crate::demo::DemoTraffic;
use crate::startup::Application;
use chorus_core::config::Settings;
use chorus_core::ingest::Source;

/// Serves and feeds simulated deliveries through the real ingest path.
pub async fn run(settings: Settings, interval_secs: f64) -> anyhow::Result<()> {
    if !(0.01..=3600.0).contains(&interval_secs) {
        anyhow::bail!("--interval must be between 0.01 and 3600 seconds");
    }
    let app = Application::build(settings).await?;
    app.announce();
    let writer = app.state().ingest.clone();
    let seed = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(7);
    tokio::spawn(async move {
        let mut traffic = DemoTraffic::new(seed);
        match writer.submit_waiting(Source::Demo, traffic.backfill(Utc::now())).await {
            Ok(out) => tracing::info!(messages = out.len(), "demo: backfilled the queue"),
            Err(e) => tracing::warn!(error.message = %e, "demo: backfill failed"),
        }
        let mut tick = tokio::time::interval(Duration::from_secs_f64(interval_secs));
        loop {
            tick.tick().await;
            if let Err(e) = writer.submit_waiting(Source::Demo, traffic.next_batch(Utc::now())).await {
                tracing::warn!(error.message = %e, "demo: delivery failed; stopping the simulation");
                break;
            }
        }
    });
    let base = format!("http://{}:{}", app.state().settings.bind.ip(), app.port());
    println!(
        "demo: simulated traffic is flowing; the queue: {base}/api/v1/conversations, the API: {base}/api/openapi.json"
    );
    app.run_until_stopped().await.context("server failed")
}
