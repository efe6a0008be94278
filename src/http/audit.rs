//! `GET /api/v1/audit` (search) and `GET /api/v1/audit/export` (CSV or NDJSON, streamed).

use actix_web::{HttpRequest, HttpResponse, get, web};
use chorus_core::Error;

use crate::http::error::ApiError;
use crate::http::extract::Caller;
use chorus_core::audit::{self, EntryPage, Search};
use chorus_core::auth::can;
use chorus_core::export::Format;
use chorus_core::state::AppState;

/// Search the audit trail (legal, admins, or a key with `audit.read`), newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(Search),
    responses((status = 200, body = EntryPage), (status = 400, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody), (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/audit")]
pub async fn search(
    state: web::Data<AppState>,
    _who: Caller<can::ReadAudit>,
    q: web::Query<Search>,
) -> Result<HttpResponse, ApiError> {
    if q.format.is_some() {
        return Err(ApiError::Domain(Error::Validation("format is for /api/v1/audit/export".into())));
    }
    Ok(HttpResponse::Ok().json(audit::search(&state.db, &q).await?))
}

/// Export the audit trail matching the filters, oldest first, as CSV (default) or NDJSON;
/// streamed a page at a time, however long. The export is itself audited.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("bearer" = [])), params(Search),
    responses((status = 200, description = "text/csv or application/x-ndjson, streamed"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/audit/export")]
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Caller<can::ReadAudit>,
    q: web::Query<Search>,
) -> Result<HttpResponse, ApiError> {
    let filters = q.into_inner();
    if filters.before_id.is_some() || filters.limit.is_some() {
        return Err(ApiError::Domain(Error::Validation("an export has no pages: drop before_id and limit".into())));
    }
    let format = filters.format.unwrap_or(Format::Csv);
    super::record_export(&req, &state, &who.actor(), who.ip, "audit.export", &filters).await?;
    let db = state.db.clone();
    let body = chorus_core::export::paged(move |cursor, first| {
        let (db, filters) = (db.clone(), filters.clone());
        async move { audit::export_page(&db, &filters, cursor, first).await }
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("content-disposition", format!("attachment; filename=\"audit.{}\"", format.extension())))
        .streaming(body))
}
