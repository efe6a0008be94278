// The floor's queue by team and reassignment: pick conversations (check boxes) and an agent in
// the picker, or drag rows — the picked ones, or the one dragged — onto an agent's row in the
// agents table. After every move the target's load is the new one everywhere at once: the
// answer to the `reassign` command moves the conversations in the live queue straight away
// (the events that follow say the same), and the floor is read again shortly after.

import { humanize, plainError } from './errors.js';
import { agentFigures, floorPeople } from './floor-agents.js';
import { noteMove, queueHeld, state } from './floor-state.js';
import { $, breachText, h, reconcile, replaceChildren, secondsUntil, setText } from './util.js';

let ctx;
let afterMove = () => {};
const TEAM_ROWS = 200; // rows per team table (the rest are counted, and in the Queue view)
const DRAG_TYPE = 'application/x-chorus-conversations';
const selected = state.selected;

/** `moved()` runs after each move (the view redraws and reads the floor again). */
export function initQueue(c, moved) {
  ctx = c;
  afterMove = moved;
  $('#reassign-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const agentId = Number($('#reassign-agent').value);
    const out = $('#reassign-result');
    if (!selected.size) return setText(out, 'Select one or more conversations first.');
    if (!agentId) return setText(out, 'Pick an agent.');
    moveTo([...selected], agentId);
  });
  $('#move-team-btn').addEventListener('click', moveTeam);
  $('#clear-selection').addEventListener('click', () => {
    selected.clear();
    afterMove({ reread: false });
  });
}

/** Moves conversations `ids` to agent `agentId` (the picker and a drop both come here). */
export async function moveTo(ids, agentId) {
  const out = $('#reassign-result');
  const name = ctx.agentName(agentId);
  setText(out, `Moving ${ids.length === 1 ? `conversation ${ids[0]}` : `${ids.length} conversations`} to ${name}…`);
  try {
    const ack = await ctx.live.send({ type: 'reassign', conversation_ids: ids, agent_id: agentId });
    const failed = ack.results.filter((r) => r.error);
    noteMove();
    for (const r of ack.results) {
      if (r.error) continue;
      selected.delete(r.conversation_id);
      // The answer is news already: the load moves now, not when the events come.
      const s = ctx.queue.get(r.conversation_id);
      if (s) ctx.queue.upsert({ ...s, assignee_id: agentId, fence_token: r.fence_token ?? s.fence_token });
    }
    const moved = ack.results.length - failed.length;
    const target = ctx.agents.get(agentId);
    const load = target ? agentFigures(target) : null;
    setText(
      out,
      `Moved ${moved} of ${ids.length} to ${name}${load ? ` (now ${load.held}/${load.capacity})` : ''}.` +
        (failed.length ? ` Not moved: ${failed.map((r) => `#${r.conversation_id} (${humanize(r.error.message, ctx.agentName)})`).join(', ')}.` : ''),
    );
  } catch (e) {
    setText(out, `Reassignment refused: ${plainError(e, ctx.agentName)}`);
  }
  afterMove({ reread: true });
}

async function moveTeam() {
  const ids = [...selected];
  const out = $('#reassign-result');
  if (!ids.length) return setText(out, 'Select one or more conversations first.');
  const value = $('#move-team').value;
  const teamId = value === '' ? null : Number(value);
  const results = await Promise.allSettled(ids.map((id) => ctx.api.post(`/api/v1/conversations/${id}/team`, { team_id: teamId })));
  const failed = results.map((r, i) => [r, ids[i]]).filter(([r]) => r.status === 'rejected');
  for (const [r, id] of results.map((r, i) => [r, ids[i]])) if (r.status === 'fulfilled') selected.delete(id);
  setText(out, `Moved ${ids.length - failed.length} of ${ids.length} to ${ctx.teamName(teamId)}.${failed.length ? ` Not moved: ${failed.map(([r, id]) => `#${id} (${plainError(r.reason, ctx.agentName)})`).join(', ')}.` : ''}`);
  afterMove({ reread: true });
}

// ---------------------------------------------------------------- drag and drop

/** True when a drag carries conversations from the queue tables. */
export function acceptsDrop(e) {
  return [...(e.dataTransfer?.types || [])].includes(DRAG_TYPE);
}

/** The conversation ids a drop carries. */
export function droppedIds(e) {
  try {
    const ids = JSON.parse(e.dataTransfer.getData(DRAG_TYPE) || '[]');
    return Array.isArray(ids) ? ids.map(Number).filter(Boolean) : [];
  } catch {
    return [];
  }
}

function onDragStart(e, tr) {
  const id = Number(tr.dataset.conversationId);
  // Dragging a picked row takes every picked row with it.
  const ids = selected.has(id) ? [...selected] : [id];
  e.dataTransfer.setData(DRAG_TYPE, JSON.stringify(ids));
  e.dataTransfer.setData('text/plain', ids.map((x) => `#${x}`).join(' '));
  e.dataTransfer.effectAllowed = 'move';
  tr.classList.add('dragging');
  document.body.classList.add('dragging-conversations');
  setText($('#reassign-result'), `Drop on an agent to move ${ids.length === 1 ? `conversation ${id}` : `${ids.length} conversations`} to them.`);
}

function onDragEnd(tr) {
  tr.classList.remove('dragging');
  document.body.classList.remove('dragging-conversations');
}

// ---------------------------------------------------------------- pickers and tables

/** The reassignment picker: every agent with their status and their load as it is now. */
export function renderPickers() {
  const pick = $('#reassign-agent');
  const keep = pick.value;
  const counts = queueHeld(ctx.queue);
  const people = floorPeople().sort((a, b) => a.name.localeCompare(b.name));
  const options = people.map((a) => {
    const r = agentFigures(a, counts);
    const text = `${a.name} (${r.status === 'unknown' ? 'not seen yet' : r.status}, ${r.held}/${r.capacity})`;
    return { id: a.id, text, held: r.held };
  });
  // Rebuild only what changed: a select being looked at keeps its place.
  const current = [...pick.options].map((o) => `${o.value}:${o.textContent}`).join('|');
  const wanted = options.map((o) => `${o.id}:${o.text}`).join('|');
  if (current !== wanted) {
    replaceChildren(pick, options.map((o) => h('option', { value: o.id, dataset: { held: o.held } }, o.text)));
    if (keep) pick.value = keep;
  }
  const team = $('#move-team');
  const keepTeam = team.value;
  const teams = [...ctx.teams.values()];
  if (team.options.length !== teams.length + 1) {
    replaceChildren(team, h('option', { value: '' }, 'General queue'), teams.map((t) => h('option', { value: t.id }, t.name)));
    team.value = keepTeam;
  }
  for (const id of [...selected]) if (!ctx.queue.get(id)) selected.delete(id);
  setText($('#selected-count'), `${selected.size} selected`);
}

export function renderTeamQueues() {
  const groups = new Map();
  for (const s of ctx.queue.sorted()) {
    const k = s.team_id ?? 'general';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(s);
  }
  const filter = $('#floor-team').value;
  let keys = ['general', ...[...ctx.teams.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => t.id)];
  for (const k of groups.keys()) if (!keys.includes(k)) keys.push(k);
  if (filter === 'none') keys = ['general'];
  else if (filter) keys = keys.filter((k) => String(k) === filter);
  reconcile(
    $('#team-queues'),
    keys.map((k) => ({ k, items: groups.get(k) || [] })),
    (g) => g.k,
    (g) => {
      const id = `team-h-${g.k}`;
      const section = h('section', { class: 'team-queue', 'aria-labelledby': id });
      section.refs = { title: h('h4', { id }), body: h('tbody') };
      section.append(
        section.refs.title,
        h(
          'table',
          { class: 'table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Select')),
              h('th', { scope: 'col' }, 'Conversation'),
              h('th', { scope: 'col' }, 'Tier'),
              h('th', { scope: 'col' }, 'Risk'),
              h('th', { scope: 'col' }, 'Due'),
              h('th', { scope: 'col' }, 'Held by'),
            ),
          ),
          section.refs.body,
        ),
      );
      return section;
    },
    (section, g) => {
      const t1 = g.items.filter((s) => s.priority === 'tier1').length;
      const name = g.k === 'general' ? 'General queue' : ctx.teamName(g.k);
      // A table of thousands helps nobody pick: the first ones in queue order, and the count of the rest.
      const shown = g.items.slice(0, TEAM_ROWS);
      const more = g.items.length - shown.length;
      setText(section.refs.title, `${name}: ${g.items.length} waiting (tier 1: ${t1}, tier 2: ${g.items.length - t1})${more ? ` — the first ${shown.length} shown; filter the Queue view to reach the other ${more}` : ''}`);
      reconcile(section.refs.body, shown, (s) => s.id, makeQueueRow, updateQueueRow);
    },
  );
}

function makeQueueRow(s) {
  const tr = h('tr', { dataset: { conversationId: s.id }, draggable: 'true', class: 'draggable' });
  const box = h('input', { type: 'checkbox', id: `sel-${s.id}`, class: 'select-conv' });
  box.addEventListener('change', () => {
    if (box.checked) selected.add(s.id);
    else selected.delete(s.id);
    tr.classList.toggle('picked', box.checked);
    setText($('#selected-count'), `${selected.size} selected`);
  });
  tr.addEventListener('dragstart', (e) => onDragStart(e, tr));
  tr.addEventListener('dragend', () => onDragEnd(tr));
  tr.refs = { box, label: h('label', { for: `sel-${s.id}` }), tier: h('td'), risk: h('td'), due: h('td'), holder: h('td', { class: 'holder' }) };
  tr.append(h('td', {}, box), h('td', {}, tr.refs.label), tr.refs.tier, tr.refs.risk, tr.refs.due, tr.refs.holder);
  return tr;
}

function updateQueueRow(tr, s) {
  tr.dueAt = s.due_at;
  tr.refs.box.checked = selected.has(s.id);
  tr.classList.toggle('picked', selected.has(s.id));
  setText(tr.refs.label, `#${s.id} ${s.customer_name || `customer #${s.customer_id}`} · ${s.network} ${s.origin_visibility}`);
  setText(tr.refs.tier, s.priority === 'tier1' ? 'Tier 1' : 'Tier 2');
  setText(tr.refs.risk, String(s.risk));
  setText(tr.refs.due, breachText(s.due_at));
  const left = secondsUntil(s.due_at);
  tr.classList.toggle('breached', left !== null && left < 0);
  setText(tr.refs.holder, s.assignee_id == null ? 'Unassigned' : ctx.agentName(s.assignee_id));
}

/** The due clocks move on. */
export function tickQueues() {
  for (const row of document.querySelectorAll('#team-queues tr[data-key]')) setText(row.refs.due, breachText(row.dueAt));
}
