"""A short flow through a Python client generated from Chorus's own OpenAPI document.

`.ci/openapi-client` generates the client (`chorus_client`, by openapi-python-client) from a live
server's `GET /api/openapi.json`, installs it and runs this against that server: log in as the
admin, ingest a customer's message with the ingest API key, find its conversation in the list,
claim it over REST and reply to it. Every call goes through the generated client, so its request
shapes and its parsing of every answer (models built from the document's schemas) are tested
against what the server really sends.

Environment: OPENAPI_FLOW_BASE_URL (http://127.0.0.1:PORT), OPENAPI_FLOW_PASSWORD,
OPENAPI_FLOW_INGEST_KEY; OPENAPI_FLOW_EMAIL defaults to admin@localhost.
"""

import datetime
import os
import random
import string
import sys
import uuid
from http import HTTPStatus

from chorus_client import AuthenticatedClient, Client
from chorus_client.api.auth import auth_login, auth_me
from chorus_client.api.conversations import (
    conversations_claim,
    conversations_get,
    conversations_list,
    conversations_replies,
    conversations_reply,
)
from chorus_client.api.ingest import ingest_messages
from chorus_client.models import (
    AccountRef,
    ClaimView,
    CustomerRef,
    Detail,
    Direction,
    IngestResponse,
    LoginRequest,
    LoginResponse,
    Me,
    Network,
    NewReply,
    NormalizedMessage,
    OutcomeType0,
    Page,
    ReplyView,
    Tier,
    View,
    Visibility,
)

BASE = os.environ["OPENAPI_FLOW_BASE_URL"]
EMAIL = os.environ.get("OPENAPI_FLOW_EMAIL", "admin@localhost")
PASSWORD = os.environ["OPENAPI_FLOW_PASSWORD"]
INGEST_KEY = os.environ["OPENAPI_FLOW_INGEST_KEY"]
if not BASE.startswith("http://127.0.0.1:"):
    sys.exit(f"refusing to send traffic to {BASE}: the flow runs against a local server only")

TIMEOUT = 30.0


def step(name, response, status, kind):
    """Check one answer: its status and that the client parsed it into the documented model."""
    got = int(response.status_code)
    assert response.status_code == status, f"{name}: expected {int(status)}, got {got}: {response.content!r}"
    assert isinstance(response.parsed, kind), f"{name}: expected a {kind.__name__}, got {response.parsed!r}"
    print(f"ok {name}: {int(response.status_code)} {kind.__name__}")
    return response.parsed


def main():
    # Letters only: digits in a text can read as a phone number or an order reference, which a
    # public reply may not carry without confirming (`private_details`).
    run = "".join(random.choices(string.ascii_lowercase, k=10))
    anonymous = Client(base_url=BASE, timeout=TIMEOUT, raise_on_unexpected_status=True)

    # 1. Log in as the admin.
    login = step(
        "login",
        auth_login.sync_detailed(client=anonymous, body=LoginRequest(email=EMAIL, password=PASSWORD)),
        HTTPStatus.OK,
        LoginResponse,
    )
    assert login.token, "login: empty token"
    assert login.agent.email == EMAIL, f"login: agent is {login.agent.email}"
    assert "admin" in login.agent.roles, f"login: roles are {login.agent.roles}"
    admin = AuthenticatedClient(base_url=BASE, token=login.token, timeout=TIMEOUT, raise_on_unexpected_status=True)
    me = step("me", auth_me.sync_detailed(client=admin), HTTPStatus.OK, Me)
    assert me.id == login.agent.id and me.email == EMAIL, f"me: agent {me.id}, logged in as {login.agent.id}"
    assert "conversations.work" in me.permissions, f"me: permissions {me.permissions}"

    # 2. A customer's public question, through the ingest API with its key (X-Api-Key, no prefix).
    ingest = AuthenticatedClient(
        base_url=BASE,
        token=INGEST_KEY,
        prefix="",
        auth_header_name="X-Api-Key",
        timeout=TIMEOUT,
        raise_on_unexpected_status=True,
    )
    text = f"@SkyBridgeCare my flight was cancelled, what are my options? ({run})"
    message = NormalizedMessage(
        network=Network.X,
        brand_account=AccountRef(id=f"brand-{run}", name="SkyBridge Care"),
        customer=CustomerRef(id=f"customer-{run}", handle=f"@dana_{run}", name=f"Dana {run}", followers=1200),
        direction=Direction.INBOUND,
        visibility=Visibility.PUBLIC,
        platform_message_id=f"msg-{run}",
        text=text,
        sent_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
        addressed_to_brand=True,
    )
    stored = step("ingest", ingest_messages.sync_detailed(client=ingest, body=[message]), HTTPStatus.OK, IngestResponse)
    assert len(stored.results) == 1, f"ingest: {len(stored.results)} results"
    outcome = stored.results[0]
    assert isinstance(outcome, OutcomeType0) and outcome.status == "stored", f"ingest: {outcome!r}"
    conversation_id = outcome.conversation_id
    again = step(
        "ingest again", ingest_messages.sync_detailed(client=ingest, body=[message]), HTTPStatus.OK, IngestResponse
    )
    assert again.results[0].status == "duplicate", f"ingest again: {again.results[0]!r}"
    assert again.results[0].message_id == outcome.message_id, "ingest again: another message id"

    # 3. The conversation is in the admin's list, unassigned, tier 1 (a question).
    page = step(
        "list conversations",
        conversations_list.sync_detailed(client=admin, view=View.ALL, limit=200),
        HTTPStatus.OK,
        Page,
    )
    listed = [c for c in page.items if c.id == conversation_id]
    assert listed, f"list conversations: {conversation_id} not among {[c.id for c in page.items]}"
    summary = listed[0]
    assert summary.network == "x", f"list conversations: network {summary.network}"
    assert summary.customer_name == f"Dana {run}", f"list conversations: customer {summary.customer_name!r}"
    assert summary.priority == Tier.TIER1, f"list conversations: priority {summary.priority}"
    assert summary.message_count == 1, f"list conversations: {summary.message_count} messages"
    assert not summary.assignee_id, f"list conversations: already assigned to {summary.assignee_id}"

    # 4. Claim it over REST: the answer's fence token goes with the reply.
    claim = step("claim", conversations_claim.sync_detailed(conversation_id, client=admin), HTTPStatus.OK, ClaimView)
    assert claim.conversation_id == conversation_id, f"claim: conversation {claim.conversation_id}"
    assert claim.agent_id == login.agent.id, f"claim: held by {claim.agent_id}"
    assert claim.fence_token > 0 and claim.lease_secs > 0, f"claim: {claim!r}"
    detail = step("conversation", conversations_get.sync_detailed(conversation_id, client=admin), HTTPStatus.OK, Detail)
    assert detail.conversation.assignee_id == login.agent.id, (
        f"conversation: assignee {detail.conversation.assignee_id}"
    )
    assert [m.text for m in detail.messages] == [text], f"conversation: messages {[m.text for m in detail.messages]}"

    # 5. Reply in public; the same idempotency key again gives the same reply back.
    reply = NewReply(
        fence_token=claim.fence_token,
        text=f"Sorry about your flight, Dana {run}: we have rebooked you on the next one.",
        visibility="public",
        idempotency_key=str(uuid.uuid4()),
    )
    sent = step(
        "reply",
        conversations_reply.sync_detailed(conversation_id, client=admin, body=reply),
        HTTPStatus.ACCEPTED,
        ReplyView,
    )
    assert sent.conversation_id == conversation_id and sent.agent_id == login.agent.id, f"reply: {sent!r}"
    assert sent.text == reply.text and sent.visibility == "public", f"reply: {sent!r}"
    assert sent.status in ("queued", "sent"), f"reply: status {sent.status}"
    repeat = step(
        "reply again",
        conversations_reply.sync_detailed(conversation_id, client=admin, body=reply),
        HTTPStatus.ACCEPTED,
        ReplyView,
    )
    assert repeat.id == sent.id, f"reply again: a second reply {repeat.id} (first {sent.id})"
    replies = conversations_replies.sync_detailed(conversation_id, client=admin)
    assert replies.status_code == HTTPStatus.OK, f"replies: {int(replies.status_code)}"
    assert [r.id for r in replies.parsed] == [sent.id], f"replies: {[r.id for r in replies.parsed]}"
    print(f"ok replies: {len(replies.parsed)} reply, {replies.parsed[0].status}")

    print(f"openapi client flow: every step as documented (conversation {conversation_id}, reply {sent.id})")


if __name__ == "__main__":
    main()
