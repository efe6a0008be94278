//! `/api/v1/approvals` and `/api/v1/approval-rules`: held replies and the rules that hold them.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};

use super::audit_entry as entry;
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::approvals::rules::{self, RuleSpec, RuleView};
use chorus_core::approvals::{self, ApprovalView, Decision, ListQuery};
use chorus_core::audit;
use chorus_core::auth::can;
use chorus_core::state::AppState;

/// Approval requests: by default the pending ones of the groups you decide for, oldest first,
/// each with its conversation and latest messages; agents see the requests on their own
/// replies.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<ApprovalView>), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[get("/approvals")]
pub async fn list(
    state: web::Data<AppState>,
    who: Authed<can::ReadConversations>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(approvals::list(&state.db, &who.agent, &q).await?))
}

/// Decide a held reply: `approve`, `edit` (send `text` instead) or `reject` (with a comment).
/// The first decision wins; a second one gets 409 `conflict` and changes nothing.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/decision", tag = "approvals", security(("bearer" = [])),
    params(("id" = i64, Path, description = "approval id")), request_body = Decision,
    responses((status = 200, body = ApprovalView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "already decided")))]
#[post("/approvals/{id}/decision")]
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::DecideApprovals>,
    id: web::Path<i64>,
    body: web::Json<Decision>,
) -> Result<HttpResponse, ApiError> {
    let ip = crate::http::extract::client_ip(&req).map(|a| a.to_string());
    Ok(HttpResponse::Ok().json(
        chorus_core::replies::decide_held(&state.outbox(), id.into_inner(), &who.agent, body.into_inner(), ip).await?,
    ))
}

/// The approval rules (anyone signed in may read what needs approval).
#[utoipa::path(get, path = "/api/v1/approval-rules", tag = "approvals", security(("bearer" = [])),
    responses((status = 200, body = Vec<RuleView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/approval-rules")]
pub async fn list_rules(state: web::Data<AppState>, _who: Caller<can::ReadSettings>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(rules::list(&state.db).await?))
}

/// Add a rule (PR, legal, admin); it applies to the next reply on every node.
#[utoipa::path(post, path = "/api/v1/approval-rules", tag = "approvals", security(("bearer" = [])),
    request_body = RuleSpec,
    responses((status = 201, body = RuleView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/approval-rules")]
pub async fn create_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageApprovalRules>,
    body: web::Json<RuleSpec>,
) -> Result<HttpResponse, ApiError> {
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let created = rules::create(&txn, body.into_inner(), who.agent.id).await?;
    let e = entry(&req, &who, "approval_rule.create", "approval_rule", created.id);
    audit::record(&txn, e.with_after(&created)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

/// Replace a rule (PR, legal, admin).
#[utoipa::path(put, path = "/api/v1/approval-rules/{id}", tag = "approvals", security(("bearer" = [])),
    params(("id" = i64, Path, description = "rule id")), request_body = RuleSpec,
    responses((status = 200, body = RuleView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[put("/approval-rules/{id}")]
pub async fn replace_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageApprovalRules>,
    id: web::Path<i64>,
    body: web::Json<RuleSpec>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = rules::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    let after = rules::replace(&txn, &before, body.into_inner()).await?;
    let e = entry(&req, &who, "approval_rule.update", "approval_rule", id);
    audit::record(&txn, e.with_before(&before).with_after(&after)).await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Delete a rule (PR, legal, admin). Replies it already held stay held until decided.
#[utoipa::path(delete, path = "/api/v1/approval-rules/{id}", tag = "approvals", security(("bearer" = [])),
    params(("id" = i64, Path, description = "rule id")),
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody)))]
#[delete("/approval-rules/{id}")]
pub async fn delete_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::ManageApprovalRules>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let before = rules::get(&state.db, id).await?;
    let txn = chorus_core::db::begin_write(&state.db).await?;
    rules::delete(&txn, id).await?;
    let e = entry(&req, &who, "approval_rule.delete", "approval_rule", id);
    audit::record(&txn, e.with_before(&before)).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
