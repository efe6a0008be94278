//! The networks' own APIs as a [`Channel`]: Meta's Graph API (Page comment replies, Instagram
//! comment replies, Messenger and Instagram direct messages, WhatsApp Cloud API messages) and
//! the X API v2 (reply posts, direct messages). Base URLs are configurable, so a test (or a
//! proxy) can stand in for the networks.
//!
//! What a failure means decides what the sender does: no answer, a timeout, 429 or 5xx is
//! transient (tried again with backoff); any other refusal is permanent (the network said no:
//! the reply fails at once with the network's own message).

use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::channel::{Channel, Outgoing, SendError};
use crate::replies::ReplySettings;

/// One API call: where, what, and where the new message's id is in the answer (a JSON pointer).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Path after the base URL.
    pub path: String,
    /// JSON body.
    pub body: Value,
    /// JSON pointer to the id in a successful answer.
    pub id_at: &'static str,
}

fn needs(what: Option<&str>, missing: &str) -> Result<String, SendError> {
    match what {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(SendError::Permanent(format!("cannot send: {missing}"))),
    }
}

/// The Graph API call for a reply on Facebook, Instagram or WhatsApp.
pub fn meta_call(out: &Outgoing) -> Result<Call, SendError> {
    let text = out.text.as_str();
    let to = || needs(Some(&out.customer), "the customer's id on the network is unknown");
    let account = || needs(Some(&out.brand_account), "the brand account's id is unknown");
    let parent = || needs(out.in_reply_to.as_deref(), "no public message of the customer to reply under");
    Ok(match (out.network.as_str(), out.visibility.as_str()) {
        ("facebook", "public") => {
            Call { path: format!("/{}/comments", parent()?), body: json!({"message": text}), id_at: "/id" }
        }
        ("instagram", "public") => {
            Call { path: format!("/{}/replies", parent()?), body: json!({"message": text}), id_at: "/id" }
        }
        ("facebook", "private") => Call {
            path: format!("/{}/messages", account()?),
            body: json!({"recipient": {"id": to()?}, "messaging_type": "RESPONSE", "message": {"text": text}}),
            id_at: "/message_id",
        },
        ("instagram", "private") => Call {
            path: format!("/{}/messages", account()?),
            body: json!({"recipient": {"id": to()?}, "message": {"text": text}}),
            id_at: "/message_id",
        },
        ("whatsapp", "private") => Call {
            path: format!("/{}/messages", account()?),
            body: json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to()?,
                "type": "text", "text": {"preview_url": false, "body": text}}),
            id_at: "/messages/0/id",
        },
        (n, v) => return Err(SendError::Permanent(format!("{n} has no {v} replies"))),
    })
}

/// The X API v2 call for a reply post or a direct message.
pub fn x_call(out: &Outgoing) -> Result<Call, SendError> {
    Ok(match out.visibility.as_str() {
        "public" => Call {
            path: "/2/tweets".into(),
            body: json!({"text": out.text, "reply": {"in_reply_to_tweet_id":
                needs(out.in_reply_to.as_deref(), "no post of the customer to reply to")?}}),
            id_at: "/data/id",
        },
        _ => Call {
            path: format!(
                "/2/dm_conversations/with/{}/messages",
                needs(Some(&out.customer), "the customer's id on X is unknown")?
            ),
            body: json!({"text": out.text}),
            id_at: "/data/dm_event_id",
        },
    })
}

/// What a network's error answer says, briefly.
pub(crate) fn reason(status: reqwest::StatusCode, body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let said = v
        .pointer("/error/message")
        .or_else(|| v.pointer("/detail"))
        .or_else(|| v.pointer("/errors/0/message"))
        .or_else(|| v.pointer("/title"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.chars().take(200).collect());
    format!("{} {said}", status.as_u16())
}

/// Meta and X over HTTPS.
pub struct Networks {
    http: reqwest::Client,
    meta_url: String,
    meta_token: Option<SecretString>,
    x_url: String,
    x_token: Option<SecretString>,
}

impl Networks {
    /// Builds the client from the settings.
    pub fn new(s: &ReplySettings) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(s.send_timeout_ms))
            .connect_timeout(Duration::from_millis(s.send_timeout_ms.min(5_000)))
            .build()?;
        Ok(Self {
            http,
            meta_url: s.meta_graph_url.trim_end_matches('/').to_owned(),
            meta_token: s.meta_access_token.clone(),
            x_url: s.x_api_url.trim_end_matches('/').to_owned(),
            x_token: s.x_access_token.clone(),
        })
    }

    async fn post(&self, base: &str, token: Option<&SecretString>, call: Call) -> Result<String, SendError> {
        let Some(token) = token else {
            return Err(SendError::Permanent("no access token is configured for this network".into()));
        };
        let url = format!("{base}{}", call.path);
        let answer = self.http.post(&url).bearer_auth(token.expose_secret()).json(&call.body).send().await;
        let r = answer.map_err(|e| SendError::Transient(format!("no answer from the network: {e}")))?;
        let status = r.status();
        let body = r.text().await.map_err(|e| SendError::Transient(format!("answer cut off: {e}")))?;
        if status.is_success() {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            return match v.pointer(call.id_at).and_then(Value::as_str) {
                Some(id) if !id.is_empty() => Ok(id.to_owned()),
                _ => Err(SendError::Permanent(format!("the network's answer has no message id: {body:.200}"))),
            };
        }
        let why = reason(status, &body);
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(SendError::Transient(why))
        } else {
            Err(SendError::Permanent(why))
        }
    }
}

impl Channel for Networks {
    fn send<'a>(&'a self, out: &'a Outgoing) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            match out.network.as_str() {
                "x" => self.post(&self.x_url, self.x_token.as_ref(), x_call(out)?).await,
                _ => self.post(&self.meta_url, self.meta_token.as_ref(), meta_call(out)?).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(network: &str, visibility: &str, in_reply_to: Option<&str>) -> Outgoing {
        Outgoing {
            reply_id: 1,
            network: network.into(),
            visibility: visibility.into(),
            brand_account: "PAGE".into(),
            customer: "CUST".into(),
            in_reply_to: in_reply_to.map(Into::into),
            text: "Hello".into(),
        }
    }

    #[test]
    fn each_network_and_side_maps_to_its_endpoint() {
        let cases = [
            (meta_call(&out("facebook", "public", Some("C1"))), "/C1/comments", "/id"),
            (meta_call(&out("instagram", "public", Some("C2"))), "/C2/replies", "/id"),
            (meta_call(&out("facebook", "private", None)), "/PAGE/messages", "/message_id"),
            (meta_call(&out("instagram", "private", None)), "/PAGE/messages", "/message_id"),
            (meta_call(&out("whatsapp", "private", None)), "/PAGE/messages", "/messages/0/id"),
            (x_call(&out("x", "public", Some("T1"))), "/2/tweets", "/data/id"),
            (x_call(&out("x", "private", None)), "/2/dm_conversations/with/CUST/messages", "/data/dm_event_id"),
        ];
        for (call, path, id_at) in cases {
            let call = call.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!((call.path.as_str(), call.id_at), (path, id_at));
        }
        let wa = meta_call(&out("whatsapp", "private", None)).map(|c| c.body).unwrap_or_default();
        assert_eq!((wa["to"].as_str(), wa["text"]["body"].as_str()), (Some("CUST"), Some("Hello")));
        let x = x_call(&out("x", "public", Some("T1"))).map(|c| c.body).unwrap_or_default();
        assert_eq!(x["reply"]["in_reply_to_tweet_id"], "T1");
    }

    #[test]
    fn an_https_client_builds_with_the_ring_provider() {
        // reqwest is built without a provider of its own: building a client must not panic.
        assert!(Networks::new(&ReplySettings::default()).is_ok());
    }

    #[test]
    fn what_cannot_be_addressed_fails_for_good() {
        assert!(matches!(meta_call(&out("facebook", "public", None)), Err(SendError::Permanent(_))));
        assert!(matches!(x_call(&out("x", "public", None)), Err(SendError::Permanent(_))));
        assert!(matches!(meta_call(&out("whatsapp", "public", Some("W"))), Err(SendError::Permanent(_))));
    }

    #[test]
    fn error_answers_are_read_in_each_networks_shape() {
        let meta = r#"{"error":{"message":"(#10) outside the allowed window","code":10}}"#;
        assert_eq!(reason(reqwest::StatusCode::BAD_REQUEST, meta), "400 (#10) outside the allowed window");
        let x = r#"{"title":"Forbidden","detail":"You are not permitted to reply.","status":403}"#;
        assert_eq!(reason(reqwest::StatusCode::FORBIDDEN, x), "403 You are not permitted to reply.");
    }
}
