//! `/api/v1/brand-accounts`: the handles and pages the team runs, their names and settings.

use actix_web::{HttpRequest, HttpResponse, get, patch, web};

use super::audit_entry as entry;
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::brand_accounts::{self, BrandAccountPatch, BrandAccountView};
use chorus_core::state::AppState;

/// Every brand account (anyone signed in, wallboards included: they filter by account).
#[utoipa::path(get, path = "/api/v1/brand-accounts", tag = "brand accounts", security(("bearer" = [])),
    responses((status = 200, body = Vec<BrandAccountView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/brand-accounts")]
pub async fn list(state: web::Data<AppState>, _who: Caller<can::ReadDirectory>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(brand_accounts::list(&state.db).await?))
}

/// One brand account.
#[utoipa::path(get, path = "/api/v1/brand-accounts/{id}", tag = "brand accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "brand account id")),
    responses((status = 200, body = BrandAccountView), (status = 401, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[get("/brand-accounts/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _who: Caller<can::ReadDirectory>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(brand_accounts::get(&state.db, id.into_inner()).await?))
}

/// Rename a brand account or change its default team (supervisors). The default team applies
/// to conversations that open from now on, on every node.
#[utoipa::path(patch, path = "/api/v1/brand-accounts/{id}", tag = "brand accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "brand account id")), request_body = BrandAccountPatch,
    responses((status = 200, body = BrandAccountView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[patch("/brand-accounts/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageBrandAccounts>,
    id: web::Path<i64>,
    body: web::Json<BrandAccountPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let (before, after) = brand_accounts::update(&txn, id, body.into_inner()).await?;
    let e = entry(&req, &who, "brand_account.update", "brand_account", id);
    audit::record(&txn, e.with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}
