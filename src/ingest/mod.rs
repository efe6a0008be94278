//! Getting social messages in: the normalized format, the networks' webhooks, threading and
//! triage of each batch, and the group-commit writer that makes every acknowledgement durable.

pub mod batch;
pub mod changes;
pub mod delivery;
pub mod import;
pub mod mentions;
pub mod meta;
pub mod normalized;
pub mod twcs;
pub mod webhook;
pub mod writer;
pub mod x;

pub use batch::Outcome;
pub use normalized::NormalizedMessage;
pub use writer::{IngestError, IngestWriter, Source};
