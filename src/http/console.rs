//! The browser console and the wallboard: plain ES modules and CSS from `static/`, embedded in
//! the binary (so `cargo run --release` serves them with nothing else installed) and read from
//! disk in debug builds (so editing a file needs no rebuild). No build step.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use chorus_core::Error;
use rust_embed::RustEmbed;

use crate::http::error::ApiError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// What the pages may load and talk to: only this server (its API and its WebSocket).
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
                   style-src 'self'; script-src 'self'; frame-ancestors 'none'";

fn asset(path: &str) -> Result<HttpResponse, ApiError> {
    let found = Assets::get(path).ok_or(ApiError::Domain(Error::NotFound("page")))?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    Ok(HttpResponse::Ok()
        .content_type(mime.as_ref())
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(found.data.into_owned()))
}

/// The console (agent, supervisor and approver views).
#[get("/")]
pub async fn index() -> Result<HttpResponse, ApiError> {
    asset("index.html")
}

/// The wallboard.
#[get("/wallboard")]
pub async fn wallboard() -> Result<HttpResponse, ApiError> {
    asset("wallboard.html")
}

/// Scripts, styles and images under `/static/`.
#[get("/static/{path:.*}")]
pub async fn static_file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    if path.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return Err(ApiError::Domain(Error::NotFound("page")));
    }
    asset(&path)
}
