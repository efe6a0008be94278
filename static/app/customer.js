// The customer profile panel of the open conversation: who the customer is across networks
// (identities, influence, CRM context), their history with its outcomes and who handled it, the
// sentiment trend, notes and tags kept on the customer, merge suggestions, and merging and
// unmerging customers. It reads GET /api/v1/customers/{id}; the agent view reloads it when a
// `customer.merged` or `customer.unmerged` event arrives.

import { ago, h, NETWORK_NAME, replaceChildren, sentimentLabel, setText } from './util.js';
import { plainError } from './errors.js';

const OUTCOME = {
  in_progress: 'in progress',
  resolved_positive: 'resolved, positive',
  resolved_neutral: 'resolved, neutral',
  resolved_negative: 'resolved, negative',
};

/**
 * Builds the panel for `customerId`; `crm` is the conversation view's CRM context and
 * `openConversation(id)` opens another conversation. Returns the element; it loads itself.
 */
export function customerPanel(ctx, customerId, { conversationId, crm, openConversation, onMerged }) {
  const el = {};
  let crmNow = crm;
  // The CRM lookup runs in the background: while it is pending, look again now and then.
  async function pollCrm(tries) {
    if (crmNow?.status !== 'pending' || tries > 10 || !section.isConnected) return;
    await new Promise((r) => setTimeout(r, 1000));
    try {
      const d = await ctx.api.get(`/api/v1/conversations/${conversationId}`);
      crmNow = d.crm;
      if (el.crm?.isConnected) {
        const fresh = crmBox(crmNow);
        el.crm.replaceWith(fresh || h('div', { id: 'customer-crm' }));
        el.crm = fresh;
      }
    } catch (e) {
      console.warn('CRM context', e);
    }
    pollCrm(tries + 1);
  }
  const mayMerge = ctx.has('agent', 'supervisor', 'admin');
  el.body = h('div', { id: 'customer-body' }, h('p', { class: 'muted small' }, 'Loading the customer…'));
  el.msg = h('p', { id: 'customer-msg', class: 'small', role: 'status' });
  const section = h(
    'section',
    { class: 'card', id: 'customer-panel', 'aria-labelledby': 'customer-h' },
    h('h3', { id: 'customer-h' }, 'Customer'),
    el.body,
    el.msg,
  );

  async function act(what, fn) {
    setText(el.msg, '');
    try {
      await fn();
      setText(el.msg, what);
      await load();
    } catch (e) {
      setText(el.msg, `Could not do that: ${plainError(e, ctx.agentName)}`);
    }
  }

  async function load() {
    let p;
    try {
      p = await ctx.api.get(`/api/v1/customers/${customerId}`);
    } catch (e) {
      replaceChildren(el.body, h('p', { class: 'error' }, `Could not load the customer: ${plainError(e, ctx.agentName)}`));
      return;
    }
    render(p);
  }

  function render(p) {
    const path = `/api/v1/customers/${p.id}`;
    const tagInput = h('input', { id: 'customer-tag-input', placeholder: 'vip', 'aria-label': 'Add a customer tag' });
    const noteInput = h('textarea', { id: 'customer-note-text', rows: 2, 'aria-label': 'Note on the customer' });
    const mergeInput = h('input', { id: 'customer-merge-from', inputmode: 'numeric', placeholder: 'customer #', 'aria-label': 'Customer id to merge into this one' });
    replaceChildren(
      el.body,
      p.merged_into != null ? h('p', { class: 'alert' }, `Merged into customer #${p.merged_into}.`) : '',
      h(
        'p',
        { class: 'small' },
        `#${p.id} · ${p.display_name}`,
        p.followers != null ? ` · ${p.followers} followers` : '',
        p.crm_id ? ` · CRM ${p.crm_id}` : '',
      ),
      h('ul', { class: 'identities small', 'aria-label': 'Identities', id: 'customer-identities' },
        p.identities.map((i) => h('li', {}, `${i.network}: ${i.handle || i.name || i.platform_user_id}${i.followers != null ? ` (${i.followers} followers)` : ''}`))),
      (el.crm = crmBox(crmNow)),
      h('p', { class: 'small', id: 'customer-trend' }, `Sentiment trend: ${p.sentiment_trend.direction}`),
      // Tags
      h('ul', { class: 'tags', 'aria-label': 'Customer tags', id: 'customer-tags' },
        p.tags.map((t) => h('li', { class: 'tag' }, t, h('button', { type: 'button', class: 'ghost', 'aria-label': `Remove customer tag ${t}`,
          onclick: () => act('Tag removed.', () => ctx.api.post(`${path}/tags`, { remove: [t] })) }, '×')))),
      h('form', { class: 'composer-row', onsubmit: (e) => {
        e.preventDefault();
        const tag = tagInput.value.trim();
        if (tag) act('Tag added.', () => ctx.api.post(`${path}/tags`, { add: [tag] }));
      } }, tagInput, h('button', { type: 'submit', id: 'customer-tag-add' }, 'Tag customer')),
      // Suggestions
      p.merge_suggestions.length ? h('h4', {}, 'Possibly the same person') : '',
      h('ul', { id: 'customer-suggestions' }, p.merge_suggestions.map((s) => {
        const other = s.customer_id === p.id ? s.other_customer_id : s.customer_id;
        return h('li', { class: 'small', dataset: { suggestion: s.id } },
          `Customer #${other} (same ${s.kind}: ${s.value}) `,
          mayMerge ? h('button', { type: 'button', class: 'suggestion-accept', onclick: () => act('Merged.', () => ctx.api.post(`/api/v1/merge-suggestions/${s.id}/accept`).then(onMerged)) }, 'Merge') : '',
          mayMerge ? h('button', { type: 'button', class: 'ghost suggestion-dismiss', onclick: () => act('Dismissed.', () => ctx.api.post(`/api/v1/merge-suggestions/${s.id}/dismiss`)) }, 'Not the same') : '');
      })),
      // Merging by hand and undoing merges
      mayMerge && p.merged_into == null
        ? h('form', { class: 'composer-row', onsubmit: (e) => {
            e.preventDefault();
            const from = Number(mergeInput.value);
            if (from) act(`Customer #${from} merged into this one.`, () => ctx.api.post(`${path}/merge`, { from }).then(onMerged));
          } }, mergeInput, h('button', { type: 'submit', id: 'customer-merge' }, 'Merge into this customer'))
        : '',
      h('ul', { id: 'customer-merges', class: 'small' }, p.merges.filter((m) => m.survivor_id === p.id).map((m) =>
        h('li', { dataset: { merge: m.id } },
          `#${m.merged_id} merged ${ago(m.created_at)}${m.undone_at ? ` (undone ${ago(m.undone_at)})` : ''} `,
          mayMerge && !m.undone_at
            ? h('button', { type: 'button', class: 'merge-undo', onclick: () => act(`Customer #${m.merged_id} taken back out.`, () => ctx.api.post(`${path}/unmerge`, { customer_id: m.merged_id }).then(onMerged)) }, 'Unmerge')
            : ''))),
      // Notes
      h('h4', {}, 'Notes on the customer'),
      h('ul', { id: 'customer-notes', class: 'small' }, p.notes.map((n) => h('li', {}, `${ctx.agentName(n.agent_id)}, ${ago(n.created_at)}: ${n.text}`))),
      h('form', { onsubmit: (e) => {
        e.preventDefault();
        const text = noteInput.value.trim();
        if (text) act('Note added.', () => ctx.api.post(`${path}/notes`, { text }));
      } }, noteInput, h('button', { type: 'submit', id: 'customer-note-add' }, 'Add customer note')),
      // History
      h('h4', {}, 'Conversations on every network'),
      h('ul', { id: 'customer-history', class: 'earlier' }, p.conversations.map((c) =>
        h('li', {}, h('button', { type: 'button', class: 'linklike', onclick: () => openConversation(c.id) },
          `#${c.id} · ${NETWORK_NAME[c.network] ?? c.network} · ${ago(c.first_message_at)} · ${OUTCOME[c.outcome] || c.outcome} · ${sentimentLabel(c.sentiment_end)}`
          + `${c.handled_by.length ? ` · ${c.handled_by.map((a) => a.name).join(', ')}` : ''}`)))),
    );
  }

  load().then(() => pollCrm(0));
  return { el: section, reload: load };
}

function crmBox(crm) {
  if (!crm || crm.status === 'disabled') return '';
  const rows = crm.data && typeof crm.data === 'object'
    ? Object.entries(crm.data).map(([k, v]) => h('div', { class: 'fact' }, h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))))
    : [];
  return h(
    'div',
    { id: 'customer-crm', class: 'crm', dataset: { status: crm.status } },
    h('h4', {}, 'CRM (never share in public)'),
    crm.status === 'pending' && !rows.length ? h('p', { class: 'small muted' }, 'Looking the customer up…') : '',
    crm.status === 'failed' ? h('p', { class: 'small muted' }, `CRM unavailable (${crm.error}).`) : '',
    rows.length ? h('dl', { class: 'facts' }, rows) : '',
  );
}
