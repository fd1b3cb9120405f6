/**
 * The job lists (#/jobs/<state>?worker=&search=&page=): tabs with counts, the worker filter, the
 * search, pagination, and the actions on a list (retry, delete, run now; one job, the selected
 * ones, or all that match). The biggest page, since selection and paging have to stay right while
 * the list refreshes under them.
 */

import { actionQuestion, api, banner, Poller, readOnly, runAction, statsFeed } from './api.js';
import {
  append,
  capitalize,
  formatCount,
  h,
  jobHref,
  listHref,
  plural,
  refreshTimes,
  STATES,
  timeCell,
} from './dom.js';

const PAGE_SIZE = 50;

export function jobsView(main, firstRoute) {
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
    return h(
      'span',
      { className: 'muted', title: 'Kept until flushDelayedJobs() is called' },
      'until flushed',
    );
  }
  return timeCell(dueAt);
}
