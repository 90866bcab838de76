// Vigil's live dashboard: one WebSocket to /v1/stream (protocol: src/server/frames.ts,
// docs/stream.md), KPI tiles from `kpi` frames and a server-side-filtered alert feed.
// A plain browser module served as-is (no build step); the CSP allows only 'self' scripts,
// so nothing here relies on inline code, and all DOM text goes in through textContent.

import { ALERT_TYPES } from './alert-types.js';
import { axisStyle, mountChart, remScale } from './chart.js';
import { startCampaigns } from './campaigns.js';
import { startClusters } from './clusters.js';
import { startForecasts } from './forecast.js';

const SUBPROTOCOL = 'vigil.v1.json';
const BEARER_PREFIX = 'vigil.bearer.';
const TOKEN_KEY = 'vigil.token';
/** Rows kept in the DOM: a wall screen shows the newest; older ones live on the server's ring. */
const MAX_ROWS = 200;
/** Alerts asked for when a subscription starts fresh, so the feed is not empty. */
const REPLAY = 100;
const MAX_GAP_NOTICES = 3;
/**
 * Filter changes are applied at most this often (each is an unsubscribe and a subscribe),
 * the latest winning: the server rations client frames and closes a connection that keeps
 * exceeding the ration, so quick clicks must not cost the screen its connection.
 */
const MIN_APPLY_GAP_MS = 500;
/** Chart history: about five minutes. */
const HISTORY_SECONDS = 300;
/** No frame for this long (heartbeats included) means the connection is dead. */
const SILENCE_MS = 20_000;
const BACKOFF = { baseMs: 500, maxMs: 30_000 };
/** The server's token check: 200 with the token's name and scope, 401 for a refused token. */
const AUTH_PROBE = '/v1/token';
/** Used before the server's hello names the types this token may see. */
const DEFAULT_TYPES = ALERT_TYPES.map((t) => t.type);
/** Each type's badge, from the registry of alert types (alert-types.js is generated from it). */
const TYPE_BADGES = new Map(ALERT_TYPES.map((t) => [t.type, t]));

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

// --- token: from the URL fragment once, then sessionStorage (a reload keeps working) ------

function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromHash = params.get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    // Off the address bar and out of the history: a screenshot of the wall shows no secret.
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

// --- state --------------------------------------------------------------------------------

const state = {
  token: takeToken(),
  ws: null,
  /** Counts connection attempts: a close handled after a newer attempt began must not retry. */
  epoch: 0,
  attempt: 0,
  retryTimer: 0,
  silenceTimer: 0,
  /** True once a hello arrived on the current socket (a close before it may be a refusal). */
  greeted: false,
  authFailed: false,
  types: DEFAULT_TYPES,
  /** Each filter change is a new subscription id, so frames of the old one are told apart. */
  generation: 0,
  subId: 'feed-0',
  filter: {},
  /** Highest alert seq shown by the current subscription (a copy at or below it is dropped). */
  lastSeq: 0,
  /**
   * Every alert up to this seq has reached the current subscription or been named in a gap:
   * what a reconnect resumes after. Frames on one socket arrive in order, so a heartbeat's
   * seq counts once our `subscribed` came (earlier ones may predate the subscription).
   */
  through: 0,
  subscribed: false,
  serverSeq: 0,
  /** Alerts received but not yet drawn (drawn once per animation frame). */
  pending: [],
  drawScheduled: false,
  series: { t: [], eps: [], rev: [] },
  charts: { eps: null, rev: null },
  knownSegments: new Set(),
};

// --- connection ---------------------------------------------------------------------------

function streamUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/v1/stream`;
}

function setStatus(kind, text) {
  const el = $('conn-status');
  el.dataset.state = kind;
  el.className = `conn conn-${kind}`;
  el.textContent = text ?? kind;
}

function connect() {
  clearTimeout(state.retryTimer);
  if (!state.token) {
    state.authFailed = true;
    setStatus('auth-failed', 'auth failed: no token');
    notice('error', 'No access token. Open the address that `npm start` printed (…/#token=…).', 'auth');
    return;
  }
  setStatus(
    state.attempt === 0 ? 'connecting' : 'reconnecting',
    state.attempt === 0 ? 'connecting' : `reconnecting (${state.attempt})`,
  );
  let ws;
  state.epoch++;
  try {
    ws = new WebSocket(streamUrl(), [SUBPROTOCOL, BEARER_PREFIX + state.token]);
  } catch {
    // A token with characters a subprotocol cannot carry: no server would accept it.
    authFailed('the token has characters a WebSocket subprotocol cannot carry');
    return;
  }
  state.ws = ws;
  state.greeted = false;
  ws.onopen = () => armSilence();
  ws.onmessage = (ev) => {
    if (ws !== state.ws) return;
    armSilence();
    let frame;
    try {
      frame = JSON.parse(ev.data);
    } catch {
      return; // not ours to crash on; the server only sends JSON on this subprotocol
    }
    onFrame(frame);
  };
  ws.onclose = (ev) => onClose(ws, ev);
}

function armSilence() {
  clearTimeout(state.silenceTimer);
  state.silenceTimer = setTimeout(dropSocket, SILENCE_MS);
}

/** Stops listening to a socket and closes it, without waiting for its closing handshake. */
function abandon(ws) {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.close();
}

/**
 * Gives up on the current socket and retries on backoff. For a connection that went quiet
 * or a browser that lost its network: such a socket may linger for minutes before closing.
 */
function dropSocket() {
  const ws = state.ws;
  if (ws === null) return;
  abandon(ws);
  onClose(ws, { code: 1006 });
}

/** Attempts fail fast while offline; `online` retries at once instead of waiting out the backoff. */
function onOffline() {
  if (!state.authFailed) dropSocket();
}

/** A new `#token=` pasted into an open screen: use it, from a clean start. */
function onHashChange() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return;
  state.token = takeToken();
  state.authFailed = false;
  clearNotice('auth');
  if (state.ws !== null) abandon(state.ws);
  state.ws = null;
  clearTimeout(state.silenceTimer);
  restartFeed();
  state.attempt = 0;
  connect();
}

function onOnline() {
  if (state.ws !== null || state.authFailed) return;
  state.attempt = 0;
  connect();
}

async function onClose(ws, ev) {
  if (ws !== state.ws) return;
  clearTimeout(state.silenceTimer);
  state.ws = null;
  const epoch = state.epoch;
  // A refused handshake reaches a browser only as close code 1006; ask over HTTP whether
  // the token is the reason, so a wrong token says so instead of retrying for ever.
  const refused = !state.greeted && (await tokenRefused());
  if (epoch !== state.epoch) return; // `online` or a new token started another attempt meanwhile
  if (refused) {
    authFailed('the server refused the token');
    return;
  }
  state.attempt++;
  const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** (state.attempt - 1));
  const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: a wall of screens does not reconnect in step
  setStatus('reconnecting', `reconnecting in ${Math.ceil(delay / 1000)}s`);
  if (ev.code === 4008) notice('warn', 'The server dropped this screen for reading too slowly; resuming.', 'slow');
  state.retryTimer = setTimeout(connect, delay);
}

/**
 * True when the server answers 401/403 for this token (false when it cannot be reached).
 * The customer endpoint authenticates before it looks anything up, so it answers that.
 */
async function tokenRefused() {
  try {
    const res = await fetch(AUTH_PROBE, { headers: { authorization: `Bearer ${state.token}` }, cache: 'no-store' });
    return res.status === 401 || res.status === 403;
  } catch {
    return false;
  }
}

function authFailed(why) {
  state.authFailed = true;
  setStatus('auth-failed', 'auth failed');
  notice('error', `Not authorised: ${why}. Open the address that \`npm start\` printed (…/#token=…).`, 'auth');
}

function send(frame) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function subscribe(fresh) {
  const frame = { type: 'subscribe', id: state.subId };
  if (Object.keys(state.filter).length > 0) frame.filter = state.filter;
  if (!fresh && state.through > 0) frame.since = state.through;
  else frame.replay = REPLAY;
  send(frame);
}

// --- frames -------------------------------------------------------------------------------

function onFrame(f) {
  switch (f.type) {
    case 'hello':
      state.greeted = true;
      state.attempt = 0;
      clearNotice('auth');
      clearNotice('slow');
      setStatus('connected', 'connected');
      // A seq behind ours means a restarted server numbering afresh: resuming would skip its alerts.
      if (f.seq < state.through) restartFeed();
      state.serverSeq = f.seq;
      state.subscribed = false;
      if (Array.isArray(f.types)) setTypes(f.types);
      subscribe(state.through === 0);
      showSeq();
      break;
    case 'alert':
      if (f.sub !== state.subId || f.seq <= state.lastSeq) break; // an old subscription's, or a copy
      state.lastSeq = f.seq;
      state.through = Math.max(state.through, f.seq);
      if (f.seq > state.serverSeq) state.serverSeq = f.seq;
      enqueue(f);
      break;
    case 'subscribed':
      if (f.sub !== state.subId) break;
      state.subscribed = true;
      state.through = Math.max(state.through, f.seq);
      state.serverSeq = Math.max(state.serverSeq, f.seq);
      showSeq();
      break;
    case 'heartbeat':
      if (state.subscribed) state.through = Math.max(state.through, f.seq);
      state.serverSeq = f.seq;
      showSeq();
      break;
    case 'kpi':
      onKpi(f);
      break;
    case 'gap':
      if (f.sub !== undefined && f.sub !== state.subId) break;
      gapNotice(f);
      break;
    case 'error':
      notice('error', `${f.code}: ${f.message}`, 'stream-error');
      break;
    default:
      break; // pong and future frame types
  }
}

function showSeq() {
  $('last-seq').textContent =
    state.serverSeq > state.lastSeq ? `${state.lastSeq} / ${state.serverSeq}` : String(state.lastSeq);
}

// --- KPI tiles ----------------------------------------------------------------------------

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function ms(v) {
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : integer.format(v);
}

function pct(num, den) {
  return den > 0 ? `${oneDecimal.format((100 * num) / den)}%` : '–';
}

function onKpi(k) {
  $('events-per-second').textContent = integer.format(k.eventsPerSecond);
  $('revenue-per-minute').textContent = money.format(k.revenuePerMinute);
  $('revenue-currency').textContent = k.revenueCurrency ?? '';
  $('latency-p50').textContent = ms(k.latencyMs.p50);
  $('latency-p99').textContent = ms(k.latencyMs.p99);
  $('customers').textContent = integer.format(k.customers);
  for (const outcome of ['applied', 'duplicate', 'late', 'rejected'])
    $(`outcome-${outcome}`).textContent = compact(k.outcomes[outcome], integer);
  $('latency-p999').textContent = ms(k.latencyMs.p999);
  $('event-time').textContent = k.eventTime === null ? '–' : utc(k.eventTime).slice(0, 16);
  drawFunnel(k.funnel);
  drawBars($('segments'), k.segments, 'segment');
  drawCounts(k.alerts);
  for (const s of Object.keys(k.segments)) if (s !== 'unscored') addSegment(s); // no alert carries that segment
  pushPoint(k.at / 1000, k.eventsPerSecond, k.revenuePerMinute);
}

function drawFunnel(f) {
  const steps = ['views', 'carts', 'checkouts', 'purchases'];
  const top = Math.max(1, f.views);
  let previous = null;
  for (const step of steps) {
    const li = document.querySelector(`[data-testid="funnel"] [data-step="${step}"]`);
    li.querySelector('.count').textContent = integer.format(f[step]);
    li.querySelector('.fill').style.width = `${Math.min(100, (100 * f[step]) / top)}%`;
    li.querySelector('.conv').textContent = previous === null ? '' : pct(f[step], f[previous]);
    previous = step;
  }
  $('funnel-overall').textContent = pct(f.purchases, f.views);
}

/** Horizontal bars, one per key, largest first; rows are reused so the screen does not flicker. */
function drawBars(list, record, kind) {
  const entries = Object.entries(record).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((s, [, v]) => s + v, 0);
  const top = Math.max(1, entries[0]?.[1] ?? 1);
  const rows = new Map([...list.children].map((li) => [li.dataset.key, li]));
  entries.forEach(([key, value], i) => {
    let li = rows.get(key);
    if (!li) {
      li = document.createElement('li');
      li.dataset.key = key;
      li.dataset.testid = `${kind}-${key}`;
      li.append(span('name', key), bar(), span('value mono'), span('share mono'));
    }
    rows.delete(key);
    li.querySelector('.value').textContent = integer.format(value);
    li.querySelector('.share').textContent = pct(value, total);
    li.querySelector('.fill').style.width = `${(100 * value) / top}%`;
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  for (const stale of rows.values()) stale.remove();
}

function drawCounts(record) {
  const list = $('alert-counts');
  for (const type of new Set([...state.types, ...Object.keys(record ?? {})])) {
    let li = list.querySelector(`[data-type="${CSS.escape(type)}"]`);
    if (!li) {
      li = document.createElement('li');
      li.dataset.type = type;
      const value = span('value mono');
      value.dataset.testid = `alert-count-${type}`;
      li.append(typeBadge(type), value);
      list.append(li);
    }
    // Before the first kpi frame there is nothing to count: a dash, not a zero that looks like data.
    li.querySelector('.value').textContent = record === null ? '–' : integer.format(record[type] ?? 0);
  }
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  if (text !== undefined) s.textContent = text;
  return s;
}

function bar() {
  const b = span('bar');
  b.append(span('fill'));
  return b;
}

// --- charts (uPlot) -----------------------------------------------------------------------

function pushPoint(t, eps, rev) {
  const s = state.series;
  s.t.push(t);
  s.eps.push(eps);
  s.rev.push(rev);
  while (s.t.length > 0 && s.t[0] < t - HISTORY_SECONDS) {
    s.t.shift();
    s.eps.shift();
    s.rev.shift();
  }
  if (typeof globalThis.uPlot !== 'function') return; // charts are a bonus; numbers still show
  state.charts.eps ??= makeChart($('events-chart'), '#4cc9f0', integer);
  state.charts.rev ??= makeChart($('revenue-chart'), '#80ed99', money);
  state.charts.eps.setData([s.t, s.eps]);
  state.charts.rev.setData([s.t, s.rev]);
}

function makeChart(el, color, fmt) {
  const rem = remScale();
  const axis = axisStyle(rem);
  const opts = {
    width: el.clientWidth || 400,
    height: el.clientHeight || 140,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
    axes: [
      // Whole seconds and up, as wall-clock HH:MM:SS (uPlot's default adds date lines and sub-second ticks).
      {
        ...axis,
        space: 90 * rem,
        size: 40 * rem,
        incrs: [1, 5, 10, 15, 30, 60, 120, 300],
        values: (_u, ticks) => ticks.map(clock),
      },
      {
        ...axis,
        size: 64 * rem,
        values: (_u, ticks) => ticks.map((v) => compact(v, v === 0 || v >= 100 ? integer : fmt)),
      },
    ],
    series: [{}, { stroke: color, width: 2 * rem, fill: `${color}22`, points: { show: false } }],
  };
  return mountChart(el, opts, [[], []], 140);
}

const clockFormat = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

function clock(seconds) {
  return clockFormat.format(new Date(seconds * 1000));
}

function compact(v, fmt) {
  if (v >= 1e6) return `${oneDecimal.format(v / 1e6)}M`;
  if (v >= 1e5) return `${integer.format(v / 1e3)}k`;
  if (v >= 1e4) return `${oneDecimal.format(v / 1e3)}k`;
  return fmt.format(v);
}

// --- alert feed ---------------------------------------------------------------------------

function enqueue(frame) {
  state.pending.push(frame);
  // Only the newest MAX_ROWS can be shown, so a burst never builds up more than that.
  if (state.pending.length > MAX_ROWS) state.pending.splice(0, state.pending.length - MAX_ROWS);
  if (!state.drawScheduled) {
    state.drawScheduled = true;
    requestAnimationFrame(drawPending);
  }
}

function drawPending() {
  state.drawScheduled = false;
  const feed = $('alert-feed');
  const batch = document.createDocumentFragment();
  // Newest first: the last received goes on top.
  for (let i = state.pending.length - 1; i >= 0; i--) batch.append(row(state.pending[i]));
  state.pending = [];
  feed.prepend(batch);
  while (feed.children.length > MAX_ROWS) feed.lastElementChild.remove();
  $('feed-count').textContent = String(feed.children.length);
  showSeq();
}

function row({ seq, alert: a }) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'alert-row';
  tr.dataset.type = a.type;
  tr.dataset.severity = a.severity;
  tr.dataset.seq = String(seq);
  tr.className = `sev-${a.severity}`;
  const cells = [
    td('mono time', utc(a.ts)),
    td('', null, typeBadge(a.type)),
    td('', null, span(`sev sev-badge-${a.severity}`, a.severity)),
    td('mono num', a.score.toFixed(2)),
    td('segment', a.segment ?? '–'),
    // Demand alerts are about a category, not a customer.
    td('mono customer', a.customerId ?? `category ${a.data.category}`),
    td('reasons', null, reasons(a.reasons)),
  ];
  tr.append(...cells);
  return tr;
}

function td(cls, text, child) {
  const c = document.createElement('td');
  if (cls) c.className = cls;
  if (text !== null && text !== undefined) c.textContent = text;
  if (child) c.append(child);
  return c;
}

function reasons(list) {
  const ul = document.createElement('ul');
  ul.dataset.testid = 'alert-reasons';
  for (const r of list) {
    const li = document.createElement('li');
    li.textContent = r;
    ul.append(li);
  }
  return ul;
}

/** The type's name in a badge of its colour, its label as the tooltip; a type the registry lacks keeps the plain badge. */
function typeBadge(type) {
  const badge = span('type', type);
  const known = TYPE_BADGES.get(type);
  if (known) {
    badge.style.borderLeftColor = known.colour;
    badge.title = known.label;
  }
  return badge;
}

function utc(ts) {
  return new Date(ts).toISOString().replace('T', ' ').slice(0, 19);
}

// --- filter bar ---------------------------------------------------------------------------

function setTypes(types) {
  state.types = types;
  const box = $('filter-types');
  const ticked = new Set(state.filter.types ?? []);
  for (const old of box.querySelectorAll('label')) old.remove();
  for (const type of types) {
    const label = document.createElement('label');
    label.className = 'type-choice';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.name = 'type';
    input.value = type;
    input.checked = ticked.has(type);
    input.dataset.testid = `filter-type-${type}`;
    label.append(input, typeBadge(type));
    box.append(label);
  }
}

function addSegment(segment) {
  if (state.knownSegments.has(segment)) return;
  state.knownSegments.add(segment);
  const select = $('filter-segment');
  const option = document.createElement('option');
  option.value = segment;
  option.textContent = segment;
  select.append(option);
}

function readFilter(form) {
  const data = new FormData(form);
  const filter = {};
  const types = data.getAll('type').map(String);
  if (types.length > 0) filter.types = types;
  const minSeverity = String(data.get('minSeverity') ?? '');
  if (minSeverity) filter.minSeverity = minSeverity;
  const minScore = Number(data.get('minScore'));
  if (data.get('minScore') !== '' && Number.isFinite(minScore) && minScore > 0) filter.minScore = Math.min(1, minScore);
  const segment = String(data.get('segment') ?? '');
  if (segment) filter.segments = [segment];
  return filter;
}

function describe(filter) {
  const parts = [];
  if (filter.types) parts.push(filter.types.join(', '));
  if (filter.minSeverity) parts.push(`≥ ${filter.minSeverity}`);
  if (filter.minScore !== undefined) parts.push(`score ≥ ${filter.minScore}`);
  if (filter.segments) parts.push(`segment ${filter.segments.join(', ')}`);
  return parts.length > 0 ? parts.join(' · ') : 'all alerts';
}

/** The server does the filtering: drop the old subscription, start one with the filter. */
function applyFilter(filter) {
  send({ type: 'unsubscribe', id: state.subId });
  state.generation++;
  state.subId = `feed-${state.generation}`;
  state.filter = filter;
  clearNotice('stream-error');
  restartFeed();
  $('filter-summary').textContent = describe(filter);
  subscribe(true); // with replay, so the feed refills from the server's recent alerts
  showSeq();
}

function restartFeed() {
  state.lastSeq = 0;
  state.through = 0;
  state.subscribed = false;
  state.pending = [];
  $('alert-feed').replaceChildren();
  $('feed-count').textContent = '0';
  clearNotice('gap');
}

const pacing = { timer: 0, lastAt: -Infinity, next: null };

function requestFilter(filter) {
  pacing.next = filter;
  clearTimeout(pacing.timer);
  const wait = Math.max(0, pacing.lastAt + MIN_APPLY_GAP_MS - performance.now());
  pacing.timer = setTimeout(() => {
    pacing.lastAt = performance.now();
    applyFilter(pacing.next);
  }, wait);
}

function wireFilters() {
  const form = $('filter-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    requestFilter(readFilter(form));
  });
  // The form's fields are reset after this event, so the empty filter is requested, not read.
  form.addEventListener('reset', () => requestFilter({}));
}

// --- notices ------------------------------------------------------------------------------

function notice(level, text, key) {
  const box = $('notices');
  let el = box.querySelector(`[data-key="${key}"]`);
  if (!el) {
    el = document.createElement('div');
    el.dataset.key = key;
    el.dataset.testid = `notice-${key}`;
    box.append(el);
  }
  el.className = `notice notice-${level}`;
  el.textContent = text;
}

function clearNotice(key) {
  for (const el of $('notices').querySelectorAll(`[data-key="${key}"]`)) el.remove();
}

/** Gaps stack (a resume can meet one that aged out and then one for reading too slowly); the last few stay. */
function gapNotice(f) {
  const why =
    f.reason === 'aged_out'
      ? 'they aged out of the server’s buffer while this screen was away'
      : 'this screen fell behind and the server skipped them';
  const el = document.createElement('div');
  el.className = 'notice notice-warn';
  el.dataset.key = 'gap';
  el.dataset.testid = 'notice-gap';
  el.dataset.reason = f.reason;
  el.dataset.from = String(f.from);
  el.dataset.to = String(f.to);
  el.textContent = `Missed ${integer.format(f.to - f.from + 1)} alerts (#${f.from}–#${f.to}): ${why}.`;
  const box = $('notices');
  box.append(el);
  const gaps = box.querySelectorAll('[data-key="gap"]');
  for (let i = 0; i < gaps.length - MAX_GAP_NOTICES; i++) gaps[i].remove();
}

// --- start --------------------------------------------------------------------------------

setTypes(DEFAULT_TYPES);
drawCounts(null);
wireFilters();
addEventListener('offline', onOffline);
addEventListener('online', onOnline);
addEventListener('hashchange', onHashChange);
connect();
startForecasts(() => state.token);
startCampaigns(() => state.token);
startClusters(() => state.token);
