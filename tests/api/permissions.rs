//! Every route and every WebSocket command against every role, from a table written here
//! independently of the server's own: allowed → it works (2xx / ack, on fixtures made fresh for
//! the call); not allowed → 403 `forbidden` and nothing in the store changed. Plus: every route
//! of the OpenAPI document is in the table or named as public.

use std::collections::BTreeSet;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, msg, spawn_app};

const ROLES: [&str; 6] = ["agent", "supervisor", "approver", "legal", "admin", "wallboard"];
const EVERYONE: &[&str] = &["agent", "supervisor", "approver", "legal", "admin", "wallboard"];
const READERS: &[&str] = &["agent", "supervisor", "approver", "legal", "admin"];
const WORKERS: &[&str] = READERS;
const LEADS: &[&str] = &["supervisor", "admin"];
const DECIDERS: &[&str] = &["supervisor", "approver", "legal", "admin"];
const PR_LEGAL: &[&str] = &["approver", "legal", "admin"];
const FIGURES: &[&str] = &["supervisor", "approver", "legal", "wallboard", "admin"];
const CRISIS_READERS: &[&str] = EVERYONE;
const ADMIN: &[&str] = &["admin"];
const AUDITORS: &[&str] = &["legal", "admin"];
const EXPORTERS: &[&str] = &["supervisor", "legal", "admin"];
const MERGERS: &[&str] = &["agent", "supervisor", "admin"];

/// What a call needs made fresh before it runs.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Nothing,
    /// A queued conversation (`{conv}`), its first message (`{message}`), its customer
    /// (`{customer}`) and brand account (`{brand}`).
    Conversation,
    /// A conversation the caller holds (`{fence}`).
    Claimed,
    /// Another agent (`{agent}`) and a team (`{team}`).
    AgentAndTeam,
    ApprovalRule,
    Guide,
    Example,
    ListeningRule,
    SlaPolicy,
    Crisis,
    /// A reply held for the caller's approval group (`{approval}`).
    Approval,
    /// A conversation escalated to a group the caller works.
    Escalated,
    /// A login of the caller's own, made for the call (logout ends it).
    OwnLogin,
    /// A saved view of the caller's own (`{view}`).
    OwnView,
    /// An API key (`{key}`).
    ApiKey,
    /// A paused webhook subscription (`{subscription}`).
    WebhookSubscription,
    /// A failed delivery of a paused webhook subscription (`{delivery}`).
    FailedDelivery,
    /// Two customers that may be merged (`{customer}` on X, `{other}` on WhatsApp).
    TwoCustomers,
    /// `{other}` merged into `{customer}`.
    Merged,
    /// An open merge suggestion (`{suggestion}`).
    Suggestion,
    /// An open alert (`{alert}`) and an agent to assign it to (`{agent}`).
    Alert,
    /// A watched crisis term (`{term}`).
    WatchedTerm,
}

struct Row {
    method: Method,
    path: &'static str,
    allowed: &'static [&'static str],
    needs: Needs,
    body: Option<Value>,
    query: &'static str,
}

impl Row {
    /// A query string the call needs to work.
    fn query(self, query: &'static str) -> Row {
        Row { query, ..self }
    }
}

fn row(method: Method, path: &'static str, allowed: &'static [&'static str], needs: Needs, body: Option<Value>) -> Row {
    Row { method, path, allowed, needs, body, query: "" }
}

/// The table. Bodies use `"{conv}"`-style placeholders, filled from the call's fixtures.
fn table() -> Vec<Row> {
    use Method as M;
    use Needs as N;
    let fence = json!({"fence_token": "{fence}"});
    vec![
        row(M::GET, "/api/v1/me", EVERYONE, N::Nothing, None),
        row(M::GET, "/api/v1/me/settings", EVERYONE, N::Nothing, None),
        row(M::PUT, "/api/v1/me/settings", EVERYONE, N::Nothing, Some(json!({"theme": "dark"}))),
        row(M::GET, "/api/v1/me/views", EVERYONE, N::Nothing, None),
        row(M::POST, "/api/v1/me/views", EVERYONE, N::Nothing, Some(json!({"name": "v{n}"}))),
        row(M::PUT, "/api/v1/me/views/{view}", EVERYONE, N::OwnView, Some(json!({"name": "w{n}"}))),
        row(M::DELETE, "/api/v1/me/views/{view}", EVERYONE, N::OwnView, None),
        row(M::POST, "/api/v1/auth/logout", EVERYONE, N::OwnLogin, None),
        row(M::GET, "/api/v1/agents", EVERYONE, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/agents",
            ADMIN,
            N::Nothing,
            Some(json!({"email": "new-{n}@example.com", "name": "New", "password": "long enough password"})),
        ),
        row(M::PATCH, "/api/v1/agents/{agent}", ADMIN, N::AgentAndTeam, Some(json!({"capacity": 7}))),
        row(M::DELETE, "/api/v1/agents/{agent}/sessions", ADMIN, N::AgentAndTeam, None),
        row(M::GET, "/api/v1/api-keys", ADMIN, N::Nothing, None),
        row(M::POST, "/api/v1/api-keys", ADMIN, N::Nothing, Some(json!({"name": "k{n}", "scopes": ["metrics.read"]}))),
        row(M::DELETE, "/api/v1/api-keys/{key}", ADMIN, N::ApiKey, None),
        row(M::GET, "/api/v1/audit", AUDITORS, N::Nothing, None),
        row(M::GET, "/api/v1/audit/export", AUDITORS, N::Nothing, None),
        row(M::GET, "/api/v1/archive/search", READERS, N::Nothing, None).query("q=bill"),
        row(M::GET, "/api/v1/archive/export", EXPORTERS, N::Nothing, None),
        row(M::DELETE, "/api/v1/customers/{customer}", AUDITORS, N::Conversation, None),
        row(M::GET, "/api/v1/customers/{customer}", READERS, N::Conversation, None),
        row(M::POST, "/api/v1/customers/{customer}/merge", MERGERS, N::TwoCustomers, Some(json!({"from": "{other}"}))),
        row(
            M::POST,
            "/api/v1/customers/{customer}/unmerge",
            MERGERS,
            N::Merged,
            Some(json!({"customer_id": "{other}"})),
        ),
        row(M::POST, "/api/v1/customers/{customer}/notes", WORKERS, N::Conversation, Some(json!({"text": "note"}))),
        row(M::POST, "/api/v1/customers/{customer}/tags", WORKERS, N::Conversation, Some(json!({"add": ["vip"]}))),
        row(M::PUT, "/api/v1/customers/{customer}/crm", LEADS, N::Conversation, Some(json!({"crm_id": "C{n}"}))),
        row(M::DELETE, "/api/v1/customers/{customer}/crm", LEADS, N::Conversation, None),
        row(M::GET, "/api/v1/merge-suggestions", READERS, N::Nothing, None),
        row(M::POST, "/api/v1/merge-suggestions/{suggestion}/accept", MERGERS, N::Suggestion, None),
        row(M::POST, "/api/v1/merge-suggestions/{suggestion}/dismiss", MERGERS, N::Suggestion, None),
        row(M::GET, "/api/v1/brand-accounts", EVERYONE, N::Nothing, None),
        row(M::GET, "/api/v1/brand-accounts/{brand}", EVERYONE, N::Conversation, None),
        row(M::PATCH, "/api/v1/brand-accounts/{brand}", LEADS, N::Conversation, Some(json!({"name": "Brand {n}"}))),
        row(M::GET, "/api/v1/teams", EVERYONE, N::Nothing, None),
        row(M::POST, "/api/v1/teams", ADMIN, N::Nothing, Some(json!({"name": "Team {n}"}))),
        row(M::PATCH, "/api/v1/teams/{team}", LEADS, N::AgentAndTeam, Some(json!({"auto_assign": true}))),
        row(M::PUT, "/api/v1/agents/{agent}/team", LEADS, N::AgentAndTeam, Some(json!({"team_id": "{team}"}))),
        row(M::GET, "/api/v1/conversations", READERS, N::Nothing, None),
        row(M::GET, "/api/v1/conversations/{conv}", READERS, N::Conversation, None),
        row(M::POST, "/api/v1/conversations/{conv}/notes", WORKERS, N::Conversation, Some(json!({"text": "note"}))),
        row(M::POST, "/api/v1/conversations/next", WORKERS, N::Conversation, Some(json!({}))),
        row(M::POST, "/api/v1/conversations/{conv}/claim", WORKERS, N::Conversation, Some(json!({}))),
        row(M::POST, "/api/v1/conversations/{conv}/release", WORKERS, N::Claimed, Some(fence.clone())),
        row(
            M::POST,
            "/api/v1/conversations/{conv}/reassign",
            LEADS,
            N::Conversation,
            Some(json!({"agent_id": "{writer}"})),
        ),
        row(
            M::POST,
            "/api/v1/conversations/reassign",
            LEADS,
            N::Conversation,
            Some(json!({"conversation_ids": ["{conv}"], "agent_id": "{writer}"})),
        ),
        row(M::POST, "/api/v1/conversations/{conv}/resolve", WORKERS, N::Claimed, Some(fence.clone())),
        row(
            M::POST,
            "/api/v1/conversations/{conv}/status",
            WORKERS,
            N::Claimed,
            Some(json!({"fence_token": "{fence}", "status": "pending"})),
        ),
        row(
            M::POST,
            "/api/v1/conversations/{conv}/tags",
            WORKERS,
            N::Claimed,
            Some(json!({"fence_token": "{fence}", "add": ["vip"]})),
        ),
        row(M::POST, "/api/v1/conversations/{conv}/team", LEADS, N::Conversation, Some(json!({"team_id": "{floor}"}))),
        row(
            M::POST,
            "/api/v1/conversations/{conv}/replies",
            WORKERS,
            N::Claimed,
            Some(
                json!({"fence_token": "{fence}", "text": "Thanks!", "visibility": "private", "idempotency_key": "k{n}"}),
            ),
        ),
        row(M::GET, "/api/v1/conversations/{conv}/replies", READERS, N::Conversation, None),
        row(M::GET, "/api/v1/conversations/{conv}/messages/{message}/revisions", READERS, N::Conversation, None),
        row(
            M::POST,
            "/api/v1/conversations/{conv}/escalate",
            WORKERS,
            N::Claimed,
            Some(json!({"fence_token": "{fence}", "group": "team_lead", "reason": "press"})),
        ),
        row(
            M::POST,
            "/api/v1/conversations/{conv}/escalation/return",
            WORKERS,
            N::Escalated,
            Some(json!({"note": "handled"})),
        ),
        row(M::GET, "/api/v1/escalations", READERS, N::Nothing, None),
        row(M::GET, "/api/v1/listening-rules", READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/listening-rules",
            LEADS,
            N::Nothing,
            Some(json!({"name": "rule {n}", "keywords": ["word{n}"]})),
        ),
        row(M::DELETE, "/api/v1/listening-rules/{listening}", LEADS, N::ListeningRule, None),
        // Everyone who works conversations sees the requests on their own replies; deciders
        // their groups' too (scoped by the domain, not the route).
        row(M::GET, "/api/v1/approvals", READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/approvals/{approval}/decision",
            DECIDERS,
            N::Approval,
            Some(json!({"decision": "approve"})),
        ),
        row(M::GET, "/api/v1/approval-rules", READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/approval-rules",
            PR_LEGAL,
            N::Nothing,
            Some(json!({"kind": "topic", "group": "pr", "keywords": ["word{n}"]})),
        ),
        row(
            M::PUT,
            "/api/v1/approval-rules/{rule}",
            PR_LEGAL,
            N::ApprovalRule,
            Some(json!({"kind": "topic", "group": "legal", "keywords": ["other{n}"]})),
        ),
        row(M::DELETE, "/api/v1/approval-rules/{rule}", PR_LEGAL, N::ApprovalRule, None),
        row(M::GET, "/api/v1/escalation-guides", READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/escalation-guides",
            DECIDERS,
            N::Nothing,
            Some(json!({"keywords": ["word{n}"], "group": "legal", "guidance": "Ask legal."})),
        ),
        row(
            M::PUT,
            "/api/v1/escalation-guides/{guide}",
            DECIDERS,
            N::Guide,
            Some(json!({"keywords": ["other{n}"], "group": "pr", "guidance": "Ask PR."})),
        ),
        row(M::DELETE, "/api/v1/escalation-guides/{guide}", DECIDERS, N::Guide, None),
        row(M::GET, "/api/v1/example-responses", READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/example-responses",
            DECIDERS,
            N::Nothing,
            Some(json!({"topic": "t{n}", "title": "Title", "body": "Body"})),
        ),
        row(
            M::PUT,
            "/api/v1/example-responses/{example}",
            DECIDERS,
            N::Example,
            Some(json!({"topic": "u{n}", "title": "Title", "body": "Body"})),
        ),
        row(M::DELETE, "/api/v1/example-responses/{example}", DECIDERS, N::Example, None),
        row(M::GET, "/api/v1/conversations/{conv}/macros", WORKERS, N::Conversation, None),
        row(M::GET, "/api/v1/crises", CRISIS_READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/crises",
            PR_LEGAL,
            N::Nothing,
            Some(
                json!({"name": "Crisis {n}", "severity": "high", "keywords": ["word{n}"], "holding_message": "On it."}),
            ),
        ),
        row(M::GET, "/api/v1/crises/{crisis}", CRISIS_READERS, N::Crisis, None),
        row(M::PATCH, "/api/v1/crises/{crisis}", PR_LEGAL, N::Crisis, Some(json!({"holding_message": "Still on it."}))),
        row(
            M::POST,
            "/api/v1/crises/{crisis}/responses",
            PR_LEGAL,
            N::Crisis,
            Some(json!({"message_type": "Asking for refund", "text": "Refunds are coming."})),
        ),
        row(M::POST, "/api/v1/crises/{crisis}/resolve", PR_LEGAL, N::Crisis, Some(json!({}))),
        row(M::GET, "/api/v1/crises/{crisis}/timeline", DECIDERS, N::Crisis, None),
        row(M::GET, "/api/v1/crisis-alerts", DECIDERS, N::Nothing, None),
        row(M::GET, "/api/v1/alerts", DECIDERS, N::Nothing, None),
        row(M::POST, "/api/v1/alerts/{alert}/acknowledge", DECIDERS, N::Alert, None),
        row(M::POST, "/api/v1/alerts/{alert}/assign", DECIDERS, N::Alert, Some(json!({"agent_id": "{agent}"}))),
        row(M::GET, "/api/v1/watched-terms", DECIDERS, N::Nothing, None),
        row(M::POST, "/api/v1/watched-terms", PR_LEGAL, N::Nothing, Some(json!({"term": "term {n}"}))),
        row(M::DELETE, "/api/v1/watched-terms/{term}", PR_LEGAL, N::WatchedTerm, None),
        row(M::GET, "/api/v1/floor", FIGURES, N::Nothing, None),
        row(M::GET, "/api/v1/metrics/live", FIGURES, N::Nothing, None),
        row(M::GET, "/api/v1/metrics/history", FIGURES, N::Nothing, None),
        row(M::GET, "/api/v1/forecast", FIGURES, N::Nothing, None),
        row(M::GET, "/api/v1/staffing", FIGURES, N::Nothing, None),
        row(M::GET, "/api/v1/sla-policies", READERS, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/sla-policies",
            LEADS,
            N::Nothing,
            Some(
                json!({"name": "P{n}", "network": "{network}", "first_response_secs": 600, "next_response_secs": 900}),
            ),
        ),
        row(
            M::PUT,
            "/api/v1/sla-policies/{policy}",
            LEADS,
            N::SlaPolicy,
            Some(
                json!({"name": "Q{n}", "network": "{network}", "first_response_secs": 300, "next_response_secs": 900}),
            ),
        ),
        row(M::DELETE, "/api/v1/sla-policies/{policy}", LEADS, N::SlaPolicy, None),
        // Paused subscriptions, so no delivery is made or sent while a refused call is checked.
        row(M::GET, "/api/v1/webhook-subscriptions", ADMIN, N::Nothing, None),
        row(
            M::POST,
            "/api/v1/webhook-subscriptions",
            ADMIN,
            N::Nothing,
            Some(
                json!({"name": "CRM {n}", "url": "https://crm.example.com/{n}", "event_types": ["*"], "active": false}),
            ),
        ),
        row(
            M::PATCH,
            "/api/v1/webhook-subscriptions/{subscription}",
            ADMIN,
            N::WebhookSubscription,
            Some(json!({"name": "renamed {n}"})),
        ),
        row(M::DELETE, "/api/v1/webhook-subscriptions/{subscription}", ADMIN, N::WebhookSubscription, None),
        row(M::GET, "/api/v1/webhook-subscriptions/{subscription}/deliveries", ADMIN, N::WebhookSubscription, None),
        row(M::POST, "/api/v1/webhook-deliveries/{delivery}/retry", ADMIN, N::FailedDelivery, None),
    ]
}

/// Routes anyone may call without a login (webhooks and ingest carry their own signatures or
/// keys; `/ws` is checked below command by command).
const PUBLIC: &[(&str, &str)] = &[
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/metrics", "get"),
    ("/api/openapi.json", "get"),
    ("/api/v1/auth/login", "post"),
    ("/api/v1/ingest/messages", "post"),
    ("/webhooks/meta", "get"),
    ("/webhooks/meta", "post"),
    ("/webhooks/x", "get"),
    ("/webhooks/x", "post"),
    ("/ws", "get"),
];

const PASSWORD: &str = "correct horse battery";

/// The app, one agent per role (all on the team `floor`), and a writer who raises approvals and
/// escalations for the others to act on.
struct World {
    app: TestApp,
    tokens: Vec<(&'static str, i64, String)>,
    floor: i64,
    writer: (i64, String),
    n: u32,
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        let (_, floor) =
            app.call(Method::POST, &app.admin_token, "/api/v1/teams", Some(json!({"name": "Floor"}))).await;
        let floor = floor["id"].as_i64().unwrap_or_else(|| panic!("team: {floor}"));
        let me = app.get_json("/api/v1/me").await;
        let path = format!("/api/v1/agents/{}", me["id"]);
        let (s, _) = app.call(Method::PATCH, &app.admin_token, &path, Some(json!({"capacity": 1000}))).await;
        assert_eq!(s, 200, "the admin claims for refused callers, many times");
        let mut tokens = Vec::new();
        for role in ROLES {
            let (id, token) = app.agent(&format!("{role}@example.com"), &[role], 1000).await;
            let path = format!("/api/v1/agents/{id}/team");
            let (s, _) = app.call(Method::PUT, &app.admin_token, &path, Some(json!({"team_id": floor}))).await;
            assert_eq!(s, 200);
            tokens.push((role, id, token));
        }
        // A team lead too, so they may escalate to PR and legal.
        let writer = app.agent("writer@example.com", &["agent", "supervisor"], 1000).await;
        World { app, tokens, floor, writer, n: 0 }
    }

    fn who(&self, role: &str) -> (i64, String) {
        let (_, id, t) = self.tokens.iter().find(|(r, _, _)| *r == role).unwrap_or_else(|| panic!("no {role}"));
        (*id, t.clone())
    }

    async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let (s, v) = self.app.call(method, &self.app.admin_token, path, Some(body)).await;
        assert!((200..300).contains(&s), "{path} answered {s}: {v}");
        v
    }

    async fn conversation(&mut self, text: &str) -> i64 {
        self.n += 1;
        let n = self.n;
        // Sent now, so no SLA warning falls due while the test runs and changes the store.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let r = self.app.ingest(&json!([msg(&format!("m{n}"), &format!("c{n}"), text, &now)])).await;
        crate::helpers::conv_id(&r[0])
    }

    /// A customer of their own writing `text` on `network` (two customers with open threads on
    /// the same brand account cannot be merged); returns the customer id.
    async fn customer(&mut self, text: &str, network: &str) -> Value {
        self.n += 1;
        let n = self.n;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let m = crate::helpers::patch(
            msg(&format!("w{n}"), &format!("wa{n}"), text, &now),
            json!({"network": network, "visibility": "private"}),
        );
        let r = self.app.ingest(&json!([m])).await;
        let conv = crate::helpers::conv_id(&r[0]);
        let path = format!("/api/v1/conversations/{conv}");
        let (_, detail) = self.app.call(Method::GET, &self.app.admin_token, &path, None).await;
        detail["customer"]["id"].clone()
    }

    async fn claim(&self, token: &str, conv: i64) -> i64 {
        let path = format!("/api/v1/conversations/{conv}/claim");
        let (s, v) = self.app.call(Method::POST, token, &path, Some(json!({}))).await;
        assert_eq!(s, 200, "claim: {v}");
        v["fence_token"].as_i64().unwrap_or_else(|| panic!("fence: {v}"))
    }

    /// A delivery that ran out of attempts, written straight to the store (no receiver needed).
    async fn failed_delivery(&self, subscription: &Value) -> i64 {
        use sea_orm::{ActiveModelTrait, Set};
        let now = chrono::Utc::now();
        let d = entity::webhook_delivery::ActiveModel {
            subscription_id: Set(subscription.as_i64().unwrap_or_else(|| panic!("subscription id: {subscription}"))),
            event_id: Set(1),
            event_kind: Set("conversation.message".into()),
            payload: Set(json!({})),
            status: Set(entity::webhook_delivery::Status::Failed),
            attempts: Set(8),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            last_status: Set(Some(500)),
            last_error: Set(Some("HTTP 500".into())),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        }
        .insert(&self.app.state.db)
        .await
        .unwrap_or_else(|e| panic!("delivery: {e}"));
        d.id
    }

    /// Makes what the call needs; `allowed` says whether the caller may do it (a refused
    /// caller's claim is made by the admin, so the refusal is about the role and nothing else).
    async fn prepare(&mut self, needs: Needs, role: &str, allowed: bool) -> Vec<(&'static str, Value)> {
        self.n += 1;
        let n = self.n;
        let (_, my_token) = self.who(role);
        let network = ["x", "facebook", "instagram", "whatsapp"][n as usize % 4];
        // One SLA policy per scope: clear them so every call's policy has its scope free.
        let clear = Statement::from_string(self.app.state.db.get_database_backend(), "DELETE FROM sla_policies");
        self.app.state.db.execute_raw(clear).await.unwrap_or_else(|e| panic!("clearing SLA policies: {e}"));
        let mut vars = vec![
            ("n", json!(n.to_string())),
            ("writer", json!(self.writer.0)),
            ("floor", json!(self.floor)),
            ("network", json!(network)),
        ];
        let group = match role {
            "supervisor" => "team_lead",
            "legal" => "legal",
            _ => "pr",
        };
        match needs {
            Needs::Nothing => {}
            Needs::OwnLogin => {
                let token = self.app.login(&format!("{role}@example.com"), PASSWORD).await;
                vars.push(("token", json!(token)));
            }
            Needs::OwnView => {
                let body = json!({"name": format!("view {n}")});
                let (s, v) = self.app.call(Method::POST, &my_token, "/api/v1/me/views", Some(body)).await;
                assert_eq!(s, 201, "{role}'s view: {v}");
                vars.push(("view", v["id"].clone()));
            }
            Needs::Conversation => {
                let conv = self.conversation("@BrandOne why is my bill wrong?").await;
                let (_, detail) = self
                    .app
                    .call(Method::GET, &self.app.admin_token, &format!("/api/v1/conversations/{conv}"), None)
                    .await;
                vars.push(("customer", detail["customer"]["id"].clone()));
                vars.push(("brand", detail["conversation"]["brand_account_id"].clone()));
                vars.push(("message", detail["messages"][0]["id"].clone()));
                vars.push(("conv", json!(conv)));
            }
            Needs::Claimed => {
                let conv = self.conversation("@BrandOne my order never came").await;
                let token = if allowed { my_token } else { self.app.admin_token.clone() };
                vars.push(("fence", json!(self.claim(&token, conv).await)));
                vars.push(("conv", json!(conv)));
            }
            Needs::AgentAndTeam => {
                let (id, _) = self.app.agent(&format!("other{n}@example.com"), &["agent"], 5).await;
                let team = self.admin(Method::POST, "/api/v1/teams", json!({"name": format!("T{n}")})).await;
                vars.push(("agent", json!(id)));
                vars.push(("team", team["id"].clone()));
            }
            Needs::ApiKey => {
                let v = self
                    .admin(Method::POST, "/api/v1/api-keys", json!({"name": "k", "scopes": ["metrics.read"]}))
                    .await;
                vars.push(("key", v["api_key"]["id"].clone()));
            }
            Needs::WebhookSubscription | Needs::FailedDelivery => {
                // At most 50 subscriptions: clear the earlier calls' ones.
                let clear = Statement::from_string(
                    self.app.state.db.get_database_backend(),
                    "DELETE FROM webhook_subscriptions",
                );
                self.app.state.db.execute_raw(clear).await.unwrap_or_else(|e| panic!("clearing subscriptions: {e}"));
                let body = json!({"name": format!("w{n}"), "url": "https://crm.example.com/h", "event_types": ["*"],
                    "active": false});
                let v = self.admin(Method::POST, "/api/v1/webhook-subscriptions", body).await;
                let subscription = v["subscription"]["id"].clone();
                vars.push(("subscription", subscription.clone()));
                if needs == Needs::FailedDelivery {
                    vars.push(("delivery", json!(self.failed_delivery(&subscription).await)));
                }
            }
            Needs::ApprovalRule => {
                let body = json!({"kind": "topic", "group": "pr", "keywords": [format!("rule{n}")]});
                let v = self.admin(Method::POST, "/api/v1/approval-rules", body).await;
                vars.push(("rule", v["id"].clone()));
            }
            Needs::Guide => {
                let body = json!({"keywords": [format!("guide{n}")], "group": "pr", "guidance": "Ask PR."});
                let v = self.admin(Method::POST, "/api/v1/escalation-guides", body).await;
                vars.push(("guide", v["id"].clone()));
            }
            Needs::Example => {
                let body = json!({"topic": format!("e{n}"), "title": "T", "body": "B"});
                let v = self.admin(Method::POST, "/api/v1/example-responses", body).await;
                vars.push(("example", v["id"].clone()));
            }
            Needs::Alert => {
                let txn = chorus_core::db::begin_write(&self.app.state.db).await.unwrap_or_else(|e| panic!("{e}"));
                let new = chorus_core::alerts::NewAlert {
                    kind: entity::alert::Kind::SlaBreach,
                    dedupe_key: format!("permissions:{n}"),
                    title: "late".into(),
                    detail: String::new(),
                    conversation_id: None,
                    crisis_alert_id: None,
                };
                let ev = chorus_core::alerts::raise(&txn, new).await.unwrap_or_else(|e| panic!("alert: {e}"));
                txn.commit().await.unwrap_or_else(|e| panic!("{e}"));
                let id = ev.map(|e| e.payload["id"].clone()).unwrap_or_else(|| panic!("alert {n} not raised"));
                vars.push(("alert", id));
                vars.push(("agent", json!(self.writer.0)));
            }
            Needs::WatchedTerm => {
                let v = self.admin(Method::POST, "/api/v1/watched-terms", json!({"term": format!("watch{n}")})).await;
                vars.push(("term", v["id"].clone()));
            }
            Needs::ListeningRule => {
                let body = json!({"name": format!("l{n}"), "keywords": [format!("listen{n}")]});
                let v = self.admin(Method::POST, "/api/v1/listening-rules", body).await;
                vars.push(("listening", v["id"].clone()));
            }
            Needs::SlaPolicy => {
                let other = ["x", "facebook", "instagram", "whatsapp"][(n as usize + 2) % 4];
                let body = json!({"name": format!("S{n}"), "network": other, "priority": 1,
                    "first_response_secs": 600, "next_response_secs": 900});
                let v = self.admin(Method::POST, "/api/v1/sla-policies", body).await;
                vars.push(("policy", v["id"].clone()));
            }
            Needs::Crisis => {
                let body = json!({"name": format!("C{n}"), "severity": "high", "keywords": [format!("crisis{n}")],
                    "holding_message": "We are on it."});
                let v = self.admin(Method::POST, "/api/v1/crises", body).await;
                vars.push(("crisis", v["id"].clone()));
            }
            Needs::Approval => {
                let word = format!("zorble{n}");
                let rule = json!({"kind": "topic", "group": group, "keywords": [word.clone()]});
                self.admin(Method::POST, "/api/v1/approval-rules", rule).await;
                let conv = self.conversation(&format!("@BrandOne about {word}")).await;
                let writer = self.writer.1.clone();
                let fence = self.claim(&writer, conv).await;
                let path = format!("/api/v1/conversations/{conv}/replies");
                let body = json!({"fence_token": fence, "text": "We will look", "visibility": "public", "idempotency_key": word});
                let (s, r) = self.app.call(Method::POST, &writer, &path, Some(body)).await;
                assert!(s < 300 && r["status"] == "held", "{r}");
                vars.push(("approval", r["approval_id"].clone()));
            }
            Needs::TwoCustomers | Needs::Merged => {
                let customer = self.customer("hello", "x").await;
                let other = self.customer("hello again", "whatsapp").await;
                if needs == Needs::Merged {
                    let path = format!("/api/v1/customers/{customer}/merge");
                    self.admin(Method::POST, &path, json!({"from": other})).await;
                }
                vars.push(("customer", customer));
                vars.push(("other", other));
            }
            Needs::Suggestion => {
                let email = format!("person{n}@example.com");
                self.customer(&format!("write to {email}"), "x").await;
                let newcomer = self.customer(&format!("it's me, {email}"), "whatsapp").await;
                let path = format!("/api/v1/merge-suggestions?customer_id={newcomer}");
                let (_, list) = self.app.call(Method::GET, &self.app.admin_token, &path, None).await;
                vars.push(("suggestion", list[0]["id"].clone()));
            }
            Needs::Escalated => {
                let conv = self.conversation("@BrandOne this is a scandal").await;
                let writer = self.writer.1.clone();
                let fence = self.claim(&writer, conv).await;
                let body = if role == "agent" || !allowed {
                    json!({"fence_token": fence, "group": "team", "team_id": self.floor, "reason": "help"})
                } else {
                    json!({"fence_token": fence, "group": group, "reason": "help"})
                };
                let path = format!("/api/v1/conversations/{conv}/escalate");
                let (s, r) = self.app.call(Method::POST, &writer, &path, Some(body)).await;
                assert!(s < 300, "escalate: {r}");
                vars.push(("conv", json!(conv)));
            }
        }
        vars
    }
}

/// Puts the fixtures into a path or body: `"{x}"` as a whole JSON string becomes the value,
/// `{x}` inside a string is replaced by its text.
fn fill(v: &Value, vars: &[(&str, Value)]) -> Value {
    match v {
        Value::String(s) => {
            for (k, val) in vars {
                if *s == format!("{{{k}}}") {
                    return val.clone();
                }
            }
            Value::String(fill_str(s, vars))
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, vars)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), fill(x, vars))).collect()),
        other => other.clone(),
    }
}

fn fill_str(s: &str, vars: &[(&str, Value)]) -> String {
    let mut out = s.to_owned();
    for (k, val) in vars {
        let text = val.as_str().map_or_else(|| val.to_string(), str::to_owned);
        out = out.replace(&format!("{{{k}}}"), &text);
    }
    out
}

/// Everything a refused call could have changed: row counts of every table, the newest event,
/// and the state of every conversation and agent.
/// Kinds background jobs append on their own, whatever any caller does.
const BACKGROUND: &[&str] = &[
    "sla.warning",
    "sla.breach",
    "crisis.alert",
    "crisis.response",
    "conversation.claimed",
    "queue.upsert",
    "alert.raised",
];

/// The kinds of the events stored after `seq`.
async fn kinds_after(app: &TestApp, seq: i64) -> Vec<String> {
    let db = &app.state.db;
    let sql = format!("SELECT kind FROM events WHERE seq > {seq} ORDER BY seq");
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap_or_default();
    rows.iter().filter_map(|r| r.try_get::<String>("", "kind").ok()).collect()
}

async fn last_event(app: &TestApp) -> i64 {
    let db = &app.state.db;
    let sql = "SELECT COALESCE(MAX(seq), 0) AS v FROM events";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.ok().flatten();
    row.and_then(|r| r.try_get::<i64>("", "v").ok()).unwrap_or(0)
}

/// Waits until the background has settled (no reply waiting to be sent, and the store the same
/// twice running), so what changes during a refused call can only be the call's doing.
async fn quiet(app: &TestApp) -> String {
    let db = &app.state.db;
    let queued = "SELECT COUNT(*) AS v FROM replies WHERE status = 'queued'";
    let mut last = String::new();
    for _ in 0..200 {
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), queued)).await.ok().flatten();
        let waiting = row.and_then(|r| r.try_get::<i64>("", "v").ok()).unwrap_or(0);
        let now = fingerprint(app).await;
        if waiting == 0 && now == last {
            return now;
        }
        last = now;
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the store never settled");
}

async fn fingerprint(app: &TestApp) -> String {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let mut out = String::new();
    let tables = [
        "agents",
        "api_keys",
        "sessions",
        "teams",
        "customers",
        "customer_identities",
        "conversations",
        "messages",
        "notes",
        "replies",
        "approvals",
        "approval_rules",
        "escalations",
        "escalation_guides",
        "example_responses",
        "crises",
        "crisis_responses",
        "listening_rules",
        "sla_policies",
        "audit_log",
        // Not the count: background jobs (SLA sweeps, crisis scans) append events at any
        // moment. The events a refused call could have caused are checked by kind instead.
        "webhook_subscriptions",
        "webhook_deliveries",
        "customer_notes",
        "customer_tags",
        "customer_merges",
        "merge_suggestions",
        "watched_terms",
    ];
    // Alerts: background jobs raise them at any moment; what a call could change is who
    // acknowledged or has them.
    let acted = "(SELECT id FROM alerts WHERE acknowledged_by IS NOT NULL OR assignee_id IS NOT NULL) AS acted";
    for t in tables.iter().copied().chain([acted]) {
        let sql = format!("SELECT CAST(COUNT(*) AS TEXT) AS v FROM {t}");
        let row = db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap_or_else(|e| panic!("{t}: {e}"));
        let v: String = row.and_then(|r| r.try_get("", "v").ok()).unwrap_or_default();
        out.push_str(&format!("{t}={v};"));
    }
    for sql in [
        "SELECT CAST(id AS TEXT) || ':' || status || ':' || COALESCE(CAST(assignee_id AS TEXT), '-') || ':' \
         || COALESCE(CAST(team_id AS TEXT), '-') || ':' || CAST(tags AS TEXT) AS v FROM conversations ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || CAST(roles AS TEXT) || ':' || CAST(capacity AS TEXT) || ':' \
         || CAST(active AS TEXT) || ':' || COALESCE(CAST(team_id AS TEXT), '-') AS v FROM agents ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || COALESCE(CAST(revoked_at AS TEXT), '-') AS v FROM sessions ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || COALESCE(CAST(revoked_at AS TEXT), '-') AS v FROM api_keys ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || status || ':' || COALESCE(holding_message, '') AS v FROM crises ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || status AS v FROM approvals ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || name || ':' || url || ':' || CAST(active AS TEXT) AS v \
         FROM webhook_subscriptions ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || status || ':' || CAST(attempts AS TEXT) AS v FROM webhook_deliveries ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || CAST(customer_id AS TEXT) AS v FROM conversations ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || COALESCE(crm_id, '-') || ':' || COALESCE(CAST(merged_into AS TEXT), '-') AS v \
         FROM customers ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || status AS v FROM merge_suggestions ORDER BY id",
        "SELECT CAST(id AS TEXT) || ':' || COALESCE(CAST(undone_at AS TEXT), '-') AS v FROM customer_merges ORDER BY id",
    ] {
        for r in db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap_or_else(|e| panic!("{sql}: {e}")) {
            let v: String = r.try_get("", "v").unwrap_or_default();
            out.push_str(&v);
            out.push(';');
        }
    }
    out
}

#[tokio::test]
async fn every_route_against_every_role() -> TestResult {
    let mut w = World::new().await;
    let doc = w.app.get_json("/api/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for method in ops.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            documented.insert((path.clone(), method));
        }
    }
    let mut covered: BTreeSet<(String, String)> =
        PUBLIC.iter().map(|(p, m)| ((*p).to_owned(), (*m).to_owned())).collect();
    for r in table() {
        covered.insert((r.path.to_owned(), r.method.as_str().to_lowercase()));
    }
    // The table names paths by fixture (`{conv}`); the document by parameter (`{id}`).
    let normalize =
        |p: &str| p.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/");
    let covered: BTreeSet<(String, String)> = covered.iter().map(|(p, m)| (normalize(p), m.clone())).collect();
    let documented: BTreeSet<(String, String)> = documented.iter().map(|(p, m)| (normalize(p), m.clone())).collect();
    assert_eq!(documented, covered, "the table and the OpenAPI document disagree");

    for r in table() {
        for role in ROLES {
            let allowed = r.allowed.contains(&role);
            let vars = w.prepare(r.needs, role, allowed).await;
            let (_, mut token) = w.who(role);
            if let Some((_, t)) = vars.iter().find(|(k, _)| *k == "token") {
                token = t.as_str().unwrap_or_default().to_owned();
            }
            let mut path = fill_str(r.path, &vars);
            if !r.query.is_empty() {
                path = format!("{path}?{}", r.query);
            }
            let body = r.body.as_ref().map(|b| fill(b, &vars));
            let what = format!("{} {} as {role}", r.method, r.path);
            if allowed {
                let (s, v) = w.app.call(r.method.clone(), &token, &path, body).await;
                assert!((200..300).contains(&s), "{what}: allowed but answered {s}: {v}");
            } else {
                let (before, seq) = (quiet(&w.app).await, last_event(&w.app).await);
                let (s, v) = w.app.call(r.method.clone(), &token, &path, body).await;
                assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")), "{what} ({path}): {v}");
                assert_eq!(fingerprint(&w.app).await, before, "{what}: a refused call changed the store");
                let new = kinds_after(&w.app, seq).await;
                assert!(new.iter().all(|k| BACKGROUND.contains(&k.as_str())), "{what}: a refused call raised {new:?}");
            }
        }
        // And nobody at all: 401.
        let vars = w.prepare(Needs::Nothing, "admin", true).await;
        let path = fill_str(r.path, &vars);
        let resp = w.app.client.request(r.method.clone(), w.app.url(&path)).send().await?;
        assert_eq!(resp.status(), 401, "{} {} without a token", r.method, r.path);
    }
    Ok(())
}

/// Each WebSocket command: its frame (placeholders as above), who may send it, what it needs.
fn commands() -> Vec<(Value, &'static [&'static str], Needs)> {
    use Needs as N;
    vec![
        (json!({"type": "claim", "conversation_id": "{conv}"}), WORKERS, N::Conversation),
        (json!({"type": "release", "conversation_id": "{conv}", "fence_token": "{fence}"}), WORKERS, N::Claimed),
        (json!({"type": "next"}), WORKERS, N::Conversation),
        (json!({"type": "reassign", "conversation_id": "{conv}", "agent_id": "{writer}"}), LEADS, N::Conversation),
        (json!({"type": "resolve", "conversation_id": "{conv}", "fence_token": "{fence}"}), WORKERS, N::Claimed),
        (
            json!({"type": "status", "conversation_id": "{conv}", "fence_token": "{fence}", "status": "pending"}),
            WORKERS,
            N::Claimed,
        ),
        (
            json!({"type": "tags", "conversation_id": "{conv}", "fence_token": "{fence}", "add": ["x"]}),
            WORKERS,
            N::Claimed,
        ),
        (
            json!({"type": "reply", "conversation_id": "{conv}", "fence_token": "{fence}", "text": "Hi",
                "visibility": "private", "idempotency_key": "w{n}"}),
            WORKERS,
            N::Claimed,
        ),
        (json!({"type": "approval.decide", "approval_id": "{approval}", "decision": "approve"}), DECIDERS, N::Approval),
        (
            json!({"type": "escalate", "conversation_id": "{conv}", "fence_token": "{fence}", "group": "team_lead", "reason": "r"}),
            WORKERS,
            N::Claimed,
        ),
        (json!({"type": "escalation.return", "conversation_id": "{conv}", "note": "done"}), WORKERS, N::Escalated),
        (json!({"type": "note", "conversation_id": "{conv}", "text": "n"}), WORKERS, N::Conversation),
        (json!({"type": "viewing", "conversation_id": "{conv}"}), WORKERS, N::Conversation),
        (json!({"type": "typing", "conversation_id": "{conv}"}), WORKERS, N::Conversation),
        (json!({"type": "presence", "status": "away"}), WORKERS, N::Nothing),
        (json!({"type": "ping"}), EVERYONE, N::Nothing),
        (json!({"type": "subscribe", "topics": ["queue"]}), READERS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["presence"]}), READERS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["conversation:{conv}"]}), READERS, N::Conversation),
        (json!({"type": "subscribe", "topics": ["agent:{writer}"]}), LEADS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["approvals"]}), DECIDERS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["escalations"]}), DECIDERS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["crisis"]}), CRISIS_READERS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["alerts"]}), DECIDERS, N::Nothing),
        (json!({"type": "subscribe", "topics": ["wallboard"]}), FIGURES, N::Nothing),
        (json!({"type": "unsubscribe", "topics": ["queue"]}), EVERYONE, N::Nothing),
    ]
}

#[tokio::test]
async fn every_websocket_command_against_every_role() -> TestResult {
    let mut w = World::new().await;
    let mut sockets = Vec::new();
    for role in ROLES {
        let (_, token) = w.who(role);
        sockets.push((role, w.app.ws(&token).await));
    }
    for (frame, allowed_roles, needs) in commands() {
        for (role, ws) in &mut sockets {
            let allowed = allowed_roles.contains(role);
            let vars = w.prepare(needs, role, allowed).await;
            let cmd = fill(&frame, &vars);
            if allowed {
                let a = ws.command(cmd.clone()).await;
                assert_eq!(a["type"], "ack", "{cmd} as {role}: {a}");
            } else {
                let (before, seq) = (quiet(&w.app).await, last_event(&w.app).await);
                let a = ws.command(cmd.clone()).await;
                assert_eq!(
                    (a["type"].as_str(), a["code"].as_str()),
                    (Some("error"), Some("forbidden")),
                    "{cmd} as {role}"
                );
                assert_eq!(fingerprint(&w.app).await, before, "{cmd} as {role}: a refused command changed the store");
                let new = kinds_after(&w.app, seq).await;
                assert!(new.iter().all(|k| BACKGROUND.contains(&k.as_str())), "{cmd} as {role}: raised {new:?}");
            }
        }
    }
    Ok(())
}
