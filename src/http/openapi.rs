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
        super::example_responses::remove,
        super::crises::list, super::crises::declare, super::crises::get, super::crises::update, super::crises::respond,
        super::crises::resolve, super::crises::export, super::crises::alerts,
        super::metrics::current, super::metrics::over_time, super::metrics::list_policies, super::metrics::create_policy,
        super::metrics::replace_policy, super::metrics::delete_policy,
        super::webhooks_out::list, super::webhooks_out::create, super::webhooks_out::update,
        super::webhooks_out::remove, super::webhooks_out::deliveries, super::webhooks_out::retry,
    ),
    components(schemas(crate::error::ErrorBody, crate::triage::Reason, crate::triage::Tier, crate::export::Format,
        crate::archive::Kind, crate::conversations::View))
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
        doc
    })
}
