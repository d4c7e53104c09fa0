// dashboard.js: the Memory Router dashboard (index.html).
//
// Page parameters (handy for tests and debugging), all optional:
//   ?ws=URL            WebSocket endpoint (default /ws/memory on this origin)
//   ?compress=gzip|none ask for the gzip+base64 envelope (default gzip)
//   ?heartbeatMs=N  ?heartbeatTimeoutMs=N  ?reconnectMinMs=N  ?reconnectMaxMs=N  ?metricsMs=N
//   ?resumedMs=N       how long the indicator shows "resumed" before "connected" (default 3000)
//   ?persist=0         do not keep the session for a reload of this tab
//
// After a dropped connection the client resumes the session (DESIGN §6): running operations
// carry on and the indicator shows "reconnecting", then "resumed". When the session cannot be
// resumed, each operation that was running says it was lost and why.
//
// Everything the page shows is also recorded in `window.dashboard.events` so a test can check
// the order in which things happened (progress before results), not only the final DOM.

import { RouterClient } from './router-client.js';

const params = new URLSearchParams(location.search);
const numberParam = (name, fallback) => {
  const value = Number(params.get(name));
  return params.has(name) && Number.isFinite(value) ? value : fallback;
};

const client = new RouterClient(params.get('ws') || undefined, {
  compress: (params.get('compress') || 'gzip') === 'gzip' ? 'gzip' : undefined,
  heartbeatMs: numberParam('heartbeatMs', 15000),
  heartbeatTimeoutMs: numberParam('heartbeatTimeoutMs', undefined),
  reconnect: { minMs: numberParam('reconnectMinMs', 500), maxMs: numberParam('reconnectMaxMs', 30000) },
  persistKey: params.get('persist') === '0' ? undefined : 'memory-router.session',
});

// `indicator`: every label the connection indicator showed, in order.
const events = { connection: [], indicator: [], search: [], compress: [], stream: [] };
window.dashboard = { client, events };

const $ = (id) => document.getElementById(id);

/** Creates an element with attributes and children (strings become text nodes, never HTML). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key === 'style') element.setAttribute('style', value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const formatNumber = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(3);
};
const formatMs = (ms) => (typeof ms === 'number' ? (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`) : '');

// MARK: Connection indicator

const LABELS = { connecting: 'connecting', connected: 'connected', resumed: 'resumed', reconnecting: 'reconnecting', offline: 'offline' };
const RESUMED_SHOWN_MS = numberParam('resumedMs', 3000);
let retryCountdown = null;
let resumedTimer = null;

function renderConnection(detail) {
  const indicator = $('connection-state');
  // A resumed session shows "resumed" for a moment, then "connected".
  const shown = detail.state === 'connected' && detail.resumed ? 'resumed' : detail.state;
  if (indicator.dataset.state !== shown || events.indicator.length === 0) events.indicator.push(shown);
  indicator.dataset.state = shown;
  $('connection-label').textContent = LABELS[shown] || shown;
  clearInterval(retryCountdown);
  clearTimeout(resumedTimer);
  const text = $('connection-detail');
  const retry = $('connection-retry');
  retry.hidden = !(detail.state === 'reconnecting' || detail.state === 'offline');
  if (shown === 'resumed') {
    const replayed = detail.replayed ?? 0;
    text.textContent = `session ${client.session} resumed · ${replayed} event${replayed === 1 ? '' : 's'} replayed`;
    indicator.title = '';
    resumedTimer = setTimeout(() => client.state === 'connected' && renderConnection({ state: 'connected' }), RESUMED_SHOWN_MS);
  } else if (detail.state === 'connected' && detail.resumeFailed) {
    text.textContent = `new session ${client.session} · the previous one could not be resumed (${detail.resumeFailed})`;
    indicator.title = LOST_REASONS[detail.resumeFailed] || '';
  } else if (detail.state === 'connected') {
    const mode = client.welcome?.compression;
    text.textContent = [client.session && `session ${client.session}`, mode && mode !== 'none' && mode].filter(Boolean).join(' · ');
    indicator.title = '';
  } else if (detail.state === 'reconnecting' && typeof detail.retryAt === 'number') {
    const tick = () => {
      const left = Math.max(0, detail.retryAt - Date.now());
      text.textContent = `retry ${detail.attempt > 0 ? `#${detail.attempt + 1} ` : ''}in ${(left / 1000).toFixed(1)} s`;
    };
    tick();
    retryCountdown = setInterval(tick, 200);
    indicator.title = detail.reason || '';
  } else if (detail.state === 'reconnecting') {
    text.textContent = 'trying…';
  } else if (detail.state === 'offline') {
    text.textContent = detail.reason || '';
  } else {
    text.textContent = '';
  }
}

client.addEventListener('state', (event) => {
  const { state, reason, attempt, delayMs, resumed, resumeFailed } = event.detail;
  events.connection.push({ state, reason, attempt, delayMs, resumed, resumeFailed, t: Date.now() });
  renderConnection(event.detail);
  if (state === 'connected') renderServerInfo(client.welcome);
});
$('connection-retry').addEventListener('click', () => client.reconnect());

// MARK: Progress view (one bar per stage of the operation, plus the overall progress)

class ProgressView {
  constructor(container, prefix) {
    this.container = container;
    this.prefix = prefix;
    this.stages = [];
  }

  /** Resets to the operation's stages (names from `welcome.operations`). */
  start(stageNames) {
    this.stages = [...stageNames];
    this.container.hidden = false;
    this.container.dataset.state = 'running';
    this.container.replaceChildren(
      h('ol', { class: 'stages', id: `${this.prefix}-stages` },
        this.stages.map((name, index) => this._stageRow(name, index))),
      h('div', { class: 'overall' },
        h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, id: `${this.prefix}-overall` },
          h('div', { class: 'fill', style: 'width: 0%' })),
        h('span', { class: 'percent', id: `${this.prefix}-percent` }, '0%')),
      h('p', { class: 'progress-message', id: `${this.prefix}-progress-message` }),
    );
  }

  _stageRow(name, index) {
    return h('li', { class: 'stage', id: `${this.prefix}-stage-${index}`, dataset: { stage: name, state: 'pending' } },
      h('span', { class: 'stage-name' }, name),
      h('div', { class: 'bar' }, h('div', { class: 'fill' })),
      h('span', { class: 'stage-mark' }));
  }

  /** Applies a `<prefix>_progress` message. */
  update(message) {
    const count = message.stages || this.stages.length;
    while (this.stages.length < count) {
      const index = this.stages.length;
      const name = index === message.stageIndex ? message.stage : `stage ${index + 1}`;
      this.stages.push(name);
      this.container.querySelector('.stages').append(this._stageRow(name, index));
    }
    this.container.querySelectorAll('.stage').forEach((row, index) => {
      const state = index < message.stageIndex ? 'done' : index === message.stageIndex ? 'active' : 'pending';
      row.dataset.state = state;
      if (index === message.stageIndex && message.stage) {
        row.dataset.stage = message.stage;
        row.querySelector('.stage-name').textContent = message.stage;
      }
      row.querySelector('.stage-mark').textContent = state === 'done' ? '✓' : state === 'active' ? '…' : '';
    });
    this._overall(message.progress);
    this.container.querySelector('.progress-message').textContent = message.message || '';
  }

  _overall(progress) {
    const percent = Math.round(Math.max(0, Math.min(1, Number(progress) || 0)) * 100);
    const bar = this.container.querySelector('.overall .bar');
    bar.setAttribute('aria-valuenow', percent);
    bar.querySelector('.fill').style.width = `${percent}%`;
    this.container.querySelector('.percent').textContent = `${percent}%`;
  }

  /** A sentence under the bars (e.g. why the operation was lost). */
  note(text) {
    this.container.querySelector('.progress-message').textContent = text;
  }

  finish(state) {
    this.container.dataset.state = state;
    if (state === 'done') {
      this.container.querySelectorAll('.stage').forEach((row) => {
        row.dataset.state = 'done';
        row.querySelector('.stage-mark').textContent = '✓';
      });
      this._overall(1);
      this.container.querySelector('.progress-message').textContent = '';
    } else {
      this.container.querySelectorAll('.stage[data-state="active"]').forEach((row) => {
        row.dataset.state = state === 'cancelled' ? 'cancelled' : 'failed';
        row.querySelector('.stage-mark').textContent = '✕';
      });
    }
  }
}

function stagesOf(type) {
  return client.operations.get(type)?.stages || [];
}

function setStatus(id, status, text) {
  const element = $(id);
  element.dataset.status = status;
  element.textContent = text ?? status;
}

/** Why an operation was lost with its session (`RouterError.reason` of `session_lost`). */
const LOST_REASONS = {
  expired: 'the session expired before the connection came back',
  gap: 'more events were missed while disconnected than the server keeps',
  unknown_session: 'the server no longer knows the session (it may have restarted)',
  bad_token: 'the server refused the session token',
  seq_ahead: 'the client and the server disagree about the events already seen',
  taken_over: 'the session was resumed by another tab or connection',
  unsupported: 'the server cannot resume sessions',
};

function describeError(error) {
  return error?.code ? `${error.code}: ${error.message}` : String(error?.message || error);
}

/**
 * Runs one operation for a panel: progress view, status line, cancel button, event log.
 * Returns the result, or undefined when it failed or was cancelled (the status says why).
 */
async function runOperation({ type, data, panel, progress, onChunk }) {
  const controller = new AbortController();
  const cancelButton = $(`${panel}-cancel`);
  const log = events[panel];
  cancelButton.disabled = false;
  cancelButton.onclick = () => controller.abort();
  progress.start(stagesOf(type));
  setStatus(`${panel}-status`, 'running', client.state === 'connected' ? 'running…' : 'waiting for the connection…');
  log.push({ kind: 'start', type, t: Date.now() });
  try {
    const result = await client.request(type, data, {
      signal: controller.signal,
      onProgress: (message) => {
        log.push({ kind: 'progress', seq: message.seq, stage: message.stage, stageIndex: message.stageIndex, progress: message.progress, t: Date.now() });
        if ($(`${panel}-status`).dataset.status === 'running') setStatus(`${panel}-status`, 'running', `${message.stage}…`);
        progress.update(message);
      },
      onChunk: onChunk && ((message) => {
        log.push({ kind: 'chunk', seq: message.seq, chunk: message.chunk, t: Date.now() });
        onChunk(message);
      }),
    });
    progress.finish('done');
    log.push({ kind: 'complete', elapsedMs: result.elapsedMs, t: Date.now() });
    setStatus(`${panel}-status`, 'done', `done in ${formatMs(result.elapsedMs)}`);
    return result;
  } catch (error) {
    const cancelled = error.code === 'cancelled';
    progress.finish(cancelled ? 'cancelled' : 'failed');
    log.push({ kind: 'error', code: error.code, reason: error.reason, message: error.message, t: Date.now() });
    if (error.code === 'session_lost') {
      // The connection dropped and the session could not be resumed: say so, and why.
      setStatus(`${panel}-status`, 'lost', `operation lost (${error.reason})`);
      progress.note(`Connection lost and the session could not be resumed: ${LOST_REASONS[error.reason] || error.message}. `
        + 'The result of this operation will not arrive; run it again.');
    } else {
      setStatus(`${panel}-status`, cancelled ? 'cancelled' : 'error', cancelled ? 'cancelled' : describeError(error));
    }
    return undefined;
  } finally {
    cancelButton.disabled = true;
    cancelButton.onclick = null;
    refreshMetrics();
  }
}

// MARK: Memory search

const searchProgress = new ProgressView($('search-progress'), 'search');

function highlighted(text, query) {
  const terms = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [])].filter((term) => term.length > 1);
  if (terms.length === 0) return [text];
  const pattern = new RegExp(`(${terms.map((term) => term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'giu');
  return text.split(pattern).map((part, index) => (index % 2 === 1 ? h('mark', {}, part) : part));
}

function renderResults(results, query) {
  const list = $('search-results');
  const top = Math.max(...results.map((result) => Number(result.score) || 0), 1e-9);
  list.replaceChildren(...results.map((result, index) => h('li', { class: 'result', dataset: { id: result.id } },
    h('div', { class: 'result-head' },
      h('span', { class: 'rank' }, `#${index + 1}`),
      h('code', { class: 'result-id' }, result.id),
      h('span', { class: 'score-bar', 'aria-hidden': 'true' },
        h('span', { class: 'fill', style: `width: ${Math.max(2, (100 * (Number(result.score) || 0)) / top).toFixed(1)}%` })),
      h('span', { class: 'score', title: 'score' }, typeof result.score === 'number' ? result.score.toFixed(3) : result.score),
      result.createdAt && h('time', { class: 'created', datetime: result.createdAt }, String(result.createdAt).slice(0, 10))),
    h('p', { class: 'result-text' }, highlighted(String(result.text ?? ''), query)),
    h('div', { class: 'tags' }, (result.tags || []).map((tag) => h('span', { class: 'tag' }, tag))),
  )));
}

$('search-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const query = $('search-query').value.trim();
  const limit = Math.max(1, Math.min(1000, Number.parseInt($('search-limit').value, 10) || 10));
  if (!query) return;
  $('search-submit').disabled = true;
  $('search-results').replaceChildren();
  $('search-meta').textContent = '';
  const result = await runOperation({ type: 'memory_search', data: { query, limit }, panel: 'search', progress: searchProgress });
  $('search-submit').disabled = false;
  if (!result) return;
  const results = result.results || [];
  renderResults(results, query);
  $('search-meta').textContent = results.length === 0
    ? `no memory matches “${query}”`
    : `${results.length} result${results.length === 1 ? '' : 's'} in ${formatMs(result.elapsedMs)}`;
});

// MARK: Context compression preview

const compressProgress = new ProgressView($('compress-progress'), 'compress');

const SAMPLE_CONVERSATION = [
  'system: You are a helpful assistant with long-term memory.',
  'user: I am planning the release of the memory router. The deadline is Friday.',
  'assistant: Noted, the deadline is Friday. Do you want a checklist for the release?',
  'user: Yes. The deadline is Friday. Also remember that I prefer short answers.',
  'assistant: Checklist: freeze the API, run the browser tests, update the changelog, tag the release.',
  'user: Thanks! By the way, the weather is nice today.',
  'assistant: Enjoy it! Anything else about the release?',
].join('\n');
$('compress-messages').value = SAMPLE_CONVERSATION;

/** `role: content` per line; a line without a role continues the previous message. */
export function parseMessages(text) {
  const messages = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const match = /^\s*([A-Za-z_][\w-]{0,31})\s*:\s*(.*)$/.exec(line);
    if (match) messages.push({ role: match[1].toLowerCase(), content: match[2].trim() });
    else if (messages.length > 0) messages[messages.length - 1].content += `\n${line.trim()}`;
    else messages.push({ role: 'user', content: line.trim() });
  }
  return messages;
}

function spanText(span) {
  if (typeof span === 'string') return span;
  return String(span.text ?? span.content ?? span.sentence ?? span.span ?? JSON.stringify(span));
}

/** One kept or dropped span; `messages` (what was sent) supplies the role when the span only has an index. */
function renderSpan(span, messages) {
  const object = typeof span === 'object' && span !== null ? span : {};
  const index = object.messageIndex ?? object.message ?? object.index;
  const role = object.role ?? (typeof index === 'number' ? messages[index]?.role : undefined);
  const reason = typeof object.reason === 'string' ? object.reason : undefined;
  // `duplicate_of 1:0` → "duplicate of msg 1, sentence 0"; other reasons with spaces for underscores.
  const readable = reason?.replace(/^duplicate_of (\d+):(\d+)$/, 'duplicate of msg $1, sentence $2').replace(/_/g, ' ');
  return h('li', { class: 'span', dataset: { reason: reason ?? '' } },
    h('div', { class: 'span-head' },
      role && h('span', { class: 'role' }, role),
      typeof index === 'number' && h('span', { class: 'msg-index' },
        `msg ${index}${typeof object.sentence === 'number' ? ` · sentence ${object.sentence}` : ''}`),
      typeof object.tokens === 'number' && h('span', { class: 'tokens' }, `${object.tokens} tok`),
      readable && h('span', { class: 'reason', title: reason }, readable)),
    h('p', { class: 'span-text' }, spanText(span)));
}

$('compress-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const messages = parseMessages($('compress-messages').value);
  const budgetTokens = Math.max(1, Number.parseInt($('compress-budget').value, 10) || 1);
  if (messages.length === 0) {
    setStatus('compress-status', 'error', 'enter at least one message');
    return;
  }
  $('compress-submit').disabled = true;
  $('compress-result').hidden = true;
  const result = await runOperation({
    type: 'context_compress', data: { messages, budgetTokens }, panel: 'compress', progress: compressProgress,
  });
  $('compress-submit').disabled = false;
  if (!result) return;
  const ratio = Number(result.ratio);
  $('compress-ratio').textContent = Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : String(result.ratio);
  $('compress-ratio').dataset.value = String(result.ratio);
  $('compress-ratio-fill').style.width = `${Math.max(0, Math.min(1, ratio || 0)) * 100}%`;
  $('compress-original-tokens').textContent = formatNumber(result.originalTokens);
  $('compress-compressed-tokens').textContent = formatNumber(result.compressedTokens);
  $('compress-output').textContent = typeof result.compressed === 'string' ? result.compressed : JSON.stringify(result.compressed, null, 2);
  const kept = Array.isArray(result.kept) ? result.kept : [];
  const dropped = Array.isArray(result.dropped) ? result.dropped : [];
  $('compress-kept').replaceChildren(...kept.map((span) => renderSpan(span, messages)));
  $('compress-dropped').replaceChildren(...dropped.map((span) => renderSpan(span, messages)));
  $('compress-kept-count').textContent = `(${kept.length})`;
  $('compress-dropped-count').textContent = `(${dropped.length})`;
  $('compress-result').hidden = false;
});

// MARK: Live stream

const streamProgress = new ProgressView($('stream-progress'), 'stream');
const MAX_CHUNKS_SHOWN = 300;
const HIDDEN_KEYS = new Set(['type', 'id', 'op', 'seq', 'chunk']);

function renderValue(value) {
  if (Array.isArray(value)) {
    return h('details', { class: 'value' }, h('summary', {}, `${value.length} item${value.length === 1 ? '' : 's'}`),
      h('pre', {}, JSON.stringify(value, null, 2)));
  }
  if (value && typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length <= 80 ? h('code', {}, text)
      : h('details', { class: 'value' }, h('summary', {}, `${Object.keys(value).length} fields`), h('pre', {}, JSON.stringify(value, null, 2)));
  }
  return h('span', { class: 'scalar' }, typeof value === 'number' ? formatNumber(value) : String(value));
}

const MAX_ITEM_ROWS = 50;

/** An array of objects as a compact table (columns: the union of their keys, in first-seen order). */
function renderItems(items) {
  const columns = [];
  for (const item of items) for (const key of Object.keys(item)) if (!columns.includes(key)) columns.push(key);
  const cell = (value) => {
    if (Array.isArray(value)) return value.join(', ');
    if (value && typeof value === 'object') return JSON.stringify(value);
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return value.slice(0, 10); // full value in the title
    return typeof value === 'number' ? formatNumber(value) : String(value ?? '');
  };
  const shown = items.slice(0, MAX_ITEM_ROWS);
  return h('table', { class: 'items' },
    h('thead', {}, h('tr', {}, columns.map((column) => h('th', {}, column)))),
    h('tbody', {}, shown.map((item) => h('tr', {}, columns.map((column) =>
      h('td', { class: typeof item[column] === 'number' ? 'number' : '', title: String(item[column] ?? '') }, cell(item[column])))))),
    items.length > shown.length && h('tfoot', {}, h('tr', {}, h('td', { colspan: columns.length }, `… ${items.length - shown.length} more`))));
}

function renderChunk(message) {
  const items = Array.isArray(message.items) && message.items.every((item) => item && typeof item === 'object') ? message.items : null;
  const fields = Object.entries(message).filter(([key]) => !HIDDEN_KEYS.has(key) && !(items && key === 'items'));
  const position = typeof message.part === 'number' && typeof message.totalChunks === 'number'
    ? `part ${message.part + 1}/${message.totalChunks}` : null;
  return h('div', { class: 'chunk', dataset: { chunk: message.chunk } },
    h('span', { class: 'chunk-index' }, `#${message.chunk}`),
    h('div', { class: 'chunk-body' },
      h('div', { class: 'chunk-fields' },
        position && h('span', { class: 'field' }, position),
        items && h('span', { class: 'field' }, `${items.length} item${items.length === 1 ? '' : 's'}`),
        fields.filter(([key]) => !(position && (key === 'part' || key === 'totalChunks')))
          .map(([key, value]) => h('span', { class: 'field' }, h('span', { class: 'key' }, key), renderValue(value)))),
      items && items.length > 0 && renderItems(items)));
}

$('stream-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const analysis = $('stream-analysis').value;
  const data = { analysis };
  const chunkSize = Number.parseInt($('stream-chunk-size').value, 10);
  if (chunkSize > 0) data.chunkSize = chunkSize;
  const tags = $('stream-tags').value.split(',').map((tag) => tag.trim()).filter(Boolean);
  if (tags.length > 0) data.filter = { tags };
  const container = $('stream-chunks');
  let count = 0;
  container.replaceChildren();
  $('stream-summary').hidden = true;
  $('stream-count').textContent = '0';
  $('stream-start').disabled = true;
  const result = await runOperation({
    type: 'memory_stream', data, panel: 'stream', progress: streamProgress,
    onChunk: (message) => {
      count++;
      $('stream-count').textContent = String(count);
      const stick = container.scrollTop + container.clientHeight >= container.scrollHeight - 8;
      container.append(renderChunk(message));
      while (container.childElementCount > MAX_CHUNKS_SHOWN) container.firstElementChild.remove();
      if (stick) container.scrollTop = container.scrollHeight;
    },
  });
  $('stream-start').disabled = false;
  if (!result) return;
  $('stream-summary').textContent = JSON.stringify(result, null, 2);
  $('stream-summary').hidden = false;
});

// MARK: Metrics

/** Parses Prometheus text exposition loosely: `name{label="v",…} value` lines; comments skipped. */
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const label of (match[2] || '').matchAll(/([A-Za-z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2].replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** `memory_router_operations_started_total` → `started`, `router_operation_bytes_out_total` → `bytes_out`. */
function shortName(name) {
  return name.replace(/^(memory_)?router_/, '').replace(/^operations?_/, '').replace(/_total$/, '') || name;
}

/** Rows by `op` (or `type`) label, one column per metric; histogram buckets left out, mean latency derived. */
export function pivotMetrics(samples) {
  const rows = new Map();
  const columns = [];
  const other = [];
  for (const sample of samples) {
    const op = sample.labels.op ?? sample.labels.type;
    if (op === undefined) {
      if (!sample.name.endsWith('_bucket')) other.push(sample);
      continue;
    }
    if (sample.name.endsWith('_bucket')) continue;
    const extra = Object.entries(sample.labels).filter(([key]) => key !== 'op' && key !== 'type');
    const column = shortName(sample.name) + (extra.length ? ` ${extra.map(([k, v]) => `${k}=${v}`).join(',')}` : '');
    if (!columns.includes(column)) columns.push(column);
    if (!rows.has(op)) rows.set(op, {});
    rows.get(op)[column] = sample.value;
  }
  for (const sumColumn of columns.filter((column) => column.endsWith('_seconds_sum'))) {
    const countColumn = sumColumn.replace(/_sum$/, '_count');
    if (!columns.includes(countColumn)) continue;
    const mean = sumColumn.replace(/_seconds_sum$/, '_mean_ms');
    columns.splice(columns.indexOf(sumColumn), 1, mean); // the mean says more than the raw sum
    for (const row of rows.values()) {
      if (row[countColumn] > 0) row[mean] = (1000 * row[sumColumn]) / row[countColumn];
    }
  }
  return { columns, rows, other };
}

let metricsInFlight = false;
async function refreshMetrics() {
  if (metricsInFlight) return;
  metricsInFlight = true;
  try {
    const response = await fetch(new URL('/metrics', location.href), { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    renderMetrics(pivotMetrics(parsePrometheus(await response.text())));
    $('metrics-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    $('metrics-updated').dataset.status = 'ok';
  } catch (error) {
    $('metrics-updated').textContent = `metrics unavailable (${error.message})`;
    $('metrics-updated').dataset.status = 'error';
  } finally {
    metricsInFlight = false;
  }
}

function renderMetrics({ columns, rows, other }) {
  const table = $('metrics-table');
  table.tHead.replaceChildren(h('tr', {}, h('th', {}, 'operation'), columns.map((column) => h('th', { scope: 'col' }, column.replace(/_/g, ' ')))));
  const body = table.tBodies[0];
  if (rows.size === 0) {
    body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: columns.length + 1 }, 'no operation metrics yet')));
  } else {
    body.replaceChildren(...[...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([op, values]) =>
      h('tr', { dataset: { op } }, h('th', { scope: 'row' }, h('code', {}, op)),
        columns.map((column) => h('td', { dataset: { metric: column } }, column in values ? formatNumber(values[column]) : '–')))));
  }
  const names = new Set(other.map((sample) => sample.name));
  $('metrics-server').textContent = other.map((sample) => {
    const labels = Object.entries(sample.labels).map(([key, value]) => `${key}=${value}`).join(',');
    // A gauge beside its counter (`router_sessions_detached` / `…_total`) is the current value.
    const now = names.has(`${sample.name}_total`) ? ' now' : '';
    return `${shortName(sample.name).replace(/_/g, ' ')}${now}${labels ? ` {${labels}}` : ''}: ${formatNumber(sample.value)}`;
  }).join(' · ');
}

refreshMetrics();
setInterval(refreshMetrics, numberParam('metricsMs', 5000));

// MARK: Server info (from welcome)

function renderServerInfo(welcome) {
  if (!welcome) return;
  const entries = [
    ['session', welcome.session],
    ['heartbeat', welcome.heartbeat && `${formatMs(welcome.heartbeat.interval)} (+${formatMs(welcome.heartbeat.timeout)})`],
    ['compression', welcome.compression],
    ...Object.entries(welcome.limits || {}).map(([key, value]) => [key, formatNumber(value)]),
  ].filter(([, value]) => value !== undefined && value !== null);
  $('server-details').replaceChildren(...entries.flatMap(([key, value]) => [h('dt', {}, key), h('dd', {}, value)]));
  $('operations-list').replaceChildren(...(welcome.operations || []).map((op) => h('li', { dataset: { type: op.type } },
    h('code', {}, op.type), ` → ${op.prefix}_* · timeout ${formatMs(op.timeout)} · `,
    h('span', { class: 'stage-names' }, (op.stages || []).join(' → ')))));
  for (const [panel, type] of [['search', 'memory_search'], ['compress', 'context_compress'], ['stream', 'memory_stream']]) {
    const available = client.operations.has(type);
    $(`${panel}-panel`).dataset.available = String(available);
    const status = $(`${panel}-status`).dataset.status;
    if (!available && status === 'idle') setStatus(`${panel}-status`, 'unavailable', `${type} is not enabled on this server`);
    if (available && status === 'unavailable') setStatus(`${panel}-status`, 'idle');
  }
}

renderConnection({ state: client.state });
