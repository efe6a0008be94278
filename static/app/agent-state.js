// What the agent view's modules share: the console context, the open conversation, the
// conversations the agent holds and the queue rows whose topics we follow. Kept in one place so
// the queue, the pane and the composer always agree on which conversation is open. Other modules
// read `ctx` and `open` as live bindings; only the setters here assign them.

export let ctx = null;

/** The open conversation: {id, summary, detail, messages, notes, replies, approvals, viewers, typists, el…}. */
export let open = null;

export const mine = new Map(); // conversations the agent holds (queue or not)
export const watched = new Set(); // conversation ids whose topic we follow for the queue rows

export function setContext(c) {
  ctx = c;
}

export function setOpen(conversation) {
  open = conversation;
}
