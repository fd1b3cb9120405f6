/**
 * The toniq admin web UI: one page, no framework, no build step.
 *
 * 1. Routes on the URL's hash (#/, #/processes, #/jobs/<state>?worker=&search=&page=, #/job/<id>),
 *    so the page works under whatever base path the app mounts the handler on.
 * 2. Reads the JSON API with relative URLs (./api/…) and polls it every 2 s while the tab is visible.
 * 3. Sends actions (retry, delete, run now) as JSON POSTs carrying the CSRF token from the page's
 *    <meta name="toniq-csrf">, after a confirm() dialog; shows what was done in a notice.
 * 4. Puts every value that comes from a job or a process into the DOM as text (createElement and
 *    textContent through `h` below), never as HTML, so arguments like <script>…</script> show as text.
 *    Nothing here assigns innerHTML, outerHTML or insertAdjacentHTML.
 */

const PAGE_SIZE = 50;
const POLL_MS = 2000;
const STATES = ['running', 'waiting', 'delayed', 'failed'];
const SVG_NS = 'http://www.w3.org/2000/svg';

const csrfToken = metaContent('toniq-csrf');
const readOnly = metaContent('toniq-read-only') === 'true';
const numberFormat = new Intl.NumberFormat('en-US');

function metaContent(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

// ---------------------------------------------------------------------------------------------
// DOM helpers. Children that are strings or numbers become text nodes; attributes are set with
// setAttribute (never a way into HTML parsing), and `on…` keys add event listeners.

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'className') {
      el.setAttribute('class', value);
    } else if (key === 'checked' || key === 'disabled' || key === 'value') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function formatCount(n) {
  return numberFormat.format(n);
}

function plural(n, word) {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** "3 s", "5 min", "2 h", "4 d": the size of a duration in milliseconds. */
function formatDuration(ms) {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${Math.round(abs / 1000)} s`;
  if (abs < 3_600_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 86_400_000) return `${Math.round(abs / 3_600_000)} h`;
  return `${Math.round(abs / 86_400_000)} d`;
}

function formatRelative(iso) {
  const ms = Date.parse(iso) - Date.now();
  if (Number.isNaN(ms)) return '—';
  if (Math.abs(ms) < 1000) return 'now';
  return ms < 0 ? `${formatDuration(ms)} ago` : `in ${formatDuration(ms)}`;
}

function formatAbsolute(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** Brings the "5 min ago" texts under `root` up to date. */
function refreshTimes(root) {
  for (const el of root.querySelectorAll('time[datetime]')) {
    const text = formatRelative(el.getAttribute('datetime'));
    if (el.textContent !== text) el.textContent = text;
  }
}

/** A time shown as "5 min ago", with the exact time on hover. */
function timeCell(iso) {
  if (!iso) return h('span', { className: 'muted' }, '—');
  return h('time', { datetime: iso, title: `${formatAbsolute(iso)} (${iso})` }, formatRelative(iso));
}

function stateBadge(state) {
  return h('span', { className: `badge badge-${state}`, 'data-testid': 'state-badge' }, state);
}

function jobHref(id) {
  return `#/job/${encodeURIComponent(id)}`;
}

function listHref(state, { worker, search, page } = {}) {
  const params = new URLSearchParams();
  if (worker) params.set('worker', worker);
  if (search) params.set('search', search);
  if (page && page > 1) params.set('page', String(page));
  const query = params.toString();
  return `#/jobs/${state}${query ? `?${query}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The JSON API.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-CSRF-Token'] = csrfToken;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `Cannot reach the admin server (${error.message}).`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: a proxy's error page, say. The status says enough below.
  }
  if (!response.ok) {
    const error = data?.error;
    throw new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `The admin server answered ${response.status} ${response.statusText}.`,
    );
  }
  return data;
}

function describeApiError(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${error?.message ?? error}`;
  if (error.status === 0) return error.message;
  return `${error.message} (${error.status}${error.code ? ` ${error.code}` : ''})`;
}

// ---------------------------------------------------------------------------------------------
// Banner (API errors), notice (results of actions) and the "live" indicator.

const banner = {
  sources: new Map(),
  set(source, error) {
    if (error) this.sources.set(source, describeApiError(error));
    else this.sources.delete(source);
    const el = document.getElementById('banner');
    el.replaceChildren();
    const messages = [...new Set(this.sources.values())];
    for (const message of messages) el.append(h('div', {}, message));
    el.hidden = messages.length === 0;
    setLive(messages.length === 0);
  },
  clearAll() {
    this.sources.clear();
    this.set('', null);
  },
};

function setLive(ok) {
  const live = document.getElementById('live');
  const text = document.getElementById('live-text');
  live.classList.toggle('live-error', !ok);
  // The figures on the page are from the last answer: dim them while the API fails.
  document.body.classList.toggle('stale-data', !ok);
  live.classList.toggle('live-paused', document.visibilityState !== 'visible');
  if (!ok) text.textContent = 'no connection';
  else if (document.visibilityState !== 'visible') text.textContent = 'paused';
  else text.textContent = `live · ${new Date().toLocaleTimeString()}`;
}

function showNotice(text, kind = 'success') {
  const notice = document.getElementById('notice');
  notice.className = `notice notice-${kind}`;
  notice.dataset.kind = kind;
  document.getElementById('notice-text').textContent = text;
  notice.hidden = false;
}

function hideNotice() {
  document.getElementById('notice').hidden = true;
}

/** What each action is called in a question, a result and an error, and the state it needs. */
const ACTIONS = {
  retry: { failed: 'Retry', done: (n) => `Retried ${plural(n, 'job')}.`, from: 'failed' },
  delete: { failed: 'Delete', done: (n) => `Deleted ${plural(n, 'job')}.`, from: 'failed' },
  'run-now': {
    failed: 'Run now',
    done: (n) => `${plural(n, 'job')} will run now.`,
    from: 'delayed',
  },
};

/** "Retried 2 jobs." plus what was missing or refused, as one notice. */
function reportResult(action, result) {
  const { done: doneText, from } = ACTIONS[action];
  const done = result.done?.length ?? 0;
  const missing = result.missing ?? [];
  const refused = result.refused ?? [];
  const parts = [doneText(done)];
  if (missing.length > 0) {
    parts.push(
      `${plural(missing.length, 'job')} ${missing.length === 1 ? 'was' : 'were'} no longer ${from}: ${missing.join(', ')}.`,
    );
  }
  if (refused.length > 0) {
    parts.push(`Refused: ${refused.map((r) => `${r.id} (${r.reason})`).join('; ')}.`);
  }
  const kind = refused.length > 0 || missing.length > 0 || done === 0 ? 'warning' : 'success';
  showNotice(parts.join(' '), kind);
}

/**
 * Asks, then POSTs an action; shows the outcome. Returns the result, or null when the person
 * said no or the request failed (the notice says why).
 */
async function runAction(action, question, body) {
  if (!window.confirm(question)) return null;
  try {
    const result = await api(`./api/jobs/${action}`, { method: 'POST', body });
    reportResult(action, result);
    return result;
  } catch (error) {
    showNotice(`${ACTIONS[action].failed} failed: ${describeApiError(error)}`, 'error');
    return null;
  }
}

function actionQuestion(action, what) {
  if (action === 'run-now') return `Run ${what} now, without waiting for the due time?`;
  if (action === 'delete') return `Delete ${what}? This cannot be undone.`;
  return `Retry ${what}?`;
}

// ---------------------------------------------------------------------------------------------
// Polling: one loop per thing polled, paused while the tab is hidden.

class Poller {
  #fn;
  #timer = null;
  #stopped = false;
  #running = false;
  #again = false;

  constructor(fn) {
    this.#fn = fn;
    this.onVisibility = () => {
      if (document.visibilityState === 'visible') this.now();
    };
    document.addEventListener('visibilitychange', this.onVisibility);
    this.now();
  }

  /** Runs at once (or right after the run under way, whose answer may predate an action) and then every POLL_MS. */
  async now() {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = true;
    try {
      await this.#fn();
    } finally {
      this.#running = false;
      if (!this.#stopped && document.visibilityState === 'visible') {
        this.#timer = setTimeout(() => this.now(), this.#again ? 0 : POLL_MS);
      }
      this.#again = false;
    }
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }
}

// The stats feed the nav's counts, the overview, the tabs and the worker filter of the job lists.
const statsFeed = {
  latest: null,
  listeners: new Set(),
  poller: null,
  start() {
    this.poller = new Poller(async () => {
      try {
        this.latest = await api('./api/stats');
        banner.set('stats', null);
      } catch (error) {
        banner.set('stats', error);
        return;
      }
      updateNavCounts(this.latest);
      for (const listener of this.listeners) listener(this.latest);
    });
  },
  subscribe(listener) {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest);
    return () => this.listeners.delete(listener);
  },
  refresh() {
    return this.poller?.now();
  },
};

function updateNavCounts(stats) {
  for (const el of document.querySelectorAll('[data-count]')) {
    const n = stats.totals[el.dataset.count] ?? 0;
    el.textContent = n > 0 ? formatCount(n) : '';
    el.classList.toggle('nav-count-alert', el.dataset.count === 'failed' && n > 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Router.

function parseRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { view: 'overview', nav: 'overview' };
  if (parts[0] === 'processes' && parts.length === 1) return { view: 'processes', nav: 'processes' };
  if (parts[0] === 'jobs' && parts.length === 2 && STATES.includes(parts[1])) {
    const page = Number.parseInt(params.get('page') ?? '1', 10);
    return {
      view: 'jobs',
      nav: parts[1],
      state: parts[1],
      worker: params.get('worker') ?? '',
      search: params.get('search') ?? '',
      page: Number.isFinite(page) && page >= 1 ? page : 1,
    };
  }
  if (parts[0] === 'job' && parts.length >= 2) {
    let id = parts.slice(1).join('/');
    try {
      id = decodeURIComponent(id);
    } catch {
      // Keep the raw text: the API will answer 404.
    }
    return { view: 'job', nav: null, id };
  }
  return { view: 'not-found', nav: null };
}

let currentView = null;
let keepNotice = false;

/** Goes to another page without hiding the notice of the action that led there. */
function navigateKeepingNotice(hash) {
  keepNotice = true;
  location.hash = hash;
}

function render() {
  const route = parseRoute();
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === route.nav);
    if (link.dataset.nav === route.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (currentView?.key === viewKey(route) && currentView.update) {
    currentView.update(route);
    return;
  }
  currentView?.destroy?.();
  banner.clearAll();
  if (!keepNotice) hideNotice();
  keepNotice = false;
  const main = document.getElementById('main');
  main.replaceChildren();
  const views = { overview: overviewView, processes: processesView, jobs: jobsView, job: jobView };
  const create = views[route.view] ?? notFoundView;
  currentView = create(main, route);
  currentView.key = viewKey(route);
  document.title = `${pageTitle(route)}toniq`;
  statsFeed.refresh();
}

function pageTitle(route) {
  if (route.view === 'processes') return 'Processes · ';
  if (route.view === 'jobs') return `${capitalize(route.state)} jobs · `;
  if (route.view === 'job') return `Job ${route.id} · `;
  return '';
}

function viewKey(route) {
  return route.view === 'jobs' ? `jobs:${route.state}` : `${route.view}:${route.id ?? ''}`;
}

function notFoundView(main) {
  main.append(
    h(
      'div',
      { className: 'empty' },
      h('h1', {}, 'Page not found'),
      h('p', {}, h('a', { href: '#/' }, 'Back to the overview')),
    ),
  );
  return {};
}

// ---------------------------------------------------------------------------------------------
// Overview: count cards, the throughput chart, a table per worker and per process.

function overviewView(main) {
  const cards = h('div', { className: 'cards' });
  const cardValues = {};
  for (const state of STATES) {
    const value = h('span', { className: 'card-value', 'data-testid': `count-${state}-value` }, '–');
    cardValues[state] = value;
    cards.append(
      h(
        'a',
        { className: `card card-${state}`, href: listHref(state), 'data-testid': `count-${state}` },
        value,
        h('span', { className: 'card-label' }, state),
      ),
    );
  }
  const chart = throughputChart();
  const workersBody = h(
    'div',
    { 'data-testid': 'workers-table' },
    h('p', { className: 'loading' }, 'Loading…'),
  );
  const processesBody = h(
    'div',
    { 'data-testid': 'processes-table' },
    h('p', { className: 'loading' }, 'Loading…'),
  );
  main.append(
    h('h1', { className: 'visually-hidden' }, 'Overview'),
    cards,
    h(
      'section',
      { className: 'panel' },
      h('div', { className: 'panel-head' }, h('h2', {}, 'Jobs finished and failed per second'), chart.legend),
      chart.el,
    ),
    h(
      'div',
      { className: 'columns' },
      h(
        'section',
        { className: 'panel' },
        h('div', { className: 'panel-head' }, h('h2', {}, 'Workers')),
        workersBody,
      ),
      h(
        'section',
        { className: 'panel' },
        h(
          'div',
          { className: 'panel-head' },
          h('h2', {}, 'Processes'),
          h('a', { href: '#/processes', className: 'panel-link' }, 'Details →'),
        ),
        processesBody,
      ),
    ),
  );

  // Tables are redrawn only when their figures change, so links under the pointer stay put.
  let shown = { workers: '', processes: '' };
  const unsubscribe = statsFeed.subscribe((stats) => {
    for (const state of STATES) cardValues[state].textContent = formatCount(stats.totals[state]);
    const next = {
      workers: JSON.stringify(stats.workers),
      processes: JSON.stringify(stats.processes.map(({ heartbeatAge, ...rest }) => rest)),
    };
    if (next.workers !== shown.workers) workersBody.replaceChildren(workersTable(stats.workers));
    if (next.processes !== shown.processes)
      processesBody.replaceChildren(processesSummaryTable(stats.processes));
    shown = next;
  });
  const throughput = new Poller(async () => {
    try {
      chart.update(await api('./api/throughput?seconds=3600'));
      banner.set('throughput', null);
    } catch (error) {
      banner.set('throughput', error);
    }
  });
  const onResize = () => chart.redraw();
  window.addEventListener('resize', onResize);
  return {
    destroy() {
      unsubscribe();
      throughput.stop();
      window.removeEventListener('resize', onResize);
    },
  };
}

function countLink(n, state, worker) {
  if (n === 0) return h('span', { className: 'zero' }, '0');
  return h('a', { href: listHref(state, { worker }), className: `count-${state}` }, formatCount(n));
}

function workersTable(workers) {
  if (workers.length === 0) {
    return h(
      'p',
      { className: 'empty-small' },
      'No workers yet: no job has been enqueued and no process registers one.',
    );
  }
  return tableWrap(
    'table',
    { className: 'table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Worker'),
        STATES.map((state) => h('th', { className: 'num' }, capitalize(state))),
      ),
    ),
    h(
      'tbody',
      {},
      workers.map((w) =>
        h(
          'tr',
          { 'data-testid': 'worker-row' },
          h('td', { className: 'mono' }, w.worker),
          STATES.map((state) => h('td', { className: 'num' }, countLink(w[state], state, w.worker))),
        ),
      ),
    ),
  );
}

function processStatus(p) {
  return h(
    'span',
    { className: `badge ${p.alive ? 'badge-alive' : 'badge-dead'}`, 'data-testid': 'process-status' },
    p.alive ? 'alive' : 'dead',
  );
}

function heartbeatText(p) {
  return p.heartbeatAge === null || p.heartbeatAge === undefined
    ? 'lapsed'
    : `${formatDuration(p.heartbeatAge)} ago`;
}

function processesSummaryTable(processes) {
  if (processes.length === 0) return h('p', { className: 'empty-small' }, 'No processes are registered.');
  return tableWrap(
    'table',
    { className: 'table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Process'),
        h('th', {}, 'Host'),
        h('th', { className: 'num' }, 'Running'),
        h('th', { className: 'num' }, 'Waiting'),
        h('th', { className: 'num' }, 'Delayed'),
        h('th', {}, 'Status'),
      ),
    ),
    h(
      'tbody',
      {},
      processes.map((p) =>
        h(
          'tr',
          { 'data-testid': 'process-row' },
          h('td', { className: 'mono ellipsis', title: p.id }, p.id),
          h('td', {}, `${p.host}:${p.pid}`),
          h('td', { className: 'num' }, formatCount(p.running)),
          h('td', { className: 'num' }, formatCount(p.waiting)),
          h('td', { className: 'num' }, formatCount(p.delayed)),
          h('td', {}, processStatus(p)),
        ),
      ),
    ),
  );
}

/** A table that scrolls sideways on a narrow screen. */
function tableWrap(...args) {
  return h('div', { className: 'table-wrap' }, h(...args));
}

function capitalize(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

// ---------------------------------------------------------------------------------------------
// The throughput chart: inline SVG drawn by hand. With more seconds than pixels, each column of
// pixels shows the busiest second it covers, so a short burst stays visible.

function throughputChart() {
  const el = h('div', { className: 'chart', 'data-testid': 'throughput-chart' });
  const tooltip = h('div', { className: 'chart-tooltip', hidden: true });
  const finishedTotal = h('span', { 'data-testid': 'throughput-finished' }, '–');
  const failedTotal = h('span', { 'data-testid': 'throughput-failed' }, '–');
  const legend = h(
    'div',
    { className: 'legend' },
    h('span', { className: 'legend-item legend-finished' }, h('i', {}), 'finished ', finishedTotal),
    h('span', { className: 'legend-item legend-failed' }, h('i', {}), 'failed ', failedTotal),
    h('span', { className: 'legend-note' }, 'in the last hour'),
  );
  let data = null;
  let svg = null;

  function update(next) {
    data = next;
    const sum = (values) => values.reduce((a, b) => a + b, 0);
    finishedTotal.textContent = formatCount(sum(data.finished));
    failedTotal.textContent = formatCount(sum(data.failed));
    redraw();
  }

  function redraw() {
    if (!data) return;
    const width = Math.max(320, Math.floor(el.clientWidth || 800));
    const height = 180;
    const pad = { left: 40, right: 8, top: 10, bottom: 22 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const n = data.seconds || data.finished.length;
    const columns = Math.max(1, Math.min(n, Math.floor(plotW / 2)));
    const perColumn = n / columns;
    const finished = [];
    const failed = [];
    for (let c = 0; c < columns; c++) {
      const from = Math.floor(c * perColumn);
      const to = Math.max(from + 1, Math.floor((c + 1) * perColumn));
      let f = 0;
      let x = 0;
      for (let i = from; i < to && i < n; i++) {
        f = Math.max(f, data.finished[i] ?? 0);
        x = Math.max(x, data.failed[i] ?? 0);
      }
      finished.push(f);
      failed.push(x);
    }
    const top = niceMax(Math.max(1, ...finished, ...failed));
    const xAt = (c) => pad.left + (c / columns) * plotW;
    const yAt = (v) => pad.top + plotH - (v / top) * plotH;
    const area = (values) => {
      let d = `M${xAt(0)},${yAt(0)}`;
      values.forEach((v, c) => {
        d += `L${xAt(c).toFixed(1)},${yAt(v).toFixed(1)}L${xAt(c + 1).toFixed(1)},${yAt(v).toFixed(1)}`;
      });
      return `${d}L${xAt(columns)},${yAt(0)}Z`;
    };

    const grid = [];
    for (const fraction of [0, 0.5, 1]) {
      const value = top * fraction;
      const y = yAt(value);
      grid.push(s('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, className: 'grid' }));
      grid.push(
        s('text', { x: pad.left - 6, y: y + 4, className: 'axis', 'text-anchor': 'end' }, formatCount(value)),
      );
    }
    const ticks = [];
    for (let minutesAgo = 60; minutesAgo >= 0; minutesAgo -= plotW < 480 ? 30 : 15) {
      const x = pad.left + plotW * (1 - minutesAgo / 60);
      const anchor = minutesAgo === 60 ? 'start' : minutesAgo === 0 ? 'end' : 'middle';
      ticks.push(
        s(
          'text',
          { x, y: height - 6, className: 'axis', 'text-anchor': anchor },
          minutesAgo === 0 ? 'now' : `−${minutesAgo} min`,
        ),
      );
    }
    const cursor = s('line', { className: 'cursor', y1: pad.top, y2: pad.top + plotH, x1: 0, x2: 0 });
    cursor.style.display = 'none';
    const hit = s('rect', { x: pad.left, y: pad.top, width: plotW, height: plotH, className: 'hit' });
    const next = s(
      'svg',
      {
        width,
        height,
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': 'Jobs finished and failed per second over the last hour',
      },
      grid,
      s('path', { d: area(finished), className: 'series-finished', 'data-testid': 'series-finished' }),
      s('path', { d: area(failed), className: 'series-failed', 'data-testid': 'series-failed' }),
      ticks,
      cursor,
      hit,
    );
    hit.addEventListener('mousemove', (event) => {
      const box = next.getBoundingClientRect();
      const x = event.clientX - box.left;
      const c = Math.min(columns - 1, Math.max(0, Math.floor(((x - pad.left) / plotW) * columns)));
      const second = Math.floor(c * perColumn);
      const at = new Date(Date.parse(data.from) + second * 1000);
      cursor.setAttribute('x1', String(x));
      cursor.setAttribute('x2', String(x));
      cursor.style.display = '';
      tooltip.replaceChildren(
        h('div', { className: 'muted' }, at.toLocaleTimeString()),
        h('div', {}, `${formatCount(finished[c])} finished/s`),
        h('div', {}, `${formatCount(failed[c])} failed/s`),
      );
      tooltip.hidden = false;
      tooltip.style.left = `${Math.min(x + 12, width - 130)}px`;
    });
    hit.addEventListener('mouseleave', () => {
      cursor.style.display = 'none';
      tooltip.hidden = true;
    });
    if (svg) svg.replaceWith(next);
    else el.append(next, tooltip);
    svg = next;
  }

  return { el, legend, update, redraw };
}

/** 1, 2, 5, 10, 20, 50 …: the smallest such number at least `value`. */
function niceMax(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

// ---------------------------------------------------------------------------------------------
// Processes.

function processesView(main) {
  const body = h('div', { 'data-testid': 'processes' }, h('p', { className: 'loading' }, 'Loading…'));
  main.append(
    h('div', { className: 'page-head' }, h('h1', {}, 'Processes')),
    h(
      'p',
      { className: 'lead' },
      'Each process that runs toniq registers here and keeps a heartbeat. When a heartbeat lapses, ' +
        'the process is dead and a live process takes over its jobs.',
    ),
    h('section', { className: 'panel' }, body),
  );
  const poller = new Poller(async () => {
    let data;
    try {
      data = await api('./api/processes');
      banner.set('processes', null);
    } catch (error) {
      banner.set('processes', error);
      return;
    }
    body.replaceChildren(processesTable(data.processes));
  });
  return { destroy: () => poller.stop() };
}

function processesTable(processes) {
  if (processes.length === 0) {
    return h(
      'p',
      { className: 'empty' },
      'No processes are registered. A process registers when toniq.start() runs.',
    );
  }
  return h(
    'div',
    { className: 'table-wrap' },
    h(
      'table',
      { className: 'table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Process', 'Host', 'PID', 'Version', 'Workers', 'Started', 'Heartbeat'].map((t) => h('th', {}, t)),
          ['Running', 'Waiting', 'Delayed'].map((t) => h('th', { className: 'num' }, t)),
          h('th', {}, 'Status'),
        ),
      ),
      h(
        'tbody',
        {},
        processes.map((p) =>
          h(
            'tr',
            { 'data-testid': 'process-row', className: p.alive ? '' : 'row-dead' },
            h('td', { className: 'mono', 'data-testid': 'process-id' }, p.id),
            h('td', {}, p.host),
            h('td', { className: 'num-left' }, String(p.pid)),
            h('td', {}, p.version),
            h('td', { className: 'workers-cell' }, p.workers.length ? p.workers.join(', ') : '—'),
            h('td', {}, timeCell(p.startedAt)),
            h('td', { 'data-testid': 'process-heartbeat' }, heartbeatText(p)),
            h('td', { className: 'num' }, formatCount(p.running)),
            h('td', { className: 'num' }, formatCount(p.waiting)),
            h('td', { className: 'num' }, formatCount(p.delayed)),
            h('td', {}, processStatus(p)),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Job lists: tabs with counts, worker filter, search, pagination, and the actions.

function jobsView(main, firstRoute) {
  let route = firstRoute;
  const state = route.state;
  const selectable = !readOnly && (state === 'failed' || state === 'delayed');
  const selected = new Set();
  let page = null;
  let lastSignature = '';
  let loadSeq = 0;

  const tabs = h(
    'nav',
    { className: 'tabs', 'aria-label': 'Job states' },
    STATES.map((st) =>
      h(
        'a',
        {
          className: `tab${st === state ? ' active' : ''}`,
          'data-tab': st,
          'data-testid': `tab-${st}`,
        },
        capitalize(st),
        ' ',
        h('span', { className: 'tab-count', 'data-tab-count': st }, ''),
      ),
    ),
  );
  const workerSelect = h(
    'select',
    {
      className: 'input',
      'data-testid': 'worker-filter',
      'aria-label': 'Worker',
      onChange: () => go({ worker: workerSelect.value, page: 1 }),
    },
    h('option', { value: '' }, 'All workers'),
  );
  const searchInput = h('input', {
    className: 'input search',
    type: 'search',
    name: 'search',
    placeholder: 'Search id, arguments or error',
    'aria-label': 'Search',
    'data-testid': 'search',
  });
  const clearLink = h('a', { className: 'clear-search', 'data-testid': 'clear-search' }, 'Clear');
  const searchForm = h(
    'form',
    {
      className: 'filters',
      role: 'search',
      onSubmit: (event) => {
        event.preventDefault();
        go({ search: searchInput.value.trim(), page: 1 });
      },
    },
    workerSelect,
    searchInput,
    h('button', { type: 'submit', className: 'button', 'data-testid': 'search-button' }, 'Search'),
    clearLink,
  );

  const toolbar = h('div', { className: 'toolbar' });
  const tableHolder = h('div', { className: 'table-holder' }, h('p', { className: 'loading' }, 'Loading…'));
  const pager = h('div', { className: 'pager', 'data-testid': 'pager' });

  main.append(
    h('div', { className: 'page-head' }, h('h1', {}, `${capitalize(state)} jobs`), tabs),
    h('p', { className: 'lead' }, STATE_HELP[state]),
    h(
      'div',
      { className: 'panel' },
      h('div', { className: 'panel-head list-head' }, searchForm, toolbar),
      tableHolder,
      pager,
    ),
  );

  function go(changes) {
    const next = { worker: route.worker, search: route.search, page: route.page, ...changes };
    location.hash = listHref(state, next);
  }

  function applyRoute() {
    for (const tab of tabs.querySelectorAll('[data-tab]')) {
      tab.setAttribute('href', listHref(tab.dataset.tab, { worker: route.worker, search: route.search }));
    }
    if (document.activeElement !== searchInput) searchInput.value = route.search;
    clearLink.hidden = !route.search && !route.worker;
    clearLink.setAttribute('href', listHref(state));
    ensureWorkerOption(route.worker);
    workerSelect.value = route.worker;
  }

  function ensureWorkerOption(name) {
    if (!name) return;
    for (const option of workerSelect.options) if (option.value === name) return;
    workerSelect.append(h('option', { value: name }, name));
  }

  function showStats(stats) {
    const counts = route.worker
      ? (stats.workers.find((w) => w.worker === route.worker) ?? {
          running: 0,
          waiting: 0,
          delayed: 0,
          failed: 0,
        })
      : stats.totals;
    for (const el of tabs.querySelectorAll('[data-tab-count]')) {
      el.textContent = formatCount(counts[el.dataset.tabCount] ?? 0);
    }
    for (const w of stats.workers) ensureWorkerOption(w.worker);
    workerSelect.value = route.worker;
  }
  const unsubscribe = statsFeed.subscribe(showStats);

  async function load({ force = false } = {}) {
    const seq = ++loadSeq;
    const offset = (route.page - 1) * PAGE_SIZE;
    const params = new URLSearchParams({ state, offset: String(offset), limit: String(PAGE_SIZE) });
    if (route.worker) params.set('worker', route.worker);
    if (route.search) params.set('search', route.search);
    let data;
    try {
      data = await api(`./api/jobs?${params}`);
      banner.set('jobs', null);
    } catch (error) {
      if (seq === loadSeq) banner.set('jobs', error);
      return;
    }
    if (seq !== loadSeq) return;
    // Past the last page (say, after deleting its jobs): go to the last page that has jobs.
    if (data.jobs.length === 0 && data.total > 0 && offset > 0) {
      go({ page: Math.max(1, Math.ceil(data.total / PAGE_SIZE)) });
      return;
    }
    const signature = JSON.stringify(data);
    if (!force && signature === lastSignature) {
      refreshTimes(tableHolder);
      return;
    }
    lastSignature = signature;
    page = data;
    const ids = new Set(page.jobs.map((job) => job.id));
    for (const id of selected) if (!ids.has(id)) selected.delete(id);
    renderTable();
    renderPager();
    renderToolbar();
  }

  function renderTable() {
    if (page.jobs.length === 0) {
      tableHolder.replaceChildren(
        h(
          'div',
          { className: 'empty', 'data-testid': 'empty' },
          emptyText(state, route.worker, route.search),
        ),
      );
      return;
    }
    const headCheckbox = selectable
      ? h('input', {
          type: 'checkbox',
          'aria-label': 'Select all on this page',
          'data-testid': 'select-all',
          checked: page.jobs.every((job) => selected.has(job.id)),
          onChange: (event) => {
            for (const job of page.jobs) {
              if (event.target.checked) selected.add(job.id);
              else selected.delete(job.id);
            }
            renderTable();
            renderToolbar();
          },
        })
      : null;
    const columns = [
      selectable ? h('th', { className: 'check' }, headCheckbox) : null,
      h('th', {}, 'Job'),
      h('th', {}, 'Worker'),
      h('th', {}, 'Created'),
      h('th', { className: 'num' }, state === 'failed' ? 'Attempts' : 'Attempt'),
      state === 'delayed' ? h('th', {}, 'Due') : null,
      state === 'failed' ? h('th', {}, 'Failed') : null,
      state === 'failed' ? h('th', {}, 'Error') : null,
      state === 'running' || state === 'waiting' ? h('th', {}, 'Process') : null,
      h('th', {}, 'Arguments'),
      state === 'delayed' && !readOnly ? h('th', {}, '') : null,
    ];
    const rows = page.jobs.map((job) => jobRow(job));
    tableHolder.replaceChildren(
      h(
        'div',
        { className: 'table-wrap' },
        h(
          'table',
          { className: 'table jobs-table', 'data-testid': 'jobs-table' },
          h('thead', {}, h('tr', {}, columns)),
          h('tbody', {}, rows),
        ),
      ),
    );
  }

  function jobRow(job) {
    const checkbox = selectable
      ? h('input', {
          type: 'checkbox',
          'aria-label': `Select job ${job.id}`,
          'data-testid': 'job-select',
          checked: selected.has(job.id),
          onChange: (event) => {
            if (event.target.checked) selected.add(job.id);
            else selected.delete(job.id);
            renderToolbar();
            const all = tableHolder.querySelector('[data-testid="select-all"]');
            if (all) all.checked = page.jobs.every((j) => selected.has(j.id));
          },
        })
      : null;
    return h(
      'tr',
      { 'data-testid': 'job-row', 'data-job-id': job.id, className: selected.has(job.id) ? 'selected' : '' },
      selectable ? h('td', { className: 'check' }, checkbox) : null,
      h('td', { className: 'mono' }, h('a', { href: jobHref(job.id), 'data-testid': 'job-link' }, job.id)),
      h('td', { className: 'mono', 'data-testid': 'job-worker' }, job.worker),
      h('td', {}, timeCell(job.createdAt)),
      h('td', { className: 'num' }, String(state === 'failed' ? (job.attempts ?? job.attempt) : job.attempt)),
      state === 'delayed' ? h('td', {}, dueCell(job.dueAt)) : null,
      state === 'failed' ? h('td', {}, timeCell(job.failedAt)) : null,
      state === 'failed'
        ? h(
            'td',
            {
              className: 'error-cell',
              'data-testid': 'job-error',
              title: job.error ? `${job.error.name}: ${job.error.message}` : undefined,
            },
            job.error ? h('span', { className: 'error-name' }, `${job.error.name}: `) : null,
            job.error ? job.error.message : '—',
          )
        : null,
      state === 'running' || state === 'waiting'
        ? h('td', { className: 'mono ellipsis', title: job.processId }, job.processId)
        : null,
      h(
        'td',
        { className: 'args-cell mono', title: job.argsPreview, 'data-testid': 'job-args' },
        job.argsPreview,
      ),
      state === 'delayed' && !readOnly
        ? h(
            'td',
            { className: 'row-actions' },
            h(
              'button',
              {
                type: 'button',
                className: 'button button-small',
                'data-testid': 'run-now',
                onClick: () => act('run-now', [job.id]),
              },
              'Run now',
            ),
          )
        : null,
    );
  }

  function renderPager() {
    pager.replaceChildren();
    if (page.total === 0) return;
    const first = page.offset + 1;
    const last = page.offset + page.jobs.length;
    const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
    const prev = route.page > 1;
    const next = page.hasMore;
    append(pager, [
      h(
        'span',
        { 'data-testid': 'range' },
        `${formatCount(first)}–${formatCount(last)} of ${formatCount(page.total)}`,
      ),
      pages > 1 &&
        h(
          'span',
          { className: 'pager-buttons' },
          pagerLink('« First', prev ? 1 : null, 'page-first'),
          pagerLink('‹ Prev', prev ? route.page - 1 : null, 'page-prev'),
          h('span', { className: 'page-of' }, `page ${formatCount(route.page)} of ${formatCount(pages)}`),
          pagerLink('Next ›', next ? route.page + 1 : null, 'page-next'),
          pagerLink('Last »', next ? pages : null, 'page-last'),
        ),
    ]);
  }

  function pagerLink(label, target, testid) {
    if (target === null)
      return h('span', { className: 'button button-small disabled', 'data-testid': testid }, label);
    return h(
      'a',
      {
        className: 'button button-small',
        'data-testid': testid,
        href: listHref(state, { worker: route.worker, search: route.search, page: target }),
      },
      label,
    );
  }

  function renderToolbar() {
    toolbar.replaceChildren();
    if (readOnly || !page) return;
    const n = selected.size;
    const button = (label, testid, onClick, { danger = false, disabled = false } = {}) =>
      h(
        'button',
        {
          type: 'button',
          className: `button${danger ? ' button-danger' : ''}`,
          'data-testid': testid,
          disabled,
          onClick,
        },
        label,
      );
    if (state === 'failed') {
      toolbar.append(
        button(`Retry selected${n ? ` (${n})` : ''}`, 'retry-selected', () => act('retry', [...selected]), {
          disabled: n === 0,
        }),
        button(
          `Delete selected${n ? ` (${n})` : ''}`,
          'delete-selected',
          () => act('delete', [...selected]),
          {
            danger: true,
            disabled: n === 0,
          },
        ),
        h('span', { className: 'toolbar-sep' }),
        button('Retry all', 'retry-all', () => actAll('retry'), { disabled: page.total === 0 }),
        button('Delete all', 'delete-all', () => actAll('delete'), {
          danger: true,
          disabled: page.total === 0,
        }),
      );
    } else if (state === 'delayed') {
      toolbar.append(
        button(
          `Run selected now${n ? ` (${n})` : ''}`,
          'run-now-selected',
          () => act('run-now', [...selected]),
          {
            disabled: n === 0,
          },
        ),
      );
    }
  }

  async function act(action, ids) {
    if (ids.length === 0) return;
    const what = ids.length === 1 ? `job ${ids[0]}` : plural(ids.length, 'selected job');
    const result = await runAction(action, actionQuestion(action, what), { ids });
    if (result) {
      for (const id of ids) selected.delete(id);
      afterAction();
    }
  }

  async function actAll(action) {
    const filters = [];
    if (route.worker) filters.push(`of worker ${route.worker}`);
    if (route.search) filters.push(`matching “${route.search}”`);
    const what = `all ${plural(page.total, 'failed job')}${filters.length ? ` ${filters.join(' ')}` : ''}`;
    const body = { all: true };
    if (route.worker) body.worker = route.worker;
    if (route.search) body.search = route.search;
    const result = await runAction(action, actionQuestion(action, what), body);
    if (result) {
      selected.clear();
      afterAction();
    }
  }

  function afterAction() {
    load({ force: true });
    statsFeed.refresh();
  }

  applyRoute();
  const poller = new Poller(() => load());
  return {
    update(next) {
      const filtersChanged = next.worker !== route.worker || next.search !== route.search;
      route = next;
      if (filtersChanged) selected.clear();
      applyRoute();
      if (statsFeed.latest) showStats(statsFeed.latest);
      lastSignature = '';
      tableHolder.classList.add('stale');
      load({ force: true }).finally(() => tableHolder.classList.remove('stale'));
      statsFeed.refresh();
    },
    destroy() {
      poller.stop();
      unsubscribe();
    },
  };
}

const STATE_HELP = {
  running: 'Jobs a process is performing now.',
  waiting:
    'Jobs a process holds and will run when its worker has a free slot, or jobs of a dead process waiting to be taken over.',
  delayed: 'Jobs waiting in Redis for their due time. Retries are delayed jobs too.',
  failed: 'Jobs that used up their retries. Retry them once the cause is fixed, or delete them.',
};

function emptyText(state, worker, search) {
  if (!worker && !search) return `No ${state} jobs.`;
  const parts = [`No ${state} jobs`];
  if (worker) parts.push(`of worker ${worker}`);
  if (search) parts.push(`match “${search}”`);
  return `${parts.join(' ')}.`;
}

function dueCell(dueAt) {
  if (dueAt === null) {
    return h('span', { className: 'muted', title: 'Held until flushDelayedJobs() is called' }, 'held');
  }
  return timeCell(dueAt);
}

// ---------------------------------------------------------------------------------------------
// Job detail.

function jobView(main, route) {
  const id = route.id;
  const holder = h('div', { 'data-testid': 'job-detail' }, h('p', { className: 'loading' }, 'Loading…'));
  main.append(holder);
  let destroyed = false;

  async function load() {
    let job;
    try {
      ({ job } = await api(`./api/jobs/${encodeURIComponent(id)}`));
      banner.set('job', null);
    } catch (error) {
      if (destroyed) return;
      if (error instanceof ApiError && error.status === 404) {
        holder.replaceChildren(
          h(
            'div',
            { className: 'empty', 'data-testid': 'job-missing' },
            h('h1', {}, 'No such job'),
            h(
              'p',
              {},
              'No job has the id ',
              h('code', {}, id),
              '. It may have finished, or been retried or deleted.',
            ),
            h(
              'p',
              {},
              h('a', { href: '#/jobs/failed' }, 'Failed jobs'),
              ' · ',
              h('a', { href: '#/' }, 'Overview'),
            ),
          ),
        );
        return;
      }
      banner.set('job', error);
      holder.replaceChildren(h('p', { className: 'empty' }, 'The job could not be loaded.'));
      return;
    }
    if (!destroyed) holder.replaceChildren(jobDetail(job, load));
  }
  load();
  return {
    destroy() {
      destroyed = true;
    },
  };
}

function jobDetail(job, reload) {
  const actions = h('div', { className: 'actions' });
  if (!readOnly) {
    const button = (label, testid, onClick, danger) =>
      h(
        'button',
        {
          type: 'button',
          className: `button${danger ? ' button-danger' : ''}`,
          'data-testid': testid,
          onClick,
        },
        label,
      );
    const run = (action) => async () => {
      const result = await runAction(action, actionQuestion(action, `job ${job.id}`), { ids: [job.id] });
      // Done: back to the list the job left (the notice stays). Missing or refused: show it as it is now.
      if (result?.done.length) navigateKeepingNotice(listHref(ACTIONS[action].from));
      else if (result) reload();
    };
    if (job.state === 'failed') {
      actions.append(button('Retry', 'retry', run('retry')), button('Delete', 'delete', run('delete'), true));
    } else if (job.state === 'delayed') {
      actions.append(button('Run now', 'run-now', run('run-now')));
    }
  }
  const fields = [
    ['Worker', h('span', { className: 'mono', 'data-testid': 'detail-worker' }, job.worker)],
    ['State', stateBadge(job.state)],
    job.state === 'failed'
      ? ['Attempts', h('span', { 'data-testid': 'detail-attempts' }, String(job.attempts ?? job.attempt))]
      : ['Attempt', h('span', { 'data-testid': 'detail-attempt' }, String(job.attempt))],
    ['Created', timeWithAbsolute(job.createdAt)],
    job.state === 'delayed'
      ? ['Due', job.dueAt === null ? 'held until flushDelayedJobs()' : timeWithAbsolute(job.dueAt)]
      : null,
    job.failedAt ? ['Failed', timeWithAbsolute(job.failedAt)] : null,
    ['Process', h('span', { className: 'mono', 'data-testid': 'detail-process' }, job.processId)],
  ].filter(Boolean);

  const sections = [
    h(
      'div',
      { className: 'page-head' },
      h(
        'h1',
        {},
        h('a', { href: listHref(job.state), className: 'crumb' }, `${capitalize(job.state)} jobs`),
        ' / Job ',
        h('span', { className: 'mono', 'data-testid': 'detail-id' }, job.id),
      ),
      actions,
    ),
    h(
      'section',
      { className: 'panel' },
      h(
        'dl',
        { className: 'fields' },
        fields.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
      ),
    ),
    h(
      'section',
      { className: 'panel' },
      h('div', { className: 'panel-head' }, h('h2', {}, 'Arguments')),
      h('pre', { className: 'code', 'data-testid': 'detail-args' }, job.args),
    ),
  ];
  if (job.error) {
    const e = job.error;
    sections.push(
      h(
        'section',
        { className: 'panel panel-error' },
        h('div', { className: 'panel-head' }, h('h2', {}, 'Error')),
        h(
          'p',
          { className: 'error-line', 'data-testid': 'detail-error' },
          h('strong', {}, e.name),
          ': ',
          e.message,
          e.code !== undefined && e.code !== null
            ? h('span', { className: 'error-code' }, ` code ${e.code}`)
            : null,
        ),
        e.stack ? h('pre', { className: 'code stack', 'data-testid': 'detail-stack' }, e.stack) : null,
      ),
    );
  }
  return h('div', {}, sections);
}

function timeWithAbsolute(iso) {
  if (!iso) return '—';
  return h('span', {}, formatAbsolute(iso), h('span', { className: 'muted' }, ` (${formatRelative(iso)})`));
}

// ---------------------------------------------------------------------------------------------
// Start.

function start() {
  document.getElementById('read-only-badge').hidden = !readOnly;
  document.body.classList.toggle('read-only', readOnly);
  document.getElementById('notice-close').addEventListener('click', hideNotice);
  document.addEventListener('visibilitychange', () => setLive(banner.sources.size === 0));
  window.addEventListener('hashchange', render);
  statsFeed.start();
  render();
}

start();
