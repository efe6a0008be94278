// What the supervisor's floor view knows, shared by its parts (supervisor.js, floor-agents.js,
// floor-queue.js, floor-approvals.js): the last answer of GET /api/v1/floor, who is on (the
// `presence` topic), each agent's status timeline today, and each agent's load — worked out so
// that it is right the moment a conversation moves, not at the next read.
//
// The load: conversations an agent holds on the live queue are counted from the queue itself
// (kept current by queue.upsert/remove and the claim events, and by the answer to our own
// reassign), plus the ones they hold off the queue (waiting on the customer), which only the
// floor read knows: its `held` less what the queue showed for them when it came.

export const state = {
  floor: null, // the last GET /api/v1/floor answer
  readAt: 0, // Date.now() when it came
  supported: true, // false on a server without /floor
  presence: new Map(), // agent id -> {agent_id, name, status, capacity, load, at}
  presenceWhole: false, // the presence list came whole (subscribe ack or snapshot): absent means offline
  heardSince: null, // agents whose presence.changed arrived since the last `presence` subscribe went out
  timelines: new Map(), // agent id -> [{status, from, to}]
  offQueue: new Map(), // agent id -> held conversations not on the live queue
  baselineDue: false, // a floor answer waits for the queue before its off-queue part can be taken
  stale: false, // something changed while the view was hidden: read the floor when it shows
  lastAction: new Map(), // agent id -> ISO time of the newest action we know of
  approvals: new Map(), // approval id -> request waiting (floor answer and approval.* events)
  selected: new Set(), // conversation ids picked for reassignment
  moves: 0, // load moves seen here (ours and by events): a floor read that spans one is already old
};

/** A conversation changed holder here: a floor read in flight may predate it. */
export function noteMove() {
  state.moves += 1;
}

/** The server's clock now, as far as we can tell (its `at` plus the time since it came). */
export function serverNow() {
  if (!state.floor?.at) return Date.now();
  return Date.parse(state.floor.at) + (Date.now() - state.readAt);
}

/**
 * Takes a floor answer: figures, timelines, the approvals waiting. `fresh` is false when a load
 * moved while the read was on its way: its `held` may predate the move, so the off-queue part
 * is left as the events made it (the caller reads again).
 */
export function takeFloor(f, queue, fresh = true) {
  state.floor = f;
  state.readAt = Date.now();
  state.supported = true;
  state.timelines = new Map(f.agents.map((a) => [a.agent_id, (a.status_today || []).map((s) => ({ ...s }))]));
  for (const a of f.agents) {
    const known = state.lastAction.get(a.agent_id);
    if (a.last_action_at && (!known || Date.parse(a.last_action_at) >= Date.parse(known))) state.lastAction.set(a.agent_id, a.last_action_at);
  }
  state.approvals = new Map((f.approvals || []).map((a) => [a.id, { ...a, requested_at: a.requested_at || new Date(Date.parse(f.at) - a.age_secs * 1000).toISOString() }]));
  if (!fresh) return;
  state.baselineDue = true;
  if (queue.loaded) takeBaseline(queue);
}

/** The off-queue part of each agent's load, from the floor answer and the queue as it is now. */
export function takeBaseline(queue) {
  if (!state.floor) return;
  const counts = queueHeld(queue);
  state.offQueue = new Map();
  for (const a of state.floor.agents) {
    const off = (a.held ?? 0) - (counts.get(a.agent_id) || 0);
    if (off > 0) state.offQueue.set(a.agent_id, off);
  }
  state.baselineDue = false;
}

/** Conversations each agent holds on the live queue. */
export function queueHeld(queue) {
  const n = new Map();
  for (const s of queue.items.values()) if (s.assignee_id != null) n.set(s.assignee_id, (n.get(s.assignee_id) || 0) + 1);
  return n;
}

/** An agent's load now: on the queue (live) plus off it (as of the last read, moved by events). */
export function heldNow(id, counts) {
  return (counts.get(id) || 0) + (state.offQueue.get(id) || 0);
}

/** A conversation the queue does not list changed holder: move it between the off-queue counts. */
export function moveOffQueue(fromId, toId) {
  noteMove();
  if (fromId != null) {
    const n = (state.offQueue.get(fromId) || 0) - 1;
    if (n > 0) state.offQueue.set(fromId, n);
    else state.offQueue.delete(fromId);
  }
  if (toId != null) state.offQueue.set(toId, (state.offQueue.get(toId) || 0) + 1);
}

/** The floor's figures for one agent, or null. */
export function floorAgent(id) {
  return state.floor?.agents.find((a) => a.agent_id === id) ?? null;
}

/** True when presence document `p` is at least as recent as `old` (events may be held back and applied late). */
export function newer(p, old) {
  if (!old || !old.at || !p.at) return true;
  return Date.parse(p.at) >= Date.parse(old.at);
}

/** A status change heard live: the agent's timeline closes its last part and opens a new one. */
export function notePresence(p) {
  const at = p.at || new Date(serverNow()).toISOString();
  const segs = state.timelines.get(p.agent_id) || [];
  const last = segs.at(-1);
  if (last && last.status === p.status) return;
  if (last && Date.parse(at) < Date.parse(last.from)) return; // older than what the timeline says
  if (last && last.to == null) last.to = at;
  segs.push({ status: p.status, from: at, to: null });
  state.timelines.set(p.agent_id, segs);
}

/**
 * Takes a whole list of who is on (a subscribe ack or a resync snapshot) as the truth: agents
 * not in it are offline. The exceptions are what presence.changed said after the subscribe
 * went out, which may be newer than the list the server read.
 */
export function applyPresenceList(list, meId) {
  const next = new Map(list.map((p) => [p.agent_id, p]));
  for (const id of state.heardSince || []) {
    const mine = state.presence.get(id);
    if (mine && (!next.has(id) || newer(mine, next.get(id)))) next.set(id, mine);
  }
  // Our own session is on, whatever a list read a moment before it opened says.
  const me = state.presence.get(meId);
  if (me && !next.has(meId)) next.set(meId, me);
  state.heardSince = null;
  state.presence = next;
  state.presenceWhole = true;
}

/** online / away / offline (or unknown before anything was heard). */
export function statusOf(id) {
  const p = state.presence.get(id);
  if (p) return p.status;
  if (state.presenceWhole) return 'offline';
  const segs = state.timelines.get(id);
  if (segs?.length) return segs.at(-1).status;
  return floorAgent(id)?.status ?? 'unknown';
}

/** Since when the agent has had their status (server time), or null. */
export function statusSince(id) {
  const segs = state.timelines.get(id);
  const last = segs?.at(-1);
  if (last && last.status === statusOf(id)) return last.from;
  const f = floorAgent(id);
  return f && f.status === statusOf(id) ? f.status_since : null;
}

/** Notes an action by agent `id` seen live (a claim, a release). */
export function noteAction(id, at = new Date(serverNow()).toISOString()) {
  if (id == null) return;
  const known = state.lastAction.get(id);
  if (!known || Date.parse(at) > Date.parse(known)) state.lastAction.set(id, at);
}
