// The WebSocket client shared by the console and the wallboard (docs/protocol.md, "WebSocket:
// live sessions").
//
// What it does for the pages:
// - commands carry an id; `send()` returns a promise settled by the matching `ack` or `error`;
// - `batch` frames are unpacked, in order;
// - every event's `seq` is tracked and events at or below the last applied one are ignored;
// - on a dropped socket it reconnects with backoff and subscribes again with
//   `resume_from: lastSeq`, so the server replays what was missed;
// - on `resync` (the server no longer has the gap) and on first connect it calls the page's
//   loader to rebuild state from the snapshot or REST, holding live events back meanwhile and
//   applying them afterwards, so nothing that happened during the reload is lost;
// - it never answers server pings itself: the browser answers WebSocket pings on its own. It
//   sends its own `ping` command now and then to notice a connection that died silently.

const MAX_TOPICS = 64; // the server refuses more topics in one subscribe
const COMMAND_TIMEOUT_MS = 15000;
const PING_EVERY_MS = 20000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;

export class LiveClient {
  /**
   * @param {object} o
   * @param {() => string} o.token   the login token (read at every connect)
   * @param {string[]} [o.topics]    topics to subscribe to on every connect
   * @param {() => Promise<boolean>} [o.checkAuth]  false when the token is no longer valid
   */
  constructor({ token, topics = [], checkAuth = null }) {
    this.token = token;
    this.topics = new Set(topics);
    this.checkAuth = checkAuth;
    this.lastSeq = null; // the last event seq applied; null until the first hello
    this.agent = null; // from hello
    this.state = 'idle';
    this.ws = null;
    this.ready = false; // the current socket said hello (commands and subscriptions may go)
    this.nextId = 1;
    this.pending = new Map(); // command id -> {resolve, reject, timer}
    this.handlers = new Map(); // event name -> Set of functions
    this.loader = null; // async (snapshot|null, reason) => void
    this.holds = 0; // while > 0, events wait in `held` (a reload is running)
    this.held = [];
    this.resyncing = false;
    this.needReload = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.stopped = true;
    this.onOnline = () => {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.connect();
      }
    };
  }

  /**
   * Listens to an event kind (`queue.upsert`…), `*` (every event), `tick`, `status`, `hello`,
   * `subscribing` (topics), `subscribed` (ack, topics), `unauthorized`.
   */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name).delete(fn);
  }

  emit(name, ...args) {
    for (const fn of this.handlers.get(name) || []) {
      try {
        fn(...args);
      } catch (e) {
        console.error(`live: a "${name}" handler failed`, e);
      }
    }
  }

  /** The page's state (re)loader: called on first connect, on resync and when the log restarted. */
  setLoader(fn) {
    this.loader = fn;
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000, 'bye');
    this.setState('stopped');
  }

  setState(state, detail = '') {
    this.state = state;
    this.emit('status', state, detail);
  }

  connect() {
    this.retryTimer = null;
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/ws?token=${encodeURIComponent(this.token())}`;
    this.setState(this.attempt === 0 && this.lastSeq === null ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    let greeted = false;
    ws.onmessage = (m) => {
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(m.data);
      } catch {
        console.warn('live: a frame that is not JSON', m.data);
        return;
      }
      if (frame.type === 'hello') greeted = true;
      this.frame(frame);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      clearInterval(this.pingTimer);
      this.failPending('disconnected', 'the connection dropped');
      // A resync cut short (no snapshot came): rebuild the state on the next connect.
      if (this.resyncing) this.needReload = true;
      this.resyncing = false;
      if (this.stopped) return;
      this.scheduleReconnect(greeted, e.code);
    };
  }

  async scheduleReconnect(greeted, code) {
    if (!greeted && this.checkAuth) {
      // The upgrade may have been refused for a bad token (the browser only reports "closed").
      let ok = true;
      try {
        ok = await this.checkAuth();
      } catch {
        ok = true; // server unreachable: keep trying
      }
      if (!ok) {
        this.stopped = true;
        this.setState('unauthorized');
        this.emit('unauthorized');
        return;
      }
    }
    if (greeted) this.attempt = 0;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.setState('reconnecting', code === 1012 ? 'server restarting' : `retrying in ${Math.ceil(delay / 1000)} s`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  failPending(code, message) {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(Object.assign(new Error(message), { code }));
    }
    this.pending.clear();
  }

  frame(f) {
    switch (f.type) {
      case 'hello':
        this.hello(f);
        break;
      case 'ack':
      case 'error': {
        const p = this.pending.get(f.id);
        if (!p) {
          if (f.type === 'error') console.warn('live: error without a waiting command', f);
          break;
        }
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        if (f.type === 'ack') p.resolve(f);
        else p.reject(Object.assign(new Error(f.message || f.code), { code: f.code }));
        break;
      }
      case 'event':
        this.deliver(f);
        break;
      case 'batch':
        for (const inner of f.events || []) this.frame(inner);
        break;
      case 'tick':
        // State, not history: no seq, never replayed, always applied.
        this.emit('tick', f.data, f);
        break;
      case 'resync':
        // The server cannot replay the gap; a snapshot follows. Whatever we held is superseded.
        this.resyncing = true;
        this.held = [];
        this.lastSeq = f.seq;
        this.setState('resyncing', f.reason);
        break;
      case 'snapshot':
        this.resyncing = false;
        this.lastSeq = Math.max(this.lastSeq ?? f.seq, f.seq);
        this.held = this.held.filter((e) => e.seq > f.seq);
        this.reload(f, 'resync');
        break;
      case 'shutdown':
        this.setState('reconnecting', 'server restarting');
        break;
      case 'revoked':
        // Signed out, disabled or expired: no point reconnecting with this token.
        this.stopped = true;
        this.setState('unauthorized', f.reason);
        this.emit('unauthorized', f.reason);
        break;
      case 'access':
        // An admin changed this agent's roles: the server already narrowed the topics.
        this.agent = f.agent;
        this.emit('access', f);
        break;
      default:
        console.warn('live: unknown frame', f);
    }
  }

  hello(f) {
    this.agent = f.agent;
    this.ready = true;
    let resumeFrom = this.lastSeq;
    let reason = null;
    if (this.lastSeq === null) {
      this.lastSeq = f.seq;
      resumeFrom = null;
      reason = 'initial';
    } else if (f.seq < this.lastSeq) {
      // The server's event order is behind what we already applied: its log started again
      // (e.g. a single node with in-process coordination restarted). Resuming from our seq
      // would make the server hold back its new events, so start over from its seq and
      // rebuild the state from REST.
      console.warn(`live: the server's seq (${f.seq}) is below the last applied (${this.lastSeq}); reloading`);
      this.lastSeq = f.seq;
      resumeFrom = null;
      reason = 'seq_reset';
    } else if (this.needReload) {
      reason = 'resync_interrupted';
    }
    this.needReload = false;
    if (reason) this.holds += 1; // events wait until the reload below has run
    this.emit('hello', f);
    const cmd = { type: 'subscribe', topics: [...this.topics] };
    if (resumeFrom !== null) cmd.resume_from = resumeFrom;
    const subscribed = this.topics.size ? this.sendSubscribe(cmd) : Promise.resolve({ replayed: 0 });
    subscribed.then(
      async (ack) => {
        this.attempt = 0;
        // "Live" once the page's state is whole: after the reload when there is one.
        if (reason) await this.reload(null, reason, true);
        if (this.ready && this.ws) this.setState('live', ack.replayed ? `${ack.replayed} missed events replayed` : '');
      },
      (e) => {
        // A refusal (a topic this role may not see) is worth saying; a dropped socket is not:
        // the next connect subscribes again.
        if (e.code !== 'disconnected' && e.code !== 'timeout') {
          console.error('live: subscribe refused', e);
          this.emit('subscribe_error', e);
        }
        if (reason) this.reload(null, reason, true);
      },
    );
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
  }

  /** Sends a ping command; no answer in time means a dead connection, so drop it and reconnect. */
  keepAlive() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.send({ type: 'ping' }).catch((e) => {
      if (e.code === 'timeout' && this.ws) this.ws.close(4000, 'no answer to ping');
    });
  }

  deliver(ev) {
    if (typeof ev.seq === 'number') {
      if (this.lastSeq !== null && ev.seq <= this.lastSeq) return; // applied already
      this.lastSeq = ev.seq;
    }
    if (this.holds > 0 || this.resyncing) {
      this.held.push(ev);
      return;
    }
    this.dispatch(ev);
  }

  dispatch(ev) {
    this.emit(ev.event, ev.data, ev);
    this.emit('*', ev.data, ev);
  }

  /** Runs the loader with events held back, then applies what arrived meanwhile, in order. */
  async reload(snapshot, reason, alreadyHeld = false) {
    if (!alreadyHeld) this.holds += 1;
    try {
      if (this.loader) await this.loader(snapshot, reason);
    } catch (e) {
      console.error('live: reloading state failed; trying again shortly', e);
      this.emit('status', this.state, 'reload failed, retrying');
      setTimeout(() => {
        if (!this.stopped) this.reload(null, reason);
      }, 3000);
    } finally {
      this.holds -= 1;
      if (this.holds === 0 && !this.resyncing) {
        const evs = this.held;
        this.held = [];
        for (const ev of evs) this.dispatch(ev);
        if (this.state === 'resyncing' && this.ready) this.setState('live', 'caught up');
      }
    }
  }

  /** Sends a command; resolves with its ack, rejects with {code, message} on its error. */
  send(command) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(Object.assign(new Error('not connected — try again in a moment'), { code: 'offline' }));
    }
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error('no answer from the server'), { code: 'timeout' }));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...command, id }));
    });
  }

  /**
   * Sends a `subscribe` and hands its ack to the pages: some topics answer their current state
   * in it (`presence`: who is on now), which events then keep current. `subscribing` goes first,
   * so a page can tell events heard after the request from what it knew before.
   */
  sendSubscribe(cmd) {
    this.emit('subscribing', cmd.topics);
    return this.send(cmd).then((ack) => {
      this.emit('subscribed', ack, cmd.topics);
      return ack;
    });
  }

  /** Adds topics (kept for every reconnect). Resolves with the ack, or at once when offline. */
  async subscribe(topics) {
    const fresh = topics.filter((t) => !this.topics.has(t));
    if (!fresh.length) return null;
    if (this.topics.size + fresh.length > MAX_TOPICS) {
      throw Object.assign(new Error(`at most ${MAX_TOPICS} topics`), { code: 'validation' });
    }
    for (const t of fresh) this.topics.add(t);
    if (!this.ready) return null; // the next hello subscribes to them
    try {
      return await this.sendSubscribe({ type: 'subscribe', topics: fresh });
    } catch (e) {
      if (e.code !== 'offline' && e.code !== 'disconnected') for (const t of fresh) this.topics.delete(t);
      throw e;
    }
  }

  async unsubscribe(topics) {
    const gone = topics.filter((t) => this.topics.has(t));
    if (!gone.length) return null;
    for (const t of gone) this.topics.delete(t);
    if (!this.ready) return null;
    return this.send({ type: 'unsubscribe', topics: gone }).catch(() => null);
  }

  get topicCount() {
    return this.topics.size;
  }
}
