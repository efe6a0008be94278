//! One function per WebSocket command (as mini-redis's `cmd/`): each translates its command into
//! one domain call and the call's result into the ack's fields. Permissions were checked by
//! `Session::execute` from the command's permission; audit entries are written by the domain
//! call itself, in its transaction.

use std::collections::BTreeSet;
use std::time::Duration;

use chorus_core::Error;
use chorus_core::conversations::{self, actions, claims};
use chorus_core::coord::Marker;
use chorus_core::ids::{AgentId, ConversationId, FenceToken};
use chorus_core::live::topics;

use super::{Answer, Session, all_exist, exists};
use crate::http::error::ApiError;
use crate::ws::ack::Ack;
use crate::ws::protocol::{self, Status};

/// Topics one `subscribe` may name.
const MAX_TOPICS_PER_SUBSCRIBE: usize = 64;

impl Session {
    fn held(&self, conversation_id: ConversationId, fence_token: FenceToken) -> claims::Held {
        claims::Held::by(&self.agent, conversation_id, fence_token)
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.state.settings.claim_lease_secs)
    }

    fn ip(&self) -> Option<String> {
        self.ip.map(|a| a.to_string())
    }

    pub(super) async fn subscribe(
        &mut self,
        wanted: Vec<String>,
        resume_from: Option<i64>,
    ) -> Result<Answer, ApiError> {
        if wanted.is_empty() || wanted.len() > MAX_TOPICS_PER_SUBSCRIBE {
            return Err(Error::Validation("subscribe to 1 to 64 topics at a time".into()).into());
        }
        for t in &wanted {
            crate::ws::topic_access::authorize(&self.agent, t)?;
        }
        // A conversation that is gone (erased, or never was) cannot be followed.
        let ids: Vec<i64> = wanted.iter().filter_map(|t| topics::conversation_of(t)).collect();
        all_exist(&self.state.db, &ids).await?;
        let wanted: Vec<String> = wanted.iter().flat_map(|t| crate::ws::topic_access::expand(&self.agent, t)).collect();
        let hub = &self.state.live.hub;
        let mut after: BTreeSet<String> = hub.topics_of(self.id).into_iter().collect();
        after.extend(wanted.iter().cloned());
        if after.len() > protocol::MAX_TOPICS {
            return Err(Error::Validation(format!(
                "a session follows at most {} topics; unsubscribe from some first",
                protocol::MAX_TOPICS
            ))
            .into());
        }
        let s = hub.subscribe(self.id, &wanted, resume_from);
        // Who is on now, for a `presence` subscription; `presence.changed` events keep it
        // current from here.
        let presence =
            if wanted.iter().any(|t| t == topics::PRESENCE) { Some(self.presence_list().await) } else { None };
        let fields = Ack::Subscribed { seq: s.seq, replayed: s.replayed, topics: hub.topics_of(self.id), presence };
        Ok(if s.resync { Answer::AckThenResync(fields, s.seq) } else { Answer::Ack(fields) })
    }

    pub(super) fn unsubscribe(&self, gone: &[String]) -> Ack {
        self.state.live.hub.unsubscribe(self.id, gone);
        Ack::Topics { topics: self.state.live.hub.topics_of(self.id) }
    }

    pub(super) async fn claim(&self, conversation_id: ConversationId) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.claim", conversation_id);
        let st = &self.state;
        Ok(Ack::Claimed { claim: claims::claim(&st.db, &st.live, conversation_id, &self.claimant(), audit).await? })
    }

    pub(super) async fn release(
        &self,
        conversation_id: ConversationId,
        fence_token: FenceToken,
    ) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.release", conversation_id);
        let held = self.held(conversation_id, fence_token);
        claims::release(&self.state.db, &self.state.live, held, audit).await?;
        Ok(Ack::Released { conversation_id })
    }

    /// Takes the next conversation; its handling clock starts here, from the typed claim.
    pub(super) async fn next(&mut self) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.claim", 0);
        let st = self.state.clone();
        Ok(match claims::next(&st.db, &st.live, &self.claimant(), &audit).await? {
            Some((claim, conversation)) => {
                self.handling.touch(claim.conversation_id, chrono::Utc::now());
                Ack::Next { claim: Some(claim), conversation: Some(conversation) }
            }
            None => Ack::Next { claim: None, conversation: None },
        })
    }

    pub(super) async fn reassign(&self, ids: &[ConversationId], agent_id: AgentId) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.reassign", 0);
        let st = &self.state;
        Ok(Ack::Reassigned {
            results: claims::reassign_many(&st.db, &st.live, ids, agent_id, self.lease(), &audit).await?,
        })
    }

    pub(super) async fn resolve(
        &self,
        conversation_id: ConversationId,
        fence_token: FenceToken,
    ) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.resolve", conversation_id);
        let held = self.held(conversation_id, fence_token);
        Ok(Ack::Conversation { conversation: actions::resolve(&self.state.db, &self.state.live, held, audit).await? })
    }

    pub(super) async fn set_status(
        &self,
        conversation_id: ConversationId,
        fence_token: FenceToken,
        status: &str,
    ) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.status", conversation_id);
        let held = self.held(conversation_id, fence_token);
        let conversation = actions::set_status(&self.state.db, &self.state.live, held, status, audit).await?;
        Ok(Ack::Conversation { conversation })
    }

    pub(super) async fn tags(
        &self,
        conversation_id: ConversationId,
        fence_token: FenceToken,
        edit: actions::TagEdit<'_>,
    ) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.tags", conversation_id);
        let held = self.held(conversation_id, fence_token);
        Ok(Ack::Tags { tags: actions::tag(&self.state.db, &self.state.live, held, edit, audit).await? })
    }

    pub(super) async fn reply(
        &self,
        conversation_id: ConversationId,
        new: chorus_core::replies::NewReply,
    ) -> Result<Ack, ApiError> {
        let audit = self.audit("reply.submit", conversation_id);
        let out = self.state.outbox();
        Ok(Ack::Reply {
            reply: chorus_core::replies::submit(&out, conversation_id.get(), self.agent.id, new, audit).await?,
        })
    }

    pub(super) async fn decide(&self, approval_id: i64, d: chorus_core::approvals::Decision) -> Result<Ack, ApiError> {
        let out = self.state.outbox();
        let approval = chorus_core::replies::decide_held(&out, approval_id, &self.agent, d, self.ip()).await?;
        Ok(Ack::Approval { approval })
    }

    pub(super) async fn escalate(
        &self,
        conversation_id: ConversationId,
        new: chorus_core::escalations::NewEscalation,
    ) -> Result<Ack, ApiError> {
        let (db, live) = (&self.state.db, &self.state.live);
        let escalated =
            chorus_core::escalations::escalate(db, live, conversation_id.get(), &self.agent, new, self.ip()).await?;
        Ok(Ack::Escalation(escalated))
    }

    pub(super) async fn give_back(&self, conversation_id: ConversationId, note: &str) -> Result<Ack, ApiError> {
        let (db, live) = (&self.state.db, &self.state.live);
        let back = chorus_core::escalations::give_back(
            db,
            live,
            conversation_id.get(),
            &self.agent,
            note,
            self.lease(),
            self.ip(),
        )
        .await?;
        Ok(Ack::Escalation(back))
    }

    pub(super) async fn note(&self, conversation_id: ConversationId, text: &str) -> Result<Ack, ApiError> {
        let audit = self.audit("conversation.note", conversation_id);
        let (db, live) = (&self.state.db, &self.state.live);
        Ok(Ack::Note {
            note: conversations::add_note(db, live, conversation_id.get(), self.agent.id, text, audit).await?,
        })
    }

    pub(super) async fn viewing(&mut self, conversation_id: ConversationId, on: bool) -> Result<Ack, ApiError> {
        exists(&self.state.db, conversation_id.get()).await?;
        if on {
            self.viewing.insert(conversation_id);
        } else {
            self.viewing.remove(&conversation_id);
        }
        let viewers = self.mark(Marker::Viewers, conversation_id, on).await?;
        Ok(Ack::Viewers { conversation_id, viewers })
    }

    pub(super) async fn typing(&self, conversation_id: ConversationId, on: bool) -> Result<Ack, ApiError> {
        exists(&self.state.db, conversation_id.get()).await?;
        let typing = self.mark(Marker::Typing, conversation_id, on).await?;
        Ok(Ack::Typing { conversation_id, typing })
    }

    pub(super) async fn presence(&mut self, status: Status) -> Ack {
        self.status = status;
        self.announce_presence(None).await;
        Ack::Presence { status: status.as_str() }
    }

    pub(super) fn ping(&self) -> Ack {
        Ack::Pong { seq: self.state.live.hub.last_seq(), time: chrono::Utc::now() }
    }
}
