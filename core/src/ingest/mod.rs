//! Getting social messages in: the normalized format, the networks' webhooks, threading and
//! triage of each batch, and the group-commit writer that makes every acknowledgement durable.

pub mod batch;
pub mod changes;
pub mod delivery;
pub mod import;
pub mod mentions;
pub mod meta;
pub mod normalized;
pub mod reading;
pub mod twcs;
pub mod webhook;
pub mod writer;
pub mod x;

pub use batch::Outcome;
pub use normalized::NormalizedMessage;
use serde::Deserialize;
pub use writer::{IngestError, IngestWriter, Source};

impl From<IngestError> for crate::Error {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Overloaded => crate::Error::Unavailable("ingest is overloaded, retry later"),
            IngestError::Closed => crate::Error::Unavailable("ingest is shutting down"),
            IngestError::Unreachable => crate::Error::Unavailable("the store is unreachable; retry later"),
            IngestError::Store(db) => crate::Error::Unexpected(anyhow::Error::new(db).context("ingest commit")),
        }
    }
}

/// The group-commit ingest pipeline's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// Most messages written in one transaction. Larger batches raise throughput and latency.
    pub max_batch_messages: usize,
    /// Requests that may wait for the writer before new ones are refused with 503.
    pub queue_capacity: usize,
    /// Most messages accepted in one `POST /api/v1/ingest/messages` request.
    pub max_messages_per_request: usize,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self { max_batch_messages: 256, queue_capacity: 4096, max_messages_per_request: 1000 }
    }
}
