//! The HTTP surface: one file per resource, translating wire formats to domain calls.

pub mod agents;
pub mod auth;
pub mod body;
pub mod conversations;
pub mod ingest;
pub mod listening;
pub mod openapi;
pub mod ops;
pub mod webhooks;

use actix_web::web;

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::healthz)
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
                .service(auth::login)
                .service(auth::logout)
                .service(auth::me)
                .service(agents::list)
                .service(agents::create)
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
                .service(listening::list)
                .service(listening::create)
                .service(listening::delete),
        );
}
