/**
 * The overview page (#/): a card per job state, the throughput chart, and a table of counts per
 * worker and per process, all fed by the shared stats feed, so the page costs no extra requests
 * beyond the chart's.
 */

import { api, banner, Poller, statsFeed } from './api.js';
import { throughputChart } from './chart.js';
import { capitalize, formatCount, h, listHref, processStatus, STATES } from './dom.js';

export function overviewView(main) {
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
