//! The baseline of `chorus bench live --baseline`: the least a server must do to broadcast what
//! it is posted to WebSocket sessions, built from the parts Chorus is built from (actix-web,
//! actix-ws, the workspace's actix-http with its buffers, tokio, mimalloc), run as a process of
//! its own beside the Chorus node(s) and driven by the same client at the same load. Chorus's
//! fan-out is then measured against this host's physical limit in the same run, as a ratio,
//! rather than against a figure recorded on another day on a host that drifts.
//!
//! What it pays for, as Chorus does: a signed-in-looking HTTP ingest of the same JSON messages;
//! one serialized frame per event, shared by every session (`ByteString` is reference counted);
//! a bounded buffer per session that never makes the sender wait (a slow session is told it
//! lagged and loses events rather than holding memory); a task per session that writes its
//! frames, answers the client's commands and pongs its pings.
//! What it leaves out is what a broadcast does not need: no store, no shared log, no
//! coordination, no triage, no topics, no authentication.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use actix_ws::AggregatedMessage;
use bytestring::ByteString;
use chorus_core::conversations::Summary;
use chorus_core::triage::Tier;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::broadcast;

/// Events a session may fall behind by before it is told it lagged (Chorus's
/// `live.session_buffer` default).
const SESSION_BUFFER: usize = 1024;

struct Broadcaster {
    tx: broadcast::Sender<ByteString>,
    seq: AtomicI64,
    sessions: AtomicU64,
}

/// The part of an ingested message the frame carries.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    customer: Customer<'a>,
    network: String,
    visibility: String,
    text: String,
    sent_at: chrono::DateTime<chrono::Utc>,
    #[serde(borrow, rename = "platform_message_id")]
    _platform_message_id: &'a str,
}

#[derive(Deserialize)]
struct Customer<'a> {
    #[serde(borrow)]
    handle: &'a str,
}

/// The frame of one event: Chorus's own `queue.upsert` frame around Chorus's own queue row
/// type, filled from the message with what needs no store and no triage (no risk reasons, no
/// sentiment, no category, no due times). The client finds each delivery by the customer's
/// name as it does in Chorus's frames; the bench prints both sides' bytes per delivery.
#[derive(serde::Serialize)]
struct Frame {
    #[serde(rename = "type")]
    frame_type: &'static str,
    seq: i64,
    event: &'static str,
    data: Summary,
}

fn row(id: i64, m: Incoming<'_>) -> Summary {
    Summary {
        id,
        brand_account_id: 1,
        network: m.network,
        origin_visibility: m.visibility,
        customer_id: id,
        customer_name: Some(m.customer.handle.to_owned()),
        customer_handle: Some(m.customer.handle.to_owned()),
        snippet: Some(m.text),
        status: "new".to_owned(),
        priority: Tier::Tier2,
        risk: 0,
        risk_reasons: Vec::new(),
        sentiment_start: None,
        sentiment_now: None,
        category: None,
        language: None,
        tags: Vec::new(),
        team_id: None,
        assignee_id: None,
        fence_token: 0,
        previous_conversation_id: None,
        message_count: 1,
        first_message_at: m.sent_at,
        last_message_at: m.sent_at,
        awaiting_since: Some(m.sent_at),
        first_response_at: None,
        first_response_due_at: None,
        next_response_due_at: None,
        due_at: None,
        time_to_breach_secs: None,
        resolved_at: None,
        public_followup_due_at: None,
        escalated_to: None,
        crisis_id: None,
    }
}

/// `POST /api/v1/ingest/messages`: a JSON array of messages, each broadcast as one frame.
async fn ingest(body: web::Bytes, hub: web::Data<Broadcaster>) -> HttpResponse {
    let Ok(messages) = serde_json::from_slice::<Vec<Incoming<'_>>>(&body) else {
        return HttpResponse::BadRequest().body("expected a JSON array of messages");
    };
    let accepted = messages.len();
    for m in messages {
        let seq = hub.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let frame = Frame { frame_type: "event", seq, event: "queue.upsert", data: row(seq, m) };
        let Ok(text) = serde_json::to_string(&frame) else {
            return HttpResponse::InternalServerError().finish();
        };
        // No session connected is not an error: the event is simply not delivered.
        let _ = hub.tx.send(ByteString::from(text));
    }
    HttpResponse::Ok().json(serde_json::json!({"accepted": accepted}))
}

/// `GET /ws`: a session that receives every event.
async fn connect(req: HttpRequest, body: web::Payload, hub: web::Data<Broadcaster>) -> actix_web::Result<HttpResponse> {
    let (response, mut ws, stream) = actix_ws::handle(&req, body)?;
    let mut stream = stream.max_frame_size(64 * 1024).aggregate_continuations();
    let mut rx = hub.tx.subscribe();
    let id = hub.sessions.fetch_add(1, Ordering::Relaxed) + 1;
    actix_web::rt::spawn(async move {
        let hello = format!(r#"{{"type":"hello","session_id":{id}}}"#);
        if ws.text(hello).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Ok(frame) => {
                        if ws.text(frame).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if ws.text(r#"{"type":"resync","reason":"slow_consumer"}"#).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                msg = stream.next() => match msg {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        // Every command is acknowledged by its id (the client subscribes).
                        let id = serde_json::from_str::<serde_json::Value>(&text).ok().map(|v| v["id"].clone());
                        let answer = serde_json::json!({"type": "ack", "id": id.unwrap_or_default()});
                        if ws.text(answer.to_string()).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if ws.pong(&bytes).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(AggregatedMessage::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        let _ = ws.close(None).await;
    });
    Ok(response)
}

/// Serves the baseline on 127.0.0.1 (a port of the system's choosing), saying where on stderr
/// as `chorus serve` does, until killed.
pub async fn serve() -> anyhow::Result<()> {
    let (tx, _) = broadcast::channel(SESSION_BUFFER);
    let hub = web::Data::new(Broadcaster { tx, seq: AtomicI64::new(0), sessions: AtomicU64::new(0) });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(hub.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/api/v1/ingest/messages", web::post().to(ingest))
            .route("/ws", web::get().to(connect))
    })
    // As Chorus's server: small frames must not wait for the client's delayed ACK.
    .tcp_nodelay(true)
    .disable_signals()
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs().first().map(std::net::SocketAddr::port).unwrap_or_default();
    eprintln!("baseline broadcaster listening on http://127.0.0.1:{port}");
    server.run().await?;
    Ok(())
}
