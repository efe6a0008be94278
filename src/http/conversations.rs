//! `GET /api/v1/conversations`, `GET /api/v1/conversations/{id}`, `POST …/{id}/notes`.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthedAgent;
use crate::conversations::{self, Detail, ListQuery, NoteView, Page};
use crate::error::ApiError;
use crate::state::AppState;

/// Conversations of a view, a page at a time.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
#[get("/conversations")]
pub async fn list(
    state: web::Data<AppState>,
    who: AuthedAgent,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(conversations::list(&state.db, &q, who.agent.id).await?))
}

/// One conversation: the public and private thread, notes, the customer and their earlier
/// conversations.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")),
    responses((status = 200, body = Detail), (status = 404, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
#[get("/conversations/{id}")]
pub async fn get(state: web::Data<AppState>, _who: AuthedAgent, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(conversations::detail(&state.db, id.into_inner()).await?))
}

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// Text (1 to 10,000 characters).
    pub text: String,
}

/// Add an internal note.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/notes", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = NoteRequest,
    responses((status = 201, body = NoteView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[post("/conversations/{id}/notes")]
pub async fn add_note(
    state: web::Data<AppState>,
    who: AuthedAgent,
    id: web::Path<i64>,
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let note = conversations::add_note(&state.db, id.into_inner(), who.agent.id, &body.text).await?;
    Ok(HttpResponse::Created().json(note))
}
