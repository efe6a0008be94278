//! Prometheus instruments owned by one running app (not a process global), so several servers
//! in one test process each count their own traffic.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The instruments `/metrics` exposes.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Messages through ingest, by source (`api`, `meta`, `x`, `import`) and outcome
    /// (`stored`, `duplicate`).
    pub ingest_messages: IntCounterVec,
    /// Time from a delivery's arrival to its commit, by source.
    pub ingest_latency: HistogramVec,
    /// Messages written per group commit.
    pub ingest_batch_size: HistogramVec,
    /// Conversations waiting in the queue, by tier; refreshed at scrape time.
    pub queue_depth: IntGaugeVec,
    /// How long held replies waited for their decision, by group and decision.
    pub approval_wait: HistogramVec,
    /// The lease reaper's decisions that change something, by verdict (`lapsed`, `released`,
    /// `reinstated`: the coordinator had forgotten the lease, `extended`: it expired during an
    /// outage). Reinstated or extended leases mean Redis lost data or was unreachable.
    pub lease_decisions: IntCounterVec,
    /// Webhook events Chorus received, answered 2xx and did not use, by network and event kind
    /// (`read`, `reaction`, `statuses`, …; `other` for kinds it does not know): a subscription
    /// that sends what nobody uses shows here rather than as refused deliveries.
    pub webhook_ignored: IntCounterVec,
    /// Background tasks that panicked or stopped while the node ran, by task (each is restarted;
    /// `/readyz` turns 503 while one is down or keeps failing).
    pub task_failures: IntCounterVec,
}

impl Metrics {
    /// Builds the registry and its instruments.
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("chorus".into()), None)?;
        let ingest_messages = IntCounterVec::new(
            Opts::new("ingest_messages_total", "Messages received by ingest"),
            &["source", "outcome"],
        )?;
        let ingest_latency = HistogramVec::new(
            HistogramOpts::new("ingest_latency_seconds", "Delivery arrival to durable commit")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["source"],
        )?;
        let ingest_batch_size = HistogramVec::new(
            HistogramOpts::new("ingest_batch_messages", "Messages per group commit")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
            &[],
        )?;
        let queue_depth = IntGaugeVec::new(Opts::new("queue_depth", "Conversations waiting, by tier"), &["tier"])?;
        let approval_wait = HistogramVec::new(
            HistogramOpts::new("approval_wait_seconds", "Held reply to approver's decision")
                .buckets(vec![5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0]),
            &["group", "decision"],
        )?;
        let lease_decisions = IntCounterVec::new(
            Opts::new("lease_decisions_total", "Lease reaper decisions that changed something"),
            &["verdict"],
        )?;
        let webhook_ignored = IntCounterVec::new(
            Opts::new("webhook_events_ignored_total", "Webhook events received and not used"),
            &["network", "kind"],
        )?;
        let task_failures = IntCounterVec::new(
            Opts::new("task_failures_total", "Background tasks that panicked or stopped, restarted"),
            &["task"],
        )?;
        registry.register(Box::new(task_failures.clone()))?;
        registry.register(Box::new(webhook_ignored.clone()))?;
        registry.register(Box::new(lease_decisions.clone()))?;
        registry.register(Box::new(approval_wait.clone()))?;
        registry.register(Box::new(ingest_messages.clone()))?;
        registry.register(Box::new(ingest_latency.clone()))?;
        registry.register(Box::new(ingest_batch_size.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        Ok(Self {
            registry,
            ingest_messages,
            ingest_latency,
            ingest_batch_size,
            queue_depth,
            approval_wait,
            lease_decisions,
            webhook_ignored,
            task_failures,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> anyhow::Result<String> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        Ok(String::from_utf8(buf)?)
    }
}
