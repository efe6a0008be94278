// The agent view: the live queue (search, filters, sort, saved views, "Take next", claim and
// release) beside the open conversation (thread, composer, side panel), with who else is viewing
// or typing shown live and a key for every action. This module wires the view up and loads it;
// the parts live in queue-view.js, queue-controls.js, saved-views.js, claims.js,
// conversation.js (the pane) and the modules the pane is built from.

import { wireAgentEvents } from './agent-notifications.js';
import { wireAgentShortcuts } from './agent-shortcuts.js';
import { ctx, open, setContext } from './agent-state.js';
import { loadBrands } from './brand-filter.js';
import { takeNext } from './claims.js';
import { onConnectionChange, stale } from './connection.js';
import { wireConversationEvents } from './conversation-events.js';
import { expireTypists, renderHeader, tickDue } from './conversation-header.js';
import { loadOpen, openConversation, showViewers, wireSidePane } from './conversation.js';
import { renderCrisisHelpers } from './crisis-drafts.js';
import { onViewChange, refreshFilterOptions, wireQueueControls } from './queue-controls.js';
import { loadMine, renderQueue, tickQueueClocks, wireQueueList } from './queue-view.js';
import { loadViews, wireSavedViews } from './saved-views.js';
import { onSettings } from './settings.js';
import { wireReturnedDrafts } from './returned-drafts.js'; // issue 25 (floor)
import { $, batched, debounced } from './util.js';

export { openConversation };

export function init(c) {
  setContext(c);
  ctx.loaders.push(load);
  const renderSoon = batched(renderQueue);
  ctx.queue.onChange(renderSoon);
  wireQueueControls();
  wireQueueList();
  wireSavedViews();
  onViewChange(renderSoon);
  // Tags and languages to filter by follow the queue (only while the filters are shown).
  const optionsSoon = debounced(() => !$('#queue-filters').hidden && refreshFilterOptions(), 1000);
  ctx.queue.onChange(optionsSoon);
  onSettings(renderSoon); // the density changes the rows' height
  $('#take-next').addEventListener('click', takeNext);
  setInterval(tickClocks, 1000);
  wireConversationEvents();
  wireSidePane();
  wireAgentEvents();
  wireReturnedDrafts(); // issue 25: replies sent back for changes
  wireAgentShortcuts();
  ctx.onCrisisChange(() => open && !open.loading && renderCrisisHelpers());
  // Viewing markers end with the session: say it again on every (re)connect.
  ctx.live.on('status', (state) => {
    if (state === 'live' && open) ctx.live.send({ type: 'viewing', conversation_id: open.id }).then(showViewers, () => {});
  });
  onConnectionChange(showStale);
  setInterval(expireTypists, 2000);
}

/** While offline the queue may be out of date: say so, and grey it. */
function showStale() {
  const pane = $('#queue-pane');
  const isStale = stale();
  pane.toggleAttribute('data-stale', isStale);
  $('#queue-stale').hidden = !isStale;
  if (open && !open.loading) renderHeader();
}

async function load(snapshot, reason) {
  await Promise.all([ctx.queue.load(snapshot), loadMine(), loadBrands(), loadViews()]);
  // After a resync or a restart the open conversation may have changed while we were away.
  if (open && reason !== 'initial') await loadOpen(open.id, { keepComposer: true });
}

function tickClocks() {
  tickQueueClocks();
  tickDue();
}
