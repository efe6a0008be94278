//! The networks' own webhooks. Signatures are checked over the exact bytes received before
//! anything is parsed; a delivery is answered 200 only after its messages are committed.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chorus_core::Error;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::read_limited;
use crate::http::error::ApiError;
use chorus_core::ingest::webhook::{PayloadError, SignatureError};
use chorus_core::ingest::{Source, meta, x};
use chorus_core::state::AppState;

impl From<SignatureError> for ApiError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Missing => ApiError::BadSignature("missing signature"),
            SignatureError::Invalid => ApiError::BadSignature("invalid signature"),
        }
    }
}

impl From<PayloadError> for ApiError {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::Malformed(m) => ApiError::MalformedJson(m),
            PayloadError::Shape(m) => ApiError::InvalidPayload(m),
        }
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Meta's subscription check.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MetaVerifyQuery {
    /// Always `subscribe`.
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    /// Must equal `CHORUS_META_VERIFY_TOKEN`.
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// Echoed back when the token matches.
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Answers Meta's `hub.challenge` when `hub.verify_token` matches.
#[utoipa::path(get, path = "/webhooks/meta", tag = "webhooks", params(MetaVerifyQuery),
    responses((status = 200, description = "the challenge, as text/plain"), (status = 403, body = crate::http::error::ErrorBody),
        (status = 503, body = crate::http::error::ErrorBody)))]
#[get("/webhooks/meta")]
pub async fn meta_verify(state: web::Data<AppState>, q: web::Query<MetaVerifyQuery>) -> Result<HttpResponse, ApiError> {
    let expected = state.settings.meta_verify_token.as_ref().ok_or(ApiError::Domain(Error::NotConfigured(
        "Meta webhooks are not configured: set CHORUS_META_VERIFY_TOKEN",
    )))?;
    match meta::verify_challenge(
        q.mode.as_deref(),
        q.verify_token.as_deref(),
        q.challenge.as_deref(),
        expected.expose_secret(),
    ) {
        Some(challenge) => Ok(HttpResponse::Ok().content_type("text/plain").body(challenge)),
        None => Err(ApiError::Domain(Error::Forbidden("verify token does not match"))),
    }
}

/// Receives Messenger, Instagram, Page feed and WhatsApp deliveries.
#[utoipa::path(post, path = "/webhooks/meta", tag = "webhooks",
    params(("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body with the app secret>")),
    request_body(content = Object, description = "Meta's webhook payload (object page, instagram or whatsapp_business_account)"),
    responses((status = 200, description = "committed"), (status = 400, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody), (status = 413, body = crate::http::error::ErrorBody),
        (status = 503, body = crate::http::error::ErrorBody)))]
#[post("/webhooks/meta")]
pub async fn meta_receive(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let network = Network {
        source: Source::Meta,
        secret: state.settings.meta_app_secret.as_ref(),
        missing: "Meta webhooks are not configured: set CHORUS_META_APP_SECRET",
        signature_header: "x-hub-signature-256",
        verify: meta::verify_signature,
        parse: meta::parse,
    };
    receive(&req, &state, payload, network).await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("EVENT_RECEIVED"))
}

/// What differs between the networks' delivery endpoints.
struct Network<'a> {
    source: Source,
    secret: Option<&'a secrecy::SecretString>,
    missing: &'static str,
    signature_header: &'static str,
    verify: VerifyFn,
    parse: ParseFn,
}

/// Checks a signature header against the raw body with the network's secret.
type VerifyFn = fn(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError>;

/// Turns a verified body into what the delivery holds.
type ParseFn = fn(body: &[u8]) -> Result<chorus_core::ingest::delivery::Delivery, PayloadError>;

/// Reads the body within the limit, checks the signature over those exact bytes, parses, and
/// returns once the messages and the changes to earlier ones are committed. What the delivery
/// holds that Chorus does not use is counted and answered 2xx like the rest: the networks retry
/// a refused delivery and in the end disable the subscription.
async fn receive(req: &HttpRequest, state: &AppState, payload: web::Payload, n: Network<'_>) -> Result<(), ApiError> {
    let secret = n.secret.ok_or(ApiError::Domain(Error::NotConfigured(n.missing)))?;
    let body = read_limited(req, payload, state.settings.max_body_bytes).await?;
    (n.verify)(secret.expose_secret().as_bytes(), &body, header(req, n.signature_header))?;
    let mut delivery = (n.parse)(&body)?;
    let mut msgs = Vec::with_capacity(delivery.messages.len());
    for m in std::mem::take(&mut delivery.messages) {
        match m.validate() {
            Ok(()) => msgs.push(m),
            Err(e) => {
                tracing::warn!(error.message = %e, source = n.source.as_str(), "webhook message not usable");
                delivery.ignore(m.network, "unattributed");
            }
        }
    }
    let count = msgs.len();
    state.ingest.submit(n.source, msgs).await?;
    let applied = chorus_core::ingest::changes::apply(&state.db, &state.live, &delivery.changes).await?;
    if chorus_core::ingest::mentions::configured(&state.settings.replies) {
        chorus_core::ingest::mentions::record(&state.db, &delivery.mentions).await?;
    } else {
        for _ in 0..delivery.mentions.len() {
            delivery.ignore(chorus_core::network::Network::Instagram, "mentions");
        }
    }
    // One delivery is one network's.
    if let Some(network) = delivery.changes.first().map(|c| c.network) {
        for _ in 0..applied.unknown {
            delivery.ignore(network, "change_for_unknown_message");
        }
    }
    for i in &delivery.ignored {
        state.metrics.webhook_ignored.with_label_values(&[i.network.as_str(), i.kind]).inc();
        tracing::debug!(network = i.network.as_str(), kind = i.kind, "webhook event ignored");
    }
    tracing::info!(
        messages = count,
        changed = applied.changed,
        unchanged = applied.unchanged,
        mentions = delivery.mentions.len(),
        ignored = delivery.ignored.len(),
        source = n.source.as_str(),
        "delivery committed"
    );
    Ok(())
}

/// X's CRC check.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CrcQuery {
    /// The token to sign.
    pub crc_token: Option<String>,
}

/// The CRC answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrcResponse {
    /// `sha256=` + base64 HMAC-SHA256 of `crc_token` with the consumer secret.
    pub response_token: String,
}

/// Answers X's challenge-response check.
#[utoipa::path(get, path = "/webhooks/x", tag = "webhooks", params(CrcQuery),
    responses((status = 200, body = CrcResponse), (status = 400, body = crate::http::error::ErrorBody), (status = 503, body = crate::http::error::ErrorBody)))]
#[get("/webhooks/x")]
pub async fn x_crc(state: web::Data<AppState>, q: web::Query<CrcQuery>) -> Result<HttpResponse, ApiError> {
    let secret =
        state.settings.x_consumer_secret.as_ref().ok_or(ApiError::Domain(Error::NotConfigured(
            "X webhooks are not configured: set CHORUS_X_CONSUMER_SECRET",
        )))?;
    let token = q
        .crc_token
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 1024)
        .ok_or_else(|| ApiError::Domain(Error::Validation("crc_token is required".into())))?;
    Ok(HttpResponse::Ok()
        .json(CrcResponse { response_token: x::crc_response(secret.expose_secret().as_bytes(), token) }))
}

/// Receives Account Activity deliveries (tweets and direct messages).
#[utoipa::path(post, path = "/webhooks/x", tag = "webhooks",
    params(("x-twitter-webhooks-signature" = String, Header, description = "sha256=<base64 HMAC-SHA256 of the body with the consumer secret>")),
    request_body(content = Object, description = "Account Activity payload (for_user_id, tweet_create_events, direct_message_events)"),
    responses((status = 200, description = "committed"), (status = 400, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody), (status = 413, body = crate::http::error::ErrorBody),
        (status = 503, body = crate::http::error::ErrorBody)))]
#[post("/webhooks/x")]
pub async fn x_receive(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let network = Network {
        source: Source::X,
        secret: state.settings.x_consumer_secret.as_ref(),
        missing: "X webhooks are not configured: set CHORUS_X_CONSUMER_SECRET",
        signature_header: "x-twitter-webhooks-signature",
        verify: x::verify_signature,
        parse: x::parse,
    };
    receive(&req, &state, payload, network).await?;
    Ok(HttpResponse::Ok().finish())
}
