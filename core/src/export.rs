//! Streaming exports: rows read a page at a time (keyset on id, so each page is one indexed
//! range read and nothing is held open between pages), each page encoded into one chunk of the
//! response. Memory stays at one page however many rows the export has.

use bytes::Bytes;
use futures_util::Stream;
use serde::Serialize;

use crate::error::Error;

/// Rows read per page.
pub const PAGE: u64 = 1000;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated, with a header row; JSON fields as JSON text.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    /// Encodes one page; the CSV header goes with the first.
    pub fn encode<T: Serialize>(self, rows: &[T], first: bool) -> Result<Bytes, Error> {
        let mut out = Vec::with_capacity(rows.len() * 256);
        match self {
            Format::Ndjson => {
                for r in rows {
                    serde_json::to_writer(&mut out, r).map_err(|e| Error::Unexpected(e.into()))?;
                    out.push(b'\n');
                }
            }
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().has_headers(first).from_writer(&mut out);
                for r in rows {
                    w.serialize(r).map_err(|e| Error::Unexpected(e.into()))?;
                }
                w.flush().map_err(|e| Error::Unexpected(e.into()))?;
            }
        }
        Ok(Bytes::from(out))
    }
}

/// A page of an export: its encoded bytes and the cursor after it (`None`: that was the last).
pub type Page = (Bytes, Option<i64>);

/// Streams pages: `next_page(cursor, first)` reads and encodes the page after `cursor` and
/// says where the next one starts.
pub fn paged<F, Fut>(next_page: F) -> impl Stream<Item = Result<Bytes, Error>>
where
    F: FnMut(Option<i64>, bool) -> Fut,
    Fut: std::future::Future<Output = Result<Page, Error>>,
{
    struct State<F> {
        cursor: Option<i64>,
        first: bool,
        done: bool,
        next_page: F,
    }
    let start = State { cursor: None, first: true, done: false, next_page };
    futures_util::stream::unfold(start, |mut s| async move {
        if s.done {
            return None;
        }
        match (s.next_page)(s.cursor, s.first).await {
            Ok((bytes, next)) => {
                s.first = false;
                s.done = next.is_none();
                s.cursor = next;
                Some((Ok(bytes), s))
            }
            Err(e) => {
                // The response has started; all that is left is to cut it short (the client
                // sees a truncated body) and say why in the log.
                tracing::error!(error.message = %e, "export failed part way");
                s.done = true;
                Some((Err(e), s))
            }
        }
    })
}
