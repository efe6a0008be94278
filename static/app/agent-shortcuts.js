// The agent's keyboard: every action of the queue and the open conversation has a key, so a
// whole shift can be worked without the mouse (the "?" dialog lists them all).

import { ctx, open } from './agent-state.js';
import { claim, release, resolve, resolveAndNext, takeNext } from './claims.js';
import { focusComposer } from './composer.js';
import { focusEscalate } from './conversation-escalation.js';
import { paneAlert } from './conversation.js';
import { focusSearch } from './queue-controls.js';
import { activeRow, focusQueue, queueMessage, stepConversation } from './queue-view.js';
import { shortcut } from './shortcuts.js';

const GROUP = 'Queue and conversation';
const WRITE = 'Writing';

/** Says why a key did nothing, where the agent looks and where screen readers hear it. */
function cannot(text) {
  if (open?.el) paneAlert(text);
  else queueMessage(text);
  ctx.announce(text);
}

/** Runs `fn` on the open conversation, or says there is none. */
function withOpen(fn) {
  return () => {
    if (!open || open.loading || !open.el) return cannot('Open a conversation first (j, or n to take the next one).');
    fn();
  };
}

export function wireAgentShortcuts() {
  shortcut('n', 'Take the next conversation', () => takeNext(), { group: GROUP });
  shortcut('j', 'Open the next conversation in the list', () => stepConversation(1), { group: GROUP });
  shortcut('k', 'Open the previous conversation in the list', () => stepConversation(-1), { group: GROUP });
  shortcut('q', 'Go to the queue list (↑ ↓ Home End Page Up/Down move, Enter opens)', () => focusQueue(), { group: GROUP });
  shortcut('/', 'Search the queue', () => focusSearch(), { group: GROUP });
  shortcut('c', 'Claim the open conversation (or the one chosen in the list)', () => {
    const id = open?.el ? open.id : activeRow()?.id;
    if (id == null) return cannot('Nothing to claim: the queue is empty.');
    return claim(id);
  }, { group: GROUP });
  shortcut('u', 'Release the open conversation (or the one chosen in the list)', () => {
    const s = open?.el ? open.summary : activeRow();
    if (!s) return cannot('Open a conversation first.');
    return s.assignee_id === ctx.me.id ? release(s.id) : cannot('You do not hold this conversation.');
  }, { group: GROUP });
  shortcut('e', 'Resolve the open conversation', withOpen(() => resolve()), { group: GROUP });
  shortcut('Shift+E', 'Resolve and take the next conversation', withOpen(() => resolveAndNext()), { group: GROUP });
  shortcut(
    'x',
    'Escalate the open conversation',
    withOpen(() => {
      if (!focusEscalate()) cannot('Claim this conversation to escalate it.');
    }),
    { group: GROUP },
  );
  shortcut('r', 'Write a public reply', withOpen(() => focusComposer('public')), { group: WRITE });
  shortcut('m', 'Write a private message', withOpen(() => focusComposer('private')), { group: WRITE });
  shortcut('i', 'Write an internal note', withOpen(() => focusComposer('note')), { group: WRITE });
  shortcut('Ctrl+Enter', 'Send what is written (in the composer)', null, { group: WRITE, info: true });
  shortcut('/', 'In an empty reply: insert a macro (type to search, ↑ ↓ to choose, Enter inserts)', null, { group: WRITE, info: true });
}
