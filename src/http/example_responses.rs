//! `/api/v1/example-responses`: the library of example responses agents adapt in the composer.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};

use super::audit_entry as entry;
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::example_responses::{self, ExampleSpec, ExampleView, ListQuery};
use chorus_core::state::AppState;

/// Example responses, by topic, optionally filtered by topic and words.
#[utoipa::path(get, path = "/api/v1/example-responses", tag = "writing", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<ExampleView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/example-responses")]
pub async fn list(
    state: web::Data<AppState>,
    _who: Caller<can::ReadSettings>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(example_responses::list(&state.db, &q).await?))
}

/// Add an example response.
#[utoipa::path(post, path = "/api/v1/example-responses", tag = "writing", security(("bearer" = [])),
    request_body = ExampleSpec,
    responses((status = 201, body = ExampleView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/example-responses")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageGuidance>,
    body: web::Json<ExampleSpec>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = example_responses::create(&txn, body.into_inner(), who.agent.id).await?;
    let e = entry(&req, &who, "example_response.create", "example_response", created.id);
    audit::record(&txn, e.with_after(&created)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// Replace an example response.
#[utoipa::path(put, path = "/api/v1/example-responses/{id}", tag = "writing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "example id")), request_body = ExampleSpec,
    responses((status = 200, body = ExampleView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[put("/example-responses/{id}")]
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageGuidance>,
    id: web::Path<i64>,
    body: web::Json<ExampleSpec>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = example_responses::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let after = example_responses::replace(&txn, id, body.into_inner()).await?;
    let e = entry(&req, &who, "example_response.update", "example_response", id);
    audit::record(&txn, e.with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Delete an example response.
#[utoipa::path(delete, path = "/api/v1/example-responses/{id}", tag = "writing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "example id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/example-responses/{id}")]
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageGuidance>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = example_responses::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    example_responses::delete(&txn, id).await?;
    let e = entry(&req, &who, "example_response.delete", "example_response", id);
    audit::record(&txn, e.with_before(&before)).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The example responses as macros for one conversation: each one's text with its variables
/// filled for this conversation and the caller (`missing` names those with no value here),
/// and what sending it also does. Filtered by `topic` and words as the library is.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/macros", tag = "writing", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id"), ListQuery),
    responses((status = 200, body = Vec<chorus_core::macros::Rendered>), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[get("/conversations/{id}/macros")]
pub async fn macros(
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let rendered = chorus_core::macros::for_conversation(&state.db, id.into_inner(), &who.agent.name, &q).await?;
    Ok(HttpResponse::Ok().json(rendered))
}
