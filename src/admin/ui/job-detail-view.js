/**
 * One job's page (#/job/<id>): its fields, arguments and error with the stack, and the actions its
 * state allows. After an action that worked, it goes back to the list the job left.
 */

import {
  ACTIONS,
  ApiError,
  actionQuestion,
  api,
  banner,
  navigateKeepingNotice,
  readOnly,
  runAction,
} from './api.js';
import { capitalize, formatAbsolute, formatRelative, h, listHref, stateBadge } from './dom.js';

export function jobView(main, route) {
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
      ? ['Due', job.dueAt === null ? 'kept until flushDelayedJobs()' : timeWithAbsolute(job.dueAt)]
      : null,
    job.failedAt !== undefined ? ['Failed', timeWithAbsolute(job.failedAt)] : null,
    ['Process', h('span', { className: 'mono', 'data-testid': 'detail-process' }, job.processId)],
    [
      'Arguments version',
      h('span', { 'data-testid': 'detail-worker-version' }, String(job.workerVersion ?? 1)),
    ],
    job.note ? ['Note', h('span', { 'data-testid': 'detail-note' }, job.note)] : null,
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
  // null: a damaged record does not say.
  if (iso === null) return 'unknown';
  if (!iso) return '—';
  return h('span', {}, formatAbsolute(iso), h('span', { className: 'muted' }, ` (${formatRelative(iso)})`));
}
