//! A stand-in for the X API on loopback that answers like the network and counts how often it
//! received each reply text.

use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use super::SendCounts;

/// What the stand-in received.
#[derive(Default)]
pub(crate) struct Network {
    sent: Mutex<SendCounts>,
}

impl Network {
    /// How often `text` arrived.
    pub(crate) fn count(&self, text: &str) -> u32 {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).get(text).copied().unwrap_or(0)
    }

    /// Every text with its count.
    pub(crate) fn counts(&self) -> SendCounts {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

async fn answer(req: HttpRequest, body: web::Bytes, net: web::Data<Network>) -> HttpResponse {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = body["text"].as_str().or(body["message"].as_str()).unwrap_or_default().to_owned();
    let n = {
        let mut sent = net.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let n = sent.entry(text.clone()).or_default();
        *n += 1;
        sent.len()
    };
    if req.path().starts_with("/2/dm_conversations/") {
        HttpResponse::Created().json(json!({"data": {"dm_conversation_id": "DC", "dm_event_id": format!("E-{n}")}}))
    } else if req.path() == "/2/tweets" {
        HttpResponse::Created().json(json!({"data": {"id": format!("T-{n}"), "text": text}}))
    } else {
        HttpResponse::Ok().json(json!({"id": format!("C-{n}")}))
    }
}

/// Starts the stand-in on a free loopback port; returns it and its base URL.
pub(crate) fn start() -> anyhow::Result<(Arc<Network>, String)> {
    let net = Arc::new(Network::default());
    let data = web::Data::from(net.clone());
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(answer)))
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
    tokio::spawn(server);
    Ok((net, base))
}
