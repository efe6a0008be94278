//! `/api/v1/customers/…` and `/api/v1/merge-suggestions/…`: the single customer view (profile,
//! merges, suggestions, notes, tags, CRM link) and the right to erasure.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::auth::can;
use chorus_core::customers::{self, merge, profile, suggest};
use chorus_core::erasure::{self, Erased};
use chorus_core::state::AppState;

/// Erase a customer (legal, admins): their identities, conversations, messages (and search
/// index entries), notes, replies, approvals, escalations and stored events, in one
/// transaction; audited with the counts. Cannot be undone.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = Erased), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
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

/// The customer's profile: identities, every conversation on every network with its outcome and
/// who handled it, sentiment trend, notes, tags, influence, open merge suggestions, merges.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = profile::Profile), (status = 401, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[get("/customers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _who: Caller<can::ReadConversations>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(profile::load(&state.db, id.into_inner()).await?))
}

/// The customer to merge into the one in the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer merged away (its identities, conversations, notes and tags move).
    pub from: i64,
}

/// Merge another customer into this one (agents, supervisors): identities, conversations with
/// their messages, notes and tags move here; what moved is recorded so `unmerge` restores it.
/// Audited; every session viewing a conversation of either customer gets `customer.merged`.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "the surviving customer")), request_body = MergeRequest,
    responses((status = 200, body = merge::MergeView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "one of them is already merged into another")))]
#[post("/customers/{id}/merge")]
pub async fn merge_into(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::MergeCustomers>,
    id: web::Path<i64>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "customer.merge", "customer", id);
    Ok(HttpResponse::Ok().json(merge::merge(&state.db, &state.live, id, body.from, audit).await?))
}

/// The customer to take back out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeRequest {
    /// The customer that was merged into the one in the path.
    pub customer_id: i64,
}

/// Undo a merge (agents, supervisors): every identity, conversation, message and note that
/// moved goes back to the customer it came from. Merges undo last first. Audited; sessions get
/// `customer.unmerged`.
#[utoipa::path(post, path = "/api/v1/customers/{id}/unmerge", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "the surviving customer")), request_body = UnmergeRequest,
    responses((status = 200, body = merge::MergeView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody, description = "no merge of that customer into this one to undo"),
        (status = 409, body = crate::http::error::ErrorBody, description = "this customer is itself merged: undo that first")))]
#[post("/customers/{id}/unmerge")]
pub async fn unmerge(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::MergeCustomers>,
    id: web::Path<i64>,
    body: web::Json<UnmergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "customer.unmerge", "customer", id);
    Ok(HttpResponse::Ok().json(merge::unmerge(&state.db, &state.live, id, body.customer_id, audit).await?))
}

/// A note on the customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerNoteRequest {
    /// Text (1 to 10,000 characters).
    pub text: String,
}

/// Add a note on the customer (kept across all their conversations; never sent to them).
#[utoipa::path(post, path = "/api/v1/customers/{id}/notes", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "customer id")), request_body = CustomerNoteRequest,
    responses((status = 201, body = profile::CustomerNoteView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/customers/{id}/notes")]
pub async fn add_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    body: web::Json<CustomerNoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "customer.note", "customer", id);
    Ok(HttpResponse::Created()
        .json(customers::add_note(&state.db, &state.live, id, who.agent.id, &body.text, audit).await?))
}

/// Tags to add to and remove from a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerTagsRequest {
    /// Tags to add (lower-cased, 1 to 64 characters), e.g. `vip`.
    #[serde(default)]
    pub add: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Change a customer's tags (conversation lists filter by them: `customer_tag=vip`). Audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/tags", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "customer id")), request_body = CustomerTagsRequest,
    responses((status = 200, body = customers::CustomerTags), (status = 400, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/customers/{id}/tags")]
pub async fn tags(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    body: web::Json<CustomerTagsRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "customer.tags", "customer", id);
    Ok(HttpResponse::Ok().json(customers::tag(&state.db, &state.live, id, &body.add, &body.remove, audit).await?))
}

/// The customer's id in the CRM.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmLinkRequest {
    /// 1 to 200 characters.
    pub crm_id: String,
}

/// Link a customer to an external CRM id (integrations with an API key holding
/// `customers.link_crm`, supervisors). Audited with before and after.
#[utoipa::path(put, path = "/api/v1/customers/{id}/crm", tag = "customers", security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "customer id")), request_body = CrmLinkRequest,
    responses((status = 200, body = customers::CrmLink), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "the customer is merged into another")))]
#[put("/customers/{id}/crm")]
pub async fn link_crm(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Caller<can::LinkCrm>,
    id: web::Path<i64>,
    body: web::Json<CrmLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::caller_audit_entry(&req, &who, "customer.crm_link", "customer", id);
    Ok(HttpResponse::Ok().json(customers::link_crm(&state.db, id, Some(&body.crm_id), audit).await?))
}

/// Remove a customer's CRM link. Audited.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/crm", tag = "customers", security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = customers::CrmLink), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[delete("/customers/{id}/crm")]
pub async fn unlink_crm(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Caller<can::LinkCrm>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::caller_audit_entry(&req, &who, "customer.crm_unlink", "customer", id);
    Ok(HttpResponse::Ok().json(customers::link_crm(&state.db, id, None, audit).await?))
}

/// Merge suggestions (open ones unless `status` says otherwise), newest first.
#[utoipa::path(get, path = "/api/v1/merge-suggestions", tag = "customers", security(("bearer" = [])),
    params(suggest::SuggestionQuery),
    responses((status = 200, body = Vec<suggest::SuggestionView>), (status = 400, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/merge-suggestions")]
pub async fn suggestions(
    state: web::Data<AppState>,
    _who: Caller<can::ReadConversations>,
    q: web::Query<suggest::SuggestionQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(suggest::list(&state.db, &q).await?))
}

/// Accept a merge suggestion: the customer whose message carried the detail is merged into the
/// one it was known for (as `POST /customers/{other}/merge`).
#[utoipa::path(post, path = "/api/v1/merge-suggestions/{id}/accept", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "suggestion id")),
    responses((status = 200, body = merge::MergeView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/merge-suggestions/{id}/accept")]
pub async fn accept_suggestion(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::MergeCustomers>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "customer.merge", "merge_suggestion", id);
    Ok(HttpResponse::Ok().json(suggest::accept(&state.db, &state.live, id, audit).await?))
}

/// Dismiss a merge suggestion (not the same person). Audited.
#[utoipa::path(post, path = "/api/v1/merge-suggestions/{id}/dismiss", tag = "customers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "suggestion id")),
    responses((status = 200, body = suggest::SuggestionView), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)))]
#[post("/merge-suggestions/{id}/dismiss")]
pub async fn dismiss_suggestion(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::MergeCustomers>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "merge_suggestion.dismiss", "merge_suggestion", id);
    Ok(HttpResponse::Ok().json(suggest::dismiss(&state.db, id, audit).await?))
}
