/**
 * The overview's throughput chart (jobs finished and failed per second over the last hour), drawn
 * by hand as inline SVG: no chart library, so nothing to load from elsewhere and nothing the CSP
 * has to allow. It is apart from the overview because the drawing is most of its code.
 * With more seconds than pixels, each column of pixels shows the busiest second it covers, so a
 * short burst stays visible.
 */

import { formatCount, h, s } from './dom.js';

export function throughputChart() {
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
