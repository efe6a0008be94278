// Refusals and failures in plain words for the people using the console: what happened and what
// to do, with colleagues' names rather than "agent 4". Every view words errors through here.

/** What each error code means for the person who pressed the button. */
const SENTENCES = {
  offline: 'You are offline: Chorus is reconnecting. Try again once the connection is back.',
  disconnected: 'The connection dropped before the server answered. Try again in a moment: nothing is done twice.',
  timeout: 'The server did not answer in time. Try again in a moment: nothing is done twice.',
  network: 'Chorus cannot be reached right now. Check your connection and try again.',
  rate_limited: 'Too many actions at once. Wait a moment and try again.',
  unauthorized: 'Your session has ended. Sign in again.',
  at_capacity: 'You are at capacity: resolve or release a conversation first.',
  coordination_unavailable: 'Claims are unavailable for a moment. Try again shortly.',
  unavailable: 'Chorus is busy or restarting. Try again in a moment.',
  internal: 'Something went wrong on the server. Try again, and tell your admin if it keeps happening.',
  payload_too_large: 'That is too long to send.',
  not_found: 'That conversation or item no longer exists (it may have been erased or merged).',
};

/**
 * The server's own message with ids made into names: "held by agent 4" → "held by Bob Chen".
 * `nameOf(id)` names an agent (the console's ctx.agentName).
 */
export function humanize(message, nameOf) {
  let text = String(message || '');
  if (nameOf) text = text.replace(/\bagent #?(\d+)\b/gi, (_, id) => nameOf(Number(id)));
  return text.replace(/\s+/g, ' ').trim();
}

/** An error (ApiError, a refused live command, anything) as a sentence for people. */
export function plainError(e, nameOf = null) {
  const code = e?.code;
  if (code && SENTENCES[code]) return SENTENCES[code];
  const said = humanize(e?.message || String(e || 'unknown error'), nameOf);
  const sentence = said ? said.charAt(0).toUpperCase() + said.slice(1) : 'Something went wrong';
  const end = /[.!?]$/.test(sentence) ? '' : '.';
  if (code === 'forbidden') return `Not allowed: ${said}${end}`;
  return `${sentence}${end}`;
}
