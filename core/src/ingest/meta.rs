//! Meta's webhooks (Facebook Page feed comments and Messenger, Instagram comments and direct
//! messages, the WhatsApp Cloud API) turned into normalized messages.
//!
//! Choices, so one odd event never costs a whole delivery (Meta retries a refused delivery and
//! eventually disables the subscription):
//! - Only the envelope (`object`, `entry[]`) is required. An event Chorus does not use (reads,
//!   deliveries, reactions, likes, statuses, …) or cannot attribute (no author, no id) is
//!   counted as ignored (see [`super::delivery`]), never an error.
//! - Edits and deletions (Messenger `message_edits`, unsends, feed comments `edited` and
//!   `remove`, WhatsApp `edit` and `revoke`) change the stored message, not add one.
//! - The brand's own words (Messenger/Instagram echoes, the Page's comments, WhatsApp Business
//!   app `smb_message_echoes`) are outbound, `origin: brand_app`. A brand comment names no
//!   customer, only the comment it answers: it is stored when that parent comment is in the same
//!   entry (its author is the customer) and ignored otherwise: guessing a customer would open a
//!   wrong conversation.
//! - Postbacks are the customer's words (the button's title); `standby` events (a bot holds the
//!   thread under the handover protocol) are stored marked `origin: standby`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::delivery::{Change as DeliveryChange, Delivery, KINDS, MentionOf, MessageChange};
use super::normalized::{AccountRef, CustomerRef, NormalizedMessage, Origin};
use super::webhook::{PayloadError, SignatureError, parse_json};
use crate::network::{Direction, Network, Visibility};
use crate::signature::verify_hmac_sha256;

/// Meta's subscription handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`):
/// the challenge is echoed only to whoever knows the verify token, so nobody else can point
/// Meta's subscription at this server. The token is compared in constant time; an empty
/// expected token never matches, so an unset setting cannot be satisfied by an empty parameter.
pub fn verify_challenge(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Option<String> {
    let token_ok: bool = token.is_some_and(|t| t.as_bytes().ct_eq(expected_token.as_bytes()).into());
    if mode == Some("subscribe") && token_ok && !expected_token.is_empty() {
        challenge.map(str::to_owned)
    } else {
        None
    }
}

/// Checks `X-Hub-Signature-256: sha256=<hex>`, Meta's HMAC-SHA256 of the exact body bytes with
/// the app secret: it must run before parsing, on the bytes as received.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_mac = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Invalid)?;
    let mac = hex::decode(hex_mac).map_err(|_| SignatureError::Invalid)?;
    if verify_hmac_sha256(app_secret, body, &mac) { Ok(()) } else { Err(SignatureError::Invalid) }
}

/// Ids are documented as strings, but some fields (`app_id`, old `sender_id`) have arrived as
/// numbers: accept both rather than reject a delivery over it.
fn id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected an id, found {other}"))),
    }
}

fn opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!("expected an id, found {other}"))),
    }
}

/// Unix times are numbers in Messenger and the feed but strings in WhatsApp: accept both.
fn opt_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let bad = |v: &Value| serde::de::Error::custom(format!("expected a unix time, found {v}"));
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(_)) => v.as_i64().map(Some).ok_or_else(|| bad(&v)),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(&Value::String(s))),
        Some(other) => Err(bad(&other)),
    }
}

/// The envelope: the only part whose absence refuses a delivery. Entries are typed one by one,
/// so one entry Chorus cannot read never costs the others.
#[derive(Deserialize)]
struct Envelope {
    object: String,
    entry: Vec<Value>,
}

#[derive(Deserialize)]
struct Entry {
    /// The Page id, Instagram account id or WhatsApp Business Account id.
    #[serde(default, deserialize_with = "opt_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    time: Option<i64>,
    #[serde(default)]
    messaging: Vec<Value>,
    /// Messaging events of a thread another app holds (handover protocol).
    #[serde(default)]
    standby: Vec<Value>,
    #[serde(default)]
    changes: Vec<Change>,
    /// Instagram API with Instagram Login puts a single change on the entry itself.
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

/// One `messaging[]` (or `standby[]`) event. Everything is optional because opt-ins, referrals
/// and the like carry other shapes (e.g. `sender.user_ref`).
#[derive(Deserialize)]
struct Messaging {
    #[serde(default)]
    sender: Option<Party>,
    #[serde(default)]
    recipient: Option<Party>,
    #[serde(default, deserialize_with = "opt_int")]
    timestamp: Option<i64>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    message_edit: Option<MessageEdit>,
}

#[derive(Deserialize)]
struct Party {
    #[serde(default, deserialize_with = "opt_id")]
    id: Option<String>,
}

#[derive(Deserialize)]
struct DirectMessage {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    #[serde(default)]
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct ReplyTo {
    /// Absent when an Instagram DM answers a story (`reply_to.story`), which is no message.
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// A button the customer pressed (`messaging_postbacks`).
#[derive(Deserialize)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

/// A Messenger message the customer edited (`message_edits`).
#[derive(Deserialize)]
struct MessageEdit {
    mid: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    /// Kept raw: each field has its own shape, and items Chorus skips must not fail typing.
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct Author {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// A feed change about a comment or a post. Before Graph API 2.11 the author came as
/// `sender_id`/`sender_name`; both forms are read. Page `mention` changes have the same fields.
#[derive(Deserialize)]
struct FeedItem {
    #[serde(default)]
    from: Option<Author>,
    #[serde(default, deserialize_with = "opt_id")]
    sender_id: Option<String>,
    #[serde(default)]
    sender_name: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    comment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    post_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    parent_id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    created_time: Option<i64>,
}

impl FeedItem {
    fn author(&self) -> Option<Person> {
        match (&self.from, &self.sender_id) {
            (Some(a), _) => Some(Person { id: a.id.clone(), handle: None, name: a.name.clone() }),
            (None, Some(id)) => Some(Person { id: id.clone(), handle: None, name: self.sender_name.clone() }),
            (None, None) => None,
        }
    }
}

/// An Instagram `comments` (or `live_comments`) change. The test events Meta's dashboard
/// sends carry no `from`.
#[derive(Deserialize)]
struct InstagramComment {
    #[serde(default)]
    from: Option<Author>,
    /// `id` in the webhooks reference; `comment_id` in some examples.
    #[serde(deserialize_with = "id", alias = "comment_id")]
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    parent_id: Option<String>,
}

#[derive(Deserialize)]
struct WhatsAppValue {
    metadata: WhatsAppMetadata,
    #[serde(default)]
    contacts: Vec<WhatsAppContact>,
    #[serde(default)]
    messages: Vec<Value>,
    /// `smb_message_echoes`: what the business wrote in the WhatsApp Business app.
    #[serde(default)]
    message_echoes: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
    #[serde(default)]
    errors: Vec<Value>,
}

#[derive(Deserialize)]
struct WhatsAppMetadata {
    #[serde(default)]
    display_phone_number: Option<String>,
    #[serde(deserialize_with = "id")]
    phone_number_id: String,
}

#[derive(Deserialize)]
struct WhatsAppContact {
    #[serde(default)]
    profile: Option<WhatsAppProfile>,
    #[serde(default, deserialize_with = "opt_id")]
    wa_id: Option<String>,
    /// The business-scoped user id of a user known by username rather than phone number.
    #[serde(default, deserialize_with = "opt_id")]
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct WhatsAppProfile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct WhatsAppMessage {
    /// The customer's phone number (`wa_id`); absent for a user known only by username.
    #[serde(default, deserialize_with = "opt_id")]
    from: Option<String>,
    /// The business-scoped user id, present with or instead of `from`.
    #[serde(default, deserialize_with = "opt_id")]
    from_user_id: Option<String>,
    /// The customer an echo went to (`smb_message_echoes`).
    #[serde(default, deserialize_with = "opt_id")]
    to: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    to_user_id: Option<String>,
    id: String,
    #[serde(default, deserialize_with = "opt_int")]
    timestamp: Option<i64>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    context: Option<WhatsAppContext>,
    /// The type-specific object (`text`, `image`, `button`, …), read by [`whatsapp_text`].
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct WhatsAppContext {
    #[serde(default)]
    id: Option<String>,
}

/// Messenger timestamps are milliseconds, feed and WhatsApp times are seconds, and `entry.time`
/// is either depending on the product; a value past 10^11 cannot be seconds (that is the year
/// 5138), so the magnitude decides.
fn time(t: i64) -> Option<DateTime<Utc>> {
    if t.abs() >= 100_000_000_000 { DateTime::from_timestamp_millis(t) } else { DateTime::from_timestamp(t, 0) }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Parses one delivery: its messages in payload order (per entry: `messaging[]`, `standby[]`,
/// then `changes[]`), the edits and deletions it reports, and what it holds that Chorus does
/// not use.
pub fn parse(body: &[u8]) -> Result<Delivery, PayloadError> {
    let env: Envelope = parse_json(body)?;
    let network = match env.object.as_str() {
        "page" => Network::Facebook,
        "instagram" => Network::Instagram,
        "whatsapp_business_account" => Network::Whatsapp,
        _ => {
            // Another product of the same app (`user`, `permissions`, …): Meta's envelope, a
            // subscription Chorus has no use for.
            let mut out = Delivery::default();
            out.ignore(Network::Facebook, "unknown_object");
            return Ok(out);
        }
    };
    let mut out = Delivery::default();
    for raw in &env.entry {
        let Ok(entry) = Entry::deserialize(raw) else {
            out.ignore(network, "unattributed");
            continue;
        };
        let Some(entry_id) = entry.id.as_deref() else {
            out.ignore(network, "unattributed");
            continue;
        };
        let ctx = EntryCtx { network, id: entry_id, time: entry.time };
        let mut changes = entry.changes;
        if let (Some(field), Some(value)) = (entry.field, entry.value) {
            changes.push(Change { field, value });
        }
        for m in &entry.messaging {
            messaging(&ctx, m, None, &mut out);
        }
        for m in &entry.standby {
            messaging(&ctx, m, Some(Origin::Standby), &mut out);
        }
        match network {
            Network::Facebook => page_changes(&ctx, &changes, &mut out),
            Network::Instagram => instagram_changes(&ctx, &changes, &mut out),
            Network::Whatsapp => {
                for change in &changes {
                    match change.field.as_str() {
                        "messages" | "smb_message_echoes" => whatsapp(&change.value, &mut out),
                        other => out.ignore(network, other),
                    }
                }
            }
            Network::X => {}
        }
    }
    Ok(out)
}

/// What every event of an entry shares.
struct EntryCtx<'a> {
    network: Network,
    id: &'a str,
    time: Option<i64>,
}

impl EntryCtx<'_> {
    fn account(&self) -> AccountRef {
        AccountRef { id: self.id.to_owned(), name: None }
    }

    fn change(&self, platform_message_id: String, change: DeliveryChange, at: DateTime<Utc>) -> MessageChange {
        MessageChange { network: self.network, brand_account: self.id.to_owned(), platform_message_id, change, at }
    }
}

/// A Messenger or Instagram messaging event: a message (or its echo), a postback, an edit, an
/// unsend; anything else is counted as ignored.
fn messaging(ctx: &EntryCtx<'_>, raw: &Value, origin: Option<Origin>, out: &mut Delivery) {
    let network = ctx.network;
    let Ok(m) = Messaging::deserialize(raw) else {
        out.ignore(network, "unattributed");
        return;
    };
    let sender = m.sender.as_ref().and_then(|p| p.id.as_deref());
    let recipient = m.recipient.as_ref().and_then(|p| p.id.as_deref());
    let at = m.timestamp.or(ctx.time).and_then(time);
    if let Some(edit) = &m.message_edit {
        match at {
            Some(at) => out.changes.push(ctx.change(
                edit.mid.clone(),
                DeliveryChange::Edited(edit.text.clone().unwrap_or_default()),
                at,
            )),
            None => out.ignore(network, "unattributed"),
        }
        return;
    }
    if let Some(p) = &m.postback {
        let (Some(sender), Some(at)) = (sender, at) else {
            out.ignore(network, "message_without_sender");
            return;
        };
        let text = p.title.clone().or_else(|| p.payload.clone()).unwrap_or_default();
        let mid = p.mid.clone().unwrap_or_else(|| format!("postback:{sender}:{}", at.timestamp_millis()));
        out.messages.push(direct_message(ctx, sender, Direction::Inbound, mid, None, text, at, Some(Origin::Postback)));
        return;
    }
    let Some(raw_msg) = &m.message else {
        let kind = KINDS.iter().find(|k| raw.get(**k).is_some()).copied().unwrap_or("other");
        out.ignore(network, kind);
        return;
    };
    let Ok(msg) = DirectMessage::deserialize(raw_msg) else {
        out.ignore(network, "unattributed");
        return;
    };
    let Some(at) = at else {
        out.ignore(network, "unattributed");
        return;
    };
    if msg.is_deleted {
        out.changes.push(ctx.change(msg.mid, DeliveryChange::Deleted, at));
        return;
    }
    let (Some(sender), Some(recipient)) = (sender, recipient) else {
        out.ignore(network, "message_without_sender");
        return;
    };
    // The Page never writes to itself, so a message from it is an echo even if a product
    // forgets the flag.
    let outbound = msg.is_echo || sender == ctx.id;
    let (direction, customer, origin) = if outbound {
        (Direction::Outbound, recipient, Some(Origin::BrandApp))
    } else {
        (Direction::Inbound, sender, origin)
    };
    let text = match &msg.text {
        Some(t) => t.clone(),
        None if msg.is_unsupported => "[unsupported]".to_owned(),
        None => msg
            .attachments
            .iter()
            .map(|a| format!("[{}]", a.kind.as_deref().unwrap_or("attachment")))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let in_reply_to = msg.reply_to.as_ref().and_then(|r| r.mid.clone());
    out.messages.push(direct_message(ctx, customer, direction, msg.mid, in_reply_to, text, at, origin));
}

#[expect(clippy::too_many_arguments, reason = "one private constructor of a message, called from two places")]
fn direct_message(
    ctx: &EntryCtx<'_>,
    customer: &str,
    direction: Direction,
    mid: String,
    in_reply_to: Option<String>,
    text: String,
    at: DateTime<Utc>,
    origin: Option<Origin>,
) -> NormalizedMessage {
    NormalizedMessage {
        network: ctx.network,
        brand_account: ctx.account(),
        customer: CustomerRef { id: customer.to_owned(), handle: None, name: None, followers: None },
        direction,
        visibility: Visibility::Private,
        platform_message_id: mid,
        in_reply_to,
        text,
        sent_at: at,
        addressed_to_brand: true,
        language: None,
        origin,
    }
}

/// A comment's author as a customer: id, handle (Instagram) and display name (Facebook).
#[derive(Clone)]
struct Person {
    id: String,
    handle: Option<String>,
    name: Option<String>,
}

impl Person {
    fn customer(&self) -> CustomerRef {
        CustomerRef { id: self.id.clone(), handle: self.handle.clone(), name: self.name.clone(), followers: None }
    }
}

/// The customer a brand comment answers: the author of its parent comment, when that comment
/// is in the same entry and was not the brand's own.
fn parent_author<'a>(authors: &'a HashMap<String, Person>, parent: Option<&str>, brand: &str) -> Option<&'a Person> {
    parent.and_then(|p| authors.get(p)).filter(|a| a.id != brand)
}

/// What a feed item with no `message` showed.
fn media_text(v: &Value) -> String {
    ["photo", "video", "link"].iter().find(|k| v.get(**k).is_some()).map(|k| format!("[{k}]")).unwrap_or_default()
}

/// A public post or comment on the Page from someone: comments, visitor posts, mentions.
struct Public {
    id: String,
    author: Person,
    in_reply_to: Option<String>,
    text: String,
    at: DateTime<Utc>,
}

/// Page `feed` and `mention` changes: comments and visitors' posts added, edited or removed,
/// and posts or comments elsewhere that mention the Page. Likes, reactions, the Page's own
/// posts and the rest of the feed are counted as ignored.
fn page_changes(ctx: &EntryCtx<'_>, changes: &[Change], out: &mut Delivery) {
    let network = ctx.network;
    let mut public: Vec<Public> = Vec::new();
    for change in changes {
        let v = &change.value;
        let (item, verb) = (str_at(v, "item").unwrap_or_default(), str_at(v, "verb").unwrap_or_default());
        let is_post = matches!(item, "post" | "status" | "photo" | "video" | "share" | "link");
        let usable = match change.field.as_str() {
            "feed" => item == "comment" || is_post,
            "mention" => true,
            _ => false,
        };
        if !usable {
            out.ignore(network, if change.field == "feed" { "feed" } else { change.field.as_str() });
            continue;
        }
        let Ok(f) = FeedItem::deserialize(v) else {
            out.ignore(network, "unattributed");
            continue;
        };
        // Comments are known by their comment id, posts by their post id.
        let id = if item == "comment" { f.comment_id.clone() } else { f.post_id.clone() };
        let (Some(id), Some(at)) = (id, f.created_time.or(ctx.time).and_then(time)) else {
            out.ignore(network, "unattributed");
            continue;
        };
        match verb {
            "edited" | "edit" => {
                out.changes.push(ctx.change(id, DeliveryChange::Edited(f.message.clone().unwrap_or_default()), at));
                continue;
            }
            "remove" | "delete" => {
                out.changes.push(ctx.change(id, DeliveryChange::Deleted, at));
                continue;
            }
            "add" => {}
            _ => {
                out.ignore(network, "feed");
                continue;
            }
        }
        let Some(author) = f.author() else {
            // Meta withholds `from` for some users: it cannot be attributed to anyone.
            out.ignore(network, "comment_without_author");
            continue;
        };
        if is_post && author.id == ctx.id {
            out.ignore(network, "brand_post");
            continue;
        }
        // A top-level comment's parent is the post itself; only a reply to a comment threads.
        let in_reply_to =
            if item == "comment" { f.parent_id.clone().filter(|p| Some(p) != f.post_id.as_ref()) } else { None };
        let text = f.message.clone().unwrap_or_else(|| media_text(v));
        public.push(Public { id, author, in_reply_to, text, at });
    }
    public_messages(ctx, public, out);
}

/// Public items of one entry as messages. The brand's own comment names no customer, only the
/// comment it answers: it is stored as outbound when that parent is in the same entry (its
/// author is the customer), and counted as ignored otherwise: guessing a customer would open a
/// wrong conversation.
fn public_messages(ctx: &EntryCtx<'_>, items: Vec<Public>, out: &mut Delivery) {
    let authors: HashMap<String, Person> = items.iter().map(|p| (p.id.clone(), p.author.clone())).collect();
    for p in items {
        let (direction, customer, origin) = if p.author.id == ctx.id {
            match parent_author(&authors, p.in_reply_to.as_deref(), ctx.id) {
                Some(c) => (Direction::Outbound, c.customer(), Some(Origin::BrandApp)),
                None => {
                    out.ignore(ctx.network, "unattributed");
                    continue;
                }
            }
        } else {
            (Direction::Inbound, p.author.customer(), None)
        };
        out.messages.push(NormalizedMessage {
            network: ctx.network,
            brand_account: ctx.account(),
            customer,
            direction,
            visibility: Visibility::Public,
            platform_message_id: p.id,
            in_reply_to: p.in_reply_to,
            text: p.text,
            sent_at: p.at,
            addressed_to_brand: true,
            language: None,
            origin,
        });
    }
}

/// Instagram `comments` and `live_comments` changes. The payload carries no comment time, so
/// the entry's time (when Meta sent it, seconds after the comment) stands in. `mentions` name
/// only a comment (and media) id: the comment is looked up later ([`super::mentions`]).
fn instagram_changes(ctx: &EntryCtx<'_>, changes: &[Change], out: &mut Delivery) {
    let network = ctx.network;
    let mut public = Vec::new();
    for change in changes {
        if change.field == "mentions" {
            // A comment that mentions the account: its author and words need a Graph API call.
            // A caption mention (only a media id) is counted.
            // Both ids go into a Graph API path: only the network's digits are taken.
            let digits = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit());
            let comment = change.value.get("comment_id").and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            match comment {
                Some(comment_id) if digits(&comment_id) && digits(ctx.id) => {
                    out.mentions.push(MentionOf { brand_account: ctx.id.to_owned(), comment_id });
                }
                Some(_) => out.ignore(network, "unattributed"),
                None => out.ignore(network, "mentions"),
            }
            continue;
        }
        if change.field != "comments" && change.field != "live_comments" {
            out.ignore(network, &change.field);
            continue;
        }
        let Ok(c) = InstagramComment::deserialize(&change.value) else {
            out.ignore(network, "unattributed");
            continue;
        };
        let Some(from) = &c.from else {
            out.ignore(network, "comment_without_author");
            continue;
        };
        let Some(at) = ctx.time.and_then(time) else {
            out.ignore(network, "unattributed");
            continue;
        };
        let author = Person {
            id: from.id.clone(),
            handle: from.username.as_ref().map(|u| format!("@{u}")),
            name: from.name.clone(),
        };
        public.push(Public { id: c.id, author, in_reply_to: c.parent_id, text: c.text.unwrap_or_default(), at });
    }
    public_messages(ctx, public, out);
}

/// What a WhatsApp message says, by type; `None` for types that are not messages to answer
/// (reactions, and `system` notices such as a customer changing number).
fn whatsapp_text(kind: &str, rest: &serde_json::Map<String, Value>) -> Option<String> {
    let obj = rest.get(kind).unwrap_or(&Value::Null);
    let tagged = |detail: Option<String>| match detail.filter(|d| !d.is_empty()) {
        Some(d) => format!("[{kind}] {d}"),
        None => format!("[{kind}]"),
    };
    Some(match kind {
        "reaction" | "system" => return None,
        "text" => str_at(obj, "body").unwrap_or_default().to_owned(),
        // A quick-reply button tapped on a template: its label is what the customer "said".
        "button" => str_at(obj, "text").map(str::to_owned).unwrap_or_else(|| tagged(None)),
        "interactive" => match str_at(obj, "type") {
            Some("nfm_reply") => flow_reply(obj.get("nfm_reply").unwrap_or(&Value::Null)),
            _ => {
                let reply = obj.get("button_reply").or_else(|| obj.get("list_reply"));
                reply.and_then(|r| str_at(r, "title")).map(str::to_owned).unwrap_or_else(|| tagged(None))
            }
        },
        "order" => order_text(obj),
        "location" => {
            let named: Vec<&str> = ["name", "address"].iter().filter_map(|k| str_at(obj, k)).collect();
            let detail = if named.is_empty() {
                match (obj.get("latitude"), obj.get("longitude")) {
                    (Some(lat), Some(lon)) => Some(format!("{lat},{lon}")),
                    _ => None,
                }
            } else {
                Some(named.join(", "))
            };
            tagged(detail)
        }
        "contacts" => {
            let names: Vec<&str> = rest
                .get("contacts")
                .and_then(Value::as_array)
                .map(|cs| cs.iter().filter_map(|c| c.get("name").and_then(|n| str_at(n, "formatted_name"))).collect())
                .unwrap_or_default();
            tagged(Some(names.join(", ")))
        }
        "unknown" | "unsupported" => "[unsupported]".to_owned(),
        // image, video, audio, document, sticker, and types added later: the caption (or a
        // document's file name) is all the text there is.
        _ => tagged(str_at(obj, "caption").or_else(|| str_at(obj, "filename")).map(str::to_owned)),
    })
}

/// A WhatsApp Flow's answers (`nfm_reply.response_json`, a JSON object in a string): each
/// answer as `key: value`, by key, without the `flow_token` that only identifies the flow.
fn flow_reply(reply: &Value) -> String {
    let answers: serde_json::Map<String, Value> =
        str_at(reply, "response_json").and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let parts: Vec<String> = answers
        .iter()
        .filter(|(k, _)| k.as_str() != "flow_token")
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    if parts.is_empty() { "[flow]".to_owned() } else { format!("[flow] {}", parts.join(", ")) }
}

/// A cart sent from a catalog: each product with its quantity, and the customer's note.
fn order_text(order: &Value) -> String {
    let items: Vec<String> = order
        .get("product_items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let sku = str_at(i, "product_retailer_id").unwrap_or("?");
                    match i.get("quantity") {
                        Some(q) => format!("{} × {sku}", q.as_str().map_or_else(|| q.to_string(), str::to_owned)),
                        None => sku.to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut text = if items.is_empty() { "[order]".to_owned() } else { format!("[order] {}", items.join(", ")) };
    if let Some(note) = str_at(order, "text").filter(|t| !t.is_empty()) {
        text.push_str(" — ");
        text.push_str(note);
    }
    text
}

/// A WhatsApp `messages` or `smb_message_echoes` change: the customers' messages (and their
/// edits and revokes), what the business wrote in the WhatsApp Business app, and status updates
/// of what the business sent (counted as ignored).
fn whatsapp(raw: &Value, out: &mut Delivery) {
    let network = Network::Whatsapp;
    let Ok(v) = WhatsAppValue::deserialize(raw) else {
        out.ignore(network, "unattributed");
        return;
    };
    for _ in &v.statuses {
        out.ignore(network, "statuses");
    }
    for _ in &v.errors {
        out.ignore(network, "errors");
    }
    let account = AccountRef { id: v.metadata.phone_number_id.clone(), name: v.metadata.display_phone_number.clone() };
    let ctx = EntryCtx { network, id: &v.metadata.phone_number_id, time: None };
    let echoes = v.message_echoes.iter().map(|m| (m, true));
    for (raw_msg, echo) in v.messages.iter().map(|m| (m, false)).chain(echoes) {
        let Ok(m) = WhatsAppMessage::deserialize(raw_msg) else {
            out.ignore(network, "unattributed");
            continue;
        };
        let customer =
            if echo { m.to.clone().or(m.to_user_id.clone()) } else { m.from.clone().or(m.from_user_id.clone()) };
        let (Some(customer), Some(at)) = (customer, m.timestamp.and_then(time)) else {
            out.ignore(network, "unattributed");
            continue;
        };
        let kind = m.kind.as_deref().unwrap_or(if m.rest.contains_key("text") { "text" } else { "unknown" });
        let original = |key: &str| m.rest.get(key).and_then(|o| str_at(o, "original_message_id")).map(str::to_owned);
        match kind {
            "edit" => {
                let edited = m.rest.get("edit").and_then(|e| e.get("message"));
                let text = edited
                    .and_then(Value::as_object)
                    .and_then(|e| whatsapp_text(e.get("type").and_then(Value::as_str).unwrap_or("text"), e));
                match (original("edit"), text) {
                    (Some(id), Some(text)) => out.changes.push(ctx.change(id, DeliveryChange::Edited(text), at)),
                    _ => out.ignore(network, "unattributed"),
                }
                continue;
            }
            "revoke" => {
                match original("revoke") {
                    Some(id) => out.changes.push(ctx.change(id, DeliveryChange::Deleted, at)),
                    None => out.ignore(network, "unattributed"),
                }
                continue;
            }
            _ => {}
        }
        let Some(text) = whatsapp_text(kind, &m.rest) else {
            out.ignore(network, kind);
            continue;
        };
        let contact = v
            .contacts
            .iter()
            .find(|c| c.wa_id.as_deref() == Some(&customer) || c.user_id.as_deref() == Some(&customer));
        let profile = contact.and_then(|c| c.profile.as_ref());
        // A phone number is shown as one; a username stands for a user without one.
        let is_phone = customer.chars().all(|c| c.is_ascii_digit());
        let handle = if is_phone {
            Some(format!("+{customer}"))
        } else {
            profile.and_then(|p| p.username.as_ref()).map(|u| format!("@{}", u.trim_start_matches('@')))
        };
        let (direction, origin) =
            if echo { (Direction::Outbound, Some(Origin::BrandApp)) } else { (Direction::Inbound, None) };
        out.messages.push(NormalizedMessage {
            network,
            brand_account: account.clone(),
            customer: CustomerRef { id: customer, handle, name: profile.and_then(|p| p.name.clone()), followers: None },
            direction,
            visibility: Visibility::Private,
            platform_message_id: m.id,
            in_reply_to: m.context.and_then(|c| c.id),
            text,
            sent_at: at,
            addressed_to_brand: true,
            language: None,
            origin,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn run(body: &Value) -> Result<Vec<NormalizedMessage>, PayloadError> {
        parse(body.to_string().as_bytes()).map(|d| d.messages)
    }

    fn delivery(body: &Value) -> Result<Delivery, PayloadError> {
        parse(body.to_string().as_bytes())
    }

    fn ids(out: &[NormalizedMessage]) -> Vec<&str> {
        out.iter().map(|m| m.platform_message_id.as_str()).collect()
    }

    #[test]
    fn challenge_echoed_only_for_subscribe_with_the_right_token() {
        let ok = verify_challenge(Some("subscribe"), Some("tok-123"), Some("1158201444"), "tok-123");
        assert_eq!(ok.as_deref(), Some("1158201444"));
        assert_eq!(verify_challenge(Some("subscribe"), Some("tok-124"), Some("1"), "tok-123"), None);
        assert_eq!(verify_challenge(Some("subscribe"), Some("tok-12"), Some("1"), "tok-123"), None);
        assert_eq!(verify_challenge(Some("unsubscribe"), Some("tok-123"), Some("1"), "tok-123"), None);
        assert_eq!(verify_challenge(None, Some("tok-123"), Some("1"), "tok-123"), None);
        assert_eq!(verify_challenge(Some("subscribe"), None, Some("1"), "tok-123"), None);
        assert_eq!(verify_challenge(Some("subscribe"), Some("tok-123"), None, "tok-123"), None);
        // An unset (empty) expected token must not be satisfied by an empty parameter.
        assert_eq!(verify_challenge(Some("subscribe"), Some(""), Some("1"), ""), None);
    }

    #[test]
    fn signature_known_answer() {
        let body = br#"{"object":"page","entry":[]}"#;
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"app-secret-123",
        //   b"{\"object\":\"page\",\"entry\":[]}",hashlib.sha256).hexdigest())'
        let good = "sha256=045d425314376ceef02357beda9d40971b523021cc4baad4e55bde33d2691f03";
        assert_eq!(verify_signature(b"app-secret-123", body, Some(good)), Ok(()));
        assert_eq!(
            verify_signature(b"app-secret-123", body, Some(&good.to_uppercase().replace("SHA256=", "sha256="))),
            Ok(())
        );
        assert_eq!(verify_signature(b"app-secret-124", body, Some(good)), Err(SignatureError::Invalid));
        assert_eq!(
            verify_signature(b"app-secret-123", br#"{"object":"page","entry":[ ]}"#, Some(good)),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn signature_missing_or_malformed() {
        let body = br#"{"object":"page","entry":[]}"#;
        let hex_mac = hex::encode(crate::signature::hmac_sha256(b"s3cret", body));
        assert_eq!(verify_signature(b"s3cret", body, Some(&format!("sha256={hex_mac}"))), Ok(()));
        assert_eq!(verify_signature(b"s3cret", body, None), Err(SignatureError::Missing));
        assert_eq!(verify_signature(b"s3cret", body, Some("")), Err(SignatureError::Invalid));
        assert_eq!(verify_signature(b"s3cret", body, Some(&hex_mac)), Err(SignatureError::Invalid));
        assert_eq!(verify_signature(b"s3cret", body, Some(&format!("sha1={hex_mac}"))), Err(SignatureError::Invalid));
        assert_eq!(verify_signature(b"s3cret", body, Some("sha256=zz")), Err(SignatureError::Invalid));
        assert_eq!(
            verify_signature(b"s3cret", body, Some(&format!("sha256={}", &hex_mac[..62]))),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn messenger_text_reply_and_attachment() -> R {
        // Shapes from Meta's "messages Webhook Event Reference" (text, reply, attachment).
        let out = run(&json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": 1458692752478i64, "messaging": [
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752478i64,
             "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "hello, world!",
                         "quick_reply": {"payload": "DEVELOPER_DEFINED_PAYLOAD"}}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752500i64,
             "message": {"mid": "m_1457764197618:41d102a3e1ae206a39", "text": "still waiting",
                         "reply_to": {"mid": "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU", "is_self_reply": false}}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752600i64,
             "message": {"mid": "m_att", "attachments": [{"type": "image", "payload": {"url": "https://example.com/a.png"}},
                                                         {"type": "file", "payload": {"url": "https://example.com/b.pdf"}}]}}
        ]}]}))?;
        assert_eq!(ids(&out), ["mid.1457764197618:41d102a3e1ae206a38", "m_1457764197618:41d102a3e1ae206a39", "m_att"]);
        let first = &out[0];
        assert_eq!(first.network, Network::Facebook);
        assert_eq!(first.brand_account, AccountRef { id: "PAGE_ID".into(), name: None });
        assert_eq!(first.customer.id, "PSID_1");
        assert_eq!(first.direction, Direction::Inbound);
        assert_eq!(first.visibility, Visibility::Private);
        assert_eq!(first.text, "hello, world!");
        assert_eq!(first.in_reply_to, None);
        assert!(first.addressed_to_brand);
        assert_eq!(first.sent_at.timestamp_millis(), 1458692752478);
        assert_eq!(out[1].in_reply_to.as_deref(), Some("m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"));
        assert_eq!(out[2].text, "[image] [file]");
        assert!(out.iter().all(|m| m.validate().is_ok()));
        Ok(())
    }

    #[test]
    fn messenger_echo_is_outbound_to_the_recipient() -> R {
        // "message_echoes Webhook Event Reference", example 1.
        let out = run(&json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": 1457764198000i64, "messaging": [
            {"sender": {"id": "PAGE_ID"}, "recipient": {"id": "PSID_1"}, "timestamp": 1457764197627i64,
             "message": {"is_echo": true, "app_id": 1517776481860111i64, "metadata": "DEVELOPER_DEFINED_METADATA_STRING",
                         "mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "Sorry about that! Which order?"}}
        ]}]}))?;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].direction, Direction::Outbound);
        assert_eq!(out[0].customer.id, "PSID_1");
        assert_eq!(out[0].brand_account.id, "PAGE_ID");
        assert_eq!(out[0].text, "Sorry about that! Which order?");
        Ok(())
    }

    #[test]
    fn messenger_events_become_messages_changes_or_counts() -> R {
        let out = run(&json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": 1458668856463i64, "messaging": [
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
             "delivery": {"mids": ["mid.1458668856218:ed81099e15d3f4f233"], "watermark": 1458668856253i64}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
             "read": {"watermark": 1458668856253i64}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1527459824,
             "postback": {"mid": "m_postback", "title": "Get Started", "payload": "GET_STARTED"}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
             "reaction": {"reaction": "love", "emoji": "\u{2764}", "action": "react", "mid": "m_x"}},
            {"recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752478i64,
             "optin": {"ref": "PASS_THROUGH_PARAM", "user_ref": "UNIQUE_REF_PARAM"}, "sender": {"user_ref": "UNIQUE_REF_PARAM"}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
             "message": {"mid": "m_deleted", "is_deleted": true}},
            {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
             "message_edit": {"mid": "m_x", "text": "edited", "num_edit": 1}}
        ], "standby": [
            {"sender": {"id": "PSID_2"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
             "message": {"mid": "m_standby", "text": "another app owns this thread"}}
        ]}]}))?;
        let got: Vec<(&str, &str, Option<Origin>)> =
            out.iter().map(|m| (m.platform_message_id.as_str(), m.text.as_str(), m.origin)).collect();
        assert_eq!(
            got,
            [
                ("m_postback", "Get Started", Some(Origin::Postback)),
                ("m_standby", "another app owns this thread", Some(Origin::Standby))
            ]
        );
        let d = delivery(
            &json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": 1458668856463i64, "messaging": [
                {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
                 "read": {"watermark": 1458668856253i64}},
                {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
                 "message": {"mid": "m_deleted", "is_deleted": true}},
                {"sender": {"id": "PSID_1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458668856463i64,
                 "message_edit": {"mid": "m_x", "text": "edited", "num_edit": 1}},
                {"recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752478i64,
                 "optin": {"ref": "PASS_THROUGH_PARAM", "user_ref": "UNIQUE_REF_PARAM"}, "sender": {"user_ref": "UNIQUE_REF_PARAM"}}
            ]}]}),
        )?;
        let changes: Vec<(&str, &DeliveryChange)> =
            d.changes.iter().map(|c| (c.platform_message_id.as_str(), &c.change)).collect();
        assert_eq!(
            changes,
            [("m_deleted", &DeliveryChange::Deleted), ("m_x", &DeliveryChange::Edited("edited".into()))]
        );
        let kinds: Vec<&str> = d.ignored.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, ["read", "optin"]);
        Ok(())
    }

    #[test]
    fn feed_comments_and_replies() -> R {
        // Shape from Meta's Page feed webhook reference (Graph API 2.11+ `from`).
        let out = run(&json!({"object": "page", "entry": [{"id": "123456789", "time": 1510092433, "changes": [
            {"field": "feed", "value": {"from": {"id": "111", "name": "Cinderella Hoover"},
             "post": {"status_type": "added_photos", "is_published": true, "id": "123456789_987654321"},
             "message": "Where is my order?", "post_id": "123456789_987654321", "comment_id": "987654321_1001",
             "created_time": 1510092431, "item": "comment", "parent_id": "123456789_987654321", "verb": "add"}},
            {"field": "feed", "value": {"from": {"id": "222", "name": "Prince Charming"}, "item": "comment", "verb": "add",
             "post_id": "123456789_987654321", "comment_id": "987654321_1002", "parent_id": "987654321_1001",
             "message": "same here", "created_time": "1510092500"}}
        ]}]}))?;
        assert_eq!(ids(&out), ["987654321_1001", "987654321_1002"]);
        let top = &out[0];
        assert_eq!(top.network, Network::Facebook);
        assert_eq!(top.visibility, Visibility::Public);
        assert_eq!(top.direction, Direction::Inbound);
        assert_eq!(
            top.customer,
            CustomerRef { id: "111".into(), handle: None, name: Some("Cinderella Hoover".into()), followers: None }
        );
        assert_eq!(top.brand_account.id, "123456789");
        assert_eq!(top.in_reply_to, None, "a top-level comment's parent is the post, which is no message");
        assert_eq!(top.sent_at.timestamp(), 1510092431);
        assert_eq!(top.text, "Where is my order?");
        assert_eq!(out[1].in_reply_to.as_deref(), Some("987654321_1001"));
        assert_eq!(out[1].sent_at.timestamp(), 1510092500);
        Ok(())
    }

    #[test]
    fn brand_feed_reply_is_outbound_only_when_the_parent_author_is_known() -> R {
        let out = run(&json!({"object": "page", "entry": [{"id": "PAGE", "time": 1520383571, "changes": [
            {"field": "feed", "value": {"from": {"id": "USER", "name": "Dana"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_10", "parent_id": "PAGE_1", "message": "Broken on arrival", "created_time": 1520383571}},
            {"field": "feed", "value": {"from": {"id": "PAGE", "name": "Brand"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_11", "parent_id": "PAGE_1_10", "message": "Sorry! DM us", "created_time": 1520383600}},
            {"field": "feed", "value": {"from": {"id": "PAGE", "name": "Brand"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_12", "parent_id": "PAGE_1_9", "message": "Glad it worked", "created_time": 1520383700}},
            {"field": "feed", "value": {"from": {"id": "PAGE", "name": "Brand"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_13", "parent_id": "PAGE_1", "message": "Sale ends today", "created_time": 1520383800}},
            {"field": "feed", "value": {"from": {"id": "PAGE", "name": "Brand"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_14", "parent_id": "PAGE_1_11", "message": "(self-thread)", "created_time": 1520383900}}
        ]}]}))?;
        assert_eq!(ids(&out), ["PAGE_1_10", "PAGE_1_11"]);
        let reply = &out[1];
        assert_eq!(reply.direction, Direction::Outbound);
        assert_eq!(reply.customer.id, "USER");
        assert_eq!(reply.customer.name.as_deref(), Some("Dana"));
        assert_eq!(reply.in_reply_to.as_deref(), Some("PAGE_1_10"));
        Ok(())
    }

    #[test]
    fn other_feed_items_are_skipped() -> R {
        let out = run(&json!({"object": "page", "entry": [{"id": "PAGE", "time": 1520383571, "changes": [
            {"field": "feed", "value": {"from": {"id": "USER"}, "item": "reaction", "verb": "add", "post_id": "PAGE_1",
             "reaction_type": "like", "created_time": 1520383571}},
            {"field": "feed", "value": {"from": {"id": "USER"}, "item": "like", "verb": "add", "post_id": "PAGE_1", "created_time": 1520383571}},
            {"field": "feed", "value": {"from": {"id": "USER", "name": "Dana"}, "item": "comment", "verb": "edited", "post_id": "PAGE_1",
             "comment_id": "PAGE_1_10", "message": "edited text", "created_time": 1520383571}},
            {"field": "feed", "value": {"from": {"id": "USER"}, "item": "comment", "verb": "remove", "post_id": "PAGE_1",
             "comment_id": "PAGE_1_10", "created_time": 1520383571}},
            {"field": "feed", "value": {"from": {"id": "PAGE", "name": "Brand"}, "item": "status", "verb": "add", "post_id": "PAGE_2",
             "message": "New arrivals!", "published": 1, "created_time": 1520383571}},
            {"field": "feed", "value": {"item": "comment", "verb": "add", "post_id": "PAGE_1", "comment_id": "PAGE_1_15",
             "parent_id": "PAGE_1", "message": "no author shared", "created_time": 1520383571}},
            {"field": "ratings", "value": {"item": "rating", "verb": "add", "rating": 5}}
        ]}]}))?;
        assert_eq!(out, vec![]);
        Ok(())
    }

    #[test]
    fn legacy_sender_fields_and_media_only_comments() -> R {
        // Pre-2.11 payloads named the author with sender_id (a number) and sender_name.
        let out = run(&json!({"object": "page", "entry": [{"id": "466148717107957", "time": 1487332214, "changes": [
            {"field": "feed", "value": {"item": "comment", "sender_name": "SC",
             "photo": "https://scontent.example/16715996.jpg", "comment_id": "472823263107169_472849343104561",
             "sender_id": 1234567, "post_id": "466148717107957_472823263107169", "verb": "add",
             "parent_id": "466148717107957_472823263107169", "created_time": 1487332213}}
        ]}]}))?;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].customer.id, "1234567");
        assert_eq!(out[0].customer.name.as_deref(), Some("SC"));
        assert_eq!(out[0].text, "[photo]");
        Ok(())
    }

    #[test]
    fn instagram_direct_messages_and_echoes() -> R {
        let out = run(
            &json!({"object": "instagram", "entry": [{"id": "17841400000000001", "time": 1569262486134i64, "messaging": [
                {"sender": {"id": "IGSID_9"}, "recipient": {"id": "17841400000000001"}, "timestamp": 1569262485349i64,
                 "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx", "text": "Do you ship to Canada?"}},
                {"sender": {"id": "17841400000000001"}, "recipient": {"id": "IGSID_9"}, "timestamp": 1569262486000i64,
                 "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy", "text": "We do!", "is_echo": true}},
                {"sender": {"id": "IGSID_9"}, "recipient": {"id": "17841400000000001"}, "timestamp": 1569262487000i64,
                 "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQz", "is_unsupported": true}},
                {"sender": {"id": "IGSID_9"}, "recipient": {"id": "17841400000000001"}, "timestamp": 1569262488000i64,
                 "read": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy"}}
            ]}]}),
        )?;
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|m| m.network == Network::Instagram && m.visibility == Visibility::Private));
        assert!(out.iter().all(|m| m.customer.id == "IGSID_9" && m.brand_account.id == "17841400000000001"));
        assert_eq!(out[0].direction, Direction::Inbound);
        assert_eq!(out[1].direction, Direction::Outbound);
        assert_eq!(out[2].text, "[unsupported]");
        Ok(())
    }

    #[test]
    fn instagram_comments() -> R {
        // Shape from Meta's Instagram webhook notification examples (comments field).
        let out = run(
            &json!({"object": "instagram", "entry": [{"id": "17841405309211844", "time": 1755779280, "changes": [
                {"field": "comments", "value": {"from": {"id": "232323232", "username": "kim.l", "self_ig_scoped_id": "2105722729836161"},
                 "media": {"id": "18172143295349192", "media_product_type": "FEED"}, "id": "17865799348089039", "text": "Is this in stock?"}},
                {"field": "comments", "value": {"from": {"id": "17841405309211844", "username": "brand"},
                 "media": {"id": "18172143295349192", "media_product_type": "FEED"}, "id": "17865799348089040",
                 "parent_id": "17865799348089039", "text": "@kim.l yes, in all sizes"}},
                {"field": "comments", "value": {"from": {"id": "17841405309211844", "username": "brand"},
                 "media": {"id": "18172143295349192", "media_product_type": "FEED"}, "id": "17865799348089041",
                 "parent_id": "17865799348089000", "text": "@someone thanks!"}},
                {"field": "live_comments", "value": {"from": {"id": "454545", "username": "lee"},
                 "media": {"id": "18000000000000001", "media_product_type": "LIVE"}, "id": "17865799348089042", "text": "sound is off"}},
                {"field": "mentions", "value": {"media_id": "17918195224117851", "comment_id": "17894227972186120"}}
            ]}]}),
        )?;
        assert_eq!(ids(&out), ["17865799348089039", "17865799348089040", "17865799348089042"]);
        let c = &out[0];
        assert_eq!(c.network, Network::Instagram);
        assert_eq!(c.visibility, Visibility::Public);
        assert_eq!(c.direction, Direction::Inbound);
        assert_eq!(c.customer.id, "232323232");
        assert_eq!(c.customer.handle.as_deref(), Some("@kim.l"));
        assert_eq!(c.sent_at.timestamp(), 1755779280);
        assert_eq!(c.in_reply_to, None);
        let reply = &out[1];
        assert_eq!(reply.direction, Direction::Outbound);
        assert_eq!(reply.customer.id, "232323232");
        assert_eq!(reply.in_reply_to.as_deref(), Some("17865799348089039"));
        Ok(())
    }

    #[test]
    fn whatsapp_text_message_from_the_reference() -> R {
        // Meta's "messages webhook reference", incoming text message example.
        let out = run(
            &json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                "messages": [{"from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                              "timestamp": "1749416383", "type": "text", "text": {"body": "Does it come in another color?"}}]},
            "field": "messages"}]}]}),
        )?;
        assert_eq!(out.len(), 1);
        let m = &out[0];
        assert_eq!(m.network, Network::Whatsapp);
        assert_eq!(m.brand_account, AccountRef { id: "106540352242922".into(), name: Some("15550783881".into()) });
        assert_eq!(
            m.customer,
            CustomerRef {
                id: "16505551234".into(),
                handle: Some("+16505551234".into()),
                name: Some("Sheena Nelson".into()),
                followers: None
            }
        );
        assert_eq!(m.direction, Direction::Inbound);
        assert_eq!(m.visibility, Visibility::Private);
        assert_eq!(m.text, "Does it come in another color?");
        assert_eq!(m.sent_at.timestamp(), 1749416383);
        assert_eq!(m.in_reply_to, None);
        assert!(m.validate().is_ok());
        Ok(())
    }

    #[test]
    fn whatsapp_media_interactive_and_skipped_types() -> R {
        let msg = |id: &str, kind: &str, extra: Value| {
            let mut m = json!({"from": "16315551181", "id": id, "timestamp": "1669233778", "type": kind});
            if let (Some(o), Some(e)) = (m.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            m
        };
        let out = run(&json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [
            {"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "16505551111", "phone_number_id": "123456123"},
                "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "16315551181"}],
                "messages": [
                    msg("wamid.IMG", "image", json!({"image": {"caption": "broken screen", "mime_type": "image/jpeg", "sha256": "abc", "id": "IMG1"},
                                                     "context": {"from": "16505551111", "id": "wamid.PREV"}})),
                    msg("wamid.REACT", "reaction", json!({"reaction": {"message_id": "wamid.PREV", "emoji": "\u{1F600}"}})),
                    msg("wamid.BTN", "button", json!({"button": {"text": "Track my order", "payload": "TRACK"}})),
                    msg("wamid.LIST", "interactive", json!({"interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Refund", "description": "Money back"}}})),
                    msg("wamid.LOC", "location", json!({"location": {"latitude": 37.48, "longitude": -122.14, "name": "Store 12", "address": "1 Main St"}})),
                    msg("wamid.DOC", "document", json!({"document": {"filename": "invoice.pdf", "mime_type": "application/pdf", "id": "D1"}})),
                    msg("wamid.AUD", "audio", json!({"audio": {"mime_type": "audio/ogg; codecs=opus", "id": "A1", "voice": true}})),
                    msg("wamid.SYS", "system", json!({"system": {"body": "Kerry changed their number", "type": "user_changed_number"}})),
                    msg("wamid.UNS", "unsupported", json!({"errors": [{"code": 131051, "title": "Message type unknown"}]}))
                ]}},
            {"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "16505551111", "phone_number_id": "123456123"},
                "statuses": [{"id": "wamid.OUT", "status": "delivered", "timestamp": "1669233780", "recipient_id": "16315551181"}]}},
            {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}}
        ]}]}))?;
        let texts: Vec<(&str, &str)> = out.iter().map(|m| (m.platform_message_id.as_str(), m.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                ("wamid.IMG", "[image] broken screen"),
                ("wamid.BTN", "Track my order"),
                ("wamid.LIST", "Refund"),
                ("wamid.LOC", "[location] Store 12, 1 Main St"),
                ("wamid.DOC", "[document] invoice.pdf"),
                ("wamid.AUD", "[audio]"),
                ("wamid.UNS", "[unsupported]"),
            ]
        );
        assert_eq!(out[0].in_reply_to.as_deref(), Some("wamid.PREV"));
        assert!(out.iter().all(|m| m.customer.name.as_deref() == Some("Kerry Fisher")));
        Ok(())
    }

    #[test]
    fn messages_keep_payload_order_across_entries() -> R {
        let dm = |page: &str, mid: &str, ts: i64| {
            json!({"id": page, "time": ts, "messaging": [{"sender": {"id": "U"}, "recipient": {"id": page}, "timestamp": ts,
                   "message": {"mid": mid, "text": "hi"}}]})
        };
        // Later entries carry earlier times: order must follow the payload, not the clock.
        let out = run(
            &json!({"object": "page", "entry": [dm("P1", "m3", 1700000003000i64), dm("P2", "m1", 1700000001000i64), dm("P1", "m2", 1700000002000i64)]}),
        )?;
        assert_eq!(ids(&out), ["m3", "m1", "m2"]);
        assert_eq!(out[1].brand_account.id, "P2");
        Ok(())
    }

    #[test]
    fn malformed_json() {
        for body in [&b""[..], b"{\"object\":", b"not json", b"{\"object\":\"page\",}"] {
            assert!(matches!(parse(body), Err(PayloadError::Malformed(_))), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn instagram_login_puts_one_change_on_the_entry() -> R {
        // Instagram API with Instagram Login: `field`/`value` on the entry, the comment id as
        // `comment_id`.
        let out = run(&json!({"object": "instagram", "entry": [{"id": "17841405309211844", "time": 1755779280,
            "field": "comments", "value": {"from": {"id": "232323232", "username": "kim.l"},
            "media": {"id": "18172143295349192"}, "comment_id": "17865799348089077", "text": "Still waiting"}}]}))?;
        assert_eq!(ids(&out), ["17865799348089077"]);
        assert_eq!(out[0].customer.handle.as_deref(), Some("@kim.l"));
        Ok(())
    }

    #[test]
    fn instagram_mentions_are_kept_for_a_lookup_when_their_ids_are_the_networks() -> R {
        let d = delivery(
            &json!({"object": "instagram", "entry": [{"id": "17841405822304914", "time": 1768465877, "changes": [
                {"field": "mentions", "value": {"comment_id": "17902218834561290", "media_id": "18139902736518204"}},
                {"field": "mentions", "value": {"media_id": "18139902736518204"}},
                {"field": "mentions", "value": {"comment_id": "../../me/accounts", "media_id": "1"}}
            ]}]}),
        )?;
        assert_eq!(
            d.mentions,
            [MentionOf { brand_account: "17841405822304914".into(), comment_id: "17902218834561290".into() }]
        );
        let kinds: Vec<&str> = d.ignored.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, ["mentions", "unattributed"], "a caption mention is counted; a strange id is not used");
        Ok(())
    }

    #[test]
    fn only_a_body_that_is_not_the_envelope_is_refused() {
        for body in [json!([]), json!({"object": "page"}), json!({"object": 7, "entry": []}), json!({"entry": []})] {
            assert!(matches!(run(&body), Err(PayloadError::Shape(_))), "{body}");
        }
    }

    #[test]
    fn events_that_cannot_be_used_are_counted_not_refused() -> R {
        let bodies = [
            json!({"object": "myspace", "entry": []}),
            json!({"object": "page", "entry": [{"time": 1}]}),
            json!({"object": "page", "entry": ["not an entry"]}),
            json!({"object": "page", "entry": [{"id": "P", "messaging": [{"sender": {"id": "U"}, "recipient": {"id": "P"},
                   "timestamp": 1700000000000i64, "message": {"text": "no mid"}}]}]}),
            json!({"object": "page", "entry": [{"id": "P", "messaging": [{"sender": {"id": "U"}, "recipient": {"id": "P"},
                   "message": {"mid": "m", "text": "no timestamp anywhere"}}]}]}),
            json!({"object": "page", "entry": [{"id": "P", "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add",
                   "from": {"id": "U"}, "message": "no comment id", "created_time": 1}}]}]}),
            json!({"object": "instagram", "entry": [{"id": "IG", "time": 1, "changes": [{"field": "comments", "value": {"id": "C", "text": "no from"}}]}]}),
            json!({"object": "instagram", "entry": [{"id": "IG", "changes": [{"field": "comments",
                   "value": {"id": "C", "from": {"id": "U"}, "text": "no entry time"}}]}]}),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages",
                   "value": {"messages": [{"from": "1", "id": "w", "timestamp": "1", "type": "text", "text": {"body": "no metadata"}}]}}]}]}),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages",
                   "value": {"metadata": {"phone_number_id": "1"}, "messages": [{"from": "1", "id": "w", "timestamp": "yesterday", "type": "text"}]}}]}]}),
        ];
        for body in bodies {
            let d = delivery(&body)?;
            assert!(d.messages.is_empty() && d.changes.is_empty(), "{body}: {d:?}");
            assert!(!d.ignored.is_empty(), "{body}: nothing counted");
        }
        Ok(())
    }

    #[test]
    fn empty_deliveries_are_fine() -> R {
        assert_eq!(run(&json!({"object": "page", "entry": []}))?, vec![]);
        assert_eq!(run(&json!({"object": "instagram", "entry": [{"id": "IG", "time": 1}]}))?, vec![]);
        Ok(())
    }
}
