//! A real WebSocket client for the live tests (tokio-tungstenite over TCP), with helpers to
//! send commands and wait for their answers and for events. `batch` frames are unpacked, so
//! tests see events one by one in the order they were sent.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub const WAIT: Duration = Duration::from_secs(15);

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Frames received but not yet consumed (events, resync, snapshot, ...).
    pub inbox: VecDeque<Value>,
    /// The `hello` frame.
    pub hello: Value,
}

impl TestApp {
    /// Opens a live session as the holder of `token` (passed as `?token=`).
    pub async fn ws(&self, token: &str) -> Ws {
        let url = format!("{}/ws?token={token}", self.addr.replacen("http://", "ws://", 1));
        Ws::open(&url).await
    }

    /// Creates an agent with these roles and capacity; returns (id, token).
    pub async fn agent(&self, email: &str, roles: &[&str], capacity: i32) -> (i64, String) {
        let password = "correct horse battery";
        let r = self
            .post_json(
                "/api/v1/agents",
                &json!({"email": email, "name": email, "password": password, "roles": roles, "capacity": capacity}),
            )
            .await;
        assert_eq!(r.status(), 201, "creating {email}");
        let v: Value = r.json().await.unwrap_or_default();
        let id = v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"));
        (id, self.login(email, password).await)
    }
}

impl Ws {
    pub async fn open(url: &str) -> Ws {
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap_or_else(|e| panic!("ws connect: {e}"));
        Self::ready(stream).await
    }

    pub async fn ready(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Ws {
        let mut ws = Ws { stream, next_id: 0, inbox: VecDeque::new(), hello: Value::Null };
        let hello = ws.frame().await.unwrap_or_else(|| panic!("closed before hello"));
        assert_eq!(hello["type"], "hello", "{hello}");
        ws.hello = hello;
        ws
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::text(text)).await.unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    /// The next frame from the server (None when closed); batches are unpacked into the inbox.
    async fn frame(&mut self) -> Option<Value> {
        if let Some(v) = self.inbox.pop_front() {
            return Some(v);
        }
        // One deadline for the whole wait: the server's pings (skipped below) must not keep a
        // test waiting for a frame that never comes.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame in {WAIT:?}"));
            match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("bad frame {t}: {e}"));
                    if v["type"] == "batch" {
                        let events = v["events"].as_array().cloned().unwrap_or_default();
                        assert!(events.len() > 1, "a batch holds several events: {v}");
                        self.inbox.extend(events);
                        return self.inbox.pop_front();
                    }
                    return Some(v);
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next frame, which must exist.
    pub async fn next(&mut self) -> Value {
        self.frame().await.unwrap_or_else(|| panic!("session closed"))
    }

    /// Whether the server closed the session (reading whatever comes first).
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Sends a command and returns its `ack` or `error`; frames in between go to the inbox.
    pub async fn command(&mut self, mut cmd: Value) -> Value {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        cmd["id"] = json!(id);
        self.send_text(cmd.to_string()).await;
        let mut held = VecDeque::new();
        let answer = loop {
            let f = self.frame().await.unwrap_or_else(|| panic!("closed awaiting {id}"));
            if (f["type"] == "ack" || f["type"] == "error") && f["id"] == json!(id) {
                break f;
            }
            held.push_back(f);
        };
        held.extend(self.inbox.drain(..));
        self.inbox = held;
        answer
    }

    /// Sends a command that must be acknowledged.
    pub async fn ok(&mut self, cmd: Value) -> Value {
        let a = self.command(cmd.clone()).await;
        assert_eq!(a["type"], "ack", "{cmd} answered {a}");
        a
    }

    /// The next event of `kind` (skipping others, which are dropped).
    pub async fn event(&mut self, kind: &str) -> Value {
        loop {
            let f = self.next().await;
            if f["type"] == "event" && f["event"] == kind {
                return f;
            }
        }
    }

    /// The next frame of `type` (skipping others).
    pub async fn frame_of(&mut self, ty: &str) -> Value {
        loop {
            let f = self.next().await;
            if f["type"] == ty {
                return f;
            }
        }
    }

    /// Every event that arrives until `quiet` passes without one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out: Vec<Value> = self.inbox.drain(..).collect();
        loop {
            match tokio::time::timeout(quiet, self.stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                    if v["type"] == "batch" {
                        out.extend(v["events"].as_array().cloned().unwrap_or_default());
                    } else {
                        out.push(v);
                    }
                }
                Ok(Some(Ok(_))) => continue,
                _ => return out,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
