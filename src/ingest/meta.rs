//! Meta's webhooks: Facebook Page feed comments and Messenger, Instagram comments and direct
//! messages, and the WhatsApp Cloud API, turned into normalized messages.
//!
//! Choices: the brand's own feed or Instagram comments carry no customer in the payload (only
//! the parent comment's id), so they are skipped here; the brand's Messenger/Instagram messages
//! arrive as echoes naming the recipient and are stored as outbound. Events Chorus does not use
//! (deliveries, reads, reactions, likes, edits, statuses) are ignored, not errors.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::normalized::{AccountRef, CustomerRef, Direction, Network, NormalizedMessage, Visibility};
use super::webhook::{PayloadError, SignatureError, parse_json, verify_hmac_sha256};

/// Meta's subscription handshake: echo `hub.challenge` when the mode is `subscribe` and the
/// verify token matches (compared in constant time).
pub fn verify_challenge(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected: &str,
) -> Option<String> {
    let token_ok: bool = token.is_some_and(|t| t.as_bytes().ct_eq(expected.as_bytes()).into());
    (mode == Some("subscribe") && token_ok && !expected.is_empty()).then(|| challenge.unwrap_or_default().to_owned())
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_mac = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Invalid)?;
    let mac = hex::decode(hex_mac).map_err(|_| SignatureError::Invalid)?;
    if verify_hmac_sha256(app_secret, body, &mac) { Ok(()) } else { Err(SignatureError::Invalid) }
}

/// Ids arrive as strings, but a few fields have been seen as numbers: accept both.
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

#[derive(Deserialize)]
struct Envelope {
    object: String,
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(deserialize_with = "id")]
    id: String,
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    messaging: Vec<Messaging>,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Party {
    #[serde(deserialize_with = "id")]
    id: String,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    recipient: Party,
    timestamp: i64,
    #[serde(default)]
    message: Option<DirectMessage>,
}

#[derive(Deserialize)]
struct DirectMessage {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct ReplyTo {
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
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

#[derive(Deserialize)]
struct FeedValue {
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    verb: Option<String>,
    #[serde(default)]
    from: Option<Author>,
    #[serde(default, deserialize_with = "opt_id")]
    comment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    post_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    parent_id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    created_time: Option<i64>,
}

#[derive(Deserialize)]
struct InstagramComment {
    from: Author,
    #[serde(deserialize_with = "id")]
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
    messages: Vec<WhatsAppMessage>,
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
    wa_id: String,
}

#[derive(Deserialize)]
struct WhatsAppProfile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WhatsAppMessage {
    from: String,
    id: String,
    #[serde(deserialize_with = "id")]
    timestamp: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<WhatsAppText>,
    #[serde(default)]
    context: Option<WhatsAppContext>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct WhatsAppText {
    body: String,
}

#[derive(Deserialize)]
struct WhatsAppContext {
    #[serde(default)]
    id: Option<String>,
}

/// Meta timestamps are seconds in some events and milliseconds in others.
fn time(t: i64) -> Result<DateTime<Utc>, PayloadError> {
    let parsed = if t > 100_000_000_000 { DateTime::from_timestamp_millis(t) } else { DateTime::from_timestamp(t, 0) };
    parsed.ok_or_else(|| PayloadError::Shape(format!("timestamp {t} is out of range")))
}

fn shape<T>(r: Result<T, serde_json::Error>, what: &str) -> Result<T, PayloadError> {
    r.map_err(|e| PayloadError::Shape(format!("{what}: {e}")))
}

/// Parses one delivery into messages, in payload order.
pub fn parse(body: &[u8]) -> Result<Vec<NormalizedMessage>, PayloadError> {
    let env: Envelope = parse_json(body)?;
    let network = match env.object.as_str() {
        "page" => Network::Facebook,
        "instagram" => Network::Instagram,
        "whatsapp_business_account" => Network::Whatsapp,
        other => return Err(PayloadError::Shape(format!("unknown object {other:?}"))),
    };
    let mut out = Vec::new();
    for entry in &env.entry {
        for m in &entry.messaging {
            if let Some(msg) = direct(network, entry, m)? {
                out.push(msg);
            }
        }
        for change in &entry.changes {
            match (network, change.field.as_str()) {
                (Network::Facebook, "feed") => {
                    let v: FeedValue = shape(serde_json::from_value(change.value.clone()), "feed change")?;
                    if let Some(msg) = feed_comment(entry, v)? {
                        out.push(msg);
                    }
                }
                (Network::Instagram, "comments") => {
                    let v: InstagramComment = shape(serde_json::from_value(change.value.clone()), "comments change")?;
                    if v.from.id != entry.id {
                        out.push(NormalizedMessage {
                            network,
                            brand_account: AccountRef { id: entry.id.clone(), name: None },
                            customer: CustomerRef {
                                id: v.from.id,
                                handle: v.from.username.map(|u| format!("@{u}")),
                                name: v.from.name,
                                followers: None,
                            },
                            direction: Direction::Inbound,
                            visibility: Visibility::Public,
                            platform_message_id: v.id,
                            in_reply_to: v.parent_id,
                            text: v.text.unwrap_or_default(),
                            sent_at: time(entry.time.unwrap_or_default())?,
                            addressed_to_brand: true,
                        });
                    }
                }
                (Network::Whatsapp, "messages") => {
                    let v: WhatsAppValue = shape(serde_json::from_value(change.value.clone()), "messages change")?;
                    out.extend(whatsapp(v)?);
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

fn direct(network: Network, entry: &Entry, m: &Messaging) -> Result<Option<NormalizedMessage>, PayloadError> {
    let Some(msg) = &m.message else { return Ok(None) };
    let (direction, customer) =
        if msg.is_echo { (Direction::Outbound, &m.recipient.id) } else { (Direction::Inbound, &m.sender.id) };
    let text = match &msg.text {
        Some(t) => t.clone(),
        None => msg
            .attachments
            .iter()
            .map(|a| format!("[{}]", a.kind.as_deref().unwrap_or("attachment")))
            .collect::<Vec<_>>()
            .join(" "),
    };
    Ok(Some(NormalizedMessage {
        network,
        brand_account: AccountRef { id: entry.id.clone(), name: None },
        customer: CustomerRef { id: customer.clone(), handle: None, name: None, followers: None },
        direction,
        visibility: Visibility::Private,
        platform_message_id: msg.mid.clone(),
        in_reply_to: msg.reply_to.as_ref().and_then(|r| r.mid.clone()),
        text,
        sent_at: time(m.timestamp)?,
        addressed_to_brand: true,
    }))
}

fn feed_comment(entry: &Entry, v: FeedValue) -> Result<Option<NormalizedMessage>, PayloadError> {
    if v.item.as_deref() != Some("comment") || v.verb.as_deref() != Some("add") {
        return Ok(None);
    }
    let (Some(from), Some(comment_id)) = (v.from, v.comment_id) else {
        return Err(PayloadError::Shape("comment without from or comment_id".into()));
    };
    if from.id == entry.id {
        return Ok(None);
    }
    // A top-level comment's parent is the post itself; only a reply to a comment threads.
    let in_reply_to = v.parent_id.filter(|p| Some(p) != v.post_id.as_ref());
    Ok(Some(NormalizedMessage {
        network: Network::Facebook,
        brand_account: AccountRef { id: entry.id.clone(), name: None },
        customer: CustomerRef { id: from.id, handle: None, name: from.name, followers: None },
        direction: Direction::Inbound,
        visibility: Visibility::Public,
        platform_message_id: comment_id,
        in_reply_to,
        text: v.message.unwrap_or_default(),
        sent_at: time(v.created_time.or(entry.time).unwrap_or_default())?,
        addressed_to_brand: true,
    }))
}

fn whatsapp(v: WhatsAppValue) -> Result<Vec<NormalizedMessage>, PayloadError> {
    let mut out = Vec::with_capacity(v.messages.len());
    for m in v.messages {
        let secs: i64 =
            m.timestamp.parse().map_err(|_| PayloadError::Shape(format!("bad timestamp {:?}", m.timestamp)))?;
        let name = v.contacts.iter().find(|c| c.wa_id == m.from).and_then(|c| c.profile.as_ref()?.name.clone());
        let text = match (&m.text, m.kind.as_deref()) {
            (Some(t), _) => t.body.clone(),
            (None, kind) => {
                let kind = kind.unwrap_or("message");
                let caption = m.rest.get(kind).and_then(|media| media.get("caption")).and_then(Value::as_str);
                match caption {
                    Some(c) => format!("[{kind}] {c}"),
                    None => format!("[{kind}]"),
                }
            }
        };
        out.push(NormalizedMessage {
            network: Network::Whatsapp,
            brand_account: AccountRef {
                id: v.metadata.phone_number_id.clone(),
                name: v.metadata.display_phone_number.clone(),
            },
            customer: CustomerRef { id: m.from.clone(), handle: Some(format!("+{}", m.from)), name, followers: None },
            direction: Direction::Inbound,
            visibility: Visibility::Private,
            platform_message_id: m.id,
            in_reply_to: m.context.and_then(|c| c.id),
            text,
            sent_at: time(secs)?,
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
    fn challenge() {
        assert_eq!(verify_challenge(Some("subscribe"), Some("tok"), Some("42"), "tok"), Some("42".into()));
        assert_eq!(verify_challenge(Some("subscribe"), Some("nope"), Some("42"), "tok"), None);
        assert_eq!(verify_challenge(Some("unsubscribe"), Some("tok"), Some("42"), "tok"), None);
        assert_eq!(verify_challenge(Some("subscribe"), None, Some("42"), "tok"), None);
    }

    #[test]
    fn signature() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = format!("sha256={}", hex::encode(super::super::webhook::hmac_sha256(b"s3cret", body)));
        assert_eq!(verify_signature(b"s3cret", body, Some(&good)), Ok(()));
        assert_eq!(verify_signature(b"s3cret", body, None), Err(SignatureError::Missing));
        assert_eq!(verify_signature(b"other", body, Some(&good)), Err(SignatureError::Invalid));
        assert_eq!(verify_signature(b"s3cret", body, Some("sha256=zz")), Err(SignatureError::Invalid));
        assert_eq!(
            verify_signature(b"s3cret", body, Some(&good.replace("sha256=", "sha1="))),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn messenger_inbound_echo_and_ignored() -> R {
        let body = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1458692752478i64, "messaging": [
            {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1458692752478i64,
             "message": {"mid": "mid.1", "text": "hello, world!", "reply_to": {"mid": "mid.0"}}},
            {"sender": {"id": "PAGE"}, "recipient": {"id": "USER"}, "timestamp": 1458692752999i64,
             "message": {"mid": "mid.2", "is_echo": true, "app_id": 1517776481860111i64, "text": "hi back"}},
            {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1458692753000i64,
             "delivery": {"mids": ["mid.2"], "watermark": 1458668856253i64}},
            {"sender": {"id": "USER"}, "recipient": {"id": "PAGE"}, "timestamp": 1458692753001i64,
             "message": {"mid": "mid.3", "attachments": [{"type": "image", "payload": {"url": "https://x/y.png"}}]}}
        ]}]});
        let out = parse(body.to_string().as_bytes())?;
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].customer.id, "USER");
        assert_eq!(out[0].direction, Direction::Inbound);
        assert_eq!(out[0].visibility, Visibility::Private);
        assert_eq!(out[0].in_reply_to.as_deref(), Some("mid.0"));
        assert_eq!(out[0].sent_at.timestamp_millis(), 1458692752478);
        assert_eq!(out[1].direction, Direction::Outbound);
        assert_eq!(out[1].customer.id, "USER");
        assert_eq!(out[2].text, "[image]");
        Ok(())
    }

    #[test]
    fn feed_comments() -> R {
        let body = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1520383571, "changes": [
            {"field": "feed", "value": {"from": {"id": "USER", "name": "Cinderella Hoover"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_10", "parent_id": "PAGE_1", "message": "Where is my order?", "created_time": 1520383571}},
            {"field": "feed", "value": {"from": {"id": "USER2", "name": "B"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_11", "parent_id": "PAGE_1_10", "message": "same here", "created_time": 1520383600}},
            {"field": "feed", "value": {"from": {"id": "PAGE", "name": "Brand"}, "item": "comment", "verb": "add",
             "post_id": "PAGE_1", "comment_id": "PAGE_1_12", "parent_id": "PAGE_1_10", "message": "DM us", "created_time": 1520383700}},
            {"field": "feed", "value": {"from": {"id": "USER"}, "item": "reaction", "verb": "add", "post_id": "PAGE_1", "reaction_type": "like"}},
            {"field": "feed", "value": {"from": {"id": "USER"}, "item": "comment", "verb": "edited", "post_id": "PAGE_1", "comment_id": "PAGE_1_10"}}
        ]}]});
        let out = parse(body.to_string().as_bytes())?;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].visibility, Visibility::Public);
        assert_eq!(out[0].customer.name.as_deref(), Some("Cinderella Hoover"));
        assert_eq!(out[0].in_reply_to, None);
        assert_eq!(out[1].in_reply_to.as_deref(), Some("PAGE_1_10"));
        assert_eq!(out[0].sent_at.timestamp(), 1520383571);
        Ok(())
    }

    #[test]
    fn instagram() -> R {
        let body = json!({"object": "instagram", "entry": [{"id": "IGBRAND", "time": 1569262486, "changes": [
            {"field": "comments", "value": {"from": {"id": "IGUSER", "username": "kim"}, "media": {"id": "M1", "media_product_type": "FEED"},
             "id": "C1", "text": "Is this in stock?"}}
        ], "messaging": [
            {"sender": {"id": "IGSID"}, "recipient": {"id": "IGBRAND"}, "timestamp": 1569262486000i64, "message": {"mid": "ig.1", "text": "hi"}}
        ]}]});
        let out = parse(body.to_string().as_bytes())?;
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|m| m.network == Network::Instagram));
        let comment = out.iter().find(|m| m.platform_message_id == "C1").ok_or("no comment")?;
        assert_eq!(comment.customer.handle.as_deref(), Some("@kim"));
        assert_eq!(comment.visibility, Visibility::Public);
        Ok(())
    }

    #[test]
    fn whatsapp_messages_and_statuses() -> R {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "16505551111", "phone_number_id": "123456123"},
            "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "16315551181"}],
            "messages": [
                {"from": "16315551181", "id": "wamid.ABGG", "timestamp": "1669233778", "text": {"body": "this is a text message"}, "type": "text"},
                {"from": "16315551181", "id": "wamid.ABGH", "timestamp": "1669233779", "type": "image",
                 "image": {"caption": "broken screen", "mime_type": "image/jpeg", "id": "IMG"}, "context": {"from": "16505551111", "id": "wamid.PREV"}}
            ]}}, {"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "16505551111", "phone_number_id": "123456123"},
            "statuses": [{"id": "wamid.X", "status": "delivered", "timestamp": "1669233780", "recipient_id": "16315551181"}]}}]}]});
        let out = parse(body.to_string().as_bytes())?;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].brand_account.id, "123456123");
        assert_eq!(out[0].brand_account.name.as_deref(), Some("16505551111"));
        assert_eq!(out[0].customer.name.as_deref(), Some("Kerry Fisher"));
        assert_eq!(out[0].sent_at.timestamp(), 1669233778);
        assert_eq!(out[1].text, "[image] broken screen");
        assert_eq!(out[1].in_reply_to.as_deref(), Some("wamid.PREV"));
        Ok(())
    }

    #[test]
    fn bad_bodies() {
        assert!(matches!(parse(b"{\"object\":"), Err(PayloadError::Malformed(_))));
        assert!(matches!(parse(b"[]"), Err(PayloadError::Shape(_))));
        assert!(matches!(parse(br#"{"object":"page"}"#), Err(PayloadError::Shape(_))));
        assert!(matches!(parse(br#"{"object":"myspace","entry":[]}"#), Err(PayloadError::Shape(_))));
        assert!(matches!(
            parse(br#"{"object":"page","entry":[{"id":"P","messaging":[{"sender":{}}]}]}"#),
            Err(PayloadError::Shape(_))
        ));
        assert_eq!(parse(br#"{"object":"page","entry":[]}"#), Ok(vec![]));
    }
}
