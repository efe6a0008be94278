//! `/api/v1/me/…`: what each agent keeps for their own console — settings and saved queue
//! views. Only ever the caller's own: another agent's view is "not found", never "forbidden".

use actix_web::{HttpResponse, delete, get, post, put, web};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::AuthedAgent;
use chorus_core::console_settings::{self, ConsoleSettings};
use chorus_core::saved_views::{self, SavedView, ViewSpec};
use chorus_core::state::AppState;

/// The caller's console settings (the defaults until first saved).
#[utoipa::path(get, path = "/api/v1/me/settings", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = ConsoleSettings), (status = 401, body = ErrorBody)))]
#[get("/me/settings")]
pub async fn settings(state: web::Data<AppState>, who: AuthedAgent) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(console_settings::get(&state.db, who.agent.id).await?))
}

/// Replace the caller's console settings (absent fields take their defaults).
#[utoipa::path(put, path = "/api/v1/me/settings", tag = "auth", security(("bearer" = [])), request_body = ConsoleSettings,
    responses((status = 200, body = ConsoleSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[put("/me/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    who: AuthedAgent,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    // Every field has a default, so serde would read `[]` as "all defaults": only an object is
    // a set of settings.
    let body = body.into_inner();
    if !body.is_object() {
        return Err(ApiError::InvalidPayload("settings must be a JSON object".into()));
    }
    let chosen: ConsoleSettings = serde_json::from_value(body).map_err(|e| ApiError::InvalidPayload(e.to_string()))?;
    Ok(HttpResponse::Ok().json(console_settings::put(&state.db, who.agent.id, chosen).await?))
}

/// The caller's saved queue views, by name.
#[utoipa::path(get, path = "/api/v1/me/views", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<SavedView>), (status = 401, body = ErrorBody)))]
#[get("/me/views")]
pub async fn views(state: web::Data<AppState>, who: AuthedAgent) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(saved_views::list(&state.db, who.agent.id).await?))
}

/// Save a queue view (409 for a name the caller already uses).
#[utoipa::path(post, path = "/api/v1/me/views", tag = "auth", security(("bearer" = [])), request_body = ViewSpec,
    responses((status = 201, body = SavedView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
#[post("/me/views")]
pub async fn create_view(
    state: web::Data<AppState>,
    who: AuthedAgent,
    body: web::Json<ViewSpec>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(saved_views::create(&state.db, who.agent.id, body.into_inner()).await?))
}

/// Replace one of the caller's views.
#[utoipa::path(put, path = "/api/v1/me/views/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path, description = "view id")), request_body = ViewSpec,
    responses((status = 200, body = SavedView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[put("/me/views/{id}")]
pub async fn replace_view(
    state: web::Data<AppState>,
    who: AuthedAgent,
    id: web::Path<i64>,
    body: web::Json<ViewSpec>,
) -> Result<HttpResponse, ApiError> {
    let view = saved_views::replace(&state.db, who.agent.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Delete one of the caller's views.
#[utoipa::path(delete, path = "/api/v1/me/views/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path, description = "view id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/me/views/{id}")]
pub async fn delete_view(
    state: web::Data<AppState>,
    who: AuthedAgent,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    saved_views::delete(&state.db, who.agent.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
