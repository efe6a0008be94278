// The open conversation's header, rendered from its Summary alone: the facts, the holder and due
// line, which actions show (and which the connection allows), the composer's hint, who else is
// viewing or typing, and the customer's earlier conversations and the escalation hints.

import { ctx, open } from './agent-state.js';
import { renderComposerState } from './composer.js';
import { gateLiveActions } from './connection.js';
import { openConversation } from './conversation.js';
import { renderCrisisHelpers } from './crisis-drafts.js';
import { lockedOut, paneState } from './holding.js';
import { renderTags } from './conversation-tags.js';
import { ago, breachText, h, holderText, NETWORK_NAME, replaceChildren, sentimentLabel, setText, tierLabel, timeEl } from './util.js';

export function renderHeader() {
  if (!open || !open.el) return;
  const s = open.summary;
  const el = open.el;
  const st = paneState(s);
  renderFacts(el, s);
  setText(el.reasons, (s.risk_reasons || []).length ? `Risk ${s.risk}: ${(s.risk_reasons || []).map((x) => `${x.detail} (+${x.weight})`).join(' · ')}` : `Risk ${s.risk}: nothing raised it.`);
  setText(el.holder, holderText(s.assignee_id, ctx.me.id, ctx.agentName));
  el.holder.dataset.holder = s.assignee_id ?? '';
  setText(el.due, dueText(s));
  el.article.dataset.status = s.status;
  renderActions(el, s, st);
  renderHint(el, s, st);
  renderTags();
  renderComposerState();
  renderCrisisHelpers();
  gateLiveActions(el.article);
  gateLiveActions(document.getElementById('side-pane'));
}

function renderFacts(el, s) {
  const crisis = s.crisis_id != null ? ctx.crises.get(s.crisis_id) : null;
  replaceChildren(
    el.facts,
    fact('Status', s.status),
    fact('Tier', tierLabel(s.priority)),
    fact('Risk', String(s.risk)),
    fact('Sentiment', `${sentimentLabel(s.sentiment_start)} → ${sentimentLabel(s.sentiment_now)}`),
    fact('Category', s.category || '—'),
    fact('Language', s.language || '—'),
    fact('Team', ctx.teamName(s.team_id)),
    fact('Tags', (s.tags || []).join(', ') || '—'),
    s.escalated_to ? fact('Escalated to', ctx.groupName(s.escalated_to)) : '',
    s.crisis_id != null ? fact('Crisis', crisis ? crisis.name : 'a crisis no longer active') : '',
  );
}

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

/** Which of the pane's actions show, and whether the holder-only inputs work. */
function renderActions(el, s, st) {
  el.claim.hidden = !st.canClaim;
  el.claim.textContent = s.assignee_id != null && !st.iHold ? `Claim (held by ${ctx.agentName(s.assignee_id)})` : 'Claim';
  el.release.hidden = !st.canWork;
  el.resolve.hidden = !st.canWork || st.resolved;
  el.resolveNext.hidden = el.resolve.hidden;
  el.pending.hidden = !st.canWork || s.status === 'pending' || st.resolved;
  el.reopen.hidden = !st.canWork || s.status !== 'pending';
  for (const input of el.holderOnly) input.disabled = !st.canWork;
}

/** Why the composer is off; when resolved, said where the buttons were as well. */
function renderHint(el, s, st) {
  const hint = composerHint(s, st);
  setText(el.composerHint, hint);
  const closed = st.resolved && !st.canWork;
  el.composerHint.classList.toggle('closed', closed);
  el.closed.hidden = !closed;
  setText(el.closed, closed ? hint : '');
}

function composerHint(s, st) {
  if (st.canWork) return '';
  if (st.resolved && !st.followup) return 'Resolved — nothing more to send here. A new message from the customer reopens it.';
  if (st.resolved) return 'Resolved — a short public follow-up is still owed: claim it to post one.';
  if (lockedOut(s)) return `Escalated to ${ctx.groupName(s.escalated_to)}: only ${ctx.groupName(s.escalated_to)} may take it until they return it.`;
  return 'Claim this conversation to reply, tag, escalate or resolve it.';
}

/** The pane's due line: the time to breach, or when it was resolved (nothing is due then). */
function dueText(s) {
  if (s.status !== 'resolved') return breachText(s.due_at);
  return s.resolved_at ? `resolved ${ago(s.resolved_at)}` : 'resolved';
}

/** Moves the due line's clock on (once a second). */
export function tickDue() {
  if (open && !open.loading && open.el) {
    setText(open.el.due, dueText(open.summary));
  }
}

// ---------------------------------------------------------------- presence

export function renderPresence() {
  if (!open || !open.el) return;
  const others = (open.viewers || []).filter((id) => id !== ctx.me.id);
  const typing = [...open.typists.keys()].filter((id) => id !== ctx.me.id);
  const parts = [];
  parts.push(others.length ? `Also viewing: ${others.map(ctx.agentName).join(', ')}` : 'Nobody else is viewing');
  if (typing.length) parts.push(`${typing.map(ctx.agentName).join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`);
  setText(open.el.presence, parts.join(' · '));
}

/** Forgets typists whose typing lapsed without being said (every 2 s). */
export function expireTypists() {
  if (!open || !open.typists) return;
  const now = Date.now();
  let changed = false;
  for (const [id, until] of open.typists) {
    if (until < now) {
      open.typists.delete(id);
      changed = true;
    }
  }
  if (changed) renderPresence();
}

// ---------------------------------------------------------------- history and hints

export function renderEarlier() {
  const list = open.detail.earlier_conversations || [];
  replaceChildren(
    open.el.earlier,
    list.length
      ? list.map((s) =>
          h(
            'li',
            {},
            h('button', { type: 'button', class: 'linklike', onclick: () => openConversation(s.id) }, `#${s.id} · ${NETWORK_NAME[s.network] ?? s.network} · ${s.status} · ${s.message_count} messages`),
            ' ',
            timeEl(s.first_message_at),
          ),
        )
      : h('li', { class: 'muted' }, 'None: first time this customer writes.'),
  );
}

export function renderHints() {
  const hints = open.detail.escalation_hints || [];
  replaceChildren(
    open.el.hints,
    hints.map((x) => h('p', { class: 'hint' }, h('strong', {}, `Escalate to ${ctx.groupName(x.group)}: `), x.guidance, h('span', { class: 'small muted' }, ` (${x.matched})`))),
  );
}
