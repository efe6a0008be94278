//! `GET /api/v1/archive/search` and `GET /api/v1/archive/export` (CSV or NDJSON, streamed).

use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::http::error::ApiError;
use crate::http::extract::Caller;
use chorus_core::archive::{self, ArchiveQuery, HitPage};
use chorus_core::auth::can;
use chorus_core::export::Format;
use chorus_core::state::AppState;

/// Search messages or notes by words, with filters; newest first.
#[utoipa::path(get, path = "/api/v1/archive/search", tag = "archive", security(("bearer" = [])), params(ArchiveQuery),
    responses((status = 200, body = HitPage), (status = 400, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/archive/search")]
pub async fn search(
    state: web::Data<AppState>,
    _who: Caller<can::SearchArchive>,
    q: web::Query<ArchiveQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(archive::search(&state.db, &q).await?))
}

/// Export every message (or note) matching the filters, oldest first, as CSV (default) or
/// NDJSON, streamed a page at a time whatever its size. The export is audited.
#[utoipa::path(get, path = "/api/v1/archive/export", tag = "archive", security(("bearer" = [])), params(ArchiveQuery),
    responses((status = 200, description = "text/csv or application/x-ndjson, streamed"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/archive/export")]
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Caller<can::ExportArchive>,
    q: web::Query<ArchiveQuery>,
) -> Result<HttpResponse, ApiError> {
    let filters = q.into_inner();
    archive::check_export(state.db.get_database_backend(), &filters)?;
    let format = filters.format.unwrap_or(Format::Csv);
    super::record_export(&req, &state, &who.actor(), who.ip, "archive.export", &filters).await?;
    let db = state.db.clone();
    let body = chorus_core::export::paged(move |cursor, first| {
        let (db, filters) = (db.clone(), filters.clone());
        async move { archive::export_page(&db, &filters, cursor, first).await }
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("content-disposition", format!("attachment; filename=\"archive.{}\"", format.extension())))
        .streaming(body))
}
