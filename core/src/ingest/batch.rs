//! Writing a batch of normalized messages: idempotency, customers, threading, triage, and the
//! events, all in the caller's transaction.
//!
//! The work is set-based: a handful of `IN (…)` lookups and bulk inserts per batch instead of
//! several round trips per message. That is what lets one node ingest thousands of messages a
//! second on PostgreSQL while answering every webhook only after its rows are committed.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::{brand_account, conversation, customer, customer_identity, message};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;

use super::normalized::NormalizedMessage;
use super::reading::Reading;
use crate::conversations::{self, STATUS_NEW, STATUS_OPEN, STATUS_PENDING, STATUS_RESOLVED};
use crate::events::{self, NewEvent, kind};
use crate::listening::ListeningMatcher;
use crate::network::{Direction, Network, Visibility};
use crate::teams::TeamRoutes;
use crate::triage::{Reason, Tier, TriageInput, Triager};

/// What happened to one submitted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// Newly stored.
    Stored {
        /// The stored message.
        message_id: i64,
        /// The conversation it joined or opened.
        conversation_id: i64,
    },
    /// Already stored earlier (a retried delivery): nothing changed.
    Duplicate {
        /// The message stored the first time.
        message_id: i64,
        /// Its conversation.
        conversation_id: i64,
    },
}

/// Read-only inputs of a batch.
pub struct BatchContext<'a> {
    /// Compiled triage rules.
    pub triager: &'a Triager,
    /// Compiled listening searches.
    pub listening: &'a ListeningMatcher,
    /// Teams' routes, for conversations that open in this batch.
    pub teams: &'a TeamRoutes,
    /// The active crises, which take over matching conversations.
    pub crises: &'a crate::crisis::matcher::ActiveCrises,
    /// Customer messages within this long after resolution reopen the conversation.
    pub reopen_window: Duration,
    /// SLA policies: response targets and business hours.
    pub policies: &'a crate::sla::PolicySet,
    /// Who delivered the batch, for the audit of registered accounts (`webhook:meta`, …).
    pub actor: &'a str,
    /// The messages' texts read before the transaction, in the messages' order
    /// ([`super::reading`]); a message without one is read here.
    pub readings: &'a [Option<Reading>],
}

/// A conversation being worked on in memory during the batch.
struct Work {
    model: conversation::Model,
    customer_name: String,
    is_new: bool,
    dirty: bool,
}

/// Index into `works`.
type WorkIx = usize;

/// The conversations a batch may touch, indexed the ways threading looks them up.
#[derive(Default)]
struct Loaded {
    works: Vec<Work>,
    by_id: HashMap<i64, WorkIx>,
    /// The unresolved conversation per (customer, brand account).
    active: HashMap<(i64, i64), WorkIx>,
    /// The most recently resolved conversation per (customer, brand account).
    last_resolved: HashMap<(i64, i64), WorkIx>,
    /// Whether the customer's latest resolved conversation ended negative.
    customer_negative: HashMap<i64, bool>,
    /// The batch's customers' display names.
    names: HashMap<i64, String>,
}

impl Loaded {
    /// Adds rows (newest first), skipping ones already loaded.
    fn load(&mut self, rows: Vec<conversation::Model>) {
        for c in rows {
            if self.by_id.contains_key(&c.id) {
                continue;
            }
            let ix = self.works.len();
            self.by_id.insert(c.id, ix);
            let key = (c.customer_id, c.brand_account_id);
            if c.status == STATUS_RESOLVED {
                self.last_resolved.entry(key).or_insert(ix);
                self.customer_negative.entry(c.customer_id).or_insert(c.sentiment_now.is_some_and(|s| s <= -0.3));
            } else {
                self.active.insert(key, ix);
            }
            let customer_name = self.names.get(&c.customer_id).cloned().unwrap_or_default();
            self.works.push(Work { model: c, customer_name, is_new: false, dirty: false });
        }
    }
}

/// Stores a batch. Duplicates (already stored, or repeated within the batch) change nothing.
/// Returns the outcome per message and the events written, for publishing after the commit.
///
/// In steps: find the brand accounts; drop what is already stored; decide whose conversation
/// each message is ([`Party`]) and load the conversations those customers have; walk the
/// messages in network time, threading and ranking each ([`place`]); write it all set-wise
/// ([`write`]); then the events and the answer per message.
#[tracing::instrument(skip_all, fields(messages = msgs.len()))]
pub async fn ingest(
    db: &impl ConnectionTrait,
    ctx: &BatchContext<'_>,
    msgs: &[NormalizedMessage],
) -> Result<(Vec<Outcome>, Vec<NewEvent>), DbErr> {
    let now = Utc::now();
    let crises_active = still_active(db, ctx.crises).await?;
    let accounts = resolve_accounts(db, ctx, msgs, now).await?;
    let account_ids = accounts.distinct_ids();
    let ids: Vec<&str> = msgs.iter().map(|m| m.platform_message_id.as_str()).collect();
    let stored = find_messages(db, &account_ids, &ids).await?;
    let fresh = fresh_messages(msgs, &accounts, &stored);
    let reply_ids: Vec<&str> = fresh.iter().filter_map(|&i| msgs[i].in_reply_to.as_deref()).collect();
    let replied = find_messages(db, &account_ids, &reply_ids).await?;
    let parties = parties_of(msgs, &accounts, &fresh, &replied);
    let party_rows = customers_of(db, msgs, &parties, now).await?;
    let replied: HashMap<(i64, String), i64> = replied.into_iter().map(|(k, s)| (k, s.conversation_id)).collect();
    let loaded = load_conversations(db, &party_rows, &replied).await?;
    let input = Walk { msgs, accounts: &accounts, fresh: &fresh, party_rows: &party_rows, replied: &replied };
    let mut placed = place(ctx, &input, loaded, &crises_active, now);
    let message_ids = write(db, ctx, &input, &mut placed, now).await?;
    let evs = events_of(&input, &placed, &message_ids);
    events::append(db, &evs).await?;
    let out = outcomes(msgs, &accounts, &stored, &message_ids, &placed)?;
    Ok((out, evs))
}

impl Accounts {
    /// The brand account a message names (resolved by [`resolve_accounts`]).
    fn of(&self, m: &NormalizedMessage) -> Option<i64> {
        self.ids.get(&(m.network, m.brand_account.id.clone())).copied()
    }

    /// Each account once, in order.
    fn distinct_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.ids.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Idempotency: the positions of the messages neither stored already nor repeated earlier in
/// the batch, in network-time order (threading follows the networks' clocks, not arrival).
fn fresh_messages(
    msgs: &[NormalizedMessage],
    accounts: &Accounts,
    stored: &HashMap<(i64, String), Stored>,
) -> Vec<usize> {
    let mut fresh: Vec<usize> = Vec::new();
    let mut seen: HashSet<(i64, &str)> = HashSet::new();
    for (i, m) in msgs.iter().enumerate() {
        let Some(acct) = accounts.of(m) else { continue };
        if stored.contains_key(&(acct, m.platform_message_id.clone())) {
            continue;
        }
        if seen.insert((acct, m.platform_message_id.as_str())) {
            fresh.push(i);
        }
    }
    fresh.sort_by_key(|&i| msgs[i].sent_at);
    fresh
}

/// Whose conversation each fresh message belongs to (see [`Party`]). A brand message answering
/// a stored message, or one earlier in this batch, belongs to that message's customer.
fn parties_of(
    msgs: &[NormalizedMessage],
    accounts: &Accounts,
    fresh: &[usize],
    replied: &HashMap<(i64, String), Stored>,
) -> Vec<Party> {
    let mut parties: Vec<Party> = Vec::with_capacity(fresh.len());
    let mut party_of_batch: HashMap<(i64, &str), Party> = HashMap::new();
    for &i in fresh {
        let m = &msgs[i];
        let acct = accounts.of(m);
        let answered = match (m.direction, acct, m.in_reply_to.as_deref()) {
            (Direction::Outbound, Some(acct), Some(r)) => party_of_batch
                .get(&(acct, r))
                .copied()
                .or_else(|| replied.get(&(acct, r.to_owned())).map(|s| Party::Known(s.customer_id))),
            _ => None,
        };
        let party = answered.unwrap_or(Party::Named(i));
        if let Some(acct) = acct {
            party_of_batch.insert((acct, m.platform_message_id.as_str()), party);
        }
        parties.push(party);
    }
    parties
}

/// (customer id, display name, followers) of each fresh message, by its position in `fresh`:
/// customers the messages name are found or created, known ones are read.
async fn customers_of(
    db: &impl ConnectionTrait,
    msgs: &[NormalizedMessage],
    parties: &[Party],
    now: DateTime<Utc>,
) -> Result<Vec<Option<CustomerRow>>, DbErr> {
    let named: Vec<usize> =
        parties.iter().filter_map(|p| if let Party::Named(i) = p { Some(*i) } else { None }).collect();
    let customers = resolve_customers(db, msgs, &named, now).await?;
    let known: Vec<i64> =
        parties.iter().filter_map(|p| if let Party::Known(c) = p { Some(*c) } else { None }).collect();
    let known_names = customer_names(db, &known).await?;
    Ok(parties
        .iter()
        .map(|p| match *p {
            Party::Named(i) => customers.get(&(msgs[i].network, msgs[i].customer.id.clone())).cloned(),
            Party::Known(c) => Some((c, known_names.get(&c).cloned().unwrap_or_default(), None)),
        })
        .collect())
}

/// The conversations the batch may touch: active and resolved ones of these customers, and the
/// conversations of the messages being replied to. On PostgreSQL the rows are locked until
/// commit: another node writing to the same conversations waits, then reads what this batch
/// wrote, so no count or due time is lost. SQLite has one writer at a time already.
async fn load_conversations(
    db: &impl ConnectionTrait,
    party_rows: &[Option<CustomerRow>],
    replied: &HashMap<(i64, String), i64>,
) -> Result<Loaded, DbErr> {
    let mut names: HashMap<i64, String> = HashMap::new();
    for (cid, name, _) in party_rows.iter().flatten() {
        names.entry(*cid).or_insert_with(|| name.clone());
    }
    let mut uniq: Vec<i64> = party_rows.iter().flatten().map(|c| c.0).collect();
    uniq.sort_unstable();
    uniq.dedup();
    let lock = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let mut ix = Loaded { names, ..Loaded::default() };
    for chunk in crate::db::chunks(db, &uniq) {
        let mut q = conversation::Entity::find()
            .filter(conversation::Column::CustomerId.is_in(chunk.iter().copied()))
            .order_by_desc(conversation::Column::Id);
        if lock {
            q = q.lock_exclusive();
        }
        let rows = q.all(db).await?;
        ix.load(rows);
    }
    let missing: Vec<i64> = replied.values().copied().filter(|c| !ix.by_id.contains_key(c)).collect();
    if !missing.is_empty() {
        let mut q = conversation::Entity::find()
            .filter(conversation::Column::Id.is_in(missing))
            .order_by_desc(conversation::Column::Id);
        if lock {
            q = q.lock_exclusive();
        }
        ix.load(q.all(db).await?);
    }
    Ok(ix)
}

/// What the walk over the batch reads.
struct Walk<'a> {
    msgs: &'a [NormalizedMessage],
    accounts: &'a Accounts,
    /// Positions of the fresh messages, in network time.
    fresh: &'a [usize],
    /// Each fresh message's customer, by its position in `fresh`.
    party_rows: &'a [Option<CustomerRow>],
    /// The conversation of each stored message being replied to.
    replied: &'a HashMap<(i64, String), i64>,
}

/// The outcome of the walk: every conversation touched, where each message went, and what it
/// does to the figures and to crises.
struct Placed<'a> {
    works: Vec<Work>,
    /// (message position, its conversation, its sentiment) in network time.
    placed: Vec<(usize, WorkIx, Option<f64>)>,
    /// Where each message of the batch went, by (account, platform id).
    batch_msgs: HashMap<(i64, &'a str), WorkIx>,
    /// Conversations an active crisis takes over in this batch: (work, crisis, its team, tier before).
    crisis_links: Vec<(WorkIx, i64, Option<i64>, i16)>,
    /// What each message does to the hourly figures, tallied once teams are known.
    facts: Vec<(WorkIx, crate::metrics::facts::Fact)>,
}

/// Walks the messages in time order, deciding each one's conversation and ranking customers'
/// messages. In memory only: nothing is written until [`write`].
fn place<'a>(
    ctx: &BatchContext<'_>,
    input: &Walk<'a>,
    loaded: Loaded,
    crises_active: &HashSet<i64>,
    now: DateTime<Utc>,
) -> Placed<'a> {
    let Walk { msgs, accounts, fresh, party_rows, replied } = *input;
    let Loaded { works, by_id, mut active, last_resolved, customer_negative, names } = loaded;
    let mut out = Placed {
        works,
        placed: Vec::with_capacity(fresh.len()),
        batch_msgs: HashMap::new(),
        crisis_links: Vec::new(),
        facts: Vec::new(),
    };
    for (n, &i) in fresh.iter().enumerate() {
        let m = &msgs[i];
        let (Some(acct), Some((cust, followers))) = (accounts.of(m), party_rows[n].as_ref().map(|c| (c.0, c.2))) else {
            continue;
        };
        let key = (cust, acct);
        let works = &mut out.works;
        let thread = m.in_reply_to.as_deref().and_then(|r| {
            out.batch_msgs
                .get(&(acct, r))
                .copied()
                .or_else(|| replied.get(&(acct, r.to_owned())).and_then(|c| by_id.get(c).copied()))
        });
        // A reply joins its thread's conversation only if that is this customer's (customers
        // reply under each other's public posts: B's answer to A is B's conversation), and only
        // while it is active, except for the brand's late answer to a resolved one.
        let thread = thread
            .filter(|&w| works[w].model.customer_id == cust && works[w].model.brand_account_id == acct)
            .filter(|&w| works[w].model.status != STATUS_RESOLVED || m.direction == Direction::Outbound);
        let ix = match thread.or_else(|| active.get(&key).copied()) {
            Some(w) => w,
            None => {
                let prev = last_resolved.get(&key).copied();
                let within =
                    prev.and_then(|w| works[w].model.resolved_at).is_some_and(|r| m.sent_at - r <= ctx.reopen_window);
                match (prev, m.direction) {
                    (Some(w), Direction::Inbound) if within => {
                        reopen(&mut works[w].model);
                        works[w].dirty = true;
                        active.insert(key, w);
                        w
                    }
                    // The brand's follow-up after resolution ("thanks in public") joins quietly.
                    (Some(w), Direction::Outbound) => w,
                    (prev, _) => {
                        let w = works.len();
                        let customer_name = names.get(&cust).cloned().unwrap_or_default();
                        works.push(Work {
                            model: new_conversation(m, acct, cust, prev.map(|p| works[p].model.id), now),
                            customer_name,
                            is_new: true,
                            dirty: true,
                        });
                        active.insert(key, w);
                        w
                    }
                }
            }
        };
        let sentiment = match m.direction {
            Direction::Inbound => {
                let earlier_negative = customer_negative.get(&cust).copied().unwrap_or(false);
                let read_here;
                let reading = match ctx.readings.get(i) {
                    Some(Some(r)) => r,
                    _ => {
                        read_here = Reading::new(ctx.triager, m);
                        &read_here
                    }
                };
                Some(rank_inbound(ctx, &mut out, ix, (m, reading), followers, earlier_negative, crises_active))
            }
            Direction::Outbound => {
                let public = m.visibility == Visibility::Public;
                let f = conversations::apply_outbound(&mut out.works[ix].model, m.sent_at, public, None);
                out.facts.extend(f.into_iter().map(|f| (ix, f)));
                None
            }
        };
        out.works[ix].dirty = true;
        out.batch_msgs.insert((acct, m.platform_message_id.as_str()), ix);
        out.placed.push((i, ix, sentiment));
    }
    out
}

/// Ranks a customer's message into its conversation (triage, due times, figures) and lets an
/// active crisis that matches it take the conversation over; returns its sentiment.
fn rank_inbound(
    ctx: &BatchContext<'_>,
    out: &mut Placed<'_>,
    ix: WorkIx,
    (m, reading): (&NormalizedMessage, &Reading),
    followers: Option<i64>,
    earlier_negative: bool,
    crises_active: &HashSet<i64>,
) -> f64 {
    let hits = ctx.listening.matches(&m.text);
    let t = ctx.triager.judge(
        &reading.text,
        &TriageInput {
            text: &m.text,
            visibility: m.visibility,
            addressed_to_brand: m.addressed_to_brand,
            followers,
            earlier_negative,
            listening_hits: &hits,
        },
    );
    let model = &mut out.works[ix].model;
    out.facts.push((ix, apply_inbound(model, (m, reading), &t, ctx.policies)));
    if model.crisis_id.is_none()
        && let Some(a) = ctx.crises.matching(m.network.as_str(), &m.text)
        && crises_active.contains(&a.id)
    {
        out.crisis_links.push((ix, a.id, a.team_id, model.priority));
        model.crisis_id = Some(a.id);
        model.priority = 1;
    }
    t.sentiment
}

/// Writes the walk's outcome: changed conversations, new ones (routed to their team once, with
/// what the batch learned), crisis links, the hourly figures, the messages, and the details
/// customers wrote. Returns the new messages' ids by (account, platform id).
async fn write(
    db: &impl ConnectionTrait,
    ctx: &BatchContext<'_>,
    input: &Walk<'_>,
    out: &mut Placed<'_>,
    now: DateTime<Utc>,
) -> Result<HashMap<(i64, String), i64>, DbErr> {
    let changed: Vec<&conversation::Model> =
        out.works.iter().filter(|w| w.dirty && !w.is_new).map(|w| &w.model).collect();
    update_conversations(db, &changed).await?;
    let prev_teams = route_new(ctx, input.accounts, out);
    insert_new(db, &mut out.works).await?;
    link_to_crises(db, &mut out.works, &out.crisis_links, &prev_teams, now).await?;
    let mut tally = crate::metrics::tally::Tally::default();
    for (w, f) in &out.facts {
        tally.add(&out.works[*w].model, f);
    }
    tally.flush(db).await?;
    let message_ids = insert_messages(db, input, out, now).await?;
    record_details(db, input, out, &message_ids).await?;
    Ok(message_ids)
}

/// Routes the conversations the batch opens, once, with what it learned (category, language):
/// a team's queue does not reshuffle under its members as later messages refine the triage.
/// No route matching: the brand account's default team, if it names one; a crisis's team
/// before either. Returns the teams before a crisis took them over.
fn route_new(ctx: &BatchContext<'_>, accounts: &Accounts, out: &mut Placed<'_>) -> HashMap<WorkIx, Option<i64>> {
    let works = &mut out.works;
    for w in works.iter_mut().filter(|w| w.is_new) {
        let m = &w.model;
        w.model.team_id = ctx.teams.route(m).or_else(|| accounts.default_team.get(&m.brand_account_id).copied());
    }
    let prev_teams: HashMap<WorkIx, Option<i64>> =
        out.crisis_links.iter().map(|&(w, ..)| (w, works[w].model.team_id)).collect();
    for &(w, _, team, _) in &out.crisis_links {
        if works[w].is_new {
            works[w].model.team_id = team.or(works[w].model.team_id);
        }
    }
    prev_teams
}

/// Inserts the conversations the batch opens and gives each its id.
async fn insert_new(db: &impl ConnectionTrait, works: &mut [Work]) -> Result<(), DbErr> {
    let new_ix: Vec<WorkIx> = (0..works.len()).filter(|&w| works[w].is_new).collect();
    for chunk in crate::db::chunks(db, &new_ix) {
        let models = chunk.iter().map(|&w| {
            let mut am = works[w].model.clone().into_active_model().reset_all();
            am.id = sea_orm::ActiveValue::NotSet;
            am
        });
        let rows = conversation::Entity::insert_many(models).exec_with_returning(db).await?;
        let ids: HashMap<(i64, i64), i64> =
            rows.into_iter().map(|r| ((r.customer_id, r.brand_account_id), r.id)).collect();
        for &w in chunk {
            let key = (works[w].model.customer_id, works[w].model.brand_account_id);
            works[w].model.id =
                ids.get(&key).copied().ok_or_else(|| DbErr::Custom("new conversation id not returned".into()))?;
        }
    }
    Ok(())
}

/// Inserts the placed messages; returns their ids by (account, platform id).
async fn insert_messages(
    db: &impl ConnectionTrait,
    input: &Walk<'_>,
    out: &Placed<'_>,
    now: DateTime<Utc>,
) -> Result<HashMap<(i64, String), i64>, DbErr> {
    let mut message_ids: HashMap<(i64, String), i64> = HashMap::new();
    for chunk in crate::db::chunks(db, &out.placed) {
        let models = chunk.iter().filter_map(|&(i, w, sentiment)| {
            let m = &input.msgs[i];
            let conv = &out.works[w].model;
            Some(message::ActiveModel {
                conversation_id: Set(conv.id),
                brand_account_id: Set(input.accounts.of(m)?),
                customer_id: Set(conv.customer_id),
                network: Set(m.network.as_str().to_owned()),
                direction: Set(m.direction.as_str().to_owned()),
                visibility: Set(m.visibility.as_str().to_owned()),
                platform_message_id: Set(m.platform_message_id.clone()),
                in_reply_to: Set(m.in_reply_to.clone()),
                agent_id: Set(None),
                author_name: Set(author_name(m)),
                text: Set(m.text.clone()),
                sentiment: Set(sentiment),
                sent_at: Set(m.sent_at),
                received_at: Set(now),
                origin: Set(m.origin.map(|o| o.as_str().to_owned())),
                ..Default::default()
            })
        });
        let rows = message::Entity::insert_many(models).exec_with_returning(db).await?;
        for r in rows {
            message_ids.insert((r.brand_account_id, r.platform_message_id), r.id);
        }
    }
    Ok(message_ids)
}

/// Records the details customers wrote (email, phone, order) that another customer is known by.
async fn record_details(
    db: &impl ConnectionTrait,
    input: &Walk<'_>,
    out: &Placed<'_>,
    message_ids: &HashMap<(i64, String), i64>,
) -> Result<(), DbErr> {
    let inbound: Vec<crate::customers::suggest::Inbound<'_>> = out
        .placed
        .iter()
        .filter(|&&(i, _, _)| input.msgs[i].direction == Direction::Inbound)
        .filter_map(|&(i, w, _)| {
            let m = &input.msgs[i];
            let message_id = message_ids.get(&(input.accounts.of(m)?, m.platform_message_id.clone())).copied()?;
            let customer_id = out.works[w].model.customer_id;
            Some(crate::customers::suggest::Inbound { customer_id, message_id, text: &m.text })
        })
        .collect();
    crate::customers::suggest::record(db, &inbound).await.map(drop)
}

/// The batch's events: each message as it joined its conversation, then each changed
/// conversation's queue entry as it now stands.
fn events_of(input: &Walk<'_>, out: &Placed<'_>, message_ids: &HashMap<(i64, String), i64>) -> Vec<NewEvent> {
    let mut evs = Vec::with_capacity(out.placed.len() + out.works.len());
    for &(i, w, sentiment) in &out.placed {
        let m = &input.msgs[i];
        let conv = &out.works[w].model;
        let id = input.accounts.of(m).and_then(|a| message_ids.get(&(a, m.platform_message_id.clone())).copied());
        evs.push(NewEvent {
            kind: kind::CONVERSATION_MESSAGE,
            conversation_id: Some(conv.id),
            payload: json!({
                "conversation_id": conv.id,
                "message": {
                    "id": id,
                    "direction": m.direction,
                    "visibility": m.visibility,
                    "network": m.network,
                    "text": m.text,
                    "sent_at": m.sent_at,
                    "sentiment": sentiment,
                    "author_name": author_name(m),
                    "origin": m.origin,
                    "in_reply_to": m.in_reply_to,
                    "platform_message_id": m.platform_message_id,
                    "permalink": m.network.permalink(m.visibility, &m.platform_message_id),
                }
            }),
        });
    }
    for w in out.works.iter().filter(|w| w.dirty) {
        let summary = conversations::Summary::from_model(&w.model, Some(w.customer_name.clone()));
        let kind = if conversations::is_queued(&w.model) { kind::QUEUE_UPSERT } else { kind::QUEUE_REMOVE };
        evs.push(NewEvent { kind, conversation_id: Some(w.model.id), payload: json!(summary) });
    }
    evs
}

/// The answer per message, in submission order: the first occurrence of a new message is
/// `Stored`, any repeat (earlier batch, or earlier in this one) is a `Duplicate` of it.
fn outcomes(
    msgs: &[NormalizedMessage],
    accounts: &Accounts,
    stored: &HashMap<(i64, String), Stored>,
    message_ids: &HashMap<(i64, String), i64>,
    out: &Placed<'_>,
) -> Result<Vec<Outcome>, DbErr> {
    let mut outcomes = Vec::with_capacity(msgs.len());
    let mut answered: HashSet<i64> = HashSet::with_capacity(msgs.len());
    for m in msgs {
        let acct = accounts.of(m).ok_or_else(|| DbErr::Custom("brand account not resolved".into()))?;
        let key = (acct, m.platform_message_id.clone());
        if let Some(&Stored { id: message_id, conversation_id, .. }) = stored.get(&key) {
            outcomes.push(Outcome::Duplicate { message_id, conversation_id });
            continue;
        }
        let message_id =
            message_ids.get(&key).copied().ok_or_else(|| DbErr::Custom("message id not returned".into()))?;
        let conversation_id = out
            .batch_msgs
            .get(&(acct, m.platform_message_id.as_str()))
            .map(|&w| out.works[w].model.id)
            .ok_or_else(|| DbErr::Custom("message not placed".into()))?;
        outcomes.push(if answered.insert(message_id) {
            Outcome::Stored { message_id, conversation_id }
        } else {
            Outcome::Duplicate { message_id, conversation_id }
        });
    }
    Ok(outcomes)
}

/// The columns ingest changes on an existing conversation, with their PostgreSQL types.
const UPDATED: [(&str, &str); 24] = [
    ("status", "varchar"),
    ("priority", "smallint"),
    ("risk", "integer"),
    ("risk_reasons", "json"),
    ("sentiment_start", "double precision"),
    ("sentiment_now", "double precision"),
    ("category", "varchar"),
    ("language", "varchar"),
    ("assignee_id", "bigint"),
    ("message_count", "integer"),
    ("last_message_at", "timestamptz"),
    ("last_inbound_at", "timestamptz"),
    ("first_inbound_at", "timestamptz"),
    ("awaiting_since", "timestamptz"),
    ("first_response_at", "timestamptz"),
    ("first_response_due_at", "timestamptz"),
    ("next_response_due_at", "timestamptz"),
    ("due_sort", "bigint"),
    ("resolved_at", "timestamptz"),
    ("public_followup_due_at", "timestamptz"),
    ("unanswered", "json"),
    ("in_hours", "bigint"),
    ("snippet", "text"),
    ("customer_handle", "varchar"),
];

/// The id, then the values of [`UPDATED`] in order.
fn updated_values(c: &conversation::Model) -> [sea_orm::Value; UPDATED.len() + 1] {
    [
        c.id.into(),
        c.status.into(),
        c.priority.into(),
        c.risk.into(),
        c.risk_reasons.clone().into(),
        c.sentiment_start.into(),
        c.sentiment_now.into(),
        c.category.clone().into(),
        c.language.clone().into(),
        c.assignee_id.into(),
        c.message_count.into(),
        c.last_message_at.into(),
        c.last_inbound_at.into(),
        c.first_inbound_at.into(),
        c.awaiting_since.into(),
        c.first_response_at.into(),
        c.first_response_due_at.into(),
        c.next_response_due_at.into(),
        c.due_sort.into(),
        c.resolved_at.into(),
        c.public_followup_due_at.into(),
        c.unanswered.clone().into(),
        c.in_hours.into(),
        c.snippet.clone().into(),
        c.customer_handle.clone().into(),
    ]
}

/// Of the crises this node holds active, those still active in the store. On PostgreSQL they
/// are share-locked until the batch commits (taken before any conversation, the order a
/// stand-down takes them in): a stand-down waits for the batch and then gives back what it
/// linked; a batch behind a stand-down waits for it and then links nothing to that crisis. So
/// no message joins a crisis after its stand-down commits, whatever a node cached. No query
/// while no crisis is active.
async fn still_active(
    db: &impl ConnectionTrait,
    crises: &crate::crisis::matcher::ActiveCrises,
) -> Result<HashSet<i64>, DbErr> {
    if crises.0.is_empty() {
        return Ok(HashSet::new());
    }
    let mut q = entity::crisis::Entity::find()
        .select_only()
        .column(entity::crisis::Column::Id)
        .filter(entity::crisis::Column::Id.is_in(crises.0.iter().map(|a| a.id)))
        .filter(entity::crisis::Column::Status.eq(crate::crisis::STATUS_ACTIVE));
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        q = q.lock_shared();
    }
    Ok(q.into_tuple::<i64>().all(db).await?.into_iter().collect())
}

/// Records the crisis links made in this batch (with the tier and team to give back at
/// stand-down). Conversations that existed before the batch get the crisis and its team by a
/// targeted update — neither is among the columns ingest rewrites, so a crisis stood down
/// meanwhile is not written back.
async fn link_to_crises(
    db: &impl ConnectionTrait,
    works: &mut [Work],
    links: &[(WorkIx, i64, Option<i64>, i16)],
    prev_teams: &HashMap<WorkIx, Option<i64>>,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, OnConflict};
    for &(w, crisis_id, team, prev_priority) in links {
        let prev_team = prev_teams.get(&w).copied().flatten();
        if !works[w].is_new {
            let c = &mut works[w].model;
            c.team_id = team.or(c.team_id);
            conversation::Entity::update_many()
                .col_expr(conversation::Column::CrisisId, Expr::value(Some(crisis_id)))
                .col_expr(conversation::Column::TeamId, Expr::value(c.team_id))
                .filter(conversation::Column::Id.eq(c.id))
                .filter(conversation::Column::CrisisId.is_null())
                .exec(db)
                .await?;
        }
        entity::crisis_link::Entity::insert(entity::crisis_link::ActiveModel {
            crisis_id: Set(crisis_id),
            conversation_id: Set(works[w].model.id),
            prev_priority: Set(prev_priority),
            prev_team_id: Set(prev_team),
            linked_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([entity::crisis_link::Column::CrisisId, entity::crisis_link::Column::ConversationId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Writes the changed conversations with one `UPDATE … FROM (VALUES …)` per chunk instead of one
/// statement per conversation: during a spike most messages join existing conversations, and
/// per-row updates were most of the batch's round trips. `updated_at` is set to now.
async fn update_conversations(db: &impl ConnectionTrait, changed: &[&conversation::Model]) -> Result<(), DbErr> {
    use sea_orm::DatabaseBackend;
    let backend = db.get_database_backend();
    let pg = backend == DatabaseBackend::Postgres;
    let now = Utc::now();
    for chunk in crate::db::chunks(db, changed) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * (UPDATED.len() + 1) + 1);
        values.push(now.into());
        let mut rows = Vec::with_capacity(chunk.len());
        for c in chunk {
            let base = values.len();
            values.extend(updated_values(c));
            let cells: Vec<String> = (0..=UPDATED.len())
                .map(|i| {
                    let ty = if i == 0 { "bigint" } else { UPDATED[i - 1].1 };
                    if pg { format!("CAST(${} AS {ty})", base + i + 1) } else { "?".to_owned() }
                })
                .collect();
            rows.push(format!("({})", cells.join(", ")));
        }
        let sets: Vec<String> =
            UPDATED.iter().enumerate().map(|(i, (col, _))| format!("\"{col}\" = v.column{}", i + 2)).collect();
        let now_param = if pg { "CAST($1 AS timestamptz)" } else { "?" };
        let sql = format!(
            "UPDATE conversations SET {}, \"updated_at\" = {now_param} FROM (VALUES {}) AS v WHERE conversations.id = v.column1",
            sets.join(", "),
            rows.join(", ")
        );
        let result = db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?;
        if result.rows_affected() != chunk.len() as u64 {
            return Err(DbErr::Custom(format!("updated {} of {} conversations", result.rows_affected(), chunk.len())));
        }
    }
    Ok(())
}

/// Stored messages with these platform ids: (brand account, platform id) → (id, conversation).
async fn find_messages(
    db: &impl ConnectionTrait,
    accounts: &[i64],
    platform_ids: &[&str],
) -> Result<HashMap<(i64, String), Stored>, DbErr> {
    let mut found = HashMap::new();
    for chunk in crate::db::chunks(db, platform_ids) {
        let rows: Vec<(i64, i64, i64, i64, String)> = message::Entity::find()
            .select_only()
            .columns([
                message::Column::Id,
                message::Column::ConversationId,
                message::Column::CustomerId,
                message::Column::BrandAccountId,
                message::Column::PlatformMessageId,
            ])
            // Both columns of the unique index, so the lookup is an index probe, not a scan.
            .filter(message::Column::BrandAccountId.is_in(accounts.iter().copied()))
            .filter(message::Column::PlatformMessageId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, conversation_id, customer_id, acct, pid) in rows {
            found.insert((acct, pid), Stored { id, conversation_id, customer_id });
        }
    }
    Ok(found)
}

/// A message already in the store, as a batch needs it.
#[derive(Debug, Clone, Copy)]
struct Stored {
    id: i64,
    conversation_id: i64,
    /// Its customer: the author of a customer message, the customer a brand message answered.
    customer_id: i64,
}

/// Whose conversation a message in the batch belongs to. A conversation is one customer with one
/// brand account: a customer's message is its author's; a brand message is the customer's whose
/// message it answers, when that message is known, else the customer the network named (the
/// one it replies to or mentions first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    /// A customer already in the store.
    Known(i64),
    /// The customer named by the message at this index of the batch.
    Named(usize),
}

/// Display names of customers by id.
async fn customer_names(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, String>, DbErr> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in crate::db::chunks(db, &ids) {
        let rows: Vec<(i64, String)> = customer::Entity::find()
            .select_only()
            .columns([customer::Column::Id, customer::Column::DisplayName])
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Finds each brand account, registering the ones a verified delivery names for the first time.
async fn resolve_accounts(
    db: &impl ConnectionTrait,
    ctx: &BatchContext<'_>,
    msgs: &[NormalizedMessage],
    now: DateTime<Utc>,
) -> Result<Accounts, DbErr> {
    let mut wanted: BTreeMap<(&'static str, String), (Network, Option<String>)> = BTreeMap::new();
    for m in msgs {
        wanted
            .entry((m.network.as_str(), m.brand_account.id.clone()))
            .or_insert((m.network, m.brand_account.name.clone()));
    }
    let mut out = Accounts::default();
    for ((net, pid), (network, name)) in wanted {
        let found = brand_account::Entity::find()
            .filter(brand_account::Column::Network.eq(net))
            .filter(brand_account::Column::PlatformAccountId.eq(&pid))
            .one(db)
            .await?;
        let id = match found {
            Some(a) => {
                if let Some(team) = a.default_team_id {
                    out.default_team.insert(a.id, team);
                }
                a.id
            }
            None => {
                let name = name.unwrap_or_else(|| format!("{net} {pid}"));
                let a = brand_account::ActiveModel {
                    network: Set(net.to_owned()),
                    platform_account_id: Set(pid.clone()),
                    name: Set(name.clone()),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?;
                let after = json!({"id": a.id, "network": net, "platform_account_id": pid, "name": name});
                crate::audit::record(
                    db,
                    crate::audit::Entry {
                        actor: ctx.actor.to_owned(),
                        action: "brand_account.register".into(),
                        target_type: "brand_account".into(),
                        target_id: Some(a.id.to_string()),
                        after: Some(after.clone()),
                        ..Default::default()
                    },
                )
                .await?;
                events::append(
                    db,
                    &[NewEvent { kind: kind::BRAND_ACCOUNT_REGISTERED, conversation_id: None, payload: after }],
                )
                .await?;
                a.id
            }
        };
        out.ids.insert((network, pid), id);
    }
    Ok(out)
}

/// The brand accounts of a batch, as its messages name them, and their default teams.
#[derive(Default)]
struct Accounts {
    ids: HashMap<(Network, String), i64>,
    default_team: HashMap<i64, i64>,
}

/// (customer id, display name, largest follower count) per identity.
type CustomerRow = (i64, String, Option<i64>);

/// Finds or creates the customer behind each identity the messages at `named` name.
async fn resolve_customers(
    db: &impl ConnectionTrait,
    msgs: &[NormalizedMessage],
    named: &[usize],
    now: DateTime<Utc>,
) -> Result<HashMap<(Network, String), CustomerRow>, DbErr> {
    let mut wanted: BTreeMap<(Network, String), usize> = BTreeMap::new();
    for &i in named {
        wanted.entry((msgs[i].network, msgs[i].customer.id.clone())).or_insert(i);
    }
    let mut out: HashMap<(Network, String), CustomerRow> = HashMap::new();
    let pids: Vec<String> = wanted.keys().map(|k| k.1.clone()).collect();
    let mut networks: Vec<&'static str> = wanted.keys().map(|k| k.0.as_str()).collect();
    networks.dedup();
    let mut known: Vec<customer_identity::Model> = Vec::new();
    for chunk in crate::db::chunks(db, &pids) {
        known.extend(
            customer_identity::Entity::find()
                .filter(customer_identity::Column::Network.is_in(networks.iter().copied()))
                .filter(customer_identity::Column::PlatformUserId.is_in(chunk.iter().cloned()))
                .all(db)
                .await?,
        );
    }
    for ident in known {
        let Some(network) = Network::parse(&ident.network) else { continue };
        let key = (network, ident.platform_user_id.clone());
        if let Some(&i) = wanted.get(&key) {
            let c = &msgs[i].customer;
            if c.followers.is_some() && c.followers != ident.followers {
                let followers = c.followers;
                let mut am: customer_identity::ActiveModel = ident.clone().into();
                am.followers = Set(followers);
                am.update(db).await?;
            }
            let name = ident.name.clone().or(ident.handle.clone()).unwrap_or_else(|| ident.platform_user_id.clone());
            out.insert(key, (ident.customer_id, name, c.followers.or(ident.followers)));
        }
    }
    let new: Vec<(&(Network, String), usize)> =
        wanted.iter().filter(|(k, _)| !out.contains_key(*k)).map(|(k, &i)| (k, i)).collect();
    for chunk in crate::db::chunks(db, &new) {
        let rows = customer::Entity::insert_many(chunk.iter().map(|((net, pid), i)| {
            let c = &msgs[*i].customer;
            customer::ActiveModel {
                display_name: Set(display_name(c, pid)),
                followers: Set(c.followers),
                created_from: Set(format!("{}:{pid}", net.as_str())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_with_returning(db)
        .await?;
        let ids: HashMap<String, i64> = rows.into_iter().map(|r| (r.created_from, r.id)).collect();
        let mut idents = Vec::with_capacity(chunk.len());
        for ((net, pid), i) in chunk {
            let c = &msgs[*i].customer;
            let id = ids
                .get(&format!("{}:{pid}", net.as_str()))
                .copied()
                .ok_or_else(|| DbErr::Custom("new customer id not returned".into()))?;
            idents.push(customer_identity::ActiveModel {
                customer_id: Set(id),
                network: Set(net.as_str().to_owned()),
                platform_user_id: Set(pid.clone()),
                handle: Set(c.handle.clone()),
                name: Set(c.name.clone()),
                followers: Set(c.followers),
                created_at: Set(now),
                ..Default::default()
            });
            out.insert(((*net), pid.clone()), (id, display_name(c, pid), c.followers));
        }
        customer_identity::Entity::insert_many(idents).exec_without_returning(db).await?;
    }
    Ok(out)
}

/// Who wrote it, as the network named them: the customer, or the brand account.
fn author_name(m: &NormalizedMessage) -> Option<String> {
    match m.direction {
        Direction::Inbound => m.customer.name.clone().or_else(|| m.customer.handle.clone()),
        Direction::Outbound => m.brand_account.name.clone(),
    }
}

fn display_name(c: &super::normalized::CustomerRef, pid: &str) -> String {
    c.name.clone().or_else(|| c.handle.clone()).unwrap_or_else(|| pid.to_owned())
}

fn new_conversation(
    m: &NormalizedMessage,
    acct: i64,
    cust: i64,
    previous: Option<i64>,
    now: DateTime<Utc>,
) -> conversation::Model {
    conversation::Model {
        id: 0,
        brand_account_id: acct,
        customer_id: cust,
        network: m.network.as_str().to_owned(),
        origin_visibility: m.visibility.as_str().to_owned(),
        // A conversation the brand started waits on the customer.
        status: match m.direction {
            Direction::Inbound => STATUS_NEW,
            Direction::Outbound => STATUS_PENDING,
        }
        .to_owned(),
        priority: Tier::Tier2.as_i16(),
        risk: 0,
        risk_reasons: json!([]),
        sentiment_start: None,
        sentiment_now: None,
        category: None,
        language: None,
        tags: json!([]),
        team_id: None,
        assignee_id: None,
        fence_token: 0,
        previous_conversation_id: previous,
        message_count: 0,
        first_message_at: m.sent_at,
        last_message_at: m.sent_at,
        last_inbound_at: None,
        first_inbound_at: None,
        awaiting_since: None,
        first_response_at: None,
        first_response_due_at: None,
        next_response_due_at: None,
        due_sort: i64::MAX,
        resolved_at: None,
        resolved_by: None,
        public_followup_due_at: None,
        crisis_id: None,
        escalated_to: None,
        sla_warned_due: None,
        sla_breached_due: None,
        unanswered: None,
        handling_ms: 0,
        in_hours: 1,
        snippet: None,
        customer_handle: m.customer.handle.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// A resolved conversation the customer writes to again within the window.
fn reopen(c: &mut conversation::Model) {
    c.status = STATUS_OPEN;
    c.resolved_at = None;
    c.assignee_id = None;
    // The new message is triaged afresh: the old issue's tier and reasons no longer apply.
    c.priority = Tier::Noise.as_i16();
    c.risk = 0;
    c.risk_reasons = json!([]);
}

fn merge_reasons(existing: &serde_json::Value, new: &[Reason]) -> serde_json::Value {
    let mut all: Vec<Reason> = serde_json::from_value(existing.clone()).unwrap_or_default();
    for r in new {
        match all.iter_mut().find(|e| e.code == r.code) {
            Some(e) if r.weight > e.weight => *e = r.clone(),
            Some(_) => {}
            None => all.push(r.clone()),
        }
    }
    all.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.code.cmp(&b.code)));
    json!(all)
}

/// Takes a customer message into its conversation; returns what it does to the figures.
fn apply_inbound(
    c: &mut conversation::Model,
    (m, reading): (&NormalizedMessage, &Reading),
    t: &crate::triage::Triage,
    policies: &crate::sla::PolicySet,
) -> crate::metrics::facts::Fact {
    let opened = c.last_inbound_at.is_none();
    let was_converted = crate::metrics::facts::converted(c);
    // The newest customer message is what the queue row shows; one arriving late stays behind it.
    if c.last_inbound_at.is_none_or(|l| m.sent_at >= l) {
        c.snippet = conversations::snippet::of(&m.text).or(c.snippet.take());
    }
    if m.customer.handle.is_some() {
        c.customer_handle.clone_from(&m.customer.handle);
    }
    let tier = t.tier.as_i16();
    let fresh = c.message_count == 0 || c.last_inbound_at.is_none();
    if fresh || tier < c.priority {
        c.priority = if fresh { tier } else { tier.min(c.priority) };
    }
    c.risk = c.risk.max(t.risk);
    c.risk_reasons = merge_reasons(&c.risk_reasons, &t.reasons);
    if c.priority != Tier::Noise.as_i16() {
        // A stray "lol" in a real conversation does not make the conversation noise.
        c.risk_reasons = serde_json::Value::Array(
            c.risk_reasons.as_array().into_iter().flatten().filter(|r| r["code"] != "noise").cloned().collect(),
        );
    }
    if c.sentiment_start.is_none() {
        c.sentiment_start = Some(t.sentiment);
    }
    c.sentiment_now = Some(t.sentiment);
    if c.category.is_none() {
        c.category = t.category.clone();
    }
    // The first customer message whose language is known sets it.
    if c.language.is_none() {
        c.language.clone_from(&reading.language);
    }
    conversations::apply_inbound(c, m.sent_at, policies, opened, was_converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_merge_by_code_keeping_the_strongest() {
        let existing = json!([{"code": "question", "detail": "a", "weight": 15}]);
        let merged = merge_reasons(
            &existing,
            &[
                Reason { code: "question".into(), detail: "b".into(), weight: 10 },
                Reason { code: "urgent".into(), detail: "c".into(), weight: 25 },
            ],
        );
        let v: Vec<Reason> = serde_json::from_value(merged).unwrap_or_default();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].code, "urgent");
        assert_eq!(v[1].detail, "a");
    }
}
