//! Operations endpoints and the OpenAPI document.

use serde_json::Value;

use crate::helpers::{TestResult, msg, spawn_app};

#[tokio::test]
async fn health_ready_metrics() -> TestResult {
    let app = spawn_app().await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await?.status(), 200);
    let ready: Value = app.client.get(app.url("/readyz")).send().await?.json().await?;
    let expected = if std::env::var_os("CHORUS_TEST_REDIS_URL").is_some() { "redis" } else { "memory" };
    assert_eq!(ready["coordination"], expected, "{ready}");
    app.ingest(&serde_json::json!([msg("m1", "c1", "@BrandOne why is my bill so high?", "2026-11-20T10:00:00Z")]))
        .await;
    let text = app.client.get(app.url("/metrics")).send().await?.text().await?;
    assert!(text.contains("chorus_ingest_messages_total{outcome=\"stored\",source=\"api\"} 1"), "{text}");
    assert!(text.contains("chorus_queue_depth{tier=\"tier1\"} 1"), "{text}");
    assert!(text.contains("chorus_ingest_latency_seconds_count{source=\"api\"} 1"), "{text}");
    Ok(())
}

/// A node that is shutting down says it is not ready, so a load balancer sends new sessions
/// elsewhere while its own are told to move; it stays alive meanwhile.
#[tokio::test]
async fn a_node_shutting_down_is_alive_but_not_ready() -> TestResult {
    let app = spawn_app().await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await?.status(), 200);
    app.state.live.shut_down();
    let r = app.client.get(app.url("/readyz")).send().await?;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert_eq!(app.client.get(app.url("/healthz")).send().await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn unknown_routes_and_ids_are_json_404() -> TestResult {
    let app = spawn_app().await;
    for path in ["/nope", "/api/v1/conversations/999999", "/api/v1/conversations/abc"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let v: Value = r.json().await?;
        assert_eq!(v["error"]["code"], "not_found", "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn openapi_covers_every_route() -> TestResult {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let expected = [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/openapi.json", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/agents", "get"),
        ("/api/v1/agents", "post"),
        ("/api/v1/agents/{id}", "patch"),
        ("/api/v1/agents/{id}/sessions", "delete"),
        ("/api/v1/api-keys", "get"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys/{id}", "delete"),
        ("/api/v1/audit", "get"),
        ("/api/v1/audit/export", "get"),
        ("/api/v1/archive/search", "get"),
        ("/api/v1/archive/export", "get"),
        ("/api/v1/customers/{id}", "delete"),
        ("/api/v1/customers/{id}", "get"),
        ("/api/v1/customers/{id}/merge", "post"),
        ("/api/v1/customers/{id}/unmerge", "post"),
        ("/api/v1/customers/{id}/notes", "post"),
        ("/api/v1/customers/{id}/tags", "post"),
        ("/api/v1/customers/{id}/crm", "put"),
        ("/api/v1/customers/{id}/crm", "delete"),
        ("/api/v1/merge-suggestions", "get"),
        ("/api/v1/merge-suggestions/{id}/accept", "post"),
        ("/api/v1/merge-suggestions/{id}/dismiss", "post"),
        ("/api/v1/teams", "get"),
        ("/api/v1/teams", "post"),
        ("/api/v1/teams/{id}", "patch"),
        ("/api/v1/agents/{id}/team", "put"),
        ("/api/v1/ingest/messages", "post"),
        ("/webhooks/meta", "get"),
        ("/webhooks/meta", "post"),
        ("/webhooks/x", "get"),
        ("/webhooks/x", "post"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}/notes", "post"),
        ("/api/v1/conversations/next", "post"),
        ("/api/v1/conversations/{id}/claim", "post"),
        ("/api/v1/conversations/{id}/release", "post"),
        ("/api/v1/conversations/{id}/reassign", "post"),
        ("/api/v1/conversations/reassign", "post"),
        ("/api/v1/conversations/{id}/resolve", "post"),
        ("/api/v1/conversations/{id}/status", "post"),
        ("/api/v1/conversations/{id}/tags", "post"),
        ("/api/v1/conversations/{id}/team", "post"),
        ("/api/v1/conversations/{id}/replies", "post"),
        ("/api/v1/conversations/{id}/replies", "get"),
        ("/api/v1/conversations/{id}/messages/{message_id}/revisions", "get"),
        ("/ws", "get"),
        ("/api/v1/listening-rules", "get"),
        ("/api/v1/listening-rules", "post"),
        ("/api/v1/listening-rules/{id}", "delete"),
        ("/api/v1/approvals", "get"),
        ("/api/v1/approvals/{id}/decision", "post"),
        ("/api/v1/approval-rules", "get"),
        ("/api/v1/approval-rules", "post"),
        ("/api/v1/approval-rules/{id}", "put"),
        ("/api/v1/approval-rules/{id}", "delete"),
        ("/api/v1/conversations/{id}/escalate", "post"),
        ("/api/v1/conversations/{id}/escalation/return", "post"),
        ("/api/v1/escalations", "get"),
        ("/api/v1/escalation-guides", "get"),
        ("/api/v1/escalation-guides", "post"),
        ("/api/v1/escalation-guides/{id}", "put"),
        ("/api/v1/escalation-guides/{id}", "delete"),
        ("/api/v1/example-responses", "get"),
        ("/api/v1/example-responses", "post"),
        ("/api/v1/example-responses/{id}", "put"),
        ("/api/v1/example-responses/{id}", "delete"),
        ("/api/v1/conversations/{id}/macros", "get"),
        ("/api/v1/me/settings", "get"),
        ("/api/v1/me/settings", "put"),
        ("/api/v1/me/views", "get"),
        ("/api/v1/me/views", "post"),
        ("/api/v1/me/views/{id}", "put"),
        ("/api/v1/me/views/{id}", "delete"),
        ("/api/v1/crises", "get"),
        ("/api/v1/crises", "post"),
        ("/api/v1/crises/{id}", "get"),
        ("/api/v1/crises/{id}", "patch"),
        ("/api/v1/crises/{id}/responses", "post"),
        ("/api/v1/crises/{id}/resolve", "post"),
        ("/api/v1/crises/{id}/timeline", "get"),
        ("/api/v1/crisis-alerts", "get"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/alerts/{id}/acknowledge", "post"),
        ("/api/v1/alerts/{id}/assign", "post"),
        ("/api/v1/watched-terms", "get"),
        ("/api/v1/watched-terms", "post"),
        ("/api/v1/watched-terms/{id}", "delete"),
        ("/api/v1/floor", "get"),
        ("/api/v1/brand-accounts", "get"),
        ("/api/v1/brand-accounts/{id}", "get"),
        ("/api/v1/brand-accounts/{id}", "patch"),
        ("/api/v1/metrics/live", "get"),
        ("/api/v1/metrics/history", "get"),
        ("/api/v1/forecast", "get"),
        ("/api/v1/staffing", "get"),
        ("/api/v1/sla-policies", "get"),
        ("/api/v1/sla-policies", "post"),
        ("/api/v1/sla-policies/{id}", "put"),
        ("/api/v1/sla-policies/{id}", "delete"),
        ("/api/v1/webhook-subscriptions", "get"),
        ("/api/v1/webhook-subscriptions", "post"),
        ("/api/v1/webhook-subscriptions/{id}", "patch"),
        ("/api/v1/webhook-subscriptions/{id}", "delete"),
        ("/api/v1/webhook-subscriptions/{id}/deliveries", "get"),
        ("/api/v1/webhook-deliveries/{id}/retry", "post"),
    ];
    for (path, method) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from OpenAPI");
    }
    let documented: usize = paths.values().map(|p| p.as_object().map_or(0, |o| o.len())).sum();
    assert_eq!(documented, expected.len(), "the OpenAPI document lists a route this test does not know");
    Ok(())
}

#[tokio::test]
async fn the_console_and_the_wallboard_are_served_with_a_strict_policy() -> TestResult {
    let app = crate::helpers::spawn_app().await;
    for (path, marker) in [("/", "<html"), ("/wallboard", "<html")] {
        let r = app.client.get(app.url(path)).send().await?;
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/html")), "{path}");
        let csp = r.headers().get("content-security-policy").map(|v| v.to_str().unwrap_or_default().to_owned());
        assert!(csp.is_some_and(|c| c.contains("default-src 'self'") && c.contains("script-src 'self'")), "{path}");
        assert!(r.text().await?.contains(marker), "{path}");
    }
    for bad in ["/static/../Cargo.toml", "/static/%2e%2e/Cargo.toml", "/static/nope.js", "/static//etc/passwd"] {
        let r = app.client.get(app.url(bad)).send().await?;
        assert_eq!(r.status(), 404, "{bad}");
    }
    Ok(())
}

#[tokio::test]
async fn readiness_reports_a_background_task_that_is_down() -> TestResult {
    let app = spawn_app().await;
    assert_eq!(app.client.get(app.url("/readyz")).send().await?.status(), 200);
    // What the supervisor records when a task panics (src/live/tasks.rs): down until restarted.
    app.state.live.tasks.failed("ingest writer", "panicked: test");
    let r = app.client.get(app.url("/readyz")).send().await?;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("ingest writer")), "{body}");
    Ok(())
}
