//! `chorus import FILE`: bulk history as NDJSON (one [`NormalizedMessage`] per line), written
//! through the same batch path as live ingest, so threading, triage and every metric computed
//! from the messages' own timestamps come out as if the messages had arrived live.

use std::path::Path;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::Outcome;
use super::normalized::NormalizedMessage;
use super::writer::{IngestWriter, Source};

/// Counts of an import run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines read (non-empty).
    pub lines: u64,
    /// Newly stored messages.
    pub stored: u64,
    /// Messages already present (re-running an import is safe).
    pub duplicates: u64,
}

/// Lines per submitted chunk: big enough to batch well, small enough to bound memory.
const CHUNK: usize = 500;

/// Reads the file line by line and stores every message. The first bad line stops the import
/// with its line number; everything before it is committed.
pub async fn import_file(writer: &IngestWriter, path: &Path) -> anyhow::Result<ImportReport> {
    let file = tokio::fs::File::open(path).await.with_context(|| format!("opening {}", path.display()))?;
    let mut lines = BufReader::new(file).lines();
    let mut report = ImportReport::default();
    let mut chunk: Vec<NormalizedMessage> = Vec::with_capacity(CHUNK);
    let mut n = 0u64;
    while let Some(line) = lines.next_line().await.context("reading import file")? {
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let msg: NormalizedMessage =
            serde_json::from_str(&line).with_context(|| format!("{}:{n}: not a valid message", path.display()))?;
        msg.validate().map_err(|e| anyhow::anyhow!("{}:{n}: {e}", path.display()))?;
        report.lines += 1;
        chunk.push(msg);
        if chunk.len() == CHUNK {
            flush(writer, &mut chunk, &mut report).await?;
        }
    }
    flush(writer, &mut chunk, &mut report).await?;
    Ok(report)
}

async fn flush(
    writer: &IngestWriter,
    chunk: &mut Vec<NormalizedMessage>,
    report: &mut ImportReport,
) -> anyhow::Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let outcomes = writer.submit_waiting(Source::Import, std::mem::take(chunk)).await?;
    for o in outcomes {
        match o {
            Outcome::Stored { .. } => report.stored += 1,
            Outcome::Duplicate { .. } => report.duplicates += 1,
        }
    }
    Ok(())
}

/// Stores already-parsed messages (e.g. converted from the TWCS CSV) in chunks.
pub async fn import_messages(writer: &IngestWriter, msgs: Vec<NormalizedMessage>) -> anyhow::Result<ImportReport> {
    let mut report = ImportReport { lines: msgs.len() as u64, ..Default::default() };
    for chunk in msgs.chunks(CHUNK) {
        let mut c = chunk.to_vec();
        flush(writer, &mut c, &mut report).await?;
    }
    Ok(report)
}
