// Escalation inside the open conversation: the "Escalate" form (to a team lead, and for
// supervisors onward to PR, legal or another team), the case's escalation history (to whom, why,
// how each came back), and — for the group it was escalated to — returning it with a note.

import { ctx, open } from './agent-state.js';
import { applySummary } from './conversation.js';
import { conflictText, tokenOf } from './holding.js';
import { refreshMineSoon } from './queue-view.js';
import { h, onCtrlEnter, replaceChildren, setText, when } from './util.js';

const ESC_STATUS = { open: 'open', returned: 'returned', forwarded: 'sent on', resolved: 'closed by resolving' };

// ---------------------------------------------------------------- escalating

export function escalateForm(el) {
  el.escGroup = h('select', { id: 'esc-group' }, escalationGroups().map(([v, label]) => h('option', { value: v }, label)));
  el.escTeam = h('select', { id: 'esc-team' }, [...ctx.teams.values()].map((t) => h('option', { value: t.id }, t.name)));
  el.escTeamWrap = h('span', { hidden: true }, h('label', { for: 'esc-team' }, 'Team '), el.escTeam);
  el.escGroup.addEventListener('change', () => (el.escTeamWrap.hidden = el.escGroup.value !== 'team'));
  el.escReason = h('input', { id: 'esc-reason', required: true });
  el.escMsg = h('p', { class: 'small', role: 'status' });
  const button = h('button', { type: 'submit', 'data-live-action': true }, 'Escalate');
  el.holderOnly.push(el.escGroup, el.escReason, button);
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'esc-h', onsubmit: (e) => { e.preventDefault(); return escalate(el); } },
    h('h3', { id: 'esc-h' }, 'Escalate'),
    h('label', { for: 'esc-group' }, 'To'),
    el.escGroup,
    el.escTeamWrap,
    h('label', { for: 'esc-reason' }, 'Reason'),
    el.escReason,
    button,
    el.escMsg,
  );
}

/** Agents escalate to their team lead; team leads onward to PR or legal (docs/protocol.md). */
function escalationGroups() {
  const groups = [['team_lead', 'Team lead']];
  if (ctx.has('supervisor')) groups.push(['pr', 'PR'], ['legal', 'Legal']);
  if (ctx.teams.size) groups.push(['team', 'Another team']);
  return groups;
}

async function escalate(el) {
  if (tokenOf(open.id) == null) return;
  const group = el.escGroup.value;
  const teamId = group === 'team' ? Number(el.escTeam.value) : undefined;
  try {
    await escalateTo(group, el.escReason.value.trim(), teamId);
    el.escReason.value = '';
    setText(el.escMsg, `Escalated to ${group === 'team' ? ctx.teamName(teamId) : ctx.groupName(group)}; your claim was handed back.`);
  } catch (err) {
    setText(el.escMsg, conflictText(open.id, err));
  }
}

/** Escalates the open conversation (the form, a macro); throws the refusal. */
export async function escalateTo(group, reason, teamId) {
  const id = open.id;
  const token = tokenOf(id);
  if (token == null) throw Object.assign(new Error('you no longer hold this conversation'), { code: 'stale_claim' });
  const cmd = { type: 'escalate', conversation_id: id, fence_token: token, group, reason };
  if (group === 'team') cmd.team_id = teamId;
  const ack = await ctx.live.send(cmd);
  if (open?.id === id) {
    applyEscalation(ack.escalation);
    applySummary(ack.conversation);
  }
  refreshMineSoon();
  return ack;
}

/** Puts the keyboard in the escalation form (the "x" shortcut). */
export function focusEscalate() {
  const el = open?.el;
  if (!el) return false;
  if (el.escReason.disabled) return false;
  el.escReason.closest('form')?.scrollIntoView({ block: 'nearest' });
  el.escReason.focus();
  return true;
}

// ---------------------------------------------------------------- the case's escalations

/** The case's escalations (to whom, why, how they came back) and, for the group, "return". */
export function escalationsBox(el) {
  el.escList = h('ol', { class: 'esc-history' });
  el.escStatus = h('p', { id: 'esc-status', class: 'small', role: 'status', 'aria-live': 'polite' });
  el.escReturn = returnForm(el);
  el.escBox = h('section', { class: 'esc-box', 'aria-labelledby': 'esc-hist-h' }, h('h3', { id: 'esc-hist-h' }, 'Escalations'), el.escList, el.escStatus, el.escReturn);
  return el.escBox;
}

function returnForm(el) {
  el.escReturnNote = h('textarea', { id: 'esc-return-note', rows: 2, maxlength: 2000, required: true });
  el.escReturnLabel = h('label', { for: 'esc-return-note' });
  el.escReturnBtn = h('button', { type: 'submit', id: 'esc-return', class: 'primary' });
  el.escReturnMsg = h('p', { class: 'error small', role: 'alert' });
  onCtrlEnter(el.escReturnNote, () => el.escReturn.requestSubmit());
  return h(
    'form',
    { class: 'return-form', onsubmit: (e) => { e.preventDefault(); giveBack(); } },
    el.escReturnLabel,
    el.escReturnNote,
    h('div', { class: 'composer-row' }, el.escReturnBtn, h('span', { class: 'small muted' }, 'Ctrl+Enter returns it')),
    el.escReturnMsg,
  );
}

/** Applies an escalation (new, returned) to the open conversation's case history. */
export function applyEscalation(e) {
  if (!open?.detail || !e) return;
  const list = open.detail.escalations || [];
  // A new escalation closes the open one as forwarded (the server does the same).
  const others = list
    .filter((x) => x.id !== e.id)
    .map((x) => (x.status === 'open' && e.status === 'open' ? { ...x, status: 'forwarded', closed_by: e.from_agent_id, closed_at: e.created_at } : x));
  open.detail.escalations = [...others, e].sort((a, b) => a.id - b.id);
  renderEscalations();
}

function mayReturn(e) {
  if (e.group === 'team') return ctx.has('supervisor') || (ctx.me.team_id != null && ctx.me.team_id === e.to_team_id);
  return ctx.groups.includes(e.group);
}

export function renderEscalations() {
  if (!open?.el) return;
  const el = open.el;
  const list = open.detail.escalations || [];
  el.escBox.hidden = list.length === 0;
  replaceChildren(el.escList, list.map(escalationItem));
  const current = list.find((e) => e.status === 'open');
  el.escReturn.hidden = !current || !mayReturn(current);
  if (current && !el.escReturn.hidden) {
    const who = ctx.agentName(current.from_agent_id);
    setText(el.escReturnLabel, `Return to ${who} with a note`);
    setText(el.escReturnBtn, `Return to ${who}`);
  }
}

function escalationItem(e) {
  return h(
    'li',
    { class: `esc-item status-${e.status}`, dataset: { escalationId: e.id, status: e.status } },
    h(
      'div',
      { class: 'small' },
      h('strong', {}, `To ${e.group === 'team' ? ctx.teamName(e.to_team_id) : ctx.groupName(e.group)}`),
      ` by ${ctx.agentName(e.from_agent_id)} · `,
      h('time', { datetime: e.created_at }, when(e.created_at)),
      ' · ',
      h('span', { class: 'badge' }, ESC_STATUS[e.status] || e.status),
    ),
    h('p', { class: 'text' }, `Why: ${e.reason}`),
    e.status === 'returned'
      ? h('p', { class: 'return-note' }, h('strong', {}, `Returned by ${ctx.agentName(e.closed_by)}: `), e.return_note)
      : e.closed_by != null
        ? h('p', { class: 'small muted' }, `${ESC_STATUS[e.status] || e.status} by ${ctx.agentName(e.closed_by)}`)
        : '',
  );
}

async function giveBack() {
  const el = open.el;
  const id = open.id;
  const note = el.escReturnNote.value.trim();
  setText(el.escReturnMsg, '');
  if (!note) {
    setText(el.escReturnMsg, 'Write a note first: it tells the agent what to do.');
    el.escReturnNote.focus();
    return;
  }
  el.escReturnBtn.disabled = true;
  try {
    const ack = await ctx.live.send({ type: 'escalation.return', conversation_id: id, note });
    if (open?.id !== id) return;
    el.escReturnNote.value = '';
    applyEscalation(ack.escalation);
    setText(el.escStatus, `Returned to ${ctx.agentName(ack.escalation.from_agent_id)}.`);
    applySummary(ack.conversation);
  } catch (e) {
    setText(el.escReturnMsg, e.code === 'not_found' ? 'It is no longer escalated (returned, resolved or sent on meanwhile).' : conflictText(id, e));
  } finally {
    el.escReturnBtn.disabled = false;
  }
}
