// tests.js: unit tests of router-client.js, run in the browser by tests.html (and by the
// BrowserTests suite in headless Chromium, which reads `window.testResults`).
//
// Two kinds of tests:
//   - `fake:` tests drive the client against an in-page fake WebSocket server, so timing-dependent
//     behaviour (heartbeat loss, backoff, local timeouts, envelope ordering) is deterministic;
//   - `live:` tests talk to the router-host that served this page (same origin, /ws/memory).
// `runTests({live: false})` runs only the first kind (no server needed).

import { RouterClient, RouterError, backoffDelay, decodeEnvelope, toWebSocketURL, DEFAULT_PATH } from './router-client.js';

// MARK: Helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class AssertionError extends Error {}

function assert(condition, message) {
  if (!condition) throw new AssertionError(message);
}

function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${what}: expected ${e}, got ${a}`);
}

async function waitFor(predicate, what, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = predicate();
    if (value) return value;
    await sleep(5);
  }
  throw new AssertionError(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Awaits a promise that must reject; returns the error. */
async function rejection(promise, what) {
  try {
    const value = await promise;
    throw new AssertionError(`${what}: expected a rejection, got ${JSON.stringify(value)?.slice(0, 200)}`);
  } catch (error) {
    if (error instanceof AssertionError) throw error;
    return error;
  }
}

async function gzipBase64(text) {
  const stream = new Blob([new TextEncoder().encode(text)]).stream().pipeThrough(new CompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

// MARK: Fake server

const OPERATIONS = [
  { type: 'memory_search', prefix: 'search', timeout: 120000, stages: ['parsing', 'scoring', 'ranking'] },
  { type: 'memory_stream', prefix: 'stream', timeout: 300000, stages: ['scanning', 'streaming'] },
];

/**
 * An in-page stand-in for router-host: `server.WebSocket` is a WebSocket class whose instances
 * connect to it. Each connection gets a welcome (unless `silent`), messages are delivered
 * asynchronously and in order, and `onRequest(message, connection)` answers requests.
 * With `resume: true` the welcome announces resume and the server keeps every message of a
 * session, so a `resume` replays what came after `lastSeq` (DESIGN §6); `failResume` answers
 * every resume with that reason instead, and `running` is the `inFlight` list of `resumed`.
 */
class FakeServer {
  constructor({ silent = false, refuse = false, autoPong = true, onRequest = null, resume = false } = {}) {
    Object.assign(this, { silent, refuse, autoPong, onRequest, resume });
    this.connections = [];
    this.received = [];
    this.sessions = new Map();
    this.running = new Set();
    this.failResume = null;
    this.replayOverlap = 0; // a faulty server replaying this many already-processed messages too
    this.acks = [];
    const server = this;
    this.WebSocket = class FakeWebSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.closedWith = null;
        this.received = [];
        this.session = null;
        this.blackhole = false; // drops what the client sends, as a connection dying unnoticed would
        server.connections.push(this);
        setTimeout(() => server._accept(this), 0);
      }
      get seq() {
        return this.session?.seq ?? 0;
      }
      set seq(value) {
        this.session.seq = value;
      }
      send(text) {
        if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
        if (this.blackhole) return;
        const message = JSON.parse(text);
        this.received.push(message);
        server.received.push(message);
        server._handle(message, this);
      }
      close(code, reason) {
        if (this.readyState === 3) return;
        this.readyState = 3;
        this.closedWith = { code, reason };
        setTimeout(() => this.onclose?.({ code: 1005, reason: '' }), 0);
      }
    };
  }

  get current() {
    return this.connections[this.connections.length - 1];
  }

  _accept(socket) {
    if (socket.readyState !== 0) return;
    if (this.refuse) {
      socket.readyState = 3;
      socket.onerror?.({});
      socket.onclose?.({ code: 1006, reason: '' });
      return;
    }
    socket.readyState = 1;
    const n = this.connections.length;
    socket.session = { id: `s-fake-${n}`, token: `t-${n}`, seq: 0, sent: [], socket };
    this.sessions.set(socket.session.id, socket.session);
    socket.onopen?.({});
    if (!this.silent) {
      this.emit({
        type: 'welcome', session: socket.session.id, token: socket.session.token,
        heartbeat: { interval: 25000, timeout: 20000 }, operations: OPERATIONS, limits: { maxInFlight: 16 },
        compression: 'none', ...(this.resume ? { resume: { windowMs: 60000, bufferMessages: 1000, bufferBytes: 8388608 } } : {}),
      }, socket);
    }
  }

  _handle(message, socket) {
    switch (message.type) {
      case 'ping':
        if (this.autoPong) this.emit({ type: 'pong', id: message.id }, socket);
        return;
      case 'cancel':
        this.running.delete(message.id);
        return;
      case 'ack':
        this.acks.push(message.seq);
        return;
      case 'resume':
        this._resume(message, socket);
        return;
    }
    this.onRequest?.(message, socket);
  }

  _resume(message, socket) {
    const session = this.sessions.get(message.session);
    const reason = this.failResume ?? (!session ? 'unknown_session' : session.token !== message.token ? 'bad_token' : null);
    if (reason) {
      this.emit({ type: 'resume_failed', reason, message: `fake server: ${reason}` }, socket);
      return;
    }
    const previous = session.socket;
    if (previous !== socket && previous.readyState === 1) this.close(4001, 'session resumed elsewhere', previous);
    session.socket = socket;
    socket.session = session;
    this.emitRaw(JSON.stringify({ type: 'resumed', session: session.id, lastSeq: session.seq, inFlight: [...this.running] }), socket);
    for (const { seq, text } of session.sent) if (seq > message.lastSeq - this.replayOverlap) this.emitRaw(text, socket);
  }

  /** Sends a message with the session's next seq to `target` (a connection or a session; default:
   * the newest connection). The session keeps it for a resume; it reaches the session's socket
   * only if that is open when it is delivered. */
  emit(message, target = this.current) {
    const session = target.sent ? target : target.session;
    session.seq += 1;
    const text = JSON.stringify({ ...message, seq: session.seq });
    session.sent.push({ seq: session.seq, text });
    this.emitRaw(text, session.socket);
    return session.seq;
  }

  emitRaw(text, socket = this.current) {
    setTimeout(() => {
      if (socket.readyState === 1) socket.onmessage?.({ data: text });
    }, 0);
  }

  /** Like `emit` for each message, but all delivered in one task (one network read). */
  emitBatch(messages, target = this.current) {
    const session = target.sent ? target : target.session;
    const texts = messages.map((message) => {
      session.seq += 1;
      const text = JSON.stringify({ ...message, seq: session.seq });
      session.sent.push({ seq: session.seq, text });
      return text;
    });
    const socket = session.socket;
    setTimeout(() => {
      for (const text of texts) if (socket.readyState === 1) socket.onmessage?.({ data: text });
    }, 0);
  }

  /** Drops the newest connection as a dead TCP connection would (close 1006). */
  drop(socket = this.current) {
    socket.readyState = 3;
    setTimeout(() => socket.onclose?.({ code: 1006, reason: '' }), 0);
  }

  /** Closes a connection from the server side with a close frame. */
  close(code, reason, socket = this.current) {
    socket.readyState = 3;
    setTimeout(() => socket.onclose?.({ code, reason }), 0);
  }

  requests(type) {
    return this.received.filter((message) => (type ? message.type === type : message.type !== 'ping'));
  }
}

function fakeClient(server, options = {}) {
  return new RouterClient('ws://fake.test/ws/memory', { WebSocket: server.WebSocket, heartbeatMs: 0, ...options });
}

function recordStates(client) {
  const states = [];
  client.addEventListener('state', (event) => states.push(event.detail.state));
  return states;
}

// MARK: Tests without a server

const tests = [];
const test = (name, body, { live = false } = {}) => tests.push({ name, body, live });

test('backoff: full jitter within min(maxMs, minMs·2^attempt)', () => {
  const caps = [0, 1, 2, 3, 4, 5, 6, 7, 40].map((attempt) => backoffDelay(attempt, 500, 30000, () => 0.999999));
  assertEqual(caps, [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999], 'upper bounds');
  assertEqual(backoffDelay(5, 500, 30000, () => 0), 0, 'lower bound');
  for (let attempt = 0; attempt < 12; attempt++) {
    const delay = backoffDelay(attempt, 500, 30000);
    assert(delay >= 0 && delay < Math.min(30000, 500 * 2 ** attempt), `attempt ${attempt}: ${delay} out of range`);
  }
  return 'caps 500 → 1000 → … → 30000 ms';
});

test('url: relative and http(s) URLs become ws(s) URLs; compress adds ?compress=gzip', () => {
  assertEqual(toWebSocketURL(DEFAULT_PATH, { href: 'http://127.0.0.1:8765/index.html' }), 'ws://127.0.0.1:8765/ws/memory', 'http');
  assertEqual(toWebSocketURL('/ws/memory', { href: 'https://example.org/a/b' }), 'wss://example.org/ws/memory', 'https');
  assertEqual(toWebSocketURL('ws://h:1/x'), 'ws://h:1/x', 'ws stays');
  const server = new FakeServer();
  const client = fakeClient(server, { compress: 'gzip', autoConnect: false });
  assertEqual(client.url, 'ws://fake.test/ws/memory?compress=gzip', 'gzip URL');
});

test('decodeEnvelope: gzip+base64 to the inner message; unknown encodings rejected', async () => {
  const inner = { type: 'search_complete', id: 'x', results: [{ id: 'm1', text: 'é✓'.repeat(100) }] };
  const decoded = await decodeEnvelope({ compressed: true, encoding: 'gzip+base64', data: await gzipBase64(JSON.stringify(inner)) });
  assertEqual(decoded, inner, 'decoded message');
  const error = await rejection(decodeEnvelope({ compressed: true, encoding: 'brotli', data: '' }), 'brotli');
  assertEqual(error.code, 'decode_error', 'code');
});

test('fake: welcome → connected; session, token, seq and operations remembered', async () => {
  const server = new FakeServer();
  const client = fakeClient(server);
  const states = recordStates(client);
  let connectedEvents = 0;
  client.addEventListener('connected', () => connectedEvents++);
  const welcome = await client.ready();
  assertEqual(client.state, 'connected', 'state');
  assertEqual(states, ['connected'], 'state events after construction');
  assertEqual(connectedEvents, 1, 'connected events');
  assertEqual(client.resumeState, { session: 's-fake-1', token: 't-1', lastSeq: 1 }, 'resume state');
  assertEqual(client.operations.get('memory_search').prefix, 'search', 'prefix');
  assertEqual(welcome.type, 'welcome', 'ready() value');
  client.close();
});

test('fake: request → progress and chunks in order → result; ids generated by the client', async () => {
  const server = new FakeServer({
    onRequest: (message) => {
      const base = { id: message.id, op: message.type };
      server.emit({ ...base, type: 'search_progress', stage: 'parsing', stageIndex: 0, stages: 3, progress: 0 });
      server.emit({ ...base, type: 'search_chunk', chunk: 0, part: 'a' });
      server.emit({ ...base, type: 'search_progress', stage: 'scoring', stageIndex: 1, stages: 3, progress: 0.5, message: 'half' });
      server.emit({ ...base, type: 'search_chunk', chunk: 1, part: 'b' });
      server.emit({ ...base, type: 'search_complete', results: [{ id: 'm1', score: 1 }], elapsedMs: 12 });
    },
  });
  const client = fakeClient(server);
  const seen = [];
  const result = await client.request('memory_search', { query: 'q', limit: 3 }, {
    onProgress: (p) => seen.push(`progress:${p.stage}:${p.progress}`),
    onChunk: (c) => seen.push(`chunk:${c.chunk}:${c.part}`),
  });
  assertEqual(seen, ['progress:parsing:0', 'chunk:0:a', 'progress:scoring:0.5', 'chunk:1:b'], 'callbacks');
  assertEqual(result, { results: [{ id: 'm1', score: 1 }], elapsedMs: 12 }, 'result');
  const [sent] = server.requests('memory_search');
  assertEqual(Object.keys(sent).sort(), ['data', 'id', 'type'], 'request keys');
  assert(typeof sent.id === 'string' && sent.id.length > 2, 'client-generated id');
  assertEqual(sent.data, { query: 'q', limit: 3 }, 'data');
  const second = client.request('memory_search', { query: 'r' });
  await waitFor(() => server.requests('memory_search').length === 2, 'second request');
  assert(server.requests('memory_search')[1].id !== sent.id, 'ids are unique');
  await second;
  assertEqual(client.lastSeq, 11, 'lastSeq follows seq');
  client.close();
});

test('fake: error → RouterError {code, message, id, op}', async () => {
  const server = new FakeServer({
    onRequest: (message) => server.emit({
      type: 'error', id: message.id, op: message.type, code: 'bad_request', message: 'data.limit: expected integer, found string',
    }),
  });
  const client = fakeClient(server);
  const error = await rejection(client.request('memory_search', { query: 'q', limit: 'x' }), 'bad request');
  assert(error instanceof RouterError && error instanceof Error, 'is a RouterError');
  assertEqual([error.code, error.message, error.op], ['bad_request', 'data.limit: expected integer, found string', 'memory_search'], 'fields');
  assertEqual(error.id, server.requests('memory_search')[0].id, 'id');
  assertEqual(client.inFlight, 0, 'nothing left in flight');
  client.close();
});

test('fake: AbortSignal sends {type:"cancel", id}, rejects with cancelled, ignores what follows', async () => {
  const server = new FakeServer({
    onRequest: (message) => server.emit({ type: 'stream_chunk', id: message.id, op: message.type, chunk: 0 }),
  });
  const client = fakeClient(server);
  const controller = new AbortController();
  const chunks = [];
  const pending = client.request('memory_stream', { analysis: 'export' }, {
    signal: controller.signal,
    onChunk: (chunk) => {
      chunks.push(chunk.chunk);
      controller.abort();
    },
  });
  const error = await rejection(pending, 'aborted request');
  assertEqual([error.code, error.name], ['cancelled', 'AbortError'], 'error');
  const id = server.requests('memory_stream')[0].id;
  assertEqual(server.requests('cancel'), [{ type: 'cancel', id }], 'cancel sent');
  // The server's final message for it and anything else are dropped without effect.
  server.emit({ type: 'stream_chunk', id, op: 'memory_stream', chunk: 1 });
  server.emit({ type: 'error', id, op: 'memory_stream', code: 'cancelled', message: 'cancelled' });
  await sleep(20);
  assertEqual(chunks, [0], 'no chunk after the abort');
  assertEqual(client.inFlight, 0, 'in flight');
  client.close();
});

test('fake: a request aborted before it was sent sends nothing', async () => {
  const server = new FakeServer({ silent: true });
  const client = fakeClient(server);
  const controller = new AbortController();
  const pending = client.request('memory_search', { query: 'q' }, { signal: controller.signal });
  await sleep(10);
  controller.abort();
  assertEqual((await rejection(pending, 'aborted')).code, 'cancelled', 'code');
  const early = await rejection(client.request('memory_search', {}, { signal: AbortSignal.abort() }), 'pre-aborted');
  assertEqual(early.code, 'cancelled', 'pre-aborted code');
  assertEqual(server.requests().length, 0, 'messages sent');
  client.close();
});

test('fake: a request made before welcome is sent once connected', async () => {
  const server = new FakeServer({
    onRequest: (message) => server.emit({ type: 'search_complete', id: message.id, op: message.type, results: [], elapsedMs: 1 }),
  });
  const client = fakeClient(server);
  assertEqual(client.state, 'connecting', 'initial state');
  const result = await client.request('memory_search', { query: 'early' });
  assertEqual(result.results, [], 'result');
  client.close();
});

test('fake: timeout is sent with the request; a silent server → local <type>_timeout and cancel', async () => {
  const server = new FakeServer();
  const client = fakeClient(server, { timeoutGraceMs: 40 });
  await client.ready();
  const started = Date.now();
  const error = await rejection(client.request('memory_search', { query: 'q' }, { timeout: 80 }), 'timed out');
  const waited = Date.now() - started;
  assertEqual(error.code, 'memory_search_timeout', 'code');
  assert(waited >= 110 && waited < 1000, `rejected after ${waited} ms (timeout 80 + grace 40)`);
  const [sent] = server.requests('memory_search');
  assert(sent.timeout > 0 && sent.timeout <= 80, `timeout field ${sent.timeout}`);
  assertEqual(server.requests('cancel').map((m) => m.id), [sent.id], 'cancel sent');
  client.close();
  return `rejected after ${waited} ms`;
});

test('fake: a dropped socket rejects in-flight requests with disconnected, then reconnects', async () => {
  const server = new FakeServer();
  const client = fakeClient(server, { reconnect: { minMs: 10, maxMs: 40 } });
  const states = recordStates(client);
  const reconnecting = [];
  client.addEventListener('reconnecting', (event) => reconnecting.push(event.detail));
  await client.ready();
  const pending = client.request('memory_search', { query: 'q' });
  await waitFor(() => server.requests('memory_search').length === 1, 'request sent');
  server.drop();
  const error = await rejection(pending, 'in-flight request');
  assertEqual(error.code, 'disconnected', 'code');
  await waitFor(() => client.state === 'connected' && server.connections.length === 2, 'reconnected');
  assertEqual(states, ['connected', 'reconnecting', 'reconnecting', 'connected'], 'states');
  assert(typeof reconnecting[0].delayMs === 'number' && reconnecting[0].delayMs < 10, `first retry delay ${reconnecting[0].delayMs}`);
  assertEqual(client.session, 's-fake-2', 'new session');
  assertEqual(client.previousSession?.session, 's-fake-1', 'previous session kept for resume');
  assertEqual([client.stats.connects, client.stats.drops], [2, 1], 'stats');
  client.close();
});

test('fake: no pong within heartbeatTimeoutMs → the connection is treated as dead and reopened', async () => {
  const server = new FakeServer({ autoPong: false });
  const client = fakeClient(server, { heartbeatMs: 40, heartbeatTimeoutMs: 60, reconnect: { minMs: 5, maxMs: 10 } });
  const reasons = [];
  client.addEventListener('reconnecting', (event) => event.detail.reason && reasons.push(event.detail.reason));
  await client.ready();
  const first = server.current;
  await waitFor(() => server.connections.length >= 2, 'a new connection', 2000);
  assert(server.requests('ping').length >= 1, 'a ping was sent');
  assert(first.closedWith !== null, 'the dead socket was closed by the client');
  assert(reasons.some((reason) => reason.includes('pong')), `reason: ${reasons.join('; ')}`);
  client.close();
  return reasons[0];
});

test('fake: an answered heartbeat keeps the connection', async () => {
  const server = new FakeServer();
  const client = fakeClient(server, { heartbeatMs: 20, heartbeatTimeoutMs: 40 });
  await client.ready();
  await waitFor(() => client.stats.pongs >= 5, 'five heartbeats answered', 5000);
  assertEqual([server.connections.length, client.stats.drops, client.state], [1, 0, 'connected'], 'one connection');
  assert(await client.ping() >= 0, 'ping() resolves with a round-trip time');
  client.close();
});

test('fake: gzip+base64 envelopes are decoded and keep message order', async () => {
  const big = 'x'.repeat(20000);
  const server = new FakeServer({
    onRequest: async (message) => {
      const base = { id: message.id, op: message.type };
      const seq = server.current.seq + 1;
      const inner = JSON.stringify({ type: 'stream_chunk', ...base, seq, chunk: 0, text: big });
      server.current.seq = seq;
      server.emitRaw(JSON.stringify({ type: 'stream_chunk', ...base, seq, compressed: true, encoding: 'gzip+base64', data: await gzipBase64(inner) }));
      server.emit({ type: 'stream_chunk', ...base, chunk: 1, text: 'small' });
      server.emit({ type: 'stream_complete', ...base, chunks: 2, elapsedMs: 3 });
    },
  });
  const client = fakeClient(server, { compress: 'gzip' });
  const chunks = [];
  const result = await client.request('memory_stream', { analysis: 'export' }, { onChunk: (c) => chunks.push([c.chunk, c.text.length]) });
  assertEqual(chunks, [[0, 20000], [1, 5]], 'chunks in order, decoded');
  assertEqual(result, { chunks: 2, elapsedMs: 3 }, 'result');
  assertEqual(client.stats.envelopesDecoded, 1, 'envelopes decoded');
  assert(server.current.url.endsWith('?compress=gzip'), 'asked for gzip');
  client.close();
});

test('fake: refused connections back off, then go offline after maxAttempts', async () => {
  const server = new FakeServer({ refuse: true });
  const client = fakeClient(server, { reconnect: { minMs: 2, maxMs: 8, maxAttempts: 3 } });
  const attempts = [];
  client.addEventListener('reconnecting', (event) => event.detail.delayMs !== undefined && attempts.push(event.detail.attempt));
  const offline = new Promise((resolve) => client.addEventListener('offline', (event) => resolve(event.detail)));
  const detail = await offline;
  assertEqual(attempts, [1, 2, 3], 'attempts');
  assertEqual(server.connections.length, 4, 'sockets opened');
  assert(detail.reason.includes('gave up'), detail.reason);
  server.refuse = false;
  client.reconnect();
  await client.ready();
  client.close();
});

test('fake: browser offline → state offline without retries; online → reconnects at once', async () => {
  if (typeof window === 'undefined' || typeof navigator === 'undefined') return 'skipped: needs window events';
  const server = new FakeServer({ refuse: true });
  const client = fakeClient(server, { reconnect: { minMs: 5000, maxMs: 5000 } });
  const states = recordStates(client);
  let waiting = false; // the latest state event is the wait before a retry (it carries delayMs)
  client.addEventListener('state', (event) => {
    waiting = event.detail.state === 'reconnecting' && event.detail.delayMs !== undefined;
  });
  await waitFor(() => waiting, 'the wait between attempts');
  let online = false;
  Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => online });
  try {
    window.dispatchEvent(new Event('offline'));
    assertEqual(client.state, 'offline', 'state after the offline event');
    const opened = server.connections.length;
    server.refuse = false;
    online = true;
    window.dispatchEvent(new Event('online'));
    await client.ready();
    assertEqual(server.connections.length, opened + 1, 'one new attempt, right away');
    assertEqual(states.slice(-3), ['offline', 'reconnecting', 'connected'], 'states');
  } finally {
    delete navigator.onLine;
    client.close();
  }
});

test('fake: close() rejects waiting requests with offline and stops reconnecting', async () => {
  const server = new FakeServer({ silent: true });
  const client = fakeClient(server);
  const pending = client.request('memory_search', { query: 'q' });
  client.close();
  assertEqual((await rejection(pending, 'pending')).code, 'offline', 'code');
  assertEqual(client.state, 'offline', 'state');
  assertEqual((await rejection(client.request('memory_search', {}), 'after close')).code, 'offline', 'after close');
  await sleep(30);
  assertEqual(server.connections.length, 1, 'no reconnect');
});

// MARK: Session resume (fake server)

/** A fake server with resume whose `memory_search` only records the request; the test answers. */
function resumeServer() {
  const server = new FakeServer({ resume: true });
  server.onRequest = (message, socket) => {
    server.running.add(message.id);
    server.lastRequest = { message, session: socket.session };
  };
  return server;
}

const progress = (id, stageIndex, value) => ({
  type: 'search_progress', id, op: 'memory_search', stage: OPERATIONS[0].stages[stageIndex], stageIndex, stages: 3, progress: value,
});

test('fake resume: after a drop the first message is resume {session, token, lastSeq}; the request continues, each event once', async () => {
  const server = resumeServer();
  server.replayOverlap = 2; // a replay that overlaps what arrived before the drop must not be seen twice
  const client = fakeClient(server, { reconnect: { minMs: 5, maxMs: 10 } });
  const states = recordStates(client);
  const resumedEvents = [];
  client.addEventListener('resumed', (event) => resumedEvents.push(event.detail));
  const seen = [];
  const pending = client.request('memory_search', { query: 'q' }, { onProgress: (p) => seen.push(p.progress) });
  await waitFor(() => server.lastRequest, 'the request');
  const { message: { id }, session } = server.lastRequest;
  server.emit(progress(id, 0, 0.1), session);
  await waitFor(() => seen.length === 1, 'the first progress');
  assertEqual(client.lastSeq, 2, 'lastSeq before the drop');
  server.drop();
  await waitFor(() => client.state === 'reconnecting', 'reconnecting');
  // While detached the operation goes on; its events wait in the session's buffer.
  server.emit(progress(id, 1, 0.5), session);
  server.emit({ type: 'search_complete', id, op: 'memory_search', results: [{ id: 'm1' }], elapsedMs: 5 }, session);
  server.running.delete(id);
  const result = await pending;
  assertEqual(result, { results: [{ id: 'm1' }], elapsedMs: 5 }, 'result');
  assertEqual(seen, [0.1, 0.5], 'progress, each once');
  const second = server.connections[1];
  assertEqual(second.received[0], { type: 'resume', session: 's-fake-1', token: 't-1', lastSeq: 2 }, 'first message of the new connection');
  assertEqual([client.session, client.token, client.lastSeq], ['s-fake-1', 't-1', 4], 'the session continues');
  assertEqual(states, ['connected', 'reconnecting', 'reconnecting', 'connected'], 'states');
  assertEqual(resumedEvents.map((e) => [e.session, e.lastSeq, e.replayed]), [['s-fake-1', 2, 2]], 'resumed event');
  assertEqual(client.stats.duplicatesDropped, 2, 'overlapping replay dropped');
  assertEqual([client.stats.resumes, client.stats.resumeFailures, client.inFlight], [1, 0, 0], 'stats');
  client.close();
});

test('fake: a message whose seq is not above the last processed one is dropped (exactly once)', async () => {
  const server = new FakeServer();
  const client = fakeClient(server);
  const seen = [];
  const pending = client.request('memory_search', { query: 'q' }, { onProgress: (p) => seen.push([p.seq, p.progress]) });
  await waitFor(() => server.requests('memory_search').length === 1, 'the request');
  const { id } = server.requests('memory_search')[0];
  const first = JSON.stringify({ ...progress(id, 0, 0.2), seq: 2 });
  server.emitRaw(first);
  server.emitRaw(first);
  server.emitRaw(JSON.stringify({ ...progress(id, 1, 0.3), seq: 1 }));
  server.emitRaw(JSON.stringify({ ...progress(id, 1, 0.6), seq: 3 }));
  server.emitRaw(JSON.stringify({ type: 'search_complete', id, op: 'memory_search', results: [], elapsedMs: 1, seq: 4 }));
  server.emitRaw(JSON.stringify({ type: 'search_complete', id, op: 'memory_search', results: [], elapsedMs: 1, seq: 4 }));
  await pending;
  await waitFor(() => client.stats.messages === 7, 'every message handled');
  assertEqual(seen, [[2, 0.2], [3, 0.6]], 'progress');
  assertEqual([client.lastSeq, client.stats.duplicatesDropped], [4, 3], 'lastSeq and duplicates');
  client.close();
});

test('fake resume: resume_failed rejects what reached the server with session_lost and the reason; the new session carries on', async () => {
  const server = resumeServer();
  const client = fakeClient(server, { reconnect: { minMs: 5, maxMs: 10 } });
  const failures = [];
  client.addEventListener('resumefailed', (event) => failures.push(event.detail));
  const lost = client.request('memory_search', { query: 'lost' });
  await waitFor(() => server.lastRequest, 'the request');
  const lostID = server.lastRequest.message.id;
  server.failResume = 'expired';
  server.drop();
  await waitFor(() => client.state === 'reconnecting', 'reconnecting');
  // Made while disconnected: never reached the old session, so it is not lost.
  server.onRequest = (message, socket) => server.emit({ type: 'search_complete', id: message.id, op: message.type, results: [], elapsedMs: 2 }, socket);
  const waiting = client.request('memory_search', { query: 'later' });
  const error = await rejection(lost, 'the lost request');
  assert(error instanceof RouterError, 'a RouterError');
  assertEqual([error.code, error.reason, error.id, error.op], ['session_lost', 'expired', lostID, 'memory_search'], 'error fields');
  assert(error.message.includes('operation lost') && error.message.includes('expired'), `message: ${error.message}`);
  assertEqual((await waiting).elapsedMs, 2, 'the waiting request ran on the new session');
  assertEqual([client.session, client.token], ['s-fake-2', 't-2'], 'the new session is adopted');
  assertEqual(client.previousSession?.session, 's-fake-1', 'previous session');
  assertEqual(failures.map((f) => [f.reason, f.session, f.lost]), [['expired', 's-fake-1', [lostID]]], 'resumefailed event');
  assertEqual(server.connections[1].received[0].type, 'resume', 'resume sent first');
  assertEqual(client.lastSeq, 3, 'seq of the new session (welcome 1, resume_failed 2, result 3)');
  client.close();
  return error.message;
});

test('fake resume: a request lost in the dead socket is sent again; an operation nobody waits for is cancelled', async () => {
  const server = resumeServer();
  const client = fakeClient(server, { reconnect: { minMs: 5, maxMs: 10 } });
  await client.ready();
  const controller = new AbortController();
  const abandoned = client.request('memory_search', { query: 'abandoned' }, { signal: controller.signal });
  await waitFor(() => server.lastRequest, 'the first request');
  const abandonedID = server.lastRequest.message.id;
  server.current.blackhole = true; // the next request never reaches the server
  const unheard = client.request('memory_search', { query: 'unheard' });
  await waitFor(() => client._pending.size === 2 && [...client._pending.values()].every((e) => e.sent), 'both sent');
  server.drop();
  await waitFor(() => client.state === 'reconnecting', 'reconnecting');
  controller.abort(); // while disconnected: the cancel cannot be sent now
  assertEqual((await rejection(abandoned, 'abandoned')).code, 'cancelled', 'abandoned code');
  server.onRequest = (message, socket) => server.emit({ type: 'search_complete', id: message.id, op: message.type, results: [], elapsedMs: 7 }, socket);
  assertEqual((await unheard).elapsedMs, 7, 'the unheard request was sent again and answered');
  const second = server.connections[1].received;
  assertEqual(second.map((m) => m.type), ['resume', 'memory_search', 'cancel'], 'messages on the new connection');
  assertEqual([second[2].id, client.stats.resent], [abandonedID, 1], 'cancel and resend');
  client.close();
});

test('fake: ack every ackEveryMessages at once, else after ackIntervalMs; never when seq did not advance', async () => {
  const server = new FakeServer({ resume: true });
  const client = fakeClient(server, { ackIntervalMs: 40 });
  await client.ready();
  const pongs = (n) => Array.from({ length: n }, (_, i) => ({ type: 'pong', id: `p${i}` }));
  server.emitBatch(pongs(250)); // seq 2…251, one network read
  await waitFor(() => client.lastSeq === 251, 'the batch');
  assertEqual(server.acks, [101, 201], 'acks at 100 unacknowledged messages, sent at once');
  await waitFor(() => server.acks.length === 3, 'the timed ack');
  assertEqual(server.acks, [101, 201, 251], 'then the rest after ackIntervalMs');
  assertEqual(client._ackTimer === null, true, 'nothing advanced: no ack scheduled');
  server.emit({ type: 'pong', id: 'one more' });
  await waitFor(() => server.acks.length === 4, 'an ack for one more message');
  assertEqual(server.acks[3], 252, 'ack seq');
  assertEqual(client.stats.acks, 4, 'acks sent');
  client.close();
  return `acks ${server.acks.join(', ')}`;
});

test('fake: a small replay buffer (welcome.resume) brings the acks forward, by count and by bytes', async () => {
  const server = new FakeServer({ resume: true });
  const client = fakeClient(server, { ackIntervalMs: 60000 });
  const welcome = await client.ready();
  welcome.resume.bufferMessages = 40; // as if announced so: ack every 10 messages
  server.emitBatch(Array.from({ length: 25 }, (_, i) => ({ type: 'pong', id: `p${i}` }))); // seq 2…26
  await waitFor(() => client.lastSeq === 26, 'the batch');
  assertEqual(server.acks, [11, 21], 'acks every quarter of bufferMessages');
  welcome.resume.bufferMessages = 1000;
  welcome.resume.bufferBytes = 4000; // ack once 1000 bytes are unacknowledged
  server.emit({ type: 'pong', id: 'x'.repeat(600) }); // seq 27
  server.emit({ type: 'pong', id: 'y'.repeat(600) }); // seq 28: over 1000 bytes since the last ack
  await waitFor(() => client.lastSeq === 28, 'two large messages');
  assertEqual(server.acks, [11, 21, 28], 'ack by bytes');
  client.close();
});

test('fake: no acks to a server that does not offer resume', async () => {
  const server = new FakeServer();
  const client = fakeClient(server, { ackIntervalMs: 1 });
  await client.ready();
  server.emitBatch(Array.from({ length: 150 }, (_, i) => ({ type: 'pong', id: `p${i}` })));
  await waitFor(() => client.lastSeq === 151, 'the batch');
  await client.ping();
  assertEqual([server.requests('ack').length, client._ackTimer === null], [0, true], 'acks sent, ack scheduled');
  client.close();
});

test('fake: close() closes with 1000 (ends the session); a dead connection is closed with another code and stays resumable', async () => {
  const server = new FakeServer({ resume: true, autoPong: false });
  const client = fakeClient(server, { heartbeatMs: 20, heartbeatTimeoutMs: 30, reconnect: { minMs: 5, maxMs: 10 } });
  await client.ready();
  const first = server.current;
  await waitFor(() => first.closedWith, 'the dead connection closed by the client');
  assert(first.closedWith.code !== 1000 && first.closedWith.code >= 3000, `close code ${first.closedWith.code}`);
  await waitFor(() => server.connections.length === 2 && server.connections[1].received.length > 0, 'the next connection');
  assertEqual(server.connections[1].received[0].type, 'resume', 'the session is resumed');
  await client.ready();
  const last = server.current;
  client.close();
  assertEqual(last.closedWith?.code, 1000, 'close() code');
  assertEqual(client.resumeState?.session, 's-fake-1', 'session kept for inspection');
  client.connect();
  await client.ready();
  assert(server.current !== last, 'a new connection');
  assert(!server.current.received.some((m) => m.type === 'resume'), 'no resume after close()');
  assertEqual(client.session, `s-fake-${server.connections.length}`, 'a fresh session');
  client.close();
});

test('fake: 4001 (session resumed elsewhere) loses the pending requests and starts a new session', async () => {
  const server = resumeServer();
  const client = fakeClient(server, { reconnect: { minMs: 5, maxMs: 10 } });
  const pending = client.request('memory_search', { query: 'q' });
  await waitFor(() => server.lastRequest, 'the request');
  server.close(4001, 'session resumed elsewhere');
  const error = await rejection(pending, 'pending');
  assertEqual([error.code, error.reason], ['session_lost', 'taken_over'], 'error');
  await waitFor(() => client.state === 'connected' && server.connections.length === 2, 'reconnected');
  assertEqual(server.connections[1].received.filter((m) => m.type === 'resume').length, 0, 'no resume of a taken-over session');
  assertEqual(client.session, 's-fake-2', 'new session');
  client.close();
});

test('fake: with persistKey, a new page of the tab resumes the session the previous one left', async () => {
  const server = resumeServer();
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, String(v)), removeItem: (k) => storage.delete(k) };
  const page1 = fakeClient(server, { persistKey: 'router', storage: store });
  page1.request('memory_search', { query: 'q' }).catch(() => {});
  await waitFor(() => server.lastRequest, 'the request of the first page');
  const { message: { id }, session } = server.lastRequest;
  server.emit(progress(id, 0, 0.1), session);
  await waitFor(() => page1.lastSeq === 2, 'progress on the first page');
  assertEqual(storage.size, 0, 'nothing stored while the page lives');
  page1.saveForReload(); // what `pagehide` does
  server.drop(); // the page is gone (its socket closes with 1001)
  page1._closedByUser = true; // a gone page does not reconnect
  assertEqual(JSON.parse(storage.get('router')), { session: 's-fake-1', token: 't-1', lastSeq: 2 }, 'stored');
  const page2 = fakeClient(server, { persistKey: 'router', storage: store });
  assertEqual(storage.size, 0, 'taken by the new page');
  await page2.ready();
  const socket = server.current;
  assertEqual(socket.received[0], { type: 'resume', session: 's-fake-1', token: 't-1', lastSeq: 2 }, 'resume first');
  assertEqual(page2.session, 's-fake-1', 'same session');
  await waitFor(() => socket.received.some((m) => m.type === 'cancel'), 'the old page\'s operation cancelled');
  assertEqual(socket.received.find((m) => m.type === 'cancel').id, id, 'cancelled id');
  page2.close();
  assertEqual(storage.size, 0, 'close() leaves nothing to resume');
});

// MARK: Live tests (the router-host that served this page)

function liveClient(options = {}) {
  return new RouterClient({ heartbeatMs: 5000, ...options });
}

const liveQuery = () => new URLSearchParams(globalThis.location?.search || '').get('q') || 'project deadline';

test('live: connects to the default URL; welcome lists the operations with prefixes and stages', async () => {
  const client = liveClient();
  const welcome = await client.ready();
  assertEqual(client.url, toWebSocketURL('/ws/memory'), 'default URL');
  assert(typeof welcome.session === 'string' && typeof welcome.token === 'string', 'session and token');
  assert(welcome.seq === 1 && client.lastSeq === 1, `welcome seq ${welcome.seq}`);
  const search = client.operations.get('memory_search');
  assert(search, `memory_search in ${[...client.operations.keys()].join(', ')}`);
  assertEqual(search.prefix, 'search', 'search prefix');
  assert(Array.isArray(search.stages) && search.stages.length > 0, 'search stages');
  assert(typeof search.timeout === 'number' && search.timeout > 0, 'timeout');
  client.close();
  return [...client.operations.values()].map((op) => `${op.type}→${op.prefix}[${op.stages.join(',')}]`).join(' ');
}, { live: true });

test('live: memory_search request/response (ranked results)', async () => {
  const client = liveClient();
  const result = await client.request('memory_search', { query: liveQuery(), limit: 5 });
  assert(Array.isArray(result.results), 'results array');
  assert(result.results.length > 0 && result.results.length <= 5, `${result.results.length} results`);
  for (const entry of result.results) {
    assert(typeof entry.id === 'string' && typeof entry.text === 'string' && typeof entry.score === 'number', `entry ${JSON.stringify(entry).slice(0, 120)}`);
    assert(Array.isArray(entry.tags), 'tags');
  }
  for (let i = 1; i < result.results.length; i++) {
    assert(result.results[i - 1].score >= result.results[i].score, 'descending scores');
  }
  assert(typeof result.elapsedMs === 'number', 'elapsedMs');
  assert(!('type' in result) && !('seq' in result), 'envelope keys removed');
  client.close();
  return `${result.results.length} results, top ${result.results[0].id} (${result.results[0].score.toFixed(3)}) in ${result.elapsedMs} ms`;
}, { live: true });

test('live: progress callbacks arrive before the result, monotonic, with the welcome stages', async () => {
  const client = liveClient();
  await client.ready();
  const stages = client.operations.get('memory_search').stages;
  const progress = [];
  let resolvedAfter = -1;
  const result = await client.request('memory_search', { query: liveQuery(), limit: 10 }, { onProgress: (p) => progress.push(p) });
  resolvedAfter = progress.length;
  assert(progress.length >= 1, 'at least one progress event');
  assertEqual(resolvedAfter, progress.length, 'no progress after the result');
  for (let i = 0; i < progress.length; i++) {
    const p = progress[i];
    assertEqual(p.type, 'search_progress', 'type');
    assertEqual(p.stages, stages.length, 'stage count');
    assertEqual(p.stage, stages[p.stageIndex], `stage name at ${p.stageIndex}`);
    assert(p.progress >= 0 && p.progress <= 1, `progress ${p.progress}`);
    if (i > 0) {
      assert(p.progress >= progress[i - 1].progress, 'progress never decreases');
      assert(p.stageIndex >= progress[i - 1].stageIndex, 'stages in order');
    }
  }
  assert(Array.isArray(result.results), 'result');
  client.close();
  return progress.map((p) => `${p.stage}:${Math.round(p.progress * 100)}%`).join(' ');
}, { live: true });

test('live: errors carry code and message (bad_request with the path, unknown_operation)', async () => {
  const client = liveClient();
  const bad = await rejection(client.request('memory_search', { query: 'x', limit: 'ten' }), 'bad limit');
  assertEqual(bad.code, 'bad_request', 'code');
  assert(bad.message.includes('limit'), `message names the field: ${bad.message}`);
  assertEqual(bad.op, 'memory_search', 'op');
  const unknown = await rejection(client.request('memory_nonexistent', {}), 'unknown operation');
  assertEqual(unknown.code, 'unknown_operation', 'unknown code');
  assertEqual(client.state, 'connected', 'connection lives on');
  client.close();
  return `${bad.code}: ${bad.message} | ${unknown.code}: ${unknown.message}`;
}, { live: true });

test('live: cancel through AbortSignal', async () => {
  const client = liveClient();
  await client.ready();
  const controller = new AbortController();
  const forID = [];
  let requestID = null;
  client.addEventListener('outgoing', (event) => {
    if (event.detail.type === 'memory_stream') requestID = event.detail.id;
  });
  client.addEventListener('message', (event) => {
    if (requestID && event.detail.id === requestID) forID.push(event.detail);
  });
  const pending = client.request('memory_stream', { analysis: 'export', chunkSize: 1 }, {
    signal: controller.signal,
    onChunk: () => controller.abort(),
  });
  // A stream that finishes before its first chunk arrives cannot be cancelled; abort right after sending then.
  setTimeout(() => controller.abort(), 0);
  const error = await rejection(pending, 'cancelled stream');
  assertEqual(error.code, 'cancelled', 'code');
  await waitFor(() => client.stats.messages > 0 && forID.some((m) => m.type === 'error' || m.type.endsWith('_complete')), 'the final message', 5000);
  const finalIndex = forID.findIndex((m) => m.type === 'error' || m.type.endsWith('_complete'));
  const final = forID[finalIndex];
  await sleep(200);
  const after = forID.slice(finalIndex + 1);
  let outcome;
  if (final.type === 'error') {
    assertEqual(final.code, 'cancelled', 'final error code');
    assertEqual(after.length, 0, 'nothing after the final message');
    outcome = `server confirmed: error cancelled after ${finalIndex} message(s)`;
  } else {
    // The stream finished before the cancel reached the server: the cancel is then unknown.
    assert(after.every((m) => m.type === 'error' && m.code === 'unknown_request'), `after complete: ${JSON.stringify(after)}`);
    outcome = 'stream completed before the cancel arrived (unknown_request)';
  }
  client.close();
  return outcome;
}, { live: true });

test('live: timeout is sent and honoured (short timeout on a long analysis, huge timeout clamped)', async () => {
  const client = liveClient({ timeoutGraceMs: 5000 });
  await client.ready();
  // A huge timeout is clamped by the server to the declared one, not refused.
  const clamped = await client.request('memory_search', { query: liveQuery(), limit: 3 }, { timeout: 1e9 });
  assert(Array.isArray(clamped.results), 'clamped request succeeds');
  let outcome;
  try {
    await client.request('memory_stream', { analysis: 'export', chunkSize: 1 }, { timeout: 1 });
    outcome = 'export finished within 1 ms; the timeout was not observable';
  } catch (error) {
    assertEqual(error.code, 'memory_stream_timeout', `code (${error.message})`);
    outcome = `${error.code}: ${error.message}`;
  }
  client.close();
  return outcome;
}, { live: true });

test('live: concurrent requests are routed by id', async () => {
  const client = liveClient();
  const limits = [1, 2, 3, 4];
  const results = await Promise.all(limits.map((limit) => client.request('memory_search', { query: liveQuery(), limit })));
  results.forEach((result, index) => assert(result.results.length <= limits[index], `request ${index}: ${result.results.length} results`));
  assert(results.some((result) => result.results.length > 1), 'distinct results');
  client.close();
}, { live: true });

test('live: ping → pong round trip', async () => {
  const client = liveClient();
  await client.ready();
  const rtt = await client.ping(3000);
  client.close();
  return `${rtt.toFixed(1)} ms`;
}, { live: true });

test('live: gzip+base64 envelope with ?compress=gzip on a result over 10 KiB', async () => {
  const client = liveClient({ compress: 'gzip' });
  const welcome = await client.ready();
  assert(client.url.includes('compress=gzip'), 'URL asks for gzip');
  let raw = 0;
  client.addEventListener('message', () => raw++);
  const chunks = [];
  const result = await client.request('memory_stream', { analysis: 'export' }, { onChunk: (chunk) => chunks.push(chunk) });
  const search = await client.request('memory_search', { query: liveQuery(), limit: 1000 });
  const exportBytes = JSON.stringify(chunks).length;
  const searchBytes = JSON.stringify(search).length;
  assert(exportBytes + searchBytes > 10 * 1024, `payload ${exportBytes}+${searchBytes} bytes`);
  assert(search.results.length > 0, 'search results');
  if (welcome.compression === 'gzip+base64') {
    assert(client.stats.envelopesDecoded > 0, `envelopes decoded: ${client.stats.envelopesDecoded}`);
  } else {
    // permessage-deflate (negotiated by the browser itself) makes the envelope unnecessary.
    assert(welcome.compression === 'permessage-deflate', `compression ${welcome.compression}`);
  }
  client.close();
  return `compression ${welcome.compression}: ${client.stats.envelopesDecoded} envelope(s) decoded; ${chunks.length} chunks (${exportBytes} B), search ${search.results.length} results (${searchBytes} B); stream result ${JSON.stringify(result).slice(0, 80)}`;
}, { live: true });

test('live: cut mid-stream (closed with 4000, not 1000): the client resumes and gets every chunk once, in order', async () => {
  const client = liveClient({ reconnect: { minMs: 10, maxMs: 50 } });
  const welcome = await client.ready();
  assert(welcome.resume && typeof welcome.resume.windowMs === 'number', `welcome.resume: ${JSON.stringify(welcome.resume)}`);
  const session = client.session;
  const chunks = [];
  let cut = false;
  const result = await client.request('memory_stream', { analysis: 'export', chunkSize: 1 }, {
    onChunk: (chunk) => {
      chunks.push(chunk.chunk);
      if (!cut) {
        cut = true;
        client._dropped(client._generation, 'cut by the test'); // closes with 4000: the session detaches
      }
    },
  });
  assert(cut, 'the stream was cut');
  assertEqual(chunks, Array.from({ length: chunks.length }, (_, i) => i), 'chunks 0…n-1, each once');
  assert(chunks.length > 1, `${chunks.length} chunks`);
  assertEqual([client.session, client.stats.resumes, client.stats.drops], [session, 1, 1], 'same session, one resume');
  client.close();
  return `${chunks.length} chunks, ${client.stats.duplicatesDropped} duplicates dropped, result ${JSON.stringify(result).slice(0, 60)}`;
}, { live: true });

test('live: a wrong token → resume_failed bad_token; the request in flight rejects with session_lost; a new session carries on', async () => {
  const client = liveClient({ reconnect: { minMs: 10, maxMs: 50 } });
  await client.ready();
  const session = client.session;
  let cut = false;
  const pending = client.request('memory_stream', { analysis: 'export', chunkSize: 1 }, {
    onChunk: () => {
      if (cut) return;
      cut = true;
      client.token = 'not-the-token';
      client._dropped(client._generation, 'cut by the test');
    },
  });
  const error = await rejection(pending, 'the request of the session that could not be resumed');
  assertEqual([error.code, error.reason], ['session_lost', 'bad_token'], `error (${error.message})`);
  await client.ready();
  assert(client.session !== session, 'a new session');
  const after = await client.request('memory_search', { query: liveQuery(), limit: 2 });
  assert(Array.isArray(after.results), 'the new session works');
  client.close();
  return error.message;
}, { live: true });

// MARK: Runner

/** Runs the tests; `onResult` sees each result as it comes. Returns [{name, ok, detail, ms}]. */
export async function runTests({ live = true, filter = null, onResult = () => {}, timeoutMs = 15000 } = {}) {
  const results = [];
  for (const { name, body, live: needsServer } of tests) {
    if (needsServer && !live) continue;
    if (filter && !name.includes(filter)) continue;
    const started = performance.now();
    let result;
    try {
      let timer;
      const detail = await Promise.race([
        Promise.resolve().then(body),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new AssertionError(`test timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      result = { name, ok: true, detail: detail === undefined ? '' : String(detail) };
    } catch (error) {
      const where = error instanceof AssertionError ? '' : `${error?.name || 'Error'}${error?.code ? ` (${error.code})` : ''}: `;
      result = { name, ok: false, detail: `${where}${error?.message ?? error}` };
    }
    result.ms = Math.round(performance.now() - started);
    results.push(result);
    onResult(result, results);
  }
  return results;
}
