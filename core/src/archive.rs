//! The archive: every message and note ever stored, searchable by words (SQLite FTS5,
//! PostgreSQL `tsvector`, see migration 016) and by customer, network, agent, tag and time, and
//! exportable as CSV or NDJSON a page at a time.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::export::Format;

/// What to search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Customer and brand messages (default).
    #[default]
    Messages,
    /// Agents' internal notes.
    Notes,
}

/// A search or export of the archive.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArchiveQuery {
    /// Words that must all appear (any order, case and accents ignored). Required to search,
    /// optional to export.
    pub q: Option<String>,
    /// `messages` (default) or `notes`.
    pub kind: Option<Kind>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only this network's (`x`, `facebook`, `instagram`, `whatsapp`).
    pub network: Option<String>,
    /// Only those written by this agent (brand messages sent through Chorus, or notes).
    pub agent_id: Option<i64>,
    /// Only from conversations with this tag.
    pub tag: Option<String>,
    /// Sent at or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Sent before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Search page: hits older than this id (from `next_before_id`).
    pub before_id: Option<i64>,
    /// Hits per page, 1 to 200 (50).
    pub limit: Option<u64>,
    /// Export only: `csv` (default) or `ndjson`.
    pub format: Option<Format>,
}

/// One message or note found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, FromQueryResult, PartialEq)]
pub struct Hit {
    /// `message` or `note`.
    pub kind: String,
    /// The message's or note's id.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The network.
    pub network: String,
    /// Messages: `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Messages: `public` or `private`.
    pub visibility: Option<String>,
    /// The agent who wrote it, if one did.
    pub agent_id: Option<i64>,
    /// Messages: the author's display name.
    pub author_name: Option<String>,
    /// The text.
    pub text: String,
    /// When it was sent (notes: written).
    pub at: DateTime<Utc>,
}

/// A page of hits, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HitPage {
    /// Hits.
    pub hits: Vec<Hit>,
    /// Pass as `before_id` for the next page; absent on the last.
    pub next_before_id: Option<i64>,
}

/// The words of a query, at most 20, each at most 100 characters: only letters and digits
/// count, so nothing a user types can reach the search syntax.
fn words(q: &str) -> Result<Vec<String>, Error> {
    let words: Vec<String> =
        q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    if words.is_empty() {
        return Err(Error::Validation("q needs at least one word (letters or digits)".into()));
    }
    if words.len() > 20 || words.iter().any(|w| w.chars().count() > 100) {
        return Err(Error::Validation("q is at most 20 words of at most 100 characters".into()));
    }
    Ok(words)
}

fn text_match(backend: DatabaseBackend, kind: Kind, words: &[String]) -> Expr {
    let (table, alias) = match kind {
        Kind::Messages => ("messages", "m"),
        Kind::Notes => ("notes", "n"),
    };
    match backend {
        DatabaseBackend::Postgres => {
            // `plainto_tsquery` ANDs the words and parses nothing; the column is generated.
            // (sea-query numbers PostgreSQL placeholders `$n`, the others `?`.)
            Expr::cust_with_values(format!("{alias}.search @@ plainto_tsquery('simple', $1)"), [words.join(" ")])
        }
        _ => {
            // Each word quoted: FTS5 reads it as a plain term, never as syntax.
            let fts: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            Expr::cust_with_values(
                format!("{alias}.id IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?)"),
                [fts.join(" ")],
            )
        }
    }
}

fn tag_match(backend: DatabaseBackend, tag: &str) -> Expr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust_with_values("jsonb_exists(c.tags::jsonb, $1)", [tag.to_owned()]),
        _ => Expr::cust_with_values(
            "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = ?)",
            [tag.to_owned()],
        ),
    }
}

fn validate(q: &ArchiveQuery) -> Result<(), Error> {
    if let Some(n) = &q.network
        && serde_json::from_value::<crate::network::Network>(serde_json::json!(n)).is_err()
    {
        return Err(Error::Validation(format!("unknown network {n:?}")));
    }
    if q.tag.as_ref().is_some_and(|t| t.is_empty() || t.chars().count() > 100) {
        return Err(Error::Validation("tag must be 1 to 100 characters".into()));
    }
    if let (Some(a), Some(b)) = (q.since, q.until)
        && a >= b
    {
        return Err(Error::Validation("since must be before until".into()));
    }
    Ok(())
}

/// The select of hits matching the filters (without paging).
fn select(backend: DatabaseBackend, q: &ArchiveQuery) -> Result<SelectStatement, Error> {
    validate(q)?;
    let kind = q.kind.unwrap_or_default();
    let (m, n, c) = (Alias::new("m"), Alias::new("n"), Alias::new("c"));
    let text = |v: &str| Expr::val(v.to_owned()).cast_as(Alias::new("TEXT"));
    let null_text = || Expr::cust("CAST(NULL AS TEXT)");
    let mut s = Query::select();
    let (row, at) = match kind {
        Kind::Messages => {
            s.expr_as(text("message"), Alias::new("kind"))
                .expr_as(Expr::col((m.clone(), Alias::new("id"))), Alias::new("id"))
                .expr_as(Expr::col((m.clone(), Alias::new("conversation_id"))), Alias::new("conversation_id"))
                .expr_as(Expr::col((m.clone(), Alias::new("customer_id"))), Alias::new("customer_id"))
                .expr_as(Expr::col((m.clone(), Alias::new("network"))), Alias::new("network"))
                .expr_as(Expr::col((m.clone(), Alias::new("direction"))), Alias::new("direction"))
                .expr_as(Expr::col((m.clone(), Alias::new("visibility"))), Alias::new("visibility"))
                .expr_as(Expr::col((m.clone(), Alias::new("agent_id"))), Alias::new("agent_id"))
                .expr_as(Expr::col((m.clone(), Alias::new("author_name"))), Alias::new("author_name"))
                .expr_as(Expr::col((m.clone(), Alias::new("text"))), Alias::new("text"))
                .expr_as(Expr::col((m.clone(), Alias::new("sent_at"))), Alias::new("at"))
                .from_as(Alias::new("messages"), m.clone());
            if q.tag.is_some() {
                s.join_as(
                    JoinType::InnerJoin,
                    Alias::new("conversations"),
                    c.clone(),
                    Expr::col((c.clone(), Alias::new("id"))).equals((m.clone(), Alias::new("conversation_id"))),
                );
            }
            (m, "sent_at")
        }
        Kind::Notes => {
            s.expr_as(text("note"), Alias::new("kind"))
                .expr_as(Expr::col((n.clone(), Alias::new("id"))), Alias::new("id"))
                .expr_as(Expr::col((n.clone(), Alias::new("conversation_id"))), Alias::new("conversation_id"))
                .expr_as(Expr::col((c.clone(), Alias::new("customer_id"))), Alias::new("customer_id"))
                .expr_as(Expr::col((c.clone(), Alias::new("network"))), Alias::new("network"))
                .expr_as(null_text(), Alias::new("direction"))
                .expr_as(null_text(), Alias::new("visibility"))
                .expr_as(Expr::col((n.clone(), Alias::new("agent_id"))), Alias::new("agent_id"))
                .expr_as(null_text(), Alias::new("author_name"))
                .expr_as(Expr::col((n.clone(), Alias::new("text"))), Alias::new("text"))
                .expr_as(Expr::col((n.clone(), Alias::new("created_at"))), Alias::new("at"))
                .from_as(Alias::new("notes"), n.clone())
                .join_as(
                    JoinType::InnerJoin,
                    Alias::new("conversations"),
                    c.clone(),
                    Expr::col((c.clone(), Alias::new("id"))).equals((n.clone(), Alias::new("conversation_id"))),
                );
            (n, "created_at")
        }
    };
    // Messages carry their customer and network; notes take them from the conversation.
    let owner = if kind == Kind::Messages { row.clone() } else { c.clone() };
    if let Some(words) = q.q.as_deref().map(words).transpose()? {
        s.and_where(text_match(backend, kind, &words));
    }
    if let Some(id) = q.customer_id {
        s.and_where(Expr::col((owner.clone(), Alias::new("customer_id"))).eq(id));
    }
    if let Some(net) = &q.network {
        s.and_where(Expr::col((owner, Alias::new("network"))).eq(net.as_str()));
    }
    if let Some(a) = q.agent_id {
        s.and_where(Expr::col((row.clone(), Alias::new("agent_id"))).eq(a));
    }
    if let Some(t) = &q.tag {
        s.and_where(tag_match(backend, t));
    }
    if let Some(t) = q.since {
        s.and_where(Expr::col((row.clone(), Alias::new(at))).gte(t));
    }
    if let Some(t) = q.until {
        s.and_where(Expr::col((row.clone(), Alias::new(at))).lt(t));
    }
    Ok(s)
}

fn id_of(kind: Kind) -> (Alias, Alias) {
    (Alias::new(if kind == Kind::Messages { "m" } else { "n" }), Alias::new("id"))
}

async fn fetch(db: &impl ConnectionTrait, s: &SelectStatement) -> Result<Vec<Hit>, Error> {
    let stmt = db.get_database_backend().build(s);
    Ok(Hit::find_by_statement(stmt).all(db).await?)
}

/// Searches the archive, newest first, a page at a time.
pub async fn search(db: &impl ConnectionTrait, q: &ArchiveQuery) -> Result<HitPage, Error> {
    if q.q.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(Error::Validation("give q: the words to search for".into()));
    }
    if q.format.is_some() {
        return Err(Error::Validation("format is for /api/v1/archive/export".into()));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::Validation("limit must be 1 to 200".into()));
    }
    let kind = q.kind.unwrap_or_default();
    let mut s = select(db.get_database_backend(), q)?;
    if let Some(b) = q.before_id {
        s.and_where(Expr::col(id_of(kind)).lt(b));
    }
    s.order_by(id_of(kind), Order::Desc).limit(limit + 1);
    let mut hits = fetch(db, &s).await?;
    let more = hits.len() as u64 > limit;
    hits.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_before_id = if more { hits.last().map(|h| h.id) } else { None };
    Ok(HitPage { hits, next_before_id })
}

/// Checks an export's query before its response starts (errors after that cannot be sent).
pub fn check_export(backend: DatabaseBackend, q: &ArchiveQuery) -> Result<(), Error> {
    if q.before_id.is_some() || q.limit.is_some() {
        return Err(Error::Validation("an export has no pages: drop before_id and limit".into()));
    }
    select(backend, q).map(|_| ())
}

/// One page of an export, oldest first: the hits after `cursor`, encoded.
pub async fn export_page(
    db: &impl ConnectionTrait,
    q: &ArchiveQuery,
    cursor: Option<i64>,
    first: bool,
) -> Result<crate::export::Page, Error> {
    let kind = q.kind.unwrap_or_default();
    let mut s = select(db.get_database_backend(), q)?;
    if let Some(c) = cursor {
        s.and_where(Expr::col(id_of(kind)).gt(c));
    }
    s.order_by(id_of(kind), Order::Asc).limit(crate::export::PAGE);
    let hits = fetch(db, &s).await?;
    let next = (hits.len() as u64 == crate::export::PAGE).then(|| hits.last().map(|h| h.id)).flatten();
    Ok((q.format.unwrap_or(Format::Csv).encode(&hits, first)?, next))
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn only_letters_and_digits_reach_the_search() {
        assert_eq!(words("Refund, NOW!! order #123").unwrap_or_default(), ["refund", "now", "order", "123"]);
        assert_eq!(words("\" OR 1=1 -- NEAR(a b)").unwrap_or_default(), ["or", "1", "1", "near", "a", "b"]);
        assert!(words("  ?!  ").is_err());
        assert!(words(&"w ".repeat(21)).is_err());
        assert_eq!(words("crème brûlée").unwrap_or_default(), ["crème", "brûlée"]);
    }
}
