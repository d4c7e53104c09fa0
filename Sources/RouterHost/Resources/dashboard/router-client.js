// router-client.js: the browser client of Memory Router (DESIGN.md §4, §6).
//
// An ES module with no dependencies; usable from any page served by router-host:
//
//   import { RouterClient } from '/router-client.js';
//   const client = new RouterClient();              // ws(s)://<this host>/ws/memory
//   client.addEventListener('state', (e) => console.log(e.detail.state));
//   const result = await client.request('memory_search', { query: 'deadline', limit: 10 }, {
//     onProgress: (p) => console.log(p.stage, p.progress),
//     signal: AbortSignal.timeout(60_000),
//   });
//
// What it does:
//   - request ids are generated here; every server message about a request carries that id.
//   - `request()` resolves with the `<prefix>_complete` message's fields (the operation's result,
//     plus `elapsedMs`); it rejects with a `RouterError` ({code, message, id, op}) on `error`.
//   - cancellation through an AbortSignal sends `{"type":"cancel","id"}` and rejects at once
//     with code `cancelled`; whatever the server still sends for that id is ignored.
//   - `timeout` (ms) is sent with the request (the server clamps it to the operation's declared
//     timeout and answers `<type>_timeout`); a local timer `timeoutGraceMs` later rejects with the
//     same code if the server stays silent.
//   - app-level heartbeat: `{"type":"ping","id"}` every `heartbeatMs`; when nothing (no `pong`, no
//     other message) arrives within `heartbeatTimeoutMs`, the connection is treated as dead.
//   - automatic reconnect with exponential backoff and full jitter:
//     delay = random(0, min(maxMs, minMs * 2^attempt)).
//   - connection states, as `state` events (detail {state, previous, attempt, delayMs, reason})
//     and as events of the state's own name: `connecting` (first attempt), `connected` (welcome
//     received), `reconnecting` (lost or refused; retrying), `offline` (browser offline, retries
//     exhausted, or `close()` called). After a resume, `connected` carries `resumed: true` and
//     `replayed` (events buffered by the server); after a failed one, `resumeFailed` (the reason).
//     `resumed` and `resumefailed` events say the same ({session, lastSeq, replayed, inFlight} /
//     {reason, message, session, lost: request ids}).
//   - the `gzip+base64` envelope ({"compressed":true,"encoding":"gzip+base64","data":…}) is
//     decoded with DecompressionStream('gzip'); messages keep their order while one is decoded.
//     Pass `compress: 'gzip'` (or put `?compress=gzip` in the URL) to ask the server for it.
//   - session resume (DESIGN §6), when the server's `welcome` announces `resume`: after a drop,
//     in-flight requests stay pending; the next connection's first message is
//     `{"type":"resume", session, token, lastSeq}`. On `resumed` the buffered events after
//     `lastSeq` arrive and the requests carry on (a request the server never received is sent
//     again; an operation the server still runs that nobody waits for is cancelled). On
//     `resume_failed` the requests that had reached the server reject with code `session_lost`
//     (`error.reason` is the server's reason: `expired`, `gap`, `unknown_session`, `bad_token`,
//     `seq_ahead`; or `taken_over` after a 4001 close) and the connection carries on as the new
//     session of its `welcome`. Without resume (older servers) they reject with `disconnected`.
//   - exactly once: a message whose `seq` is not above the last one processed is dropped.
//   - `{"type":"ack", seq}` is sent about once a second (`ackIntervalMs`) or every
//     `ackEveryMessages` (100) messages, only when `seq` advanced, so the server can trim its
//     replay buffer.
//   - `close()` closes with 1000, which ends the session on the server; any other end (page
//     unload: 1001, a drop, a dead heartbeat) leaves it resumable. With `persistKey`, session,
//     token and last seq are kept in `sessionStorage` on `pagehide`, so a reload of the tab
//     resumes the session (a reloaded page has no pending requests: what the server still runs
//     for the old page is cancelled).

export const DEFAULT_PATH = '/ws/memory';

/** The error a request rejects with. `code` is the server's error code (DESIGN §4) or one of the
 * client's own: `disconnected`, `session_lost` (with `reason`), `cancelled`, `offline`,
 * `duplicate_id`, `decode_error`, `<type>_timeout` (local backstop). */
export class RouterError extends Error {
  constructor(code, message, details = {}) {
    super(message || code);
    this.name = code === 'cancelled' ? 'AbortError' : 'RouterError';
    this.code = code;
    this.id = details.id;
    this.op = details.op;
    if (details.reason !== undefined) this.reason = details.reason;
    if (details.cause !== undefined) this.cause = details.cause;
  }
}

/** The WebSocket URL for `path` on the page's own origin (http → ws, https → wss). */
export function defaultURL(path = DEFAULT_PATH, base = globalThis.location) {
  if (!base) throw new TypeError('RouterClient: no URL given and no page location to resolve one against');
  return toWebSocketURL(path, base);
}

/** Resolves `url` (absolute, or relative to `base`) to an absolute ws: / wss: URL string. */
export function toWebSocketURL(url, base = globalThis.location) {
  const resolved = new URL(String(url), base ? base.href ?? String(base) : undefined);
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  else if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  return resolved.href;
}

/** Full-jitter exponential backoff: a delay in [0, min(maxMs, minMs * 2^attempt)]. */
export function backoffDelay(attempt, minMs = 500, maxMs = 30000, random = Math.random) {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** Decodes a `gzip+base64` envelope to the message inside it. */
export async function decodeEnvelope(envelope) {
  if (envelope.encoding !== 'gzip+base64' || typeof envelope.data !== 'string') {
    throw new RouterError('decode_error', `unsupported envelope encoding ${JSON.stringify(envelope.encoding)}`);
  }
  const binary = atob(envelope.data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  const text = await new Response(stream).text();
  return JSON.parse(text);
}

const REQUEST_KEYS = new Set(['type', 'id', 'op', 'seq']);
const CLIENT_ID_PREFIX = Math.random().toString(36).slice(2, 8);

export class RouterClient extends EventTarget {
  /**
   * @param {string|URL} [url] WebSocket URL; relative URLs resolve against the page
   *   (default `/ws/memory` on this origin); http(s) becomes ws(s).
   * @param {object} [options]
   * @param {number} [options.heartbeatMs=15000] app-level ping interval; 0 turns the heartbeat off.
   * @param {number} [options.heartbeatTimeoutMs] silence after a ping that counts as a dead connection
   *   (default min(10000, heartbeatMs)).
   * @param {{minMs?: number, maxMs?: number, maxAttempts?: number}} [options.reconnect]
   *   backoff bounds (500 ms → 30 s) and how many failed attempts in a row before `offline`.
   * @param {number} [options.connectTimeoutMs=10000] time allowed from opening a socket to `welcome`.
   * @param {number} [options.timeoutGraceMs=2000] how long past a request's `timeout` the local timer waits.
   * @param {'gzip'} [options.compress] ask for the gzip+base64 envelope (adds `?compress=gzip`).
   * @param {boolean} [options.resume=true] resume the session after a drop (when the server offers it).
   * @param {number} [options.ackIntervalMs=1000] how long after a message its `ack` may wait.
   * @param {number} [options.ackEveryMessages=100] ack at once when this many messages are unacknowledged.
   * @param {string} [options.persistKey] keep session, token and last seq in `sessionStorage` under
   *   this key on `pagehide`, so a reload of the tab resumes (one client per key and tab).
   * @param {Storage} [options.storage] the storage for `persistKey` (default `sessionStorage`).
   * @param {typeof WebSocket} [options.WebSocket] WebSocket implementation (tests use a fake).
   * @param {boolean} [options.autoConnect=true] connect from the constructor.
   */
  constructor(url, options = {}) {
    super();
    if (url !== undefined && url !== null && typeof url === 'object' && !(url instanceof URL)) {
      options = url;
      url = undefined;
    }
    const target = new URL(url ? toWebSocketURL(url) : defaultURL());
    if (options.compress === 'gzip' && !target.searchParams.has('compress')) target.searchParams.set('compress', 'gzip');
    this.url = target.href;

    const heartbeatMs = options.heartbeatMs ?? 15000;
    this.options = {
      heartbeatMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? Math.min(10000, heartbeatMs),
      connectTimeoutMs: options.connectTimeoutMs ?? 10000,
      timeoutGraceMs: options.timeoutGraceMs ?? 2000,
      reconnect: { minMs: 500, maxMs: 30000, maxAttempts: Infinity, ...(options.reconnect || {}) },
      resume: options.resume ?? true,
      ackIntervalMs: options.ackIntervalMs ?? 1000,
      ackEveryMessages: options.ackEveryMessages ?? 100,
    };
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this._random = options.random ?? Math.random;

    /** `connecting` | `connected` | `reconnecting` | `offline` */
    this.state = 'offline';
    /** The last `welcome` message (operations, heartbeat, limits, compression). */
    this.welcome = null;
    /** type → {type, prefix, timeout, stages} from `welcome.operations`. */
    this.operations = new Map();
    /** The current session, its token and the last `seq` processed in it (DESIGN §6). */
    this.session = null;
    this.token = null;
    this.lastSeq = 0;
    /** The session before the current one (after a failed resume or a server without resume). */
    this.previousSession = null;
    /** Counters, handy for tests and the dashboard. */
    this.stats = {
      connects: 0, drops: 0, envelopesDecoded: 0, messages: 0, pings: 0, pongs: 0,
      resumes: 0, resumeFailures: 0, duplicatesDropped: 0, acks: 0, resent: 0,
    };

    this._resumable = false; // the server offers resume for the current session
    this._phase = 'closed'; // per socket: `opening` (until welcome), `resuming` (resume sent), `live`
    this._resuming = null; // {session, token, lastSeq, welcome} while a resume is unanswered
    this._replay = null; // {until, inFlight} after `resumed`, until the replayed events are in
    this._ackedSeq = 0;
    this._ackTimer = null;
    this._unackedBytes = 0; // text received since the last ack (UTF-16 units: close enough)

    this._pending = new Map(); // id → request entry
    this._ws = null;
    this._generation = 0;
    this._attempt = 0; // failed attempts since the last welcome
    this._everConnected = false;
    this._failedSinceConnect = false; // an attempt failed since connect(): later attempts are `reconnecting`
    this._closedByUser = true;
    this._retryTimer = null;
    this._connectTimer = null;
    this._heartbeatTimer = null;
    this._pongTimer = null;
    this._nextID = 1;
    this._inbox = Promise.resolve();
    this._readyWaiters = [];
    this._onOnline = () => {
      if (this.state === 'offline' && !this._closedByUser) {
        this._attempt = 0;
        this._open();
      }
    };
    this._onOffline = () => {
      // Waiting between attempts: stop retrying until the browser is back online.
      if (this.state === 'reconnecting' && !this._ws) {
        clearTimeout(this._retryTimer);
        this._retryTimer = null;
        this._setState('offline', { reason: 'browser offline' });
      }
    };
    this._persistKey = options.persistKey ?? null;
    this._storage = this._persistKey ? (options.storage ?? globalThis.sessionStorage ?? null) : null;
    if (this._storage) this._restore();
    if (options.autoConnect ?? true) this.connect();
  }

  // MARK: Public API

  /** Opens the connection (again, after `close()`). */
  connect() {
    if (!this._closedByUser) return;
    this._closedByUser = false;
    if (typeof globalThis.addEventListener === 'function') {
      globalThis.addEventListener('online', this._onOnline);
      globalThis.addEventListener('offline', this._onOffline);
    }
    this._attempt = 0;
    this._failedSinceConnect = false;
    this._open();
  }

  /** Closes the connection for good (until `connect()`); pending requests reject with `offline`. */
  close() {
    this._closedByUser = true;
    if (typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('online', this._onOnline);
      globalThis.removeEventListener('offline', this._onOffline);
    }
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    // 1000 ends the session on the server: nothing is left to resume.
    this._teardownSocket(1000, 'client closed');
    this._resumable = false;
    this._resuming = null;
    this._replay = null;
    this._save();
    for (const entry of [...this._pending.values()]) {
      this._fail(entry, new RouterError('offline', 'the client was closed', { id: entry.id, op: entry.type }));
    }
    this._setState('offline', { reason: 'closed' });
  }

  /** Retries now instead of waiting for the backoff delay (or reopens after `close()`). */
  reconnect() {
    if (this._closedByUser) {
      this.connect();
    } else if (this.state !== 'connected' && !this._ws) {
      if (this.state === 'offline') this._attempt = 0; // gave up earlier: start the backoff afresh
      this._open();
    }
  }

  /** Resolves once connected (`welcome` received); rejects on `signal` abort. */
  ready(signal) {
    if (this.state === 'connected') return Promise.resolve(this.welcome);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this._readyWaiters.push(waiter);
      signal?.addEventListener('abort', () => {
        this._readyWaiters = this._readyWaiters.filter((w) => w !== waiter);
        reject(new RouterError('cancelled', 'aborted while waiting for the connection', { cause: signal.reason }));
      }, { once: true });
    });
  }

  /** What a resume needs (DESIGN §6): the current session, its token and the last seq processed;
   * null before the first welcome. */
  get resumeState() {
    return this.session ? { session: this.session, token: this.token, lastSeq: this.lastSeq } : null;
  }

  /** With `persistKey`: stores session, token and last seq for the next page of this tab (called
   * on `pagehide`; the socket then closes with 1001, which leaves the session resumable). */
  saveForReload() {
    this._save(true);
  }

  /** Requests currently waiting for their final message (or for a connection). */
  get inFlight() {
    return this._pending.size;
  }

  /**
   * Runs an operation. Resolves with the result fields of `<prefix>_complete` (type/id/op/seq
   * removed, `elapsedMs` kept); rejects with a `RouterError`.
   * A request made while not connected waits for the connection (its timeout and signal apply).
   * @param {string} type operation message type, e.g. `memory_search`
   * @param {object} [data] the operation's parameters
   * @param {{onProgress?: Function, onChunk?: Function, timeout?: number, signal?: AbortSignal, id?: string}} [options]
   */
  request(type, data = {}, options = {}) {
    const { onProgress, onChunk, timeout, signal } = options;
    const id = options.id ?? this._newID();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new RouterError('cancelled', 'request aborted before it was sent', { id, op: type, cause: signal.reason }));
        return;
      }
      if (this._closedByUser) {
        reject(new RouterError('offline', 'the client is closed; call connect()', { id, op: type }));
        return;
      }
      if (this._pending.has(id)) {
        reject(new RouterError('duplicate_id', `a request with id "${id}" is already in flight`, { id, op: type }));
        return;
      }
      const entry = {
        id, type, data, timeout, onProgress, onChunk, resolve, reject, signal,
        sent: false, startedAt: Date.now(), timer: null, onAbort: null,
      };
      this._pending.set(id, entry);
      if (typeof timeout === 'number' && timeout > 0) {
        entry.timer = setTimeout(() => this._expire(entry), timeout + this.options.timeoutGraceMs);
      }
      if (signal) {
        entry.onAbort = () => this._abort(entry);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      if (this.state === 'connected') this._sendRequest(entry);
    });
  }

  /** Sends an app-level ping; resolves with the round-trip time in ms (rejects after `timeoutMs`). */
  ping(timeoutMs = this.options.heartbeatTimeoutMs || 10000) {
    return new Promise((resolve, reject) => {
      if (this.state !== 'connected') {
        reject(new RouterError('disconnected', 'not connected'));
        return;
      }
      const id = `ping-${this._newID()}`;
      const started = performance.now();
      const onMessage = (event) => {
        if (event.detail.type === 'pong' && event.detail.id === id) {
          cleanup();
          resolve(performance.now() - started);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new RouterError('timeout', `no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.removeEventListener('message', onMessage);
      };
      this.addEventListener('message', onMessage);
      this._send({ type: 'ping', id });
    });
  }

  // MARK: Connection

  _open() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (this._closedByUser) return;
    const retrying = this._everConnected || this._failedSinceConnect;
    this._setState(retrying ? 'reconnecting' : 'connecting', { attempt: this._attempt });
    const generation = ++this._generation;
    let ws;
    try {
      ws = new this._WebSocket(this.url);
    } catch (error) {
      this._dropped(generation, `cannot open ${this.url}: ${error.message}`);
      return;
    }
    this._ws = ws;
    this._phase = 'opening';
    this._inbox = Promise.resolve();
    ws.onmessage = (event) => this._received(generation, event.data);
    ws.onclose = (event) => this._dropped(generation, `closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`, event.code);
    ws.onerror = () => {}; // an error is always followed by close
    this._connectTimer = setTimeout(
      () => this._dropped(generation, `no welcome within ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
  }

  _received(generation, raw) {
    if (generation !== this._generation) return;
    this.stats.messages++;
    // Any message proves the connection is alive.
    clearTimeout(this._pongTimer);
    this._pongTimer = null;
    if (typeof raw !== 'string') return; // the router only sends text
    this._unackedBytes += raw.length;
    this._inbox = this._inbox.then(() => this._process(generation, raw)).catch((error) => {
      this.dispatchEvent(new CustomEvent('protocolerror', { detail: { error, raw } }));
    });
  }

  async _process(generation, raw) {
    let message = JSON.parse(raw);
    if (this._isDuplicate(message)) return;
    if (message && message.compressed === true) {
      try {
        message = await decodeEnvelope(message);
        this.stats.envelopesDecoded++;
      } catch (error) {
        if (generation !== this._generation) return;
        const entry = this._pending.get(message.id);
        if (entry) {
          this._fail(entry, new RouterError('decode_error', `cannot decode a ${message.type} envelope: ${error.message}`, {
            id: entry.id, op: entry.type, cause: error,
          }));
        }
        throw error;
      }
    }
    if (generation !== this._generation) return;
    this._handle(message);
  }

  /** A live message whose seq was processed already (a replay after a resume overlapping what
   * arrived before the drop): dropped, so every message is processed exactly once. */
  _isDuplicate(message) {
    if (this._phase !== 'live' || typeof message?.seq !== 'number' || message.seq > this.lastSeq) return false;
    this.stats.duplicatesDropped++;
    return true;
  }

  _handle(message) {
    if (this._phase !== 'live') {
      this._handleHandshake(message);
      return;
    }
    if (this._isDuplicate(message)) return;
    if (typeof message.seq === 'number') this.lastSeq = message.seq;
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
    this._route(message);
    if (this._replay && this.lastSeq >= this._replay.until) this._replayDone();
    this._scheduleAck();
  }

  /** The messages that open a connection: `welcome`, then, when resuming, `resumed` or `resume_failed`. */
  _handleHandshake(message) {
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
    if (this._phase === 'opening') {
      if (message.type !== 'welcome') {
        this.dispatchEvent(new CustomEvent('protocolerror', { detail: { error: new Error(`${message.type} before welcome`), raw: message } }));
        return;
      }
      this._afterWelcome(message);
    } else if (message.type === 'resumed') {
      this._resumed(message);
    } else {
      // `resume_failed`, or a server that does not know `resume` (an `error`): the old session is gone.
      const reason = message.type === 'resume_failed' ? message.reason : 'unsupported';
      this._resumeFailed(reason || 'unknown', message);
    }
  }

  /** Routes a live message to its request. */
  _route(message) {
    switch (message.type) {
      case 'welcome':
      case 'resumed':
      case 'resume_failed':
        return; // only valid when a connection opens
      case 'pong':
        this.stats.pongs++;
        return;
    }
    const id = message.id;
    if (typeof id !== 'string') {
      if (message.type === 'error') this.dispatchEvent(new CustomEvent('servererror', { detail: message }));
      return;
    }
    const entry = this._pending.get(id);
    if (!entry) return; // finished locally (cancelled, timed out): the rest is dropped
    if (message.type === 'error') {
      this._fail(entry, new RouterError(message.code, message.message, { id, op: message.op ?? entry.type }));
      return;
    }
    const prefix = this.operations.get(entry.type)?.prefix;
    const kind = prefix && message.type.startsWith(`${prefix}_`)
      ? message.type.slice(prefix.length + 1)
      : message.type.slice(message.type.lastIndexOf('_') + 1);
    if (kind === 'progress') {
      this._callback(entry.onProgress, message);
    } else if (kind === 'chunk') {
      this._callback(entry.onChunk, message);
    } else if (kind === 'complete') {
      const result = {};
      for (const [key, value] of Object.entries(message)) if (!REQUEST_KEYS.has(key)) result[key] = value;
      this._finish(entry);
      entry.resolve(result);
    }
  }

  _callback(callback, message) {
    if (!callback) return;
    try {
      callback(message);
    } catch (error) {
      // A throwing callback must not break the message pipeline.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  _afterWelcome(welcome) {
    this.welcome = welcome;
    this.operations = new Map((welcome.operations || []).map((op) => [op.type, op]));
    if (this._canResume()) {
      // The first message of the connection (DESIGN §6); the welcome's own session is adopted
      // only if the resume fails.
      this._phase = 'resuming';
      this._resuming = { session: this.session, token: this.token, lastSeq: this.lastSeq, welcome };
      this._send({ type: 'resume', session: this.session, token: this.token, lastSeq: this.lastSeq });
      return;
    }
    this._adopt(welcome);
    this._goLive({ welcome });
  }

  /** Makes the welcome's session the current one. */
  _adopt(welcome) {
    if (this.session) this.previousSession = this.resumeState;
    this.session = welcome.session ?? null;
    this.token = welcome.token ?? null;
    this.lastSeq = typeof welcome.seq === 'number' ? welcome.seq : 0;
    this._ackedSeq = this.lastSeq; // the welcome alone needs no ack
    // `resume.windowMs` 0: the server keeps no session after a drop.
    const offered = Boolean(welcome.resume) && welcome.resume.windowMs !== 0;
    this._resumable = Boolean(this.options.resume && offered && this.session && this.token);
  }

  _canResume() {
    return Boolean(this.options.resume && this._resumable && this.session && this.token);
  }

  /** `resumed`: the session continues on this connection; its buffered events follow. */
  _resumed(message) {
    const resumed = this._resuming;
    this._resuming = null;
    this.stats.resumes++;
    this._ackedSeq = resumed.lastSeq; // the server holds nothing up to it any more
    const inFlight = Array.isArray(message.inFlight) ? message.inFlight : [];
    this._replay = { until: typeof message.lastSeq === 'number' ? message.lastSeq : this.lastSeq, inFlight: new Set(inFlight) };
    const replayed = Math.max(0, this._replay.until - this.lastSeq);
    this._goLive({ welcome: this.welcome, resumed: true, replayed, inFlight });
    this.dispatchEvent(new CustomEvent('resumed', { detail: { session: this.session, lastSeq: resumed.lastSeq, replayed, inFlight } }));
    if (this.lastSeq >= this._replay.until) this._replayDone();
  }

  /** Every replayed event is in: requests the server never received are sent again, operations
   * nobody waits for any more (finished locally while disconnected) are cancelled. */
  _replayDone() {
    const { inFlight } = this._replay;
    this._replay = null;
    for (const entry of [...this._pending.values()]) {
      if (entry.sent && entry.sentOn !== this._generation && !inFlight.has(entry.id)) {
        this.stats.resent++;
        this._sendRequest(entry);
      }
    }
    for (const id of inFlight) if (!this._pending.has(id)) this._send({ type: 'cancel', id });
  }

  /** `resume_failed` (or no resume support): what reached the old session is lost; the connection
   * carries on as the session its welcome announced. */
  _resumeFailed(reason, message) {
    const lost = this._resuming;
    this._resuming = null;
    this.stats.resumeFailures++;
    const text = message.message ? `${reason}: ${message.message}` : reason;
    const lostIDs = this._loseSent(reason, `operation lost: session ${lost.session} could not be resumed (${text})`);
    this._adopt(lost.welcome);
    if (typeof message.seq === 'number' && message.seq > this.lastSeq) this.lastSeq = message.seq;
    this._goLive({ welcome: lost.welcome, resumeFailed: reason, lost: lostIDs });
    this.dispatchEvent(new CustomEvent('resumefailed', { detail: { reason, message: message.message, session: lost.session, lost: lostIDs } }));
    this._scheduleAck();
  }

  /** Rejects the requests that reached the server with `session_lost`; returns their ids. */
  _loseSent(reason, text) {
    const lost = [];
    for (const entry of [...this._pending.values()]) {
      if (!entry.sent) continue;
      lost.push(entry.id);
      this._fail(entry, new RouterError('session_lost', text, { id: entry.id, op: entry.type, reason }));
    }
    return lost;
  }

  /** The session is usable on this connection: heartbeat, `connected`, waiting requests sent. */
  _goLive(detail) {
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
    this._phase = 'live';
    this._attempt = 0;
    this._everConnected = true;
    this.stats.connects++;
    this._startHeartbeat();
    this._save();
    this._setState('connected', detail);
    for (const waiter of this._readyWaiters.splice(0)) waiter.resolve(this.welcome);
    for (const entry of this._pending.values()) if (!entry.sent) this._sendRequest(entry);
  }

  // MARK: Acknowledgements and persistence

  /** Acks at once every `ackEveryMessages` (or a quarter of the server's replay buffer, by count or
   * bytes, if that is less: a server holds an acking client's output while its buffer is nearly
   * full), else once per `ackIntervalMs`; never when nothing advanced. */
  _scheduleAck() {
    if (!this._resumable || this._phase !== 'live' || this.lastSeq <= this._ackedSeq) return;
    const buffer = this.welcome?.resume || {};
    const everyMessages = Math.min(this.options.ackEveryMessages, Math.max(1, Math.floor((buffer.bufferMessages || Infinity) / 4)));
    const everyBytes = Math.max(1, Math.floor((buffer.bufferBytes || Infinity) / 4));
    if (this.lastSeq - this._ackedSeq >= everyMessages || this._unackedBytes >= everyBytes) {
      this._sendAck();
    } else if (!this._ackTimer) {
      this._ackTimer = setTimeout(() => this._sendAck(), this.options.ackIntervalMs);
    }
  }

  _sendAck() {
    clearTimeout(this._ackTimer);
    this._ackTimer = null;
    if (this._phase !== 'live' || this.lastSeq <= this._ackedSeq) return;
    if (this._send({ type: 'ack', seq: this.lastSeq })) {
      this._ackedSeq = this.lastSeq;
      this._unackedBytes = 0;
      this.stats.acks++;
    }
  }

  /** Takes the session a previous page of this tab left (and removes it: one page resumes it). */
  _restore() {
    let saved = null;
    try {
      saved = JSON.parse(this._storage.getItem(this._persistKey) || 'null');
      this._storage.removeItem(this._persistKey);
    } catch {
      saved = null;
    }
    if (saved && typeof saved.session === 'string' && typeof saved.token === 'string' && Number.isInteger(saved.lastSeq)) {
      Object.assign(this, { session: saved.session, token: saved.token, lastSeq: saved.lastSeq, _resumable: true });
    }
    if (typeof globalThis.addEventListener === 'function') {
      // Saved when the page goes away, not before: a duplicated tab must not copy a live session.
      globalThis.addEventListener('pagehide', () => this.saveForReload());
      globalThis.addEventListener('pageshow', (event) => event.persisted && this._save());
    }
  }

  /** With `leaving`, stores what a reload needs to resume; otherwise clears it. */
  _save(leaving = false) {
    if (!this._storage) return;
    try {
      if (leaving && this._canResume()) {
        this._storage.setItem(this._persistKey, JSON.stringify(this.resumeState));
      } else {
        this._storage.removeItem(this._persistKey);
      }
    } catch {
      // storage full or denied: a reload starts a new session
    }
  }

  /** The current socket ended (closed, failed, or declared dead): reject what was in flight, retry. */
  _dropped(generation, reason, code) {
    if (generation !== this._generation) return;
    this._generation++; // ignore anything the old socket still delivers
    const wasConnected = this.state === 'connected';
    this._teardownSocket(4000, reason);
    if (wasConnected) this.stats.drops++;
    if (code === 4001) {
      // Another connection resumed this session: resuming it again would take it back and forth.
      this._resumable = false;
      this._loseSent('taken_over', `operation lost: session ${this.session} was resumed elsewhere`);
    }
    // Requests that reached the server wait for the resume; without one they are lost now.
    if (!this._canResume()) this._failSent(`connection lost: ${reason}`);
    if (this._closedByUser) return;
    this._failedSinceConnect = true;
    if (!wasConnected) this._attempt++;
    const { minMs, maxMs, maxAttempts } = this.options.reconnect;
    if (this._attempt > maxAttempts) {
      const gaveUp = `gave up after ${maxAttempts} attempts: ${reason}`;
      this._failSent(gaveUp);
      this._setState('offline', { reason: gaveUp, code });
      return;
    }
    if (globalThis.navigator && globalThis.navigator.onLine === false) {
      this._setState('offline', { reason: 'browser offline', code });
      return; // `online` reconnects
    }
    const delayMs = backoffDelay(this._attempt, minMs, maxMs, this._random);
    this._setState('reconnecting', { attempt: this._attempt, delayMs, reason, code, retryAt: Date.now() + delayMs });
    this._retryTimer = setTimeout(() => this._open(), delayMs);
  }

  /** Rejects the requests that reached the server with `disconnected`. */
  _failSent(text) {
    for (const entry of [...this._pending.values()]) {
      if (entry.sent) this._fail(entry, new RouterError('disconnected', text, { id: entry.id, op: entry.type }));
    }
  }

  _teardownSocket(code, reason) {
    clearTimeout(this._connectTimer);
    clearTimeout(this._pongTimer);
    clearInterval(this._heartbeatTimer);
    clearTimeout(this._ackTimer);
    this._connectTimer = this._pongTimer = this._heartbeatTimer = this._ackTimer = null;
    this._phase = 'closed';
    this._replay = null;
    const ws = this._ws;
    this._ws = null;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onerror = ws.onopen = null;
    try {
      // Browsers accept only 1000 or 3000–4999 from scripts.
      ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 4000, String(reason).slice(0, 120));
    } catch {
      // already closed
    }
  }

  _startHeartbeat() {
    clearInterval(this._heartbeatTimer);
    const { heartbeatMs, heartbeatTimeoutMs } = this.options;
    if (!heartbeatMs || heartbeatMs <= 0) return;
    const generation = this._generation;
    this._heartbeatTimer = setInterval(() => {
      if (generation !== this._generation || this._pongTimer) return;
      this.stats.pings++;
      this._send({ type: 'ping', id: `hb-${this._newID()}` });
      this._pongTimer = setTimeout(
        () => this._dropped(generation, `no pong within ${heartbeatTimeoutMs} ms`),
        heartbeatTimeoutMs,
      );
    }, heartbeatMs);
  }

  _setState(state, detail = {}) {
    const previous = this.state;
    this.state = state;
    const full = { state, previous, ...detail };
    this.dispatchEvent(new CustomEvent('state', { detail: full }));
    if (state !== previous || state === 'reconnecting') this.dispatchEvent(new CustomEvent(state, { detail: full }));
  }

  // MARK: Requests

  _newID() {
    return `c${CLIENT_ID_PREFIX}-${(this._nextID++).toString(36)}`;
  }

  _send(message) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(message));
    this.dispatchEvent(new CustomEvent('outgoing', { detail: message }));
    return true;
  }

  _sendRequest(entry) {
    const message = { type: entry.type, id: entry.id, data: entry.data };
    if (typeof entry.timeout === 'number' && entry.timeout > 0) {
      message.timeout = Math.max(1, entry.timeout - (Date.now() - entry.startedAt));
    }
    entry.sent = this._send(message);
    entry.sentOn = this._generation;
  }

  _finish(entry) {
    this._pending.delete(entry.id);
    clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
  }

  _fail(entry, error) {
    this._finish(entry);
    entry.reject(error);
  }

  /** Finishes a request locally; the server's remaining messages for it are dropped. */
  _finishLocally(entry, error) {
    if (!this._pending.has(entry.id)) return;
    // Not live: `resume` must stay the first message; the end of the replay cancels it instead.
    if (entry.sent && this._phase === 'live') this._send({ type: 'cancel', id: entry.id });
    this._fail(entry, error);
  }

  _abort(entry) {
    this._finishLocally(entry, new RouterError('cancelled', 'request cancelled', {
      id: entry.id, op: entry.type, cause: entry.signal?.reason,
    }));
  }

  _expire(entry) {
    this._finishLocally(entry, new RouterError(`${entry.type}_timeout`,
      `no answer within ${entry.timeout} ms (client-side timeout)`, { id: entry.id, op: entry.type }));
  }
}

export default RouterClient;
