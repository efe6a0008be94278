//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from the
//! code that serves the routes.

use actix_web::{HttpResponse, get};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Chorus", description = "Real-time collaborative inbox for social customer care"),
    modifiers(&Security),
    paths(
        super::ops::healthz, super::ops::readyz, super::ops::metrics, openapi_json,
        super::auth::login, super::auth::logout, super::auth::me,
        super::me::settings, super::me::put_settings, super::me::views, super::me::create_view, super::me::replace_view,
        super::me::delete_view,
        super::agents::list, super::agents::create, super::agents::update, super::agents::revoke_sessions,
        super::api_keys::list, super::api_keys::create, super::api_keys::revoke, super::audit::search, super::audit::export,
        super::archive::search, super::archive::export, super::customers::erase,
        super::customers::get, super::customers::merge_into, super::customers::unmerge, super::customers::add_note,
        super::customers::tags, super::customers::link_crm, super::customers::unlink_crm,
        super::customers::suggestions, super::customers::accept_suggestion, super::customers::dismiss_suggestion,
        super::brand_accounts::list, super::brand_accounts::get, super::brand_accounts::update,
        super::teams::list, super::teams::create, super::teams::update, super::teams::set_agent_team,
        super::ingest::ingest_messages,
        super::webhooks::meta_verify, super::webhooks::meta_receive, super::webhooks::x_crc, super::webhooks::x_receive,
        super::conversations::list, super::conversations::get, super::conversations::add_note,
        super::conversations::next, super::conversations::claim, super::conversations::release, super::conversations::reassign,
        super::conversations::reassign_many, super::conversations::resolve, super::conversations::status, super::conversations::tags,
        super::conversations::move_to_team, super::conversations::reply, super::conversations::replies,
        super::conversations::message_revisions,
        crate::ws::connect,
        super::listening::list, super::listening::create, super::listening::delete,
        super::approvals::list, super::approvals::decide, super::approvals::list_rules, super::approvals::create_rule,
        super::approvals::replace_rule, super::approvals::delete_rule,
        super::escalations::escalate, super::escalations::give_back, super::escalations::list,
        super::escalations::list_guides, super::escalations::create_guide, super::escalations::replace_guide,
        super::escalations::delete_guide,
        super::example_responses::list, super::example_responses::create, super::example_responses::replace,
        super::example_responses::remove, super::example_responses::macros,
        super::crises::list, super::crises::declare, super::crises::get, super::crises::update, super::crises::respond,
        super::crises::resolve, super::crises::export, super::crises::alerts,
        super::alerts::list, super::alerts::acknowledge, super::alerts::assign, super::alerts::terms,
        super::alerts::watch, super::alerts::unwatch,
        super::metrics::current, super::metrics::floor, super::metrics::over_time, super::metrics::list_policies, super::metrics::create_policy,
        super::metrics::replace_policy, super::metrics::delete_policy,
        super::forecast::get_forecast, super::forecast::get_staffing,
        super::webhooks_out::list, super::webhooks_out::create, super::webhooks_out::update,
        super::webhooks_out::remove, super::webhooks_out::deliveries, super::webhooks_out::retry,
    ),
    components(schemas(crate::http::error::ErrorBody, chorus_core::triage::Reason, chorus_core::triage::Tier, chorus_core::export::Format,
        chorus_core::archive::Kind, chorus_core::conversations::View))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
#[get("/api/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// The document as served, built once. Views that flatten a request shape (`RuleView` =
/// `RuleSpec` + id, …) come out of utoipa as `allOf` with a `$ref` to that shape, which says
/// `additionalProperties: false` (requests refuse unknown fields), so no view could ever match
/// it; here each such `$ref` inside an `allOf` becomes a copy of the shape without that line.
/// Then [`finish_operations`] makes it valid OpenAPI 3.1 (`.ci/openapi-client` checks that, and
/// drives a client generated from it).
pub fn document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let schemas = doc["components"]["schemas"].clone();
        let open = |r: &str| {
            let name = r.strip_prefix("#/components/schemas/")?;
            let mut s = schemas.get(name)?.clone();
            s.as_object_mut()?.remove("additionalProperties")?;
            Some(s)
        };
        if let Some(all) = doc["components"]["schemas"].as_object_mut() {
            for schema in all.values_mut() {
                for part in schema.get_mut("allOf").and_then(|a| a.as_array_mut()).into_iter().flatten() {
                    if let Some(copy) = part.get("$ref").and_then(|r| r.as_str()).and_then(open) {
                        *part = copy;
                    }
                }
            }
        }
        finish_operations(&mut doc);
        doc
    })
}

/// What every operation needs to be valid OpenAPI, and what utoipa leaves out:
/// - a `description` on every response (utoipa drops an empty one; OpenAPI requires it): a 2xx
///   says what the operation's summary says, an error says which codes (`ErrorBody`'s `code`)
///   come with its status; a 429 also documents `Retry-After`;
/// - an `operationId` unique in the document (utoipa uses the bare function name, and many
///   modules have a `list` or a `get`): each is qualified by its tag, `conversations_claim`,
///   `crisis_list`, so one operation's id never depends on what other modules are named.
fn finish_operations(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else { continue };
            let tag = op.get("tags").and_then(|t| t.get(0)).and_then(Value::as_str).map(snake);
            if let (Some(tag), Some(id)) = (tag, op.get("operationId").and_then(Value::as_str))
                && !id.starts_with(&format!("{tag}_"))
            {
                let qualified = format!("{tag}_{id}");
                op.insert("operationId".into(), Value::String(qualified));
            }
            let summary = op.get("summary").and_then(Value::as_str).map(first_sentence).unwrap_or_default();
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else { continue };
                if status == "429" {
                    let headers = response.entry("headers").or_insert_with(|| json!({}));
                    if let Some(headers) = headers.as_object_mut() {
                        headers.entry("Retry-After").or_insert_with(|| {
                            json!({"description": "Seconds to wait before trying again.",
                                "schema": {"type": "integer", "minimum": 1}})
                        });
                    }
                }
                if response.get("description").and_then(Value::as_str).is_some_and(|d| !d.is_empty()) {
                    continue;
                }
                let text = response_description(method, status, &summary);
                response.insert("description".into(), Value::String(text));
            }
        }
    }
}

/// The description of a response that has none: from the operation's summary for a success,
/// from the error codes `crate::http::error` maps to its status for an error.
fn response_description(method: &str, status: &str, summary: &str) -> String {
    let error = match status {
        "400" => {
            "The request is invalid (`validation`, `malformed_json`, `invalid_payload` or \
            `private_details`); the error's message says what is wrong."
        }
        "401" => "Not signed in: no valid bearer token, API key or signature (`unauthorized`, `bad_signature`).",
        "403" => {
            "Forbidden: the caller's roles do not allow this (`forbidden`), or not from this address \
            (`ip_not_allowed`)."
        }
        "404" => "Not found (`not_found`).",
        "409" => {
            "Conflicts with the current state (`conflict`, `already_claimed`, `stale_claim`, \
            `holder_changed` or `at_capacity`)."
        }
        "413" => "The body is larger than the configured limit (`payload_too_large`).",
        "429" => {
            "Too many requests (`rate_limited`, or `locked` after failed logins): `Retry-After` says how \
            many seconds to wait."
        }
        "500" => "An unexpected error (`internal`); the server logged its cause.",
        "503" => {
            "Temporarily unavailable (`coordination_unavailable`, `unavailable`) or not configured \
            (`not_configured`); try again later."
        }
        _ => "",
    };
    if !error.is_empty() {
        return error.to_owned();
    }
    if !status.starts_with('2') {
        return format!("Status {status}.");
    }
    if summary.is_empty() {
        return "Success.".to_owned();
    }
    if method == "get" && status == "200" {
        return summary.to_owned();
    }
    let prefix = match status {
        "201" => "Created",
        "202" => "Accepted",
        "204" => "Done, nothing to return",
        _ => "Done",
    };
    // "Claim a conversation." → "Done: claim a conversation."; an acronym ("PR …") stays.
    let acronym = summary.chars().nth(1).is_some_and(|c| !c.is_lowercase());
    let mut chars = summary.chars();
    let lowered: String = match chars.next() {
        Some(first) if !acronym => first.to_lowercase().chain(chars).collect(),
        _ => summary.to_owned(),
    };
    format!("{prefix}: {lowered}")
}

/// A summary's first sentence, on one line.
fn first_sentence(summary: &str) -> String {
    let line = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.find(". ") {
        Some(end) => line[..=end].to_owned(),
        None => line,
    }
}

/// A tag as an identifier: `webhooks out` → `webhooks_out`.
fn snake(tag: &str) -> String {
    tag.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
