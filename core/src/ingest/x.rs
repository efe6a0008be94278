//! X (Twitter) Account Activity API webhooks: the CRC handshake, signature checks, and
//! `tweet_create_events` (public) and `direct_message_events` (private) as normalized messages.
//!
//! Choices:
//! - The brand is `for_user_id`. Its own tweets and DMs (sent from X's app) are stored as
//!   outbound so they thread as replies. Their customer is the one replied to, else the first
//!   one mentioned; ingest then files a reply under the author of the tweet it answers when that
//!   tweet is stored. A brand tweet that names nobody (an announcement, a retweet) is skipped.
//! - A customer tweet that neither mentions nor replies to the brand (a quote or retweet the
//!   subscription still delivers) is kept with `addressed_to_brand: false`.
//! - The brand account is named by its display name, else `@handle`, from whatever the delivery
//!   carries: the `users` map, its own tweet, or a mention of it.
//! - A deleted tweet (`tweet_delete_events`) deletes the stored message's text, as X's developer
//!   policy asks. Other event kinds (likes, follows, blocks, typing, reads, `user_event`) are
//!   counted as ignored (see [`super::delivery`]); so is an event Chorus cannot read.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::delivery::{Change, Delivery, MessageChange};
use super::normalized::{AccountRef, CustomerRef, NormalizedMessage, Origin};
use super::webhook::{PayloadError, SignatureError, parse_json};
use crate::network::{Direction, Network, Visibility};
use crate::signature::{hmac_sha256, verify_hmac_sha256};

/// The Challenge-Response Check answer, `sha256=` + base64 HMAC-SHA256 of the token with the
/// consumer secret: X sends it on registration and hourly, and stops delivering to a webhook
/// that cannot prove it holds the secret.
pub fn crc_response(consumer_secret: &[u8], crc_token: &str) -> String {
    format!("sha256={}", STANDARD.encode(hmac_sha256(consumer_secret, crc_token.as_bytes())))
}

/// Checks `x-twitter-webhooks-signature: sha256=<base64>`, X's HMAC-SHA256 of the exact body
/// bytes with the consumer secret: it must run before parsing, on the bytes as received.
pub fn verify_signature(consumer_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let b64 = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Invalid)?;
    let mac = STANDARD.decode(b64).map_err(|_| SignatureError::Invalid)?;
    if verify_hmac_sha256(consumer_secret, body, &mac) { Ok(()) } else { Err(SignatureError::Invalid) }
}

/// v1.1 ids have a string form (`id_str`) because they overflow JavaScript numbers; a few
/// places (`for_user_id` in old captures, the `users` map's `id`) have been numbers. Accept both.
fn id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected an id, found {other}"))),
    }
}

/// The parts of a delivery Chorus reads; events are typed one by one, so one Chorus cannot
/// read never costs the others.
fn opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(other) => id(other).map(Some).map_err(serde::de::Error::custom),
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "opt_id")]
    for_user_id: Option<String>,
    #[serde(default)]
    tweet_create_events: Vec<Value>,
    #[serde(default)]
    direct_message_events: Vec<Value>,
    #[serde(default)]
    tweet_delete_events: Vec<Value>,
    #[serde(default)]
    users: HashMap<String, User>,
}

/// A v1.1 user, in a tweet (`id_str`) or in the DM `users` map (`id`).
#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id_str: Option<String>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    screen_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    followers_count: Option<i64>,
}

impl User {
    fn id(&self) -> Option<String> {
        self.id_str.clone().or_else(|| match &self.id {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }

    fn handle(&self) -> Option<String> {
        handle(self.screen_name.as_deref())
    }
}

fn handle(screen_name: Option<&str>) -> Option<String> {
    screen_name.filter(|s| !s.is_empty()).map(|s| format!("@{s}"))
}

/// The name an account is shown by: its display name, else its handle.
fn display(name: Option<&str>, screen_name: Option<&str>) -> Option<String> {
    name.filter(|n| !n.is_empty()).map(str::to_owned).or_else(|| handle(screen_name))
}

#[derive(Deserialize)]
struct Tweet {
    id_str: String,
    #[serde(default)]
    text: Option<String>,
    /// Tweets over 140 characters carry a truncated `text` and the whole of it here.
    #[serde(default)]
    extended_tweet: Option<Extended>,
    user: User,
    #[serde(default)]
    in_reply_to_status_id_str: Option<String>,
    #[serde(default)]
    in_reply_to_user_id_str: Option<String>,
    #[serde(default)]
    in_reply_to_screen_name: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    timestamp_ms: Option<String>,
    #[serde(default)]
    entities: Option<Entities>,
    /// The language X detected (BCP 47, `und` when it could not tell).
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Deserialize)]
struct Extended {
    full_text: String,
    /// A long post's mentions: the truncated `text`'s entities may not reach them.
    #[serde(default)]
    entities: Option<Entities>,
}

#[derive(Deserialize, Default)]
struct Entities {
    #[serde(default)]
    user_mentions: Vec<Mention>,
}

#[derive(Deserialize)]
struct Mention {
    #[serde(default)]
    id_str: Option<String>,
    #[serde(default)]
    screen_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Tweet {
    /// Every mention, the long post's first: they name the same people in the whole text.
    fn mentions(&self) -> Vec<&Mention> {
        let long = self.extended_tweet.as_ref().and_then(|e| e.entities.as_ref());
        long.into_iter().chain(self.entities.as_ref()).flat_map(|e| e.user_mentions.iter()).collect()
    }

    fn mention_of(&self, user_id: &str) -> Option<&Mention> {
        self.mentions().into_iter().find(|m| m.id_str.as_deref() == Some(user_id))
    }

    fn text(&self) -> String {
        self.extended_tweet.as_ref().map(|e| e.full_text.clone()).or_else(|| self.text.clone()).unwrap_or_default()
    }

    /// `timestamp_ms` is exact; `created_at` ("Wed Oct 10 20:19:24 +0000 2018") is the fallback.
    fn sent_at(&self) -> Result<DateTime<Utc>, PayloadError> {
        if let Some(ms) = &self.timestamp_ms {
            return millis(ms);
        }
        let created = self
            .created_at
            .as_deref()
            .ok_or_else(|| PayloadError::Shape(format!("tweet {} without created_at or timestamp_ms", self.id_str)))?;
        DateTime::parse_from_str(created, "%a %b %d %H:%M:%S %z %Y")
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| PayloadError::Shape(format!("bad created_at {created:?}")))
    }
}

#[derive(Deserialize)]
struct DmEvent {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    created_timestamp: Option<String>,
    #[serde(default)]
    message_create: Option<MessageCreate>,
}

#[derive(Deserialize)]
struct MessageCreate {
    sender_id: String,
    target: Target,
    message_data: MessageData,
}

#[derive(Deserialize)]
struct Target {
    recipient_id: String,
}

#[derive(Deserialize)]
struct MessageData {
    #[serde(default)]
    text: String,
}

fn millis(s: &str) -> Result<DateTime<Utc>, PayloadError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| PayloadError::Shape(format!("bad timestamp {s:?}")))
}

/// Parses one delivery: tweets, then direct messages, in payload order; tweet deletions; and
/// the events Chorus does not use, counted. Any JSON object is X's envelope: a delivery with no
/// `for_user_id` (a `user_event`: someone revoked the app) is counted, not refused.
pub fn parse(body: &[u8]) -> Result<Delivery, PayloadError> {
    let value: Value = parse_json(body)?;
    let Some(raw) = value.as_object() else {
        return Err(PayloadError::Shape("an Account Activity delivery is a JSON object".into()));
    };
    let mut out = Delivery::default();
    let Ok(env) = Envelope::deserialize(&value) else {
        out.ignore(Network::X, "unattributed");
        return Ok(out);
    };
    for (key, value) in raw {
        let used = matches!(
            key.as_str(),
            "for_user_id"
                | "tweet_create_events"
                | "direct_message_events"
                | "tweet_delete_events"
                | "users"
                | "apps"
                | "source"
                | "user_has_blocked"
        );
        if !used {
            // One count per event in the list (`favorite_events: [..]`), or one for the object.
            let n = value.as_array().map_or(1, Vec::len);
            for _ in 0..n {
                out.ignore(Network::X, key);
            }
        }
    }
    let Some(brand) = env.for_user_id.as_deref() else {
        // Nobody to file them under: counted, never guessed.
        let events = env.tweet_create_events.len() + env.direct_message_events.len() + env.tweet_delete_events.len();
        for _ in 0..events {
            out.ignore(Network::X, "unattributed");
        }
        return Ok(out);
    };
    // Each tweet typed once: the brand's name may come from any of them.
    let tweets: Vec<Option<Tweet>> = env.tweet_create_events.iter().map(|t| Tweet::deserialize(t).ok()).collect();
    let brand_name = brand_name(&env, &tweets, brand);
    let account = AccountRef { id: brand.to_owned(), name: brand_name };
    for t in &tweets {
        match t {
            Some(t) => tweet(t, brand, &account, &mut out),
            None => out.ignore(Network::X, "unattributed"),
        }
    }
    for raw_dm in &env.direct_message_events {
        match DmEvent::deserialize(raw_dm) {
            Ok(e) => direct_message(&e, brand, &account, &env.users, &mut out),
            Err(_) => out.ignore(Network::X, "unattributed"),
        }
    }
    for d in &env.tweet_delete_events {
        let id = d.get("status").and_then(|s| s.get("id").or_else(|| s.get("id_str"))).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let at = d.get("timestamp_ms").and_then(|t| match t {
            Value::String(s) => millis(s).ok(),
            Value::Number(n) => n.as_i64().and_then(DateTime::from_timestamp_millis),
            _ => None,
        });
        match (id, at) {
            (Some(id), Some(at)) => out.changes.push(MessageChange {
                network: Network::X,
                brand_account: brand.to_owned(),
                platform_message_id: id,
                change: Change::Deleted,
                at,
            }),
            _ => out.ignore(Network::X, "unattributed"),
        }
    }
    Ok(out)
}

/// A tweet: the brand's own (to the customer it answers or names first), else a customer's.
fn tweet(t: &Tweet, brand: &str, account: &AccountRef, out: &mut Delivery) {
    let (Some(author), Ok(sent_at)) = (t.user.id(), t.sent_at()) else {
        out.ignore(Network::X, "tweet_without_author");
        return;
    };
    let (direction, customer, addressed, origin) = if author == brand {
        // The brand tweeting from X's own app: to the customer it replies to, else the one it
        // mentions first (a self-thread's "2/2 @customer …"); an announcement has nobody.
        let Some(customer) = t
            .in_reply_to_user_id_str
            .as_deref()
            .filter(|c| *c != brand)
            .or_else(|| t.mentions().into_iter().filter_map(|m| m.id_str.as_deref()).find(|id| *id != brand))
        else {
            out.ignore(Network::X, "brand_post");
            return;
        };
        let mention = t.mention_of(customer);
        let customer = CustomerRef {
            id: customer.to_owned(),
            handle: handle(mention.and_then(|m| m.screen_name.as_deref()).or(
                t.in_reply_to_screen_name.as_deref().filter(|_| t.in_reply_to_user_id_str.as_deref() == Some(customer)),
            )),
            name: mention.and_then(|m| m.name.clone()),
            followers: None,
        };
        (Direction::Outbound, customer, true, Some(Origin::BrandApp))
    } else {
        let addressed = t.mention_of(brand).is_some() || t.in_reply_to_user_id_str.as_deref() == Some(brand);
        let customer = CustomerRef {
            id: author,
            handle: t.user.handle(),
            name: t.user.name.clone(),
            followers: t.user.followers_count,
        };
        (Direction::Inbound, customer, addressed, None)
    };
    out.messages.push(NormalizedMessage {
        network: Network::X,
        brand_account: account.clone(),
        customer,
        direction,
        visibility: Visibility::Public,
        platform_message_id: t.id_str.clone(),
        in_reply_to: t.in_reply_to_status_id_str.clone(),
        text: t.text(),
        sent_at,
        addressed_to_brand: addressed,
        language: t.lang.clone(),
        origin,
    });
}

/// A direct message event: `message_create` in either direction; other types are counted.
fn direct_message(e: &DmEvent, brand: &str, account: &AccountRef, users: &HashMap<String, User>, out: &mut Delivery) {
    if e.kind != "message_create" {
        out.ignore(Network::X, "other");
        return;
    }
    let (Some(mc), Some(sent_at)) = (&e.message_create, e.created_timestamp.as_deref().and_then(|c| millis(c).ok()))
    else {
        out.ignore(Network::X, "unattributed");
        return;
    };
    let (direction, customer, origin) = if mc.sender_id == brand {
        (Direction::Outbound, mc.target.recipient_id.as_str(), Some(Origin::BrandApp))
    } else {
        (Direction::Inbound, mc.sender_id.as_str(), None)
    };
    let user = users.get(customer);
    out.messages.push(NormalizedMessage {
        network: Network::X,
        brand_account: account.clone(),
        customer: CustomerRef {
            id: customer.to_owned(),
            handle: user.and_then(User::handle),
            name: user.and_then(|u| u.name.clone()),
            followers: user.and_then(|u| u.followers_count),
        },
        direction,
        visibility: Visibility::Private,
        platform_message_id: e.id.clone(),
        in_reply_to: None,
        text: mc.message_data.text.clone(),
        sent_at,
        addressed_to_brand: true,
        language: None,
        origin,
    });
}

/// The brand's name from the first place in the delivery that describes it.
fn brand_name(env: &Envelope, tweets: &[Option<Tweet>], brand: &str) -> Option<String> {
    if let Some(u) = env.users.get(brand) {
        return display(u.name.as_deref(), u.screen_name.as_deref());
    }
    tweets.iter().flatten().find_map(|t| {
        if t.user.id().as_deref() == Some(brand) {
            return display(t.user.name.as_deref(), t.user.screen_name.as_deref());
        }
        if let Some(m) = t.mention_of(brand) {
            return display(m.name.as_deref(), m.screen_name.as_deref());
        }
        (t.in_reply_to_user_id_str.as_deref() == Some(brand)).then(|| handle(t.in_reply_to_screen_name.as_deref()))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn run(body: &Value) -> Result<Vec<NormalizedMessage>, PayloadError> {
        parse(body.to_string().as_bytes()).map(|d| d.messages)
    }

    #[test]
    fn crc_known_answers() {
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"secret",b"token",hashlib.sha256).digest()).decode())'
        assert_eq!(crc_response(b"secret", "token"), "sha256=6UERDj0r/oJiHw4+FDRzDXMF0QbF9oyHFl0LJ6RhGko=");
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"TEST_CONSUMER_SECRET",
        //   b"challenge_token_123",hashlib.sha256).digest()).decode())'
        assert_eq!(
            crc_response(b"TEST_CONSUMER_SECRET", "challenge_token_123"),
            "sha256=njM5AtEzx69kP3u+xF1EGTn0Yv0y82VUHEH//VilSyQ="
        );
        assert_ne!(
            crc_response(b"TEST_CONSUMER_SECRET", "challenge_token_124"),
            crc_response(b"TEST_CONSUMER_SECRET", "challenge_token_123")
        );
    }

    #[test]
    fn signature_known_answer() {
        let body = br#"{"for_user_id":"2244994945","favorite_events":[]}"#;
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"consumer-secret-xyz",
        //   b"{\"for_user_id\":\"2244994945\",\"favorite_events\":[]}",hashlib.sha256).digest()).decode())'
        let good = "sha256=QNwjU44STYJsI1e2KqICDD3QublFduS6EzGNRwpheZw=";
        assert_eq!(verify_signature(b"consumer-secret-xyz", body, Some(good)), Ok(()));
        assert_eq!(verify_signature(b"consumer-secret-xyz", body, Some(&format!(" {good} "))), Ok(()));
        assert_eq!(verify_signature(b"consumer-secret-xyw", body, Some(good)), Err(SignatureError::Invalid));
        assert_eq!(
            verify_signature(
                b"consumer-secret-xyz",
                br#"{"for_user_id":"2244994946","favorite_events":[]}"#,
                Some(good)
            ),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn signature_missing_or_malformed() {
        let body = br#"{"for_user_id":"1"}"#;
        let mac = hmac_sha256(b"k", body);
        assert_eq!(verify_signature(b"k", body, Some(&format!("sha256={}", STANDARD.encode(mac)))), Ok(()));
        assert_eq!(verify_signature(b"k", body, None), Err(SignatureError::Missing));
        assert_eq!(verify_signature(b"k", body, Some("")), Err(SignatureError::Invalid));
        assert_eq!(verify_signature(b"k", body, Some("sha256=!!")), Err(SignatureError::Invalid));
        // Meta's hex form, or X's base64 without the prefix, is not X's header.
        assert_eq!(
            verify_signature(b"k", body, Some(&format!("sha256={}", hex::encode(mac)))),
            Err(SignatureError::Invalid)
        );
        assert_eq!(verify_signature(b"k", body, Some(&STANDARD.encode(mac))), Err(SignatureError::Invalid));
        assert_eq!(
            verify_signature(b"k", body, Some(&format!("sha256={}", STANDARD.encode(&mac[..31])))),
            Err(SignatureError::Invalid)
        );
    }

    /// A mention, a brand reply, a brand announcement, a self-thread, an unaddressed quote.
    fn tweets() -> Value {
        json!({"for_user_id": "2244994945", "user_has_blocked": "false", "tweet_create_events": [
            {"created_at": "Wed Oct 10 20:19:24 +0000 2018", "id": 1050118621198921728u64, "id_str": "1050118621198921728",
             "text": "@TwitterDev where is my package? Ordered two weeks ago", "truncated": false,
             "in_reply_to_status_id": null, "in_reply_to_status_id_str": null, "in_reply_to_user_id_str": null,
             "user": {"id": 6253282, "id_str": "6253282", "name": "Twitter API", "screen_name": "TwitterAPI", "followers_count": 6133636},
             "entities": {"hashtags": [], "urls": [], "user_mentions": [
                 {"screen_name": "TwitterDev", "name": "Twitter Dev", "id": 2244994945u64, "id_str": "2244994945", "indices": [0, 11]}]}},
            {"created_at": "Wed Oct 10 20:20:24 +0000 2018", "id_str": "1050118621198921729", "timestamp_ms": "1539202824123",
             "text": "@TwitterAPI so sorry! Please DM us your order number", "in_reply_to_status_id_str": "1050118621198921728",
             "in_reply_to_user_id_str": "6253282", "in_reply_to_screen_name": "TwitterAPI",
             "user": {"id_str": "2244994945", "screen_name": "TwitterDev", "name": "Twitter Dev"},
             "entities": {"user_mentions": [{"screen_name": "TwitterAPI", "name": "Twitter API", "id_str": "6253282"}]}},
            {"created_at": "Wed Oct 10 20:21:24 +0000 2018", "id_str": "3", "text": "we shipped a thing",
             "user": {"id_str": "2244994945", "screen_name": "TwitterDev"}},
            {"created_at": "Wed Oct 10 20:21:30 +0000 2018", "id_str": "4", "text": "2/ and another", "in_reply_to_status_id_str": "3",
             "in_reply_to_user_id_str": "2244994945", "in_reply_to_screen_name": "TwitterDev",
             "user": {"id_str": "2244994945", "screen_name": "TwitterDev"}},
            {"created_at": "Wed Oct 10 20:22:24 +0000 2018", "id_str": "5", "text": "flying tomorrow, hope no delays", "truncated": true,
             "extended_tweet": {"full_text": "flying tomorrow, hope no delays this time, last trip was a mess", "entities": {"user_mentions": []}},
             "user": {"id_str": "77", "screen_name": "traveller", "followers_count": 12}}
        ]})
    }

    #[test]
    fn tweet_mention_and_unaddressed_tweet_are_inbound() -> R {
        let out = run(&tweets())?;
        let ids: Vec<&str> = out.iter().map(|m| m.platform_message_id.as_str()).collect();
        assert_eq!(ids, ["1050118621198921728", "1050118621198921729", "5"]);
        let m = &out[0];
        assert_eq!(m.network, Network::X);
        assert_eq!(m.visibility, Visibility::Public);
        assert_eq!(m.direction, Direction::Inbound);
        assert!(m.addressed_to_brand);
        assert_eq!(
            m.customer,
            CustomerRef {
                id: "6253282".into(),
                handle: Some("@TwitterAPI".into()),
                name: Some("Twitter API".into()),
                followers: Some(6133636)
            }
        );
        assert_eq!(m.brand_account, AccountRef { id: "2244994945".into(), name: Some("Twitter Dev".into()) });
        assert_eq!(m.sent_at.to_rfc3339(), "2018-10-10T20:19:24+00:00");
        assert_eq!(m.in_reply_to, None);
        let quote = &out[2];
        assert_eq!(quote.text, "flying tomorrow, hope no delays this time, last trip was a mess");
        assert!(!quote.addressed_to_brand);
        assert!(out.iter().all(|m| m.validate().is_ok()));
        Ok(())
    }

    #[test]
    fn a_self_thread_that_mentions_a_customer_is_outbound_to_them() -> R {
        let out = run(&json!({"for_user_id": "2244994945", "tweet_create_events": [
            {"created_at": "Wed Oct 10 20:21:30 +0000 2018", "id_str": "6", "text": "2/2 @TwitterAPI the refund is on its way",
             "in_reply_to_status_id_str": "1050118621198921729", "in_reply_to_user_id_str": "2244994945",
             "in_reply_to_screen_name": "TwitterDev", "user": {"id_str": "2244994945", "screen_name": "TwitterDev"},
             "entities": {"user_mentions": [{"screen_name": "TwitterAPI", "name": "Twitter API", "id_str": "6253282"}]}}]}))?;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].direction, Direction::Outbound);
        assert_eq!(out[0].customer.id, "6253282");
        assert_eq!(out[0].customer.handle.as_deref(), Some("@TwitterAPI"));
        Ok(())
    }

    #[test]
    fn brand_reply_is_outbound_to_the_replied_user() -> R {
        let out = run(&tweets())?;
        let reply = &out[1];
        assert_eq!(reply.direction, Direction::Outbound);
        assert_eq!(reply.customer.id, "6253282");
        assert_eq!(reply.customer.handle.as_deref(), Some("@TwitterAPI"));
        assert_eq!(reply.customer.name.as_deref(), Some("Twitter API"));
        assert_eq!(reply.in_reply_to.as_deref(), Some("1050118621198921728"));
        assert_eq!(reply.sent_at.timestamp_millis(), 1539202824123, "timestamp_ms wins over created_at");
        assert!(reply.addressed_to_brand);
        Ok(())
    }

    #[test]
    fn reply_to_the_brand_without_a_mention_is_addressed() -> R {
        let out = run(&json!({"for_user_id": "42", "tweet_create_events": [
            {"created_at": "Thu Nov 20 10:05:00 +0000 2025", "id_str": "9", "text": "still broken",
             "in_reply_to_status_id_str": "8", "in_reply_to_user_id_str": "42", "in_reply_to_screen_name": "BrandCare",
             "user": {"id_str": "7", "screen_name": "pat"}}
        ]}))?;
        assert_eq!(out.len(), 1);
        assert!(out[0].addressed_to_brand);
        assert_eq!(out[0].in_reply_to.as_deref(), Some("8"));
        assert_eq!(
            out[0].brand_account.name.as_deref(),
            Some("@BrandCare"),
            "named from the reply when nothing better"
        );
        Ok(())
    }

    /// The Account Activity data objects example for a received and a sent DM.
    fn dms() -> Value {
        json!({"for_user_id": "4337869213", "direct_message_events": [
            {"type": "message_create", "id": "954491830116155396", "created_timestamp": "1516403560557",
             "message_create": {"target": {"recipient_id": "4337869213"}, "sender_id": "3001969357", "source_app_id": "13090192",
                                "message_data": {"text": "Hello World!", "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}}}},
            {"type": "message_create", "id": "954491830116155397", "created_timestamp": "1516403561000",
             "message_create": {"target": {"recipient_id": "3001969357"}, "sender_id": "4337869213", "message_data": {"text": "Hi! How can we help?"}}}
        ], "apps": {"13090192": {"id": "13090192", "name": "FuriousCamperTestApp1943", "url": "https://twitter.com/furiouscamper"}},
        "users": {
            "3001969357": {"id": "3001969357", "created_timestamp": "1422556069340", "name": "Jordan Brinks", "screen_name": "furiouscamper",
                           "location": "Boulder, CO", "protected": false, "verified": false, "followers_count": 22, "friends_count": 45},
            "4337869213": {"id": "4337869213", "created_timestamp": "1448312972328", "name": "Harrison Test", "screen_name": "Harris_0ff",
                           "followers_count": 8, "friends_count": 8}
        }})
    }

    #[test]
    fn direct_messages_in_and_out() -> R {
        let out = run(&dms())?;
        assert_eq!(out.len(), 2);
        let inbound = &out[0];
        assert_eq!(inbound.platform_message_id, "954491830116155396");
        assert_eq!(inbound.visibility, Visibility::Private);
        assert_eq!(inbound.direction, Direction::Inbound);
        assert_eq!(
            inbound.customer,
            CustomerRef {
                id: "3001969357".into(),
                handle: Some("@furiouscamper".into()),
                name: Some("Jordan Brinks".into()),
                followers: Some(22)
            }
        );
        assert_eq!(inbound.brand_account, AccountRef { id: "4337869213".into(), name: Some("Harrison Test".into()) });
        assert_eq!(inbound.text, "Hello World!");
        assert_eq!(inbound.sent_at.timestamp_millis(), 1516403560557);
        assert!(inbound.addressed_to_brand);
        let outbound = &out[1];
        assert_eq!(outbound.direction, Direction::Outbound);
        assert_eq!(outbound.customer.id, "3001969357");
        assert_eq!(outbound.customer.handle.as_deref(), Some("@furiouscamper"));
        Ok(())
    }

    #[test]
    fn other_events_are_skipped() -> R {
        let out = run(&json!({"for_user_id": "2244994945",
            "favorite_events": [{"id": "a7ba59eab0bfcba386f7acedac279542", "created_at": "Mon Mar 26 16:33:26 +0000 2018",
                                 "timestamp_ms": 1522082006140u64, "favorited_status": {"id_str": "1"}, "user": {"id_str": "1"}}],
            "follow_events": [{"type": "follow", "created_timestamp": "1517588749178", "target": {"id": "2244994945"}, "source": {"id": "1"}}],
            "direct_message_indicate_typing_events": [{"created_timestamp": "1518127183443", "sender_id": "1", "target": {"recipient_id": "2244994945"}}],
            "direct_message_mark_read_events": [{"created_timestamp": "1518452444662", "sender_id": "1", "target": {"recipient_id": "2244994945"}, "last_read_event_id": "1"}],
            "tweet_delete_events": [{"status": {"id": "1", "user_id": "1"}, "timestamp_ms": "1"}],
            "direct_message_events": [{"type": "welcome_message_rule", "id": "w1"}]
        }))?;
        assert_eq!(out, vec![]);
        Ok(())
    }

    #[test]
    fn malformed_json() {
        for body in [&b""[..], b"nope", b"{\"for_user_id\":", b"{\"for_user_id\":\"1\",}"] {
            assert!(matches!(parse(body), Err(PayloadError::Malformed(_))), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn wrong_shapes() {
        let tweet = |extra: Value| {
            let mut t = json!({"id_str": "1", "text": "hi", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "user": {"id_str": "7"}});
            if let (Some(o), Some(e)) = (t.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            json!({"for_user_id": "1", "tweet_create_events": [t]})
        };
        assert!(matches!(run(&json!([])), Err(PayloadError::Shape(_))), "not an object is not X's envelope");
        let bodies = [
            json!({"tweet_create_events": [{"id_str": "1"}]}),
            json!({"for_user_id": true}),
            json!({"for_user_id": "1", "tweet_create_events": [{"id_str": "1", "text": "no user"}]}),
            json!({"for_user_id": "1", "tweet_create_events": {"id_str": "1"}}),
            tweet(json!({"user": {"screen_name": "no_id"}})),
            tweet(json!({"created_at": "yesterday"})),
            tweet(json!({"created_at": null})),
            tweet(json!({"timestamp_ms": "soon"})),
            json!({"for_user_id": "1", "direct_message_events": [{"type": "message_create", "id": "d", "created_timestamp": "1516403560557"}]}),
            json!({"for_user_id": "1", "direct_message_events": [{"type": "message_create", "id": "d",
                   "message_create": {"target": {"recipient_id": "1"}, "sender_id": "2", "message_data": {"text": "no time"}}}]}),
            json!({"for_user_id": "1", "direct_message_events": [{"type": "message_create", "id": "d", "created_timestamp": "1516403560557",
                   "message_create": {"sender_id": "2", "message_data": {"text": "no target"}}}]}),
            json!({"user_event": {"revoke": {"date_time": "2018-05-24T09:48:12+00:00", "target": {"app_id": "13090192"},
                   "source": {"user_id": "63046977"}}}}),
        ];
        for body in bodies {
            let d = parse(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{body}: refused: {e}"));
            assert!(d.messages.is_empty(), "{body}: {d:?}");
            assert!(!d.ignored.is_empty(), "{body}: nothing counted");
        }
        assert!(run(&tweet(json!({}))).is_ok(), "the base tweet of the shape cases is itself valid");
    }

    #[test]
    fn numeric_for_user_id_is_accepted() -> R {
        let out = run(&json!({"for_user_id": 2244994945u64, "tweet_create_events": [
            {"id_str": "1", "text": "@TwitterDev hi", "timestamp_ms": "1539202824000", "user": {"id_str": "7"},
             "entities": {"user_mentions": [{"id_str": "2244994945", "screen_name": "TwitterDev"}]}}]}))?;
        assert_eq!(out[0].brand_account, AccountRef { id: "2244994945".into(), name: Some("@TwitterDev".into()) });
        assert!(out[0].addressed_to_brand);
        Ok(())
    }
}
