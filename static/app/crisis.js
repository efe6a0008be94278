// The crisis console: declare a crisis, change its holding message and severity, publish
// approved responses, download its timeline, stand it down. PR, legal and admins run crises;
// supervisors see them here read-only. Every change arrives back as a `crisis.*` event.

import { plainError } from './errors.js';
import { $, h, reconcile, replaceChildren, setText, when } from './util.js';

let ctx;
let mayRun = false;

export function init(c) {
  ctx = c;
  mayRun = ctx.has('approver', 'legal');
  $('#declare-form').hidden = !mayRun;
  $('#declare-form').addEventListener('submit', declare);
  ctx.onCrisisChange(render);
}

function message(text) {
  setText($('#crisis-msg'), text);
}

async function declare(e) {
  e.preventDefault();
  const form = e.target;
  const keywords = $('#crisis-keywords').value.split(',').map((k) => k.trim()).filter(Boolean);
  const body = {
    name: $('#crisis-name').value.trim(),
    severity: $('#crisis-severity').value,
    keywords,
    networks: [...form.querySelectorAll('input[name="crisis-network"]:checked')].map((i) => i.value),
    holding_message: $('#crisis-holding').value.trim(),
    hold_replies: $('#crisis-hold').checked,
    auto_ack: $('#crisis-autoack').checked,
  };
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const crisis = await ctx.api.post('/api/v1/crises', body);
    // The crisis.declared event brings it too; adding it now shows it without waiting.
    ctx.crises.set(crisis.id, crisis);
    ctx.crisisChanged();
    form.reset();
    message(`Declared “${crisis.name}”: ${crisis.linked_conversations} open conversations taken over.`);
  } catch (err) {
    message(`Could not declare the crisis: ${plainError(err, ctx.agentName)}`);
  } finally {
    button.disabled = false;
  }
}

function render() {
  const list = [...ctx.crises.values()].sort((a, b) => a.id - b.id);
  const box = $('#crisis-active');
  if (!list.length) {
    replaceChildren(box, h('p', { class: 'empty' }, 'No active crisis.'));
    return;
  }
  if (box.querySelector('.empty')) replaceChildren(box);
  reconcile(box, list, (c) => c.id, makeCard, updateCard);
}

function makeCard(c) {
  const id = c.id;
  const r = {};
  const section = h(
    'section',
    { class: 'card crisis-card', dataset: { crisisId: id }, 'aria-labelledby': `crisis-h-${id}` },
    (r.title = h('h3', { id: `crisis-h-${id}` })),
    (r.facts = h('p', { class: 'small muted' })),
    (r.holding = h('p', { class: 'holding' })),
    (r.responses = h('ul', { class: 'responses' })),
  );
  if (mayRun) {
    const holdingId = `crisis-holding-${id}`;
    r.holdingInput = h('textarea', { id: holdingId, rows: 2 });
    r.holdingInput.value = c.holding_message;
    r.severity = h('select', { id: `crisis-sev-${id}` }, ['low', 'medium', 'high', 'critical'].map((s) => h('option', { value: s }, s)));
    r.severity.value = c.severity;
    r.type = h('input', { id: `crisis-type-${id}`, placeholder: 'asking for refund', required: true });
    r.text = h('textarea', { id: `crisis-resp-${id}`, rows: 2, required: true });
    r.msg = h('p', { class: 'small', role: 'status' });
    r.standDown = h('button', { type: 'button', class: 'danger' }, 'Stand down…');
    section.append(
      h(
        'form',
        { class: 'inline-form', onsubmit: (e) => update(e, id, r) },
        h('label', { for: holdingId }, 'Holding message'),
        r.holdingInput,
        h('label', { for: `crisis-sev-${id}` }, 'Severity'),
        r.severity,
        h('button', { type: 'submit' }, 'Update'),
      ),
      h(
        'form',
        { class: 'inline-form', onsubmit: (e) => publish(e, id, r) },
        h('h4', {}, 'Publish an approved response'),
        h('label', { for: `crisis-type-${id}` }, 'Message type'),
        r.type,
        h('label', { for: `crisis-resp-${id}` }, 'Response'),
        r.text,
        h('button', { type: 'submit', class: 'primary' }, 'Publish'),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => timeline(id, r) }, 'Download timeline (CSV)'),
        r.standDown,
      ),
      r.msg,
    );
    // Two steps, so a stray key press does not end a crisis.
    r.standDown.addEventListener('click', async () => {
      if (r.standDown.dataset.confirm !== 'yes') {
        r.standDown.dataset.confirm = 'yes';
        r.standDown.textContent = 'Confirm stand down';
        setTimeout(() => {
          r.standDown.dataset.confirm = '';
          r.standDown.textContent = 'Stand down…';
        }, 5000);
        return;
      }
      try {
        const done = await ctx.api.post(`/api/v1/crises/${id}/resolve`);
        ctx.crises.delete(id);
        ctx.crisisChanged();
        message(`Stood down “${done.name}”.`);
      } catch (err) {
        setText(r.msg, `Could not stand down: ${plainError(err, ctx.agentName)}`);
      }
    });
  }
  section.refs = r;
  return section;
}

function updateCard(section, c) {
  const r = section.refs;
  setText(r.title, `${c.name} · ${c.severity}`);
  setText(
    r.facts,
    `Declared ${when(c.declared_at)} by ${ctx.agentName(c.declared_by)} · keywords: ${c.keywords.join(', ')} · networks: ${c.networks.length ? c.networks.join(', ') : 'all'} · ${c.linked_conversations ?? '?'} conversations · ${c.hold_replies ? 'replies held for PR' : 'replies not held'}${c.auto_ack ? ' · auto-acknowledging' : ''}`,
  );
  replaceChildren(r.holding, h('strong', {}, 'Holding message: '), c.holding_message);
  replaceChildren(
    r.responses,
    (c.responses || []).length
      ? c.responses.map((x) => h('li', {}, h('strong', {}, `${x.message_type} (v${x.version}): `), x.text, h('span', { class: 'small muted' }, ` — ${when(x.published_at)}`)))
      : h('li', { class: 'muted' }, 'No approved responses yet.'),
  );
  // Only replace what the person is not editing.
  if (r.holdingInput && document.activeElement !== r.holdingInput) r.holdingInput.value = c.holding_message;
  if (r.severity && document.activeElement !== r.severity) r.severity.value = c.severity;
}

async function update(e, id, r) {
  e.preventDefault();
  try {
    const c = await ctx.api.patch(`/api/v1/crises/${id}`, { holding_message: r.holdingInput.value.trim(), severity: r.severity.value });
    ctx.crises.set(id, c);
    ctx.crisisChanged();
    setText(r.msg, 'Updated; everyone sees the new holding message.');
  } catch (err) {
    setText(r.msg, `Could not update: ${plainError(err, ctx.agentName)}`);
  }
}

async function publish(e, id, r) {
  e.preventDefault();
  try {
    const resp = await ctx.api.post(`/api/v1/crises/${id}/responses`, { message_type: r.type.value.trim(), text: r.text.value.trim() });
    const c = ctx.crises.get(id);
    if (c) c.responses = [...(c.responses || []).filter((x) => x.message_type !== resp.message_type), resp];
    ctx.crisisChanged();
    r.type.value = '';
    r.text.value = '';
    setText(r.msg, `Published “${resp.message_type}” version ${resp.version}.`);
  } catch (err) {
    setText(r.msg, err.code === 'conflict' ? 'Someone published this type at the same moment: look at the list and try again.' : `Could not publish: ${plainError(err, ctx.agentName)}`);
  }
}

/** Fetches the timeline with the bearer token and saves it as a file. */
async function timeline(id, r) {
  try {
    const res = await fetch(`/api/v1/crises/${id}/timeline?format=csv`, { headers: { Authorization: `Bearer ${sessionStorage.getItem('chorus_token')}` } });
    if (!res.ok) throw new Error(`${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `crisis-${id}-timeline.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    setText(r.msg, `Could not download the timeline: ${plainError(err)}`);
  }
}
