//! What each thing that happens does to the figures, as plain functions over a conversation:
//! a customer message, a brand message (from the network or sent through Chorus), a resolution,
//! agent handling time. Each returns [`Fact`]s — changes to hourly counters — that a
//! [`super::tally::Tally`] adds up and writes in the same transaction as the change itself, so
//! the figures are exactly as right as the conversations, live or imported.
//!
//! Every time is a message's own timestamp (or, for a resolution and handling time, the moment
//! it happened), never when Chorus processed it: importing history gives historical figures.

use chrono::{DateTime, Utc};
use entity::conversation;
use serde::{Deserialize, Serialize};

/// A conversation starting at or below this sentiment started negative.
pub const NEGATIVE: f64 = -0.3;
/// A conversation whose latest customer message is at or above this ends positive.
pub const POSITIVE: f64 = 0.3;
/// Unanswered customer messages remembered per conversation (a customer sending more before an
/// answer only adds the oldest-first waits up to this many).
const MAX_WAITING: usize = 200;

/// Counters of one hourly bucket (see `metric_hours`); history reads its sums straight into it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, sea_orm::FromQueryResult)]
pub struct Counts {
    /// Customer messages.
    pub inbound: i64,
    /// Brand messages.
    pub outbound: i64,
    /// Conversations opened (by their first customer message).
    pub conversations: i64,
    /// First responses.
    pub first_responses: i64,
    /// Sum of first response times, ms.
    pub frt_ms: i64,
    /// First responses within target.
    pub frt_met: i64,
    /// Customer messages answered.
    pub responses: i64,
    /// Sum of their waits, ms.
    pub art_ms: i64,
    /// Answered within target.
    pub art_met: i64,
    /// Resolutions.
    pub resolved: i64,
    /// Sum of first message → resolution, ms.
    pub resolution_ms: i64,
    /// Handling time of the conversations resolved, ms.
    pub resolved_handling_ms: i64,
    /// Handling time spent in the hour, ms.
    pub handling_ms: i64,
    /// Conversations that started negative.
    pub negative_starts: i64,
    /// Change in conversations that started negative and are now positive.
    pub conversions: i64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.inbound += o.inbound;
        self.outbound += o.outbound;
        self.conversations += o.conversations;
        self.first_responses += o.first_responses;
        self.frt_ms += o.frt_ms;
        self.frt_met += o.frt_met;
        self.responses += o.responses;
        self.art_ms += o.art_ms;
        self.art_met += o.art_met;
        self.resolved += o.resolved;
        self.resolution_ms += o.resolution_ms;
        self.resolved_handling_ms += o.resolved_handling_ms;
        self.handling_ms += o.handling_ms;
        self.negative_starts += o.negative_starts;
        self.conversions += o.conversions;
    }
}

impl std::ops::Neg for Counts {
    type Output = Self;

    /// The change that undoes this one (`chorus rethread` takes a message's facts back from the
    /// conversation it was wrongly in).
    fn neg(self) -> Self {
        Self {
            inbound: -self.inbound,
            outbound: -self.outbound,
            conversations: -self.conversations,
            first_responses: -self.first_responses,
            frt_ms: -self.frt_ms,
            frt_met: -self.frt_met,
            responses: -self.responses,
            art_ms: -self.art_ms,
            art_met: -self.art_met,
            resolved: -self.resolved,
            resolution_ms: -self.resolution_ms,
            resolved_handling_ms: -self.resolved_handling_ms,
            handling_ms: -self.handling_ms,
            negative_starts: -self.negative_starts,
            conversions: -self.conversions,
        }
    }
}

/// A change to the counters of the hour of `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The agent it is credited to.
    pub agent_id: Option<i64>,
    /// Inside business hours (see docs/architecture.md, "Metrics").
    pub in_hours: bool,
    /// The change.
    pub counts: Counts,
}

/// A customer message still waiting: when it was sent, when its answer is due, whether it
/// arrived in business hours. Stored as `[sent_ms, due_ms|null, 0|1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Waiting(i64, Option<i64>, u8);

fn waiting(c: &conversation::Model) -> Vec<Waiting> {
    c.unanswered.as_ref().and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

fn set_waiting(c: &mut conversation::Model, w: &[Waiting]) {
    c.unanswered = if w.is_empty() { None } else { Some(serde_json::json!(w)) };
}

/// Started negative and now positive.
pub fn converted(c: &conversation::Model) -> bool {
    c.sentiment_start.is_some_and(|s| s <= NEGATIVE) && c.sentiment_now.is_some_and(|s| s >= POSITIVE)
}

fn ms(d: chrono::Duration) -> i64 {
    d.num_milliseconds().max(0)
}

/// A customer message at `at`, after the conversation took it in. `opened`: it is the
/// conversation's first customer message; `was_converted`: [`converted`] before it.
pub fn inbound(
    c: &mut conversation::Model,
    at: DateTime<Utc>,
    due: Option<DateTime<Utc>>,
    in_hours: bool,
    opened: bool,
    was_converted: bool,
) -> Fact {
    let mut w = waiting(c);
    if w.len() < MAX_WAITING {
        w.push(Waiting(at.timestamp_millis(), due.map(|d| d.timestamp_millis()), u8::from(in_hours)));
        set_waiting(c, &w);
    }
    if opened {
        c.in_hours = i64::from(in_hours);
    }
    let now_converted = converted(c);
    Fact {
        at,
        agent_id: None,
        in_hours,
        counts: Counts {
            inbound: 1,
            conversations: i64::from(opened),
            negative_starts: i64::from(opened && c.sentiment_start.is_some_and(|s| s <= NEGATIVE)),
            conversions: i64::from(now_converted) - i64::from(was_converted),
            ..Counts::default()
        },
    }
}

/// A brand message at `at` by `agent` (none: sent outside Chorus). `first`: it is the
/// conversation's first response. Every customer message sent at or before it is answered by
/// it: each one's wait counts towards the average response time, and the oldest one's towards
/// the first response time.
pub fn outbound(c: &mut conversation::Model, at: DateTime<Utc>, agent: Option<i64>, first: bool) -> Vec<Fact> {
    let at_ms = at.timestamp_millis();
    let (answered, still): (Vec<Waiting>, Vec<Waiting>) = waiting(c).into_iter().partition(|w| w.0 <= at_ms);
    set_waiting(c, &still);
    let conv_in_hours = c.in_hours != 0;
    let mut facts = vec![Fact {
        at,
        agent_id: agent,
        in_hours: conv_in_hours,
        counts: Counts { outbound: 1, ..Counts::default() },
    }];
    for w in &answered {
        facts.push(Fact {
            at,
            agent_id: agent,
            in_hours: w.2 != 0,
            counts: Counts {
                responses: 1,
                art_ms: (at_ms - w.0).max(0),
                art_met: i64::from(w.1.is_none_or(|d| at_ms <= d)),
                ..Counts::default()
            },
        });
    }
    if first {
        let oldest = answered.iter().min_by_key(|w| w.0);
        let from = oldest
            .and_then(|w| DateTime::from_timestamp_millis(w.0))
            .or(c.awaiting_since)
            .unwrap_or(c.first_message_at);
        facts.push(Fact {
            at,
            agent_id: agent,
            in_hours: oldest.map_or(conv_in_hours, |w| w.2 != 0),
            counts: Counts {
                first_responses: 1,
                frt_ms: ms(at - from),
                frt_met: i64::from(c.first_response_due_at.is_none_or(|d| at <= d)),
                ..Counts::default()
            },
        });
    }
    facts
}

/// A resolution at `at` by `agent`.
pub fn resolved(c: &conversation::Model, at: DateTime<Utc>, agent: i64) -> Fact {
    Fact {
        at,
        agent_id: Some(agent),
        in_hours: c.in_hours != 0,
        counts: Counts {
            resolved: 1,
            resolution_ms: ms(at - c.first_message_at),
            resolved_handling_ms: c.handling_ms,
            ..Counts::default()
        },
    }
}

/// Handling time an agent spent on a conversation, settled at `at`.
pub fn handled(c: &conversation::Model, at: DateTime<Utc>, agent: i64, handling_ms: i64) -> Fact {
    Fact { at, agent_id: Some(agent), in_hours: c.in_hours != 0, counts: Counts { handling_ms, ..Counts::default() } }
}
