//! The HTTP surface: one file per resource, translating wire formats to domain calls.

pub mod agents;
pub mod alerts;
pub mod api_keys;
pub mod approvals;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod body;
pub mod brand_accounts;
pub mod console;
pub mod conversations;
pub mod crises;
pub mod customers;
pub mod error;
pub mod escalations;
pub mod example_responses;
pub mod extract;
pub mod forecast;
pub mod ingest;
pub mod limits;
pub mod listening;
pub mod me;
pub mod metrics;
pub mod nul;
pub mod openapi;
pub mod ops;
pub mod settings_changed;
pub mod teams;
pub mod webhooks;
pub mod webhooks_out;

use actix_web::{HttpRequest, web};

use crate::http::extract::AuthedAgent;

/// The audit entry of an action an agent took through the API: actor and client address filled
/// in, before/after left to the caller.
pub fn audit_entry(
    req: &HttpRequest,
    who: &AuthedAgent,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
) -> chorus_core::audit::Entry {
    entry_for(req, format!("agent:{}", who.agent.id), who.ip, action, target_type, target_id)
}

/// [`audit_entry`] for a route agents and API keys both call (`agent:<id>` or `key:<id>`).
pub fn caller_audit_entry<P>(
    req: &HttpRequest,
    who: &crate::http::extract::Caller<P>,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
) -> chorus_core::audit::Entry {
    entry_for(req, who.actor(), who.ip, action, target_type, target_id)
}

fn entry_for(
    req: &HttpRequest,
    actor: String,
    ip: Option<std::net::IpAddr>,
    action: &str,
    target_type: &str,
    target_id: impl ToString,
) -> chorus_core::audit::Entry {
    chorus_core::audit::Entry {
        actor,
        action: action.into(),
        target_type: target_type.into(),
        target_id: Some(target_id.to_string()),
        ip: ip.or_else(|| crate::http::extract::client_ip(req)).map(|a| a.to_string()),
        ..Default::default()
    }
}

/// Audits an export as it starts: who asked for what (the filters), from where.
pub async fn record_export(
    req: &HttpRequest,
    state: &chorus_core::state::AppState,
    actor: &str,
    ip: Option<std::net::IpAddr>,
    action: &str,
    filters: &impl serde::Serialize,
) -> Result<(), crate::http::error::ApiError> {
    let entry = chorus_core::audit::Entry {
        actor: actor.to_owned(),
        action: action.into(),
        target_type: "export".into(),
        after: serde_json::to_value(filters).ok(),
        ip: ip.or_else(|| crate::http::extract::client_ip(req)).map(|a| a.to_string()),
        ..Default::default()
    };
    chorus_core::audit::record(&state.db, entry).await?;
    Ok(())
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::healthz)
        .service(console::index)
        .service(console::wallboard)
        .service(console::static_file)
        .service(crate::ws::connect)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(openapi::openapi_json)
        .service(webhooks::meta_verify)
        .service(webhooks::meta_receive)
        .service(webhooks::x_crc)
        .service(webhooks::x_receive)
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(crate::http::settings_changed::announce))
                .wrap(actix_web::middleware::from_fn(crate::http::limits::enforce))
                .service(auth::login)
                .service(auth::logout)
                .service(auth::me)
                .service(me::settings)
                .service(me::put_settings)
                .service(me::views)
                .service(me::create_view)
                .service(me::replace_view)
                .service(me::delete_view)
                .service(agents::list)
                .service(agents::create)
                .service(agents::update)
                .service(agents::revoke_sessions)
                .service(api_keys::list)
                .service(api_keys::create)
                .service(api_keys::revoke)
                .service(audit::search)
                .service(audit::export)
                .service(archive::search)
                .service(archive::export)
                .service(customers::erase)
                .service(customers::get)
                .service(customers::merge_into)
                .service(customers::unmerge)
                .service(customers::add_note)
                .service(customers::tags)
                .service(customers::link_crm)
                .service(customers::unlink_crm)
                .service(customers::suggestions)
                .service(customers::accept_suggestion)
                .service(customers::dismiss_suggestion)
                .service(brand_accounts::list)
                .service(brand_accounts::get)
                .service(brand_accounts::update)
                .service(teams::list)
                .service(teams::create)
                .service(teams::update)
                .service(teams::set_agent_team)
                .service(ingest::ingest_messages)
                .service(conversations::list)
                .service(conversations::get)
                .service(conversations::add_note)
                .service(conversations::next)
                .service(conversations::reassign_many)
                .service(conversations::claim)
                .service(conversations::release)
                .service(conversations::reassign)
                .service(conversations::resolve)
                .service(conversations::status)
                .service(conversations::tags)
                .service(conversations::move_to_team)
                .service(conversations::reply)
                .service(conversations::replies)
                .service(conversations::message_revisions)
                .service(approvals::list)
                .service(approvals::decide)
                .service(approvals::list_rules)
                .service(approvals::create_rule)
                .service(approvals::replace_rule)
                .service(approvals::delete_rule)
                .service(escalations::escalate)
                .service(escalations::give_back)
                .service(escalations::list)
                .service(escalations::list_guides)
                .service(escalations::create_guide)
                .service(escalations::replace_guide)
                .service(escalations::delete_guide)
                .service(example_responses::list)
                .service(example_responses::create)
                .service(example_responses::replace)
                .service(example_responses::remove)
                .service(example_responses::macros)
                .service(crises::list)
                .service(crises::declare)
                .service(crises::alerts)
                .service(alerts::list)
                .service(alerts::acknowledge)
                .service(alerts::assign)
                .service(alerts::terms)
                .service(alerts::watch)
                .service(alerts::unwatch)
                .service(crises::get)
                .service(crises::update)
                .service(crises::respond)
                .service(crises::resolve)
                .service(crises::export)
                .service(metrics::current)
                .service(metrics::floor)
                .service(metrics::over_time)
                .service(forecast::get_forecast)
                .service(forecast::get_staffing)
                .service(metrics::list_policies)
                .service(metrics::create_policy)
                .service(metrics::replace_policy)
                .service(metrics::delete_policy)
                .service(listening::list)
                .service(listening::create)
                .service(listening::delete)
                .service(webhooks_out::list)
                .service(webhooks_out::create)
                .service(webhooks_out::update)
                .service(webhooks_out::remove)
                .service(webhooks_out::deliveries)
                .service(webhooks_out::retry),
        );
}
