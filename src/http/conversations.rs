//! `GET /api/v1/conversations`, `GET /api/v1/conversations/{id}`, `POST …/{id}/notes`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chorus_core::Error;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::extract::{Authed, Caller};
use chorus_core::auth::can;
use chorus_core::conversations::actions;
use chorus_core::conversations::claims::{self, ClaimView};
use chorus_core::conversations::{self, ListQuery, NoteView, Page};
use chorus_core::detail::Detail;
use chorus_core::ids::{AgentId, ConversationId, FenceToken};
use chorus_core::state::AppState;

/// Conversations of a view, a page at a time.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page), (status = 400, body = crate::http::error::ErrorBody), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/conversations")]
pub async fn list(
    state: web::Data<AppState>,
    who: Caller<can::ReadConversations>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(conversations::list(&state.db, &q, who.agent().map_or(0, |a| a.id)).await?))
}

/// One conversation: the public and private thread, notes, the customer and their earlier
/// conversations.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")),
    responses((status = 200, body = Detail), (status = 404, body = crate::http::error::ErrorBody), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/conversations/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _who: Caller<can::ReadConversations>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let d = chorus_core::detail::load(&state.db, state.crm.as_ref(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
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
    responses((status = 201, body = NoteView), (status = 400, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[post("/conversations/{id}/notes")]
pub async fn add_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.note", "conversation", id);
    let note = conversations::add_note(&state.db, &state.live, id, who.agent.id, &body.text, audit).await?;
    Ok(HttpResponse::Created().json(note))
}

fn lease(state: &AppState) -> std::time::Duration {
    std::time::Duration::from_secs(state.settings.claim_lease_secs)
}

/// The caller as a claimant: their capacity and the configured lease.
fn claimant(state: &AppState, who: &chorus_core::agents::AgentView) -> claims::Claimant {
    claims::Claimant::of(who, lease(state))
}

/// Claim a conversation (or renew your own claim). The answer's `fence_token` must accompany
/// every later write to it.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/claim", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")),
    responses((status = 200, body = ClaimView), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "already_claimed, or the conversation is resolved"),
        (status = 503, body = crate::http::error::ErrorBody, description = "coordination_unavailable")))]
#[post("/conversations/{id}/claim")]
pub async fn claim(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<ConversationId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.claim", "conversation", id);
    let view = claims::claim(&state.db, &state.live, id, &claimant(&state, &who.agent), audit).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A fencing token, proving the caller still holds the claim.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FenceRequest {
    /// The token the claim returned.
    #[schema(value_type = i64)]
    pub fence_token: FenceToken,
}

/// Give a conversation back to the queue.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/release", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = FenceRequest,
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "stale_claim: not (or no longer) the holder")))]
#[post("/conversations/{id}/release")]
pub async fn release(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<ConversationId>,
    body: web::Json<FenceRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.release", "conversation", id);
    claims::release(&state.db, &state.live, claims::Held::by(&who.agent, id, body.fence_token), audit).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Whom to move a conversation to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// The agent who takes it over.
    #[schema(value_type = i64)]
    pub agent_id: AgentId,
}

/// Move a conversation to another agent (supervisor): a forced transfer with a new token; the
/// previous holder's token stops working at once.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/reassign", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = ReassignRequest,
    responses((status = 200, body = ClaimView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[post("/conversations/{id}/reassign")]
pub async fn reassign(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::AssignConversations>,
    id: web::Path<ConversationId>,
    body: web::Json<ReassignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.reassign", "conversation", id);
    let view = claims::reassign(&state.db, &state.live, id, body.agent_id, lease(&state), audit).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Reply on a conversation you hold, in public or in private. The reply is stored before it is
/// sent (202: it is queued; `reply.sent` or `reply.failed` follow on the conversation's and your
/// own topic); the same `idempotency_key` again returns the first reply instead of posting twice.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/replies", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = chorus_core::replies::NewReply,
    responses((status = 202, body = chorus_core::replies::ReplyView), (status = 400, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "stale_claim, resolved, or a key reused elsewhere")))]
#[post("/conversations/{id}/replies")]
pub async fn reply(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<i64>,
    body: web::Json<chorus_core::replies::NewReply>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "reply.submit", "conversation", id);
    let view = chorus_core::replies::submit(&state.outbox(), id, who.agent.id, body.into_inner(), audit).await?;
    Ok(HttpResponse::Accepted().json(view))
}

/// The replies sent on a conversation, with their delivery status.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/replies", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")),
    responses((status = 200, body = Vec<chorus_core::replies::ReplyView>), (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/conversations/{id}/replies")]
pub async fn replies(
    state: web::Data<AppState>,
    _who: Caller<can::ReadConversations>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(chorus_core::replies::list(&state.db, id.into_inner()).await?))
}

/// The earlier texts of a message its author edited on the network, oldest first: kept for
/// the audit trail, never shown in the thread. A deleted message has none (its words are gone).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages/{message_id}/revisions", tag = "conversations",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id"), ("message_id" = i64, Path, description = "message id")),
    responses((status = 200, body = Vec<conversations::RevisionView>), (status = 404, body = crate::http::error::ErrorBody),
        (status = 401, body = crate::http::error::ErrorBody)))]
#[get("/conversations/{id}/messages/{message_id}/revisions")]
pub async fn message_revisions(
    state: web::Data<AppState>,
    _who: Caller<can::ReadConversations>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let (conversation_id, message_id) = path.into_inner();
    entity::message::Entity::find_by_id(message_id)
        .filter(entity::message::Column::ConversationId.eq(conversation_id))
        .one(&state.db)
        .await?
        .ok_or(ApiError::Domain(Error::NotFound("message")))?;
    let revisions = chorus_core::ingest::changes::revisions(&state.db, message_id).await?;
    let views: Vec<conversations::RevisionView> = revisions
        .into_iter()
        .map(|r| conversations::RevisionView { text: r.text, replaced_at: r.replaced_at })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// The team whose queue a conversation moves to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveToTeamRequest {
    /// The team, or `null` for the general queue.
    pub team_id: Option<i64>,
}

/// Move a conversation to another team's queue, or to the general one (supervisor). Whoever
/// holds it keeps it; it changes who is offered it next.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/team", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = MoveToTeamRequest,
    responses((status = 200, body = chorus_core::conversations::Summary), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
#[post("/conversations/{id}/team")]
pub async fn move_to_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::AssignConversations>,
    id: web::Path<i64>,
    body: web::Json<MoveToTeamRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.team", "conversation", id);
    let summary = actions::move_to_team(&state.db, &state.live, id, body.team_id, audit).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Many conversations to move to one agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReassignRequest {
    /// The conversations (1 to 500).
    #[schema(value_type = Vec<i64>)]
    pub conversation_ids: Vec<ConversationId>,
    /// The agent who takes them over.
    #[schema(value_type = i64)]
    pub agent_id: AgentId,
}

/// Move many conversations to one agent (supervisor, during a spike): each is its own forced
/// transfer, and the answer says per conversation whether it moved.
#[utoipa::path(post, path = "/api/v1/conversations/reassign", tag = "conversations", security(("bearer" = [])),
    request_body = BulkReassignRequest,
    responses((status = 200, body = [claims::Moved]), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody)))]
#[post("/conversations/reassign")]
pub async fn reassign_many(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::AssignConversations>,
    body: web::Json<BulkReassignRequest>,
) -> Result<HttpResponse, ApiError> {
    let audit = super::audit_entry(&req, &who, "conversation.reassign", "conversation", 0);
    let (ids, to) = (&body.conversation_ids, body.agent_id);
    let moved = claims::reassign_many(&state.db, &state.live, ids, to, lease(&state), &audit).await?;
    Ok(HttpResponse::Ok().json(moved))
}

/// Resolve a conversation you hold.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/resolve", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = FenceRequest,
    responses((status = 200, body = chorus_core::conversations::Summary), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "stale_claim, or already resolved")))]
#[post("/conversations/{id}/resolve")]
pub async fn resolve(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<ConversationId>,
    body: web::Json<FenceRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.resolve", "conversation", id);
    let held = claims::Held::by(&who.agent, id, body.fence_token);
    let summary = actions::resolve(&state.db, &state.live, held, audit).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// A status to set by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// The token the claim returned.
    #[schema(value_type = i64)]
    pub fence_token: FenceToken,
    /// `open` or `pending` (resolve with the resolve endpoint).
    pub status: String,
}

/// Set the status of a conversation you hold: `pending` takes it off the queue while it waits on
/// the customer (their next message reopens it), `open` puts it back.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/status", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = StatusRequest,
    responses((status = 200, body = chorus_core::conversations::Summary), (status = 400, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "stale_claim, or already resolved")))]
#[post("/conversations/{id}/status")]
pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<ConversationId>,
    body: web::Json<StatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.status", "conversation", id);
    let held = claims::Held::by(&who.agent, id, body.fence_token);
    let summary = actions::set_status(&state.db, &state.live, held, &body.status, audit).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Tags to add and remove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    /// The token the claim returned.
    #[schema(value_type = i64)]
    pub fence_token: FenceToken,
    /// Tags to add (lower-cased, 1 to 64 characters).
    #[serde(default)]
    pub add: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// The tags a conversation carries now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagsResponse {
    /// The tags.
    pub tags: Vec<String>,
}

/// Change the tags of a conversation you hold.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/tags", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "conversation id")), request_body = TagsRequest,
    responses((status = 200, body = TagsResponse), (status = 400, body = crate::http::error::ErrorBody),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody, description = "stale_claim")))]
#[post("/conversations/{id}/tags")]
pub async fn tags(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
    id: web::Path<ConversationId>,
    body: web::Json<TagsRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let audit = super::audit_entry(&req, &who, "conversation.tags", "conversation", id);
    let edit = actions::TagEdit { add: &body.add, remove: &body.remove };
    let held = claims::Held::by(&who.agent, id, body.fence_token);
    let tags = actions::tag(&state.db, &state.live, held, edit, audit).await?;
    let out = TagsResponse { tags };
    Ok(HttpResponse::Ok().json(out))
}

/// What `next` hands out.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextResponse {
    /// The claim, with its fencing token.
    pub claim: ClaimView,
    /// The conversation.
    pub conversation: chorus_core::conversations::Summary,
}

/// Take the best unassigned conversation for the caller, claimed atomically. 204 when the
/// queue has nothing unclaimed.
#[utoipa::path(post, path = "/api/v1/conversations/next", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = NextResponse), (status = 204, description = "nothing to take"),
        (status = 409, body = crate::http::error::ErrorBody, description = "at_capacity"),
        (status = 503, body = crate::http::error::ErrorBody, description = "coordination_unavailable")))]
#[post("/conversations/next")]
pub async fn next(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Authed<can::WorkConversations>,
) -> Result<HttpResponse, ApiError> {
    let audit = super::audit_entry(&req, &who, "conversation.claim", "conversation", 0);
    match claims::next(&state.db, &state.live, &claimant(&state, &who.agent), &audit).await? {
        Some((granted, conversation)) => {
            let out = NextResponse { claim: granted, conversation };
            Ok(HttpResponse::Ok().json(out))
        }
        None => Ok(HttpResponse::NoContent().finish()),
    }
}
