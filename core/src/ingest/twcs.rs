//! A converter from the public "Customer Support on Twitter" CSV (tweet_id, author_id, inbound,
//! created_at, text, response_tweet_id, in_response_to_tweet_id) to normalized messages, so real
//! history can be replayed with `chorus import --twcs FILE` and metrics checked against it.
//!
//! Brand accounts are the authors of outbound rows. Every row is placed by what it shows, never
//! by a guess (a conversation is one customer with one brand account):
//! - a customer's tweet belongs to the brand of its reply chain (a brand tweet above it, else the
//!   brand that answered it, else the brand of the customer tweet it answers, up the chain), else
//!   the first brand account it @mentions;
//! - a brand's tweet belongs to the customer it answers (the author of the customer tweet it
//!   replies to, or that tweet's customer if it answers a brand tweet), else the first customer
//!   (an anonymized numeric id) it @mentions.
//!
//! Rows that cannot be placed are counted and listed with the reason ([`Unplaced`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::normalized::{AccountRef, CustomerRef, NormalizedMessage};
use crate::network::{Direction, Network, Visibility};

/// Counts of a conversion, and the rows it could not place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwcsReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows turned into messages.
    pub converted: usize,
    /// Rows that could not be placed, in file order.
    pub unplaced: Vec<Unplaced>,
}

/// A row the converter could not place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    /// 1-based data row.
    pub row: usize,
    /// Its tweet id.
    pub tweet_id: String,
    /// Why.
    pub reason: Reason,
}

/// Why a row could not be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// A customer tweet whose reply chain reaches no brand, that no brand answered, and that
    /// @mentions no brand account of the file.
    NoBrand,
    /// A brand tweet that answers no customer tweet of the file and @mentions no customer.
    NoCustomer,
}

impl Reason {
    /// A stable name, for the report file.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoBrand => "no_brand",
            Reason::NoCustomer => "no_customer",
        }
    }

    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::NoBrand => {
                "customer tweet: its reply chain reaches no brand, no brand answered it, and it mentions no brand account"
            }
            Reason::NoCustomer => "brand tweet: it answers no customer tweet in the file and mentions no customer",
        }
    }
}

impl TwcsReport {
    /// Rows not converted.
    pub fn skipped(&self) -> usize {
        self.unplaced.len()
    }

    /// The unplaced rows as CSV (`row,tweet_id,reason,detail`), for `--report FILE`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("row,tweet_id,reason,detail\n");
        for u in &self.unplaced {
            out.push_str(&format!("{},{},{},\"{}\"\n", u.row, u.tweet_id, u.reason.as_str(), u.reason.describe()));
        }
        out
    }

    /// Unplaced rows per reason.
    pub fn by_reason(&self) -> Vec<(Reason, usize)> {
        let mut counts: std::collections::BTreeMap<Reason, usize> = Default::default();
        for u in &self.unplaced {
            *counts.entry(u.reason).or_default() += 1;
        }
        counts.into_iter().collect()
    }
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

impl Row {
    fn is_inbound(&self) -> bool {
        self.inbound.trim().eq_ignore_ascii_case("true")
    }

    fn parent(&self) -> Option<&str> {
        Some(self.in_response_to_tweet_id.trim()).filter(|s| !s.is_empty())
    }
}

fn mentions(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
}

/// An anonymized customer id, as the dataset writes them.
fn is_customer_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// Reply chains longer than this are cut (a corrupt file could loop).
const MAX_CHAIN: usize = 10_000;

/// The file's rows indexed for placing them.
struct Placer<'a> {
    rows: &'a [(Row, DateTime<Utc>)],
    by_id: HashMap<&'a str, usize>,
    brands: HashSet<&'a str>,
}

impl<'a> Placer<'a> {
    fn new(rows: &'a [(Row, DateTime<Utc>)]) -> Self {
        let brands = rows.iter().filter(|(r, _)| !r.is_inbound()).map(|(r, _)| r.author_id.as_str()).collect();
        let by_id = rows.iter().enumerate().map(|(i, (r, _))| (r.tweet_id.as_str(), i)).collect();
        Self { rows, by_id, brands }
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.rows[i].0.parent().and_then(|p| self.by_id.get(p).copied())
    }

    /// The brand a customer tweet addresses.
    fn brand_of(&self, i: usize) -> Option<&'a str> {
        // The reply chain's brand: the brand tweet it (or a customer tweet above it) answers, or
        // the brand that answered it, or the brand a customer tweet above it reached (nearest
        // first); only then its own first brand @mention.
        let mut chain = vec![i];
        let mut at = i;
        while let Some(p) = self.parent(at) {
            if chain.len() >= MAX_CHAIN || chain.contains(&p) {
                break;
            }
            let row = &self.rows[p].0;
            if !row.is_inbound() {
                return Some(row.author_id.as_str());
            }
            chain.push(p);
            at = p;
        }
        self.answered_by(i)
            .or_else(|| chain[1..].iter().find_map(|&c| self.answered_by(c).or_else(|| self.mentioned_brand(c))))
            .or_else(|| self.mentioned_brand(i))
    }

    /// The brand that answered this tweet.
    fn answered_by(&self, i: usize) -> Option<&'a str> {
        self.rows[i]
            .0
            .response_tweet_id
            .split(',')
            .map(str::trim)
            .filter_map(|id| self.by_id.get(id))
            .map(|&j| &self.rows[j].0)
            .find(|r| !r.is_inbound() && r.parent() == Some(self.rows[i].0.tweet_id.as_str()))
            .map(|r| r.author_id.as_str())
    }

    fn mentioned_brand(&self, i: usize) -> Option<&'a str> {
        mentions(&self.rows[i].0.text).find(|m| self.brands.contains(m))
    }

    /// The customer a brand tweet answers.
    fn customer_of(&self, i: usize) -> Option<&'a str> {
        let mut seen = vec![i];
        let mut at = i;
        while let Some(p) = self.parent(at) {
            if seen.len() >= MAX_CHAIN || seen.contains(&p) {
                break;
            }
            let row = &self.rows[p].0;
            if row.is_inbound() {
                return Some(row.author_id.as_str());
            }
            seen.push(p);
            at = p;
        }
        // Nobody answered in the file: the customer it mentions first, else the one its own
        // brand tweet chain mentioned first.
        seen.iter().find_map(|&s| mentions(&self.rows[s].0.text).find(|m| is_customer_id(m)))
    }
}

/// Converts the whole file; messages come back in time order.
pub fn convert(csv_text: &str) -> Result<(Vec<NormalizedMessage>, TwcsReport), TwcsError> {
    let mut rows = Vec::new();
    for (i, r) in csv::Reader::from_reader(csv_text.as_bytes()).deserialize::<Row>().enumerate() {
        let row = r?;
        let at = DateTime::parse_from_str(row.created_at.trim(), "%a %b %d %H:%M:%S %z %Y")
            .map_err(|_| TwcsError::Timestamp { row: i + 1, value: row.created_at.clone() })?
            .with_timezone(&Utc);
        rows.push((row, at));
    }
    let placer = Placer::new(&rows);
    let mut out = Vec::with_capacity(rows.len());
    let mut unplaced = Vec::new();
    for (i, (r, at)) in rows.iter().enumerate() {
        let placed = if r.is_inbound() {
            placer.brand_of(i).map(|b| (Direction::Inbound, b.to_owned(), r.author_id.clone())).ok_or(Reason::NoBrand)
        } else {
            placer
                .customer_of(i)
                .map(|c| (Direction::Outbound, r.author_id.clone(), c.to_owned()))
                .ok_or(Reason::NoCustomer)
        };
        let (direction, brand, customer) = match placed {
            Ok(p) => p,
            Err(reason) => {
                unplaced.push(Unplaced { row: i + 1, tweet_id: r.tweet_id.clone(), reason });
                continue;
            }
        };
        out.push(NormalizedMessage {
            network: Network::X,
            brand_account: AccountRef { id: brand.clone(), name: Some(brand) },
            customer: CustomerRef { handle: Some(format!("@{customer}")), id: customer, name: None, followers: None },
            direction,
            visibility: Visibility::Public,
            platform_message_id: r.tweet_id.clone(),
            in_reply_to: r.parent().map(str::to_owned),
            text: r.text.clone(),
            sent_at: *at,
            addressed_to_brand: true,
            language: None,
            origin: None,
        });
    }
    out.sort_by_key(|m| m.sent_at);
    let report = TwcsReport { rows: rows.len(), converted: out.len(), unplaced };
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../tests/fixtures/twcs_sample.csv");

    #[test]
    fn converts_the_sample() -> Result<(), TwcsError> {
        let (msgs, report) = convert(SAMPLE)?;
        assert_eq!(report.rows, 93);
        assert_eq!(report.converted + report.skipped(), report.rows);
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

    fn placed<'a>(msgs: &'a [NormalizedMessage], id: &str) -> (&'a str, &'a str, Direction) {
        msgs.iter()
            .find(|m| m.platform_message_id == id)
            .map(|m| (m.brand_account.id.as_str(), m.customer.id.as_str(), m.direction))
            .unwrap_or(("", "", Direction::Inbound))
    }

    /// Customers reply under each other's posts: every tweet goes to its own customer's side.
    #[test]
    fn replies_under_another_customers_post_are_placed_by_their_own_customer() -> Result<(), TwcsError> {
        let csv = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
1,101,True,Mon Oct 02 10:00:00 +0000 2017,@AcmeHelp my order is late,\"2,4\",
2,102,True,Mon Oct 02 10:05:00 +0000 2017,@101 @AcmeHelp same here,3,1
3,AcmeHelp,False,Mon Oct 02 10:10:00 +0000 2017,@102 sorry! DM us,,2
4,AcmeHelp,False,Mon Oct 02 11:00:00 +0000 2017,@101 looking into it,5,1
5,AcmeHelp,False,Mon Oct 02 11:01:00 +0000 2017,2/2 thanks for waiting,,4
6,103,True,Mon Oct 02 12:00:00 +0000 2017,@104 @OtherCo what a day,,
7,104,True,Mon Oct 02 12:00:00 +0000 2017,nobody addressed here,,
8,AcmeHelp,False,Mon Oct 02 12:30:00 +0000 2017,We are back online,,
9,OtherCo,False,Mon Oct 02 12:40:00 +0000 2017,@103 hi,,77
";
        let (msgs, report) = convert(csv)?;
        assert_eq!(placed(&msgs, "1"), ("AcmeHelp", "101", Direction::Inbound));
        assert_eq!(placed(&msgs, "2"), ("AcmeHelp", "102", Direction::Inbound), "B's reply under A's post is B's");
        assert_eq!(placed(&msgs, "3"), ("AcmeHelp", "102", Direction::Outbound), "the answer to B is B's");
        assert_eq!(placed(&msgs, "4"), ("AcmeHelp", "101", Direction::Outbound), "the later answer to A is A's");
        assert_eq!(placed(&msgs, "5"), ("AcmeHelp", "101", Direction::Outbound), "a self-thread stays with A");
        assert_eq!(placed(&msgs, "6"), ("OtherCo", "103", Direction::Inbound), "the first brand mentioned");
        assert_eq!(placed(&msgs, "9"), ("OtherCo", "103", Direction::Outbound), "parent not in the file: mention");
        let unplaced: Vec<(&str, Reason)> = report.unplaced.iter().map(|u| (u.tweet_id.as_str(), u.reason)).collect();
        assert_eq!(unplaced, [("7", Reason::NoBrand), ("8", Reason::NoCustomer)]);
        assert_eq!((report.rows, report.converted, report.skipped()), (9, 7, 2));
        assert!(report.to_csv().starts_with("row,tweet_id,reason,detail\n7,7,no_brand,"));
        Ok(())
    }

    #[test]
    fn bad_timestamp_names_the_row() {
        let csv = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n1,2,True,yesterday,hi,,\n";
        assert!(matches!(convert(csv), Err(TwcsError::Timestamp { row: 1, .. })));
        assert!(matches!(convert("a,b\n1,2\n"), Err(TwcsError::Csv(_))));
    }
}
