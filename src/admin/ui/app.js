/**
 * The toniq admin web UI: one page, no framework, no build step.
 *
 * 1. Routes on the URL's hash (#/, #/processes, #/jobs/<state>?worker=&search=&page=, #/job/<id>),
 *    so the page works under whatever base path the app mounts the handler on.
 * 2. Reads the JSON API with relative URLs (./api/…) and polls it every 2 s while the tab is visible.
 * 3. Sends actions (retry, delete, run now) as JSON POSTs carrying the CSRF token from the page's
 *    <meta name="toniq-csrf">, after a confirm() dialog; shows what was done in a notice.
 * 4. Puts every value that comes from a job or a process into the DOM as text (createElement and
 *    textContent through `h` in dom.js), never as HTML, so arguments like <script>…</script> show as text.
 *    Nothing here assigns innerHTML, outerHTML or insertAdjacentHTML.
 *
 * The code is split by concept into ES modules in this folder, which the handler serves flat under
 * ./assets/ (index.html loads only this one):
 *   app.js              this overview, routing on the hash, rendering the current view, start-up;
 *   dom.js              building elements (`h`, `s`) and the small formatters (counts, times, badges, links);
 *   api.js              the JSON API, the banner, the live indicator, notices, actions, polling, stats feed;
 *   chart.js            the throughput chart of the overview (hand-drawn SVG);
 *   overview-view.js    #/;
 *   processes-view.js   #/processes;
 *   jobs-view.js        #/jobs/<state>, with the actions on a list;
 *   job-detail-view.js  #/job/<id>, with the actions on one job.
 */

import { banner, hideNotice, hideNoticeUnlessKept, readOnly, setLive, statsFeed } from './api.js';
import { capitalize, h, STATES } from './dom.js';
import { jobView } from './job-detail-view.js';
import { jobsView } from './jobs-view.js';
import { overviewView } from './overview-view.js';
import { processesView } from './processes-view.js';

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
  hideNoticeUnlessKept();
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
