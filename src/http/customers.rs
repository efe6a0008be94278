//! `DELETE /api/v1/customers/{id}`: the right to erasure.

use actix_web::{HttpRequest, HttpResponse, delete, web};

use crate::auth::{Authed, can};
use crate::erasure::{self, Erased};
use crate::error::ApiError;
use crate::state::AppState;

/// Erase a customer (legal, admins): their identities, conversations, messages (and search
/// index entries), notes, replies, approvals, escalations and stored events, in one
/// transaction; audited with the counts. Cannot be undone.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = Erased), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
#[delete("/customers/{id}")]
pub async fn erase(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::EraseCustomers>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "customer.erase", "customer", id);
    Ok(HttpResponse::Ok().json(erasure::erase(&state.db, &state.live, id, audit).await?))
}
