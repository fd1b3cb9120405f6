/**
 * Talking to the server: the JSON API (with the CSRF token on every POST), how its errors read in
 * the banner, the "live" indicator, the notice that says what an action did, the actions themselves
 * (confirm, POST, report), and the polling loops, among them the stats feed that the nav counts and
 * several views share. The views only ask for data and react to it; what happens when the server
 * is slow, unreachable or refuses is decided here, once.
 */

import { formatCount, h, plural } from './dom.js';

const POLL_MS = 2000;

const csrfToken = metaContent('toniq-csrf');
/** The app mounted the handler read-only: the page offers no actions. */
export const readOnly = metaContent('toniq-read-only') === 'true';

function metaContent(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

// ---------------------------------------------------------------------------------------------
// The JSON API.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
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

export const banner = {
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

export function setLive(ok) {
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

export function hideNotice() {
  document.getElementById('notice').hidden = true;
}

let keepNotice = false;

/** Goes to another page without hiding the notice of the action that led there. */
export function navigateKeepingNotice(hash) {
  keepNotice = true;
  location.hash = hash;
}

/** On arriving at another page: hides the notice, unless navigateKeepingNotice led there. */
export function hideNoticeUnlessKept() {
  if (!keepNotice) hideNotice();
  keepNotice = false;
}

/** What each action is called in a question, a result and an error, and the state it needs. */
export const ACTIONS = {
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
export async function runAction(action, question, body) {
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

export function actionQuestion(action, what) {
  if (action === 'run-now') return `Run ${what} now, without waiting for the due time?`;
  if (action === 'delete') return `Delete ${what}? This cannot be undone.`;
  return `Retry ${what}?`;
}

// ---------------------------------------------------------------------------------------------
// Polling: one loop per thing polled, paused while the tab is hidden.

export class Poller {
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
export const statsFeed = {
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
