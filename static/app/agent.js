// The agent view: the live queue (with "Take next", claim and release) and the open
// conversation (the whole thread, the composer, notes, tags, escalation, resolution), with who
// else is viewing or typing shown live. This module wires the view up and loads it; the parts
// live in queue-view.js, brand-filter.js, claims.js, conversation.js (the pane) and the modules
// the pane is built from.

import { wireAgentEvents } from './agent-notifications.js';
import { ctx, open, setContext } from './agent-state.js';
import { loadBrands, wireBrandFilter } from './brand-filter.js';
import { takeNext } from './claims.js';
import { wireConversationEvents } from './conversation-events.js';
import { expireTypists, tickDue } from './conversation-header.js';
import { loadOpen, openConversation, showViewers } from './conversation.js';
import { renderCrisisHelpers } from './drafts.js';
import { loadMine, renderQueue, tickQueueClocks } from './queue-view.js';
import { $, batched } from './util.js';

export { openConversation };

export function init(c) {
  setContext(c);
  ctx.loaders.push(load);
  const renderSoon = batched(renderQueue);
  ctx.queue.onChange(renderSoon);
  $('#take-next').addEventListener('click', takeNext);
  wireBrandFilter();
  setInterval(tickClocks, 1000);
  wireConversationEvents();
  wireAgentEvents();
  ctx.onCrisisChange(() => open && !open.loading && renderCrisisHelpers());
  // Viewing markers end with the session: say it again on every (re)connect.
  ctx.live.on('status', (state) => {
    if (state === 'live' && open) ctx.live.send({ type: 'viewing', conversation_id: open.id }).then(showViewers, () => {});
  });
  setInterval(expireTypists, 2000);
}

async function load(snapshot, reason) {
  await Promise.all([ctx.queue.load(snapshot), loadMine(), loadBrands()]);
  // After a resync or a restart the open conversation may have changed while we were away.
  if (open && reason !== 'initial') await loadOpen(open.id, { keepComposer: true });
}

function tickClocks() {
  tickQueueClocks();
  tickDue();
}
