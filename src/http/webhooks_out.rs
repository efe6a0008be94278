//! Outgoing webhook subscriptions and their delivery log (admin):
//! `GET/POST /api/v1/webhook-subscriptions`, `PATCH/DELETE /api/v1/webhook-subscriptions/{id}`,
//! `GET /api/v1/webhook-subscriptions/{id}/deliveries`, `POST /api/v1/webhook-deliveries/{id}/retry`.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};

use crate::http::error::ApiError;
use crate::http::extract::Authed;
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::state::AppState;
use chorus_core::webhooks_out::{
    self, CreatedSubscription, DeliveryPage, DeliveryQuery, DeliveryView, NewSubscription, SubscriptionPatch,
    SubscriptionView,
};

/// Every subscription (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions", tag = "webhooks out", security(("bearer" = [])),
    responses((status = 200, body = Vec<SubscriptionView>), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/webhook-subscriptions")]
pub async fn list(state: web::Data<AppState>, _who: Authed<can::ManageWebhooks>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(webhooks_out::list(&state.db).await?))
}

/// Subscribe a URL to event kinds. The answer holds the signing secret: the only time it is
/// shown.
#[utoipa::path(post, path = "/api/v1/webhook-subscriptions", tag = "webhooks out", security(("bearer" = [])),
    request_body = NewSubscription,
    responses((status = 201, body = CreatedSubscription), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/webhook-subscriptions")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageWebhooks>,
    body: web::Json<NewSubscription>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created =
        webhooks_out::create(&txn, who.agent.id, body.into_inner(), state.settings.webhooks.allow_http).await?;
    let id = created.subscription.id;
    let entry = super::audit_entry(&req, &who, "webhook_subscription.create", "webhook_subscription", id);
    audit::record(&txn, entry.with_after(&created.subscription)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// Change a subscription's name, URL, event kinds, or pause and resume it.
#[utoipa::path(patch, path = "/api/v1/webhook-subscriptions/{id}", tag = "webhooks out", security(("bearer" = [])),
    params(("id" = i64, Path, description = "subscription id")), request_body = SubscriptionPatch,
    responses((status = 200, body = SubscriptionView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[patch("/webhook-subscriptions/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageWebhooks>,
    id: web::Path<i64>,
    body: web::Json<SubscriptionPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after) = webhooks_out::update(&txn, id, body.into_inner(), state.settings.webhooks.allow_http).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "webhook_subscription.update", "webhook_subscription", id)
            .with_before(&before)
            .with_after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Delete a subscription with its delivery log; deliveries not yet sent are dropped.
#[utoipa::path(delete, path = "/api/v1/webhook-subscriptions/{id}", tag = "webhooks out", security(("bearer" = [])),
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 200, body = SubscriptionView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/webhook-subscriptions/{id}")]
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageWebhooks>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let before = webhooks_out::delete(&txn, id).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "webhook_subscription.delete", "webhook_subscription", id).with_before(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(before))
}

/// A subscription's delivery log, newest first: status, attempts, the last answer or error.
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions/{id}/deliveries", tag = "webhooks out",
    security(("bearer" = [])), params(("id" = i64, Path, description = "subscription id"), DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[get("/webhook-subscriptions/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    _who: Authed<can::ManageWebhooks>,
    id: web::Path<i64>,
    q: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(webhooks_out::deliveries(&state.db, id.into_inner(), &q).await?))
}

/// Send a failed delivery again, now, with a fresh set of attempts.
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/retry", tag = "webhooks out", security(("bearer" = [])),
    params(("id" = i64, Path, description = "delivery id")),
    responses((status = 200, body = DeliveryView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/webhook-deliveries/{id}/retry")]
pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageWebhooks>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after) = webhooks_out::retry(&txn, id).await?;
    audit::record(
        &txn,
        super::audit_entry(&req, &who, "webhook_delivery.retry", "webhook_delivery", id)
            .with_before(&before)
            .with_after(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}
