//! Tells every console that an admin resource changed, so a second admin's screen shows the
//! first one's edit without a reload.
//!
//! One rule for every admin route, in one place: a successful write under `/api/v1/<resource>`
//! for a resource the admin screens show publishes `settings.changed` (`{resource, id, action,
//! by}`) on the `settings` topic of every node. It is a hint, not data: the screen re-reads the
//! resource through the same permission-checked API it already uses, so the event carries
//! nothing a subscriber may not see, and a write added to any of these resources later is
//! announced without anyone remembering to. It is not stored: a console that missed it (it was
//! offline) reads everything when it comes back anyway.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use chorus_core::events::kind;
use chorus_core::live::wire_entry;
use chorus_core::state::AppState;
use serde::Serialize;

/// Who made the change, left in the request's extensions by the extractor that authenticated it.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// The path segment of each announced resource and its name in the event.
const RESOURCES: [(&str, &str); 13] = [
    ("agents", "agents"),
    ("teams", "teams"),
    ("approval-rules", "approval_rules"),
    ("example-responses", "example_responses"),
    ("escalation-guides", "escalation_guides"),
    ("sla-policies", "sla_policies"),
    ("listening-rules", "listening_rules"),
    ("api-keys", "api_keys"),
    ("webhook-subscriptions", "webhook_subscriptions"),
    ("webhook-deliveries", "webhook_subscriptions"),
    ("crises", "crises"),
    ("watched-terms", "watched_terms"),
    ("brand-accounts", "brand_accounts"),
];

/// One change as the event tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The resource (`approval_rules`, …).
    pub resource: &'static str,
    /// The row, when the path names it (a creation's id is in its answer, not its path).
    pub id: Option<i64>,
    /// `created`, `updated` or `deleted`.
    pub action: &'static str,
}

impl Change {
    /// The change a successful `method` on `path` made, if it is an admin resource's.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        let mut segments = path.strip_prefix("/api/v1/")?.split('/').filter(|s| !s.is_empty());
        let first = segments.next()?;
        let (_, resource) = RESOURCES.iter().find(|(segment, _)| *segment == first)?;
        let id = segments.next().map(str::parse::<i64>);
        let deeper = segments.next().is_some();
        let action = match (method, &id) {
            (m, _) if *m == Method::GET || *m == Method::HEAD || *m == Method::OPTIONS => return None,
            (m, None) if *m == Method::POST => "created",
            (m, Some(_)) if *m == Method::DELETE && !deeper => "deleted",
            _ => "updated",
        };
        Some(Self { resource, id: id.and_then(Result::ok), action })
    }
}

/// The middleware on `/api/v1`.
pub async fn announce(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let change = Change::of(req.method(), req.path());
    let state = change.as_ref().and_then(|_| req.app_data::<web::Data<AppState>>().cloned());
    let res = next.call(req).await?;
    if let (Some(change), Some(state)) = (change, state)
        && res.status().is_success()
    {
        let by = res.request().extensions().get::<Actor>().map(|a| a.0.clone());
        let mut data = serde_json::json!(change);
        data["by"] = serde_json::json!(by);
        state.live.publish_entries(vec![wire_entry(kind::SETTINGS_CHANGED, None, data)]);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_to_admin_resources_are_changes_and_reads_are_not() {
        let change = |m: Method, p: &str| Change::of(&m, p);
        assert_eq!(
            change(Method::POST, "/api/v1/approval-rules"),
            Some(Change { resource: "approval_rules", id: None, action: "created" })
        );
        assert_eq!(
            change(Method::PUT, "/api/v1/sla-policies/4"),
            Some(Change { resource: "sla_policies", id: Some(4), action: "updated" })
        );
        assert_eq!(
            change(Method::DELETE, "/api/v1/watched-terms/9"),
            Some(Change { resource: "watched_terms", id: Some(9), action: "deleted" })
        );
        assert_eq!(
            change(Method::POST, "/api/v1/crises/2/resolve"),
            Some(Change { resource: "crises", id: Some(2), action: "updated" })
        );
        assert_eq!(change(Method::GET, "/api/v1/agents"), None);
        assert_eq!(change(Method::POST, "/api/v1/conversations/3/claim"), None);
        assert_eq!(change(Method::POST, "/api/v1/ingest/messages"), None);
        assert_eq!(change(Method::POST, "/healthz"), None);
    }
}
