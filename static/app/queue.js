// The live queue, shared by the agent and supervisor views: the whole list from REST, every page
// of it (or a resync snapshot), then `queue.upsert` / `queue.remove` events, plus who is viewing
// each conversation (`conversation.viewers`, heard on the `conversation:<id>` topics we follow).

import { query } from './api.js';

const PAGE = 200; // the server's largest page

/** Queue order (docs/protocol.md): tier, then the due time that applies now, then risk, then id. */
export function queueOrder(a, b) {
  const tier = (s) => (s.priority === 'tier1' ? 1 : s.priority === 'tier2' ? 2 : 3);
  if (tier(a) !== tier(b)) return tier(a) - tier(b);
  const da = a.due_at ? Date.parse(a.due_at) : Infinity;
  const db = b.due_at ? Date.parse(b.due_at) : Infinity;
  if (da !== db) return da - db;
  if ((b.risk ?? 0) !== (a.risk ?? 0)) return (b.risk ?? 0) - (a.risk ?? 0);
  return a.id - b.id;
}

export class QueueStore {
  constructor(api, live) {
    this.api = api;
    this.live = live;
    this.items = new Map(); // id -> Summary
    this.viewers = new Map(); // conversation id -> [agent ids]
    this.typists = new Map(); // conversation id -> [agent ids]
    this.listeners = new Set();
    this.removeListeners = new Set();
    this.loaded = false;

    live.on('queue.upsert', (s) => this.upsert(s));
    live.on('queue.remove', (s) => this.remove(s.id, s));
    live.on('conversation.viewers', (d) => {
      this.viewers.set(d.conversation_id, d.viewers || []);
      this.changed();
    });
    // Typing lapses on the server after 8 s unless said again; forget it here a little later
    // in case the lapse is not announced.
    this.typingTimers = new Map();
    live.on('conversation.typing', (d) => {
      this.typists.set(d.conversation_id, d.typists || []);
      clearTimeout(this.typingTimers.get(d.conversation_id));
      this.typingTimers.set(
        d.conversation_id,
        setTimeout(() => {
          this.typists.delete(d.conversation_id);
          this.changed();
        }, 9000),
      );
      this.changed();
    });
    // Claims change who holds a conversation; the queue.upsert that follows carries the whole
    // Summary, but applying the holder at once makes "taken" show without waiting for it.
    const holder = (d) => {
      const s = this.items.get(d.conversation_id);
      if (!s) return;
      this.items.set(d.conversation_id, { ...s, assignee_id: d.agent_id ?? null, fence_token: d.fence_token ?? s.fence_token });
      this.changed();
    };
    live.on('conversation.claimed', holder);
    live.on('conversation.released', holder);
    live.on('conversation.reassigned', holder);
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  /** `fn(summary)` for each conversation that leaves the queue, with the `queue.remove` row. */
  onRemove(fn) {
    this.removeListeners.add(fn);
  }

  changed() {
    for (const fn of this.listeners) fn();
  }

  upsert(s) {
    const old = this.items.get(s.id);
    // Some queue.upsert events carry "customer_name": null for a conversation whose REST
    // Summary names the customer (reported to the server's owner); keep the name we know.
    const merged = old && s.customer_name == null && old.customer_name ? { ...s, customer_name: old.customer_name } : s;
    this.items.set(s.id, merged);
    this.changed();
  }

  /** Takes conversation `id` off the queue (`s`: the event's row, when an event says so). */
  remove(id, s = null) {
    if (!this.items.delete(id)) return;
    for (const fn of this.removeListeners) fn(s ?? { id });
    this.changed();
  }

  /** (Re)loads the whole queue: from a resync snapshot when it has one, else from REST. */
  async load(snapshot) {
    let items;
    if (snapshot && snapshot.queue && !snapshot.queue.next_cursor) {
      items = snapshot.queue.items;
    } else {
      // Every page: a queue of 10,000 is a bad day, and none of it may be hidden.
      items = [];
      let cursor = null;
      do {
        const res = await this.api.get(`/api/v1/conversations${query({ view: 'queue', limit: PAGE, cursor })}`);
        for (const s of res.items) items.push(s);
        cursor = res.next_cursor;
      } while (cursor);
    }
    const names = new Map([...this.items].map(([id, s]) => [id, s.customer_name]));
    this.items = new Map(items.map((s) => [s.id, s.customer_name == null && names.get(s.id) ? { ...s, customer_name: names.get(s.id) } : s]));
    this.loaded = true;
    this.changed();
  }

  sorted() {
    return [...this.items.values()].sort(queueOrder);
  }

  get(id) {
    return this.items.get(id);
  }
}
