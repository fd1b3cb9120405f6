/**
 * The processes page (#/processes): every process that registered, with its heartbeat, its
 * workers and its counts, so one can tell which process is alive and what it holds.
 */

import { api, banner, Poller } from './api.js';
import { formatCount, formatDuration, h, processStatus, timeCell } from './dom.js';

export function processesView(main) {
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

function heartbeatText(p) {
  return p.heartbeatAge === null || p.heartbeatAge === undefined
    ? 'lapsed'
    : `${formatDuration(p.heartbeatAge)} ago`;
}
