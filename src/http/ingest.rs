//! `POST /api/v1/ingest/messages`: Chorus's own normalized format, for integrations and
//! listening tools. One message object or an array of them.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chorus_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

use super::body::read_limited;
use crate::http::error::ApiError;
use crate::http::extract::IngestKey;
use chorus_core::ingest::{NormalizedMessage, Outcome, Source};
use chorus_core::state::AppState;

/// The fate of each submitted message, in submission order.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    /// One per submitted message.
    pub results: Vec<Outcome>,
}

/// Parses one message or an array of messages.
pub fn parse_messages(body: &[u8], max: usize) -> Result<Vec<NormalizedMessage>, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| ApiError::from_json(&e))?;
    let msgs: Vec<NormalizedMessage> = match value {
        serde_json::Value::Array(items) => {
            if items.len() > max {
                return Err(ApiError::Domain(Error::Validation(format!("at most {max} messages per request"))));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    serde_json::from_value(v).map_err(|e| ApiError::InvalidPayload(format!("message {i}: {e}")))
                })
                .collect::<Result<_, _>>()?
        }
        v @ serde_json::Value::Object(_) => {
            vec![serde_json::from_value(v).map_err(|e| ApiError::InvalidPayload(e.to_string()))?]
        }
        _ => return Err(ApiError::InvalidPayload("expected a message object or an array of them".into())),
    };
    for (i, m) in msgs.iter().enumerate() {
        m.validate().map_err(|e| ApiError::InvalidPayload(format!("message {i}: {e}")))?;
    }
    Ok(msgs)
}

/// Store messages in the normalized format. Answered only after they are committed;
/// resubmitting a message (same brand account and `platform_message_id`) stores nothing new.
#[utoipa::path(post, path = "/api/v1/ingest/messages", tag = "ingest", security(("api_key" = [])),
    request_body(content = Vec<NormalizedMessage>, description = "One message object, or an array of them"),
    responses((status = 200, body = IngestResponse), (status = 400, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody), (status = 413, body = crate::http::error::ErrorBody),
        (status = 503, body = crate::http::error::ErrorBody)))]
#[post("/ingest/messages")]
pub async fn ingest_messages(
    req: HttpRequest,
    state: web::Data<AppState>,
    _key: IngestKey,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_limited(&req, payload, state.settings.max_body_bytes).await?;
    let msgs = parse_messages(&body, state.settings.ingest.max_messages_per_request)?;
    let results = state.ingest.submit(Source::Api, msgs).await?;
    Ok(HttpResponse::Ok().json(IngestResponse { results }))
}
