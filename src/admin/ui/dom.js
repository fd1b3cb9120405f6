/**
 * Building the page: `h` and `s` make HTML and SVG elements, and the small formatters turn counts,
 * durations, times, states and routes into the text, badges and links every view shows.
 * They live apart from the views so that one rule holds everywhere: a value from a job or a process
 * reaches the DOM only as text (a text node, or an attribute set with setAttribute), never as HTML.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';
const numberFormat = new Intl.NumberFormat('en-US');

/** The job states, in the order the nav, the cards, the tabs and the tables show them. */
export const STATES = ['running', 'waiting', 'delayed', 'failed'];

// DOM helpers. Children that are strings or numbers become text nodes; attributes are set with
// setAttribute (never a way into HTML parsing), and `on…` keys add event listeners.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
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

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function formatCount(n) {
  return numberFormat.format(n);
}

export function plural(n, word) {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** "3 s", "5 min", "2 h", "4 d": the size of a duration in milliseconds. */
export function formatDuration(ms) {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${Math.round(abs / 1000)} s`;
  if (abs < 3_600_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 86_400_000) return `${Math.round(abs / 3_600_000)} h`;
  return `${Math.round(abs / 86_400_000)} d`;
}

export function formatRelative(iso) {
  const ms = Date.parse(iso) - Date.now();
  if (Number.isNaN(ms)) return '—';
  if (Math.abs(ms) < 1000) return 'now';
  return ms < 0 ? `${formatDuration(ms)} ago` : `in ${formatDuration(ms)}`;
}

export function formatAbsolute(iso) {
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
export function refreshTimes(root) {
  for (const el of root.querySelectorAll('time[datetime]')) {
    const text = formatRelative(el.getAttribute('datetime'));
    if (el.textContent !== text) el.textContent = text;
  }
}

/** A time shown as "5 min ago", with the exact time on hover; "unknown" when the record does not say (null). */
export function timeCell(iso) {
  if (iso === null) return h('span', { className: 'muted' }, 'unknown');
  if (!iso) return h('span', { className: 'muted' }, '—');
  return h('time', { datetime: iso, title: `${formatAbsolute(iso)} (${iso})` }, formatRelative(iso));
}

export function stateBadge(state) {
  return h('span', { className: `badge badge-${state}`, 'data-testid': 'state-badge' }, state);
}

export function jobHref(id) {
  return `#/job/${encodeURIComponent(id)}`;
}

export function listHref(state, { worker, search, page } = {}) {
  const params = new URLSearchParams();
  if (worker) params.set('worker', worker);
  if (search) params.set('search', search);
  if (page && page > 1) params.set('page', String(page));
  const query = params.toString();
  return `#/jobs/${state}${query ? `?${query}` : ''}`;
}

export function processStatus(p) {
  const badge = h(
    'span',
    { className: `badge ${p.alive ? 'badge-alive' : 'badge-dead'}`, 'data-testid': 'process-status' },
    p.alive ? 'alive' : 'dead',
  );
  if (!p.takeoverError && !p.damaged) return badge;
  // A dead process whose jobs cannot be taken over must not look like one about to be, and an
  // entry that could not be read in full must not look like a sound one.
  return h(
    'span',
    {},
    badge,
    p.takeoverError
      ? h(
          'div',
          { className: 'takeover-error', 'data-testid': 'takeover-error' },
          `Takeover failed: ${p.takeoverError.message}`,
        )
      : null,
    p.damaged
      ? h('div', { className: 'takeover-error', 'data-testid': 'process-damaged' }, `Damaged: ${p.damaged}`)
      : null,
  );
}

export function capitalize(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
