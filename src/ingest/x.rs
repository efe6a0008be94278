//! X (Twitter) Account Activity webhooks: the CRC handshake, signature checks, and
//! `tweet_create_events` (public) and `direct_message_events` (private) as normalized messages.
//!
//! The brand is `for_user_id`. Its own tweets and DMs are stored as outbound (sent from X's app)
//! so they thread as replies; a brand tweet that answers nobody has no customer and is skipped.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::normalized::{AccountRef, CustomerRef, Direction, Network, NormalizedMessage, Visibility};
use super::webhook::{PayloadError, SignatureError, hmac_sha256, parse_json, verify_hmac_sha256};

/// The CRC answer: `sha256=` + base64 HMAC-SHA256 of the token with the consumer secret.
pub fn crc_response(consumer_secret: &[u8], crc_token: &str) -> String {
    format!("sha256={}", STANDARD.encode(hmac_sha256(consumer_secret, crc_token.as_bytes())))
}

/// Checks `x-twitter-webhooks-signature: sha256=<base64>` over the raw body.
pub fn verify_signature(consumer_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let b64 = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Invalid)?;
    let mac = STANDARD.decode(b64).map_err(|_| SignatureError::Invalid)?;
    if verify_hmac_sha256(consumer_secret, body, &mac) { Ok(()) } else { Err(SignatureError::Invalid) }
}

#[derive(Deserialize)]
struct Envelope {
    for_user_id: String,
    #[serde(default)]
    tweet_create_events: Vec<Tweet>,
    #[serde(default)]
    direct_message_events: Vec<DmEvent>,
    #[serde(default)]
    users: HashMap<String, User>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id_str: Option<String>,
    #[serde(default)]
    id: Option<serde_json::Value>,
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
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }
}

#[derive(Deserialize)]
struct Tweet {
    id_str: String,
    #[serde(default)]
    text: Option<String>,
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
}

#[derive(Deserialize)]
struct Extended {
    full_text: String,
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
}

#[derive(Deserialize)]
struct DmEvent {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    created_timestamp: String,
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
    s.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| PayloadError::Shape(format!("bad timestamp {s:?}")))
}

fn tweet_time(t: &Tweet) -> Result<DateTime<Utc>, PayloadError> {
    if let Some(ms) = &t.timestamp_ms {
        return millis(ms);
    }
    let created = t.created_at.as_deref().ok_or_else(|| PayloadError::Shape("tweet without a timestamp".into()))?;
    DateTime::parse_from_str(created, "%a %b %d %H:%M:%S %z %Y")
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| PayloadError::Shape(format!("bad created_at {created:?}")))
}

/// Parses one delivery into messages, in payload order.
pub fn parse(body: &[u8]) -> Result<Vec<NormalizedMessage>, PayloadError> {
    let env: Envelope = parse_json(body)?;
    let brand = env.for_user_id.clone();
    let brand_name = |fallback: Option<&User>| {
        env.users
            .get(&brand)
            .or(fallback)
            .and_then(|u| u.screen_name.clone().map(|s| format!("@{s}")).or_else(|| u.name.clone()))
    };
    let mut out = Vec::new();
    for t in &env.tweet_create_events {
        let author = t.user.id().ok_or_else(|| PayloadError::Shape("tweet user without id".into()))?;
        let text =
            t.extended_tweet.as_ref().map(|e| e.full_text.clone()).or_else(|| t.text.clone()).unwrap_or_default();
        let sent_at = tweet_time(t)?;
        if author == brand {
            // The brand tweeting from X's own app: a reply to a customer, or nothing to thread.
            let Some(customer) = t.in_reply_to_user_id_str.clone().filter(|c| *c != brand) else { continue };
            out.push(NormalizedMessage {
                network: Network::X,
                brand_account: AccountRef { id: brand.clone(), name: brand_name(Some(&t.user)) },
                customer: CustomerRef {
                    id: customer,
                    handle: t.in_reply_to_screen_name.as_ref().map(|s| format!("@{s}")),
                    name: None,
                    followers: None,
                },
                direction: Direction::Outbound,
                visibility: Visibility::Public,
                platform_message_id: t.id_str.clone(),
                in_reply_to: t.in_reply_to_status_id_str.clone(),
                text,
                sent_at,
                addressed_to_brand: true,
            });
            continue;
        }
        let mentioned =
            t.entities.as_ref().is_some_and(|e| e.user_mentions.iter().any(|m| m.id_str.as_deref() == Some(&brand)));
        let replied = t.in_reply_to_user_id_str.as_deref() == Some(&brand);
        out.push(NormalizedMessage {
            network: Network::X,
            brand_account: AccountRef { id: brand.clone(), name: brand_name(None) },
            customer: CustomerRef {
                id: author,
                handle: t.user.screen_name.as_ref().map(|s| format!("@{s}")),
                name: t.user.name.clone(),
                followers: t.user.followers_count,
            },
            direction: Direction::Inbound,
            visibility: Visibility::Public,
            platform_message_id: t.id_str.clone(),
            in_reply_to: t.in_reply_to_status_id_str.clone(),
            text,
            sent_at,
            addressed_to_brand: mentioned || replied,
        });
    }
    for e in &env.direct_message_events {
        if e.kind != "message_create" {
            continue;
        }
        let mc = e
            .message_create
            .as_ref()
            .ok_or_else(|| PayloadError::Shape("message_create event without message_create".into()))?;
        let (direction, customer) = if mc.sender_id == brand {
            (Direction::Outbound, mc.target.recipient_id.clone())
        } else {
            (Direction::Inbound, mc.sender_id.clone())
        };
        let user = env.users.get(&customer);
        out.push(NormalizedMessage {
            network: Network::X,
            brand_account: AccountRef { id: brand.clone(), name: brand_name(None) },
            customer: CustomerRef {
                id: customer.clone(),
                handle: user.and_then(|u| u.screen_name.as_ref().map(|s| format!("@{s}"))),
                name: user.and_then(|u| u.name.clone()),
                followers: user.and_then(|u| u.followers_count),
            },
            direction,
            visibility: Visibility::Private,
            platform_message_id: e.id.clone(),
            in_reply_to: None,
            text: mc.message_data.text.clone(),
            sent_at: millis(&e.created_timestamp)?,
            addressed_to_brand: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type R = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn crc_known_answer() {
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"secret",b"token",hashlib.sha256).digest()).decode())'
        assert_eq!(crc_response(b"secret", "token"), "sha256=6UERDj0r/oJiHw4+FDRzDXMF0QbF9oyHFl0LJ6RhGko=");
    }

    #[test]
    fn signatures() {
        let body = br#"{"for_user_id":"1"}"#;
        let good = format!("sha256={}", STANDARD.encode(hmac_sha256(b"k", body)));
        assert_eq!(verify_signature(b"k", body, Some(&good)), Ok(()));
        assert_eq!(verify_signature(b"k", body, None), Err(SignatureError::Missing));
        assert_eq!(verify_signature(b"other", body, Some(&good)), Err(SignatureError::Invalid));
        assert_eq!(verify_signature(b"k", body, Some("sha256=!!")), Err(SignatureError::Invalid));
        assert_eq!(
            verify_signature(b"k", body, Some(&hex::encode(hmac_sha256(b"k", body)))),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn tweets() -> R {
        let body = json!({"for_user_id": "2244994945", "tweet_create_events": [
            {"created_at": "Wed Oct 10 20:19:24 +0000 2018", "id_str": "1050118621198921728",
             "text": "@TwitterDev where is my package?", "user": {"id_str": "6253282", "screen_name": "api", "name": "API", "followers_count": 21},
             "entities": {"user_mentions": [{"id_str": "2244994945", "screen_name": "TwitterDev"}]}},
            {"created_at": "Wed Oct 10 20:20:24 +0000 2018", "id_str": "1050118621198921729", "timestamp_ms": "1539202824000",
             "text": "@api sorry! DM us", "in_reply_to_status_id_str": "1050118621198921728", "in_reply_to_user_id_str": "6253282",
             "in_reply_to_screen_name": "api", "user": {"id_str": "2244994945", "screen_name": "TwitterDev"}},
            {"created_at": "Wed Oct 10 20:21:24 +0000 2018", "id_str": "3", "text": "we shipped a thing", "user": {"id_str": "2244994945"}},
            {"created_at": "Wed Oct 10 20:22:24 +0000 2018", "id_str": "4", "text": "flying tomorrow, hope no delays",
             "extended_tweet": {"full_text": "flying tomorrow, hope no delays this time"}, "user": {"id_str": "77"}}
        ]});
        let out = parse(body.to_string().as_bytes())?;
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].direction, Direction::Inbound);
        assert!(out[0].addressed_to_brand);
        assert_eq!(out[0].customer.followers, Some(21));
        assert_eq!(out[0].sent_at.to_rfc3339(), "2018-10-10T20:19:24+00:00");
        assert_eq!(out[1].direction, Direction::Outbound);
        assert_eq!(out[1].customer.id, "6253282");
        assert_eq!(out[1].in_reply_to.as_deref(), Some("1050118621198921728"));
        assert_eq!(out[1].brand_account.name.as_deref(), Some("@TwitterDev"));
        assert_eq!(out[2].text, "flying tomorrow, hope no delays this time");
        assert!(!out[2].addressed_to_brand);
        Ok(())
    }

    #[test]
    fn direct_messages() -> R {
        let body = json!({"for_user_id": "4337869213", "direct_message_events": [
            {"type": "message_create", "id": "954491830116155396", "created_timestamp": "1516403560557",
             "message_create": {"target": {"recipient_id": "4337869213"}, "sender_id": "3001969357", "message_data": {"text": "Hello World!", "entities": {}}}},
            {"type": "message_create", "id": "954491830116155397", "created_timestamp": "1516403560999",
             "message_create": {"target": {"recipient_id": "3001969357"}, "sender_id": "4337869213", "message_data": {"text": "Hi!"}}}
        ], "users": {
            "3001969357": {"id": "3001969357", "name": "Jordan Brinks", "screen_name": "furiouscamper", "followers_count": 22},
            "4337869213": {"id": "4337869213", "name": "Harrison Test", "screen_name": "Harris_0ff"}
        }, "favorite_events": [{"id": "x"}]});
        let out = parse(body.to_string().as_bytes())?;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].visibility, Visibility::Private);
        assert_eq!(out[0].customer.handle.as_deref(), Some("@furiouscamper"));
        assert_eq!(out[0].brand_account.name.as_deref(), Some("@Harris_0ff"));
        assert_eq!(out[0].sent_at.timestamp_millis(), 1516403560557);
        assert_eq!(out[1].direction, Direction::Outbound);
        assert_eq!(out[1].customer.id, "3001969357");
        Ok(())
    }

    #[test]
    fn bad_bodies_and_other_events() {
        assert!(matches!(parse(b"nope"), Err(PayloadError::Malformed(_))));
        assert!(matches!(parse(br#"{"tweet_create_events":[]}"#), Err(PayloadError::Shape(_))));
        assert!(matches!(
            parse(br#"{"for_user_id":"1","tweet_create_events":[{"id_str":"1"}]}"#),
            Err(PayloadError::Shape(_))
        ));
        assert_eq!(parse(br#"{"for_user_id":"1","follow_events":[{"type":"follow"}]}"#), Ok(vec![]));
    }
}
