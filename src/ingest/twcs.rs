//! A converter from the public "Customer Support on Twitter" CSV (tweet_id, author_id, inbound,
//! created_at, text, response_tweet_id, in_response_to_tweet_id) to normalized messages, so real
//! history can be replayed with `chorus import --twcs FILE` and metrics checked against it.
//!
//! Brand accounts are the authors of outbound rows. An inbound tweet belongs to the brand that
//! answered it, or that it answers, or the first brand it @mentions; an outbound tweet's
//! customer is the author of the tweet it answers, or the first numeric (anonymized customer)
//! @mention. Rows for which either side cannot be told are skipped and counted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::normalized::{AccountRef, CustomerRef, Direction, Network, NormalizedMessage, Visibility};

/// Counts of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwcsReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows turned into messages.
    pub converted: usize,
    /// Rows whose brand or customer could not be determined.
    pub skipped: usize,
}

/// Why a file could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum TwcsError {
    /// Not a readable CSV with the expected columns.
    #[error("TWCS CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A `created_at` that does not parse.
    #[error("TWCS CSV row {row}: bad created_at {value:?}")]
    Timestamp {
        /// 1-based data row.
        row: usize,
        /// The value.
        value: String,
    },
}

#[derive(Debug, Deserialize)]
struct Row {
    tweet_id: String,
    author_id: String,
    inbound: String,
    created_at: String,
    text: String,
    #[serde(default)]
    response_tweet_id: String,
    #[serde(default)]
    in_response_to_tweet_id: String,
}

fn mentions(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
}

/// Converts the whole file; messages come back in time order.
pub fn convert(csv_text: &str) -> Result<(Vec<NormalizedMessage>, TwcsReport), TwcsError> {
    let mut rows = Vec::new();
    for (i, r) in csv::Reader::from_reader(csv_text.as_bytes()).deserialize::<Row>().enumerate() {
        let row = r?;
        let at = DateTime::parse_from_str(&row.created_at, "%a %b %d %H:%M:%S %z %Y")
            .map_err(|_| TwcsError::Timestamp { row: i + 1, value: row.created_at.clone() })?
            .with_timezone(&Utc);
        rows.push((row, at));
    }
    let brands: HashSet<&str> =
        rows.iter().filter(|(r, _)| r.inbound != "True").map(|(r, _)| r.author_id.as_str()).collect();
    let by_id: HashMap<&str, &Row> = rows.iter().map(|(r, _)| (r.tweet_id.as_str(), r)).collect();
    let brand_author = |id: &str| by_id.get(id).map(|r| r.author_id.as_str()).filter(|a| brands.contains(a));

    let mut out = Vec::with_capacity(rows.len());
    let mut skipped = 0;
    for (r, at) in &rows {
        let reply_to = Some(r.in_response_to_tweet_id.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
        let (direction, brand, customer) = if r.inbound == "True" {
            let brand = r
                .response_tweet_id
                .split(',')
                .map(str::trim)
                .find_map(brand_author)
                .or_else(|| reply_to.as_deref().and_then(brand_author))
                .or_else(|| mentions(&r.text).find(|m| brands.contains(m)))
                .or_else(|| mentions(&r.text).find(|m| !m.chars().all(|c| c.is_ascii_digit())));
            (Direction::Inbound, brand.map(str::to_owned), Some(r.author_id.clone()))
        } else {
            let customer = reply_to
                .as_deref()
                .and_then(|p| by_id.get(p))
                .filter(|p| p.inbound == "True")
                .map(|p| p.author_id.clone())
                .or_else(|| mentions(&r.text).find(|m| m.chars().all(|c| c.is_ascii_digit())).map(str::to_owned));
            (Direction::Outbound, Some(r.author_id.clone()), customer)
        };
        let (Some(brand), Some(customer)) = (brand, customer) else {
            skipped += 1;
            continue;
        };
        out.push(NormalizedMessage {
            network: Network::X,
            brand_account: AccountRef { id: brand.clone(), name: Some(brand) },
            customer: CustomerRef { handle: Some(format!("@{customer}")), id: customer, name: None, followers: None },
            direction,
            visibility: Visibility::Public,
            platform_message_id: r.tweet_id.clone(),
            in_reply_to: reply_to,
            text: r.text.clone(),
            sent_at: *at,
            addressed_to_brand: true,
            language: None,
        });
    }
    out.sort_by_key(|m| m.sent_at);
    let report = TwcsReport { rows: rows.len(), converted: out.len(), skipped };
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/fixtures/twcs_sample.csv");

    #[test]
    fn converts_the_sample() -> Result<(), TwcsError> {
        let (msgs, report) = convert(SAMPLE)?;
        assert_eq!(report.rows, 93);
        assert_eq!(report.converted + report.skipped, report.rows);
        assert!(report.converted >= 80, "{report:?}");
        assert!(msgs.windows(2).all(|w| w[0].sent_at <= w[1].sent_at));
        // Row 119237: a customer (105834) writing to AppleSupport, answered by tweet 119236.
        let m = msgs
            .iter()
            .find(|m| m.platform_message_id == "119237")
            .ok_or(TwcsError::Timestamp { row: 0, value: "119237 missing".into() })?;
        assert_eq!(m.direction, Direction::Inbound);
        assert_eq!(m.customer.id, "105834");
        assert_eq!(m.brand_account.id, "AppleSupport");
        assert_eq!(m.sent_at.to_rfc3339(), "2017-10-11T06:55:44+00:00");
        // Row 119238: ChaseSupport answering 119239 by customer 105835.
        let r = msgs
            .iter()
            .find(|m| m.platform_message_id == "119238")
            .ok_or(TwcsError::Timestamp { row: 0, value: "119238 missing".into() })?;
        assert_eq!(r.direction, Direction::Outbound);
        assert_eq!(r.brand_account.id, "ChaseSupport");
        assert_eq!(r.customer.id, "105835");
        assert_eq!(r.in_reply_to.as_deref(), Some("119239"));
        assert_eq!(r.sent_at.to_rfc3339(), "2017-10-11T13:25:49+00:00");
        Ok(())
    }

    #[test]
    fn bad_timestamp_names_the_row() {
        let csv = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n1,2,True,yesterday,hi,,\n";
        assert!(matches!(convert(csv), Err(TwcsError::Timestamp { row: 1, .. })));
        assert!(matches!(convert("a,b\n1,2\n"), Err(TwcsError::Csv(_))));
    }
}
