// The script inside the HTML report (runs in the browser, not in Node): reads the embedded
// JSON and builds the page with `textContent` only, so no string from the program is ever
// parsed as markup. It is a function compiled with the rest of the CLI and inlined as its
// source text; it must not use anything from outside its own body but `uPlot` and the DOM.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const uPlot: any;

function client(): void {
  const data = JSON.parse(document.getElementById('uvscope-data').textContent);
  const app = document.getElementById('app');
  app.textContent = '';

  const el = (tag: string, attrs: Record<string, string> | null, ...children: (string | any)[]): any => {
    const e = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  };
  const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x >= 100 ? x.toFixed(0) + ' ms' : x >= 10 ? x.toFixed(1) + ' ms' : x.toFixed(2) + ' ms');
  const COLORS = { poll: '#1f77b4', check: '#2ca02c', timers: '#ff7f0e', pollWait: '#9aa5b1', util: '#6a3d9a', p99: '#1f77b4', max: '#d62728', busy: '#d62728', queued: '#ff7f0e', wait: '#6a3d9a' };
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  const width = (): number => Math.max(320, Math.min(1100, app.clientWidth - 16));
  const plots: any[] = [];

  // A chart's box now; its plot is drawn once the box is in the page (uPlot measures it).
  const chart = (id: string, title: string, note: string, opts: any, values: any[], series: any[]): any => {
    const box = el('section', { class: 'chart', id }, el('h4', null, title), el('p', { class: 'note' }, note));
    // Nothing to plot (no slow iteration, no handle counts): the note says so, no empty canvas.
    if (values[0].length === 0 || values.length < 2) return { box, draw: () => {} };
    const plot = el('div', { class: 'plot' });
    box.append(plot);
    return { box, draw: () => plots.push(new uPlot({ width: width(), height: 200, ...opts, series }, values, plot)) };
  };
  const xAxis = { scales: { x: { time: false } }, axes: [{ label: 's since start', size: 40 }, { size: 60 }] };

  // Header: the run.
  const cmd = data.command.join(' ');
  app.append(el('h1', null, 'uvscope report'));
  const meta = el('p', { class: 'meta' });
  meta.append(el('code', null, cmd));
  const facts: string[] = [];
  if (data.durationMs !== null) facts.push(`ran ${(data.durationMs / 1000).toFixed(1)} s`);
  if (data.exitCode !== null) facts.push(`exit code ${data.exitCode}${data.signal ? ` (${data.signal})` : ''}`);
  facts.push(`${data.threads.length} observed thread${data.threads.length === 1 ? '' : 's'}`);
  facts.push(`started ${new Date(data.startTime).toISOString()}`);
  meta.append(document.createTextNode(' — ' + facts.join(', ')));
  app.append(meta);

  // Verdicts on top, each linked to its chart.
  const verdicts = el('section', { id: 'verdicts' }, el('h2', null, 'Verdict'));
  for (const t of data.threads) {
    if (t.verdicts.length === 0) continue;
    const list = el('ul', null);
    for (const v of t.verdicts) {
      const link = el('a', { href: '#' + v.chart }, 'see chart');
      list.append(el('li', { class: 'verdict ' + v.level }, el('strong', null, v.title), ' — ', v.text, ' ', link));
    }
    verdicts.append(el('h3', null, t.label), list);
  }
  app.append(verdicts);

  const draws: (() => void)[] = [];
  for (const t of data.threads) {
    const s = t.series;
    const sec = el('section', { class: 'thread', id: t.key }, el('h2', null, t.label));
    sec.append(el('p', { class: 'note' }, `${t.windows} windows${t.windowsPerPoint > 1 ? `, ${t.windowsPerPoint} per point (merged to stay under ${data.limits.maxPoints} points)` : ''}. argv: `, el('code', null, JSON.stringify(t.argv))));
    if (t.seenFromMain) sec.append(el('p', { class: 'verdict info' }, `Seen from its process's main thread: this thread sent no window of its own.${t.activity !== null ? ' Last seen: ' + t.activity + '.' : ''}`));
    if (t.error !== null) sec.append(el('p', { class: 'verdict info' }, 'uvscope could not start here: ' + t.error));
    if (s.t.length === 0) {
      sec.append(el('p', null, 'No windows from this thread.'));
      app.append(sec);
      continue;
    }

    const charts: any[] = [];
    charts.push(
      chart(`${t.key}-util`, 'Utilization', 'Share of each window the loop was busy (not waiting for events), %.', { ...xAxis, scales: { x: { time: false }, y: { range: [0, 100] } } }, [s.t, s.utilization], [
        {},
        { label: 'utilization %', stroke: COLORS.util, fill: 'rgba(106,61,154,0.12)', value: (_u: any, v: any) => (v === null ? '–' : v.toFixed(1) + '%') },
      ]),
    );
    // Stacked: each band is the running sum, drawn top band first with opaque fills so each
    // covers the one under it; the legend shows each phase's own value.
    const cum1 = s.poll;
    const cum2 = s.poll.map((v: number, i: number) => v + s.check[i]);
    const cum3 = cum2.map((v: number, i: number) => v + s.timers[i]);
    const raw = [null, s.poll, s.check, s.timers];
    const own = (_u: any, _v: any, si: number, i: number) => (i === null || i === undefined ? '–' : ms(raw[si][i]));
    charts.push(
      chart(`${t.key}-phases`, 'Busy time by phase', 'ms of each window spent in each phase, stacked: poll (I/O callbacks), check (setImmediate), timers.', xAxis, [s.t, cum3, cum2, cum1], [
        {},
        { label: 'timers', stroke: COLORS.timers, fill: '#ffc48a', value: (u: any, v: any, _si: number, i: number) => own(u, v, 3, i) },
        { label: 'check', stroke: COLORS.check, fill: '#9bd39b', value: (u: any, v: any, _si: number, i: number) => own(u, v, 2, i) },
        { label: 'poll', stroke: COLORS.poll, fill: '#9cc3e4', value: (u: any, v: any, _si: number, i: number) => own(u, v, 1, i) },
      ]),
    );
    charts.push(
      chart(`${t.key}-p99`, 'Busy time per iteration', 'p99 and max of the iterations in each window, ms.', xAxis, [s.t, s.p99, s.max], [
        {},
        { label: 'p99', stroke: COLORS.p99, value: (_u: any, v: any) => ms(v) },
        { label: 'max', stroke: COLORS.max, value: (_u: any, v: any) => ms(v) },
      ]),
    );

    // Slow iterations: a scatter, the phase breakdown and any stall's stack on hover.
    const sl = t.slow;
    const detail = el('pre', { class: 'detail' }, sl.t.length > 0 ? 'Hover a point for its phases.' : 'No iteration was over --slow-ms.');
    const stallAt = (i: number) => t.stalls.find((st: any) => st.t >= sl.t[i] - 0.001 && st.t <= sl.t[i] + sl.duration[i] / 1000 + 0.001);
    const scatter = chart(
      `${t.key}-slow`,
      'Slow iterations',
      `${sl.seen} iteration${sl.seen === 1 ? '' : 's'} over --slow-ms ${sl.every ? 'recorded' : 'seen (the 5 slowest per window)'}; ${sl.t.length} shown (at most ${data.limits.slowCap}, the slowest). busy ms.${t.stallsSeen > 0 ? ` ${t.stallsSeen} stalls captured.` : ''}`,
      {
        ...xAxis,
        cursor: { points: { size: 10 } },
        hooks: {
          setCursor: [
            (u: any) => {
              const i = u.cursor.idx;
              if (i === null || i === undefined) return;
              const lines = [`at ${sl.t[i].toFixed(3)} s: ${ms(sl.busy[i])} busy of ${ms(sl.duration[i])}`, `  poll wait ${ms(sl.pollWait[i])}`, `  poll      ${ms(sl.poll[i])}  (I/O callbacks)`, `  check     ${ms(sl.check[i])}  (setImmediate)`, `  timers    ${ms(sl.timers[i])}`];
              const st = stallAt(i);
              if (st !== undefined) lines.push(`stall: ${ms(st.blockedMs)} in ${st.phase ?? '?'}`, ...st.stack.map((f: string) => '  at ' + f));
              detail.textContent = lines.join('\n');
            },
          ],
        },
      },
      [sl.t, sl.busy],
      [{}, { label: 'busy', stroke: COLORS.busy, paths: () => null, points: { show: true, size: 6, fill: COLORS.busy }, value: (_u: any, v: any) => ms(v) }],
    );
    scatter.box.append(detail);
    charts.push(scatter);

    if (t.threadId === 0) {
      const note = t.poolUsed ? `Threads busy and tasks queued (max per window; pool size ${t.poolSize}), and the longest queue wait, ms (right axis).` : 'The thread pool was not used.';
      const count = (_u: any, v: any) => (v === null ? '–' : String(v));
      charts.push(
        chart(`${t.key}-pool`, 'Thread pool', note, { ...xAxis, scales: { x: { time: false }, wait: {} }, axes: [{ label: 's since start', size: 40 }, { size: 60 }, { side: 1, scale: 'wait', grid: { show: false }, size: 60 }] }, [s.t, s.poolBusy, s.poolQueued, s.queueWait], [
          {},
          { label: 'busy', stroke: COLORS.busy, value: count },
          { label: 'queued', stroke: COLORS.queued, value: count },
          { label: 'queue wait', scale: 'wait', stroke: COLORS.wait, dash: [4, 4], value: (_u: any, v: any) => ms(v) },
        ]),
      );
    }
    const types = Object.keys(s.handles);
    charts.push(
      chart(`${t.key}-handles`, 'Handles by type', types.length > 0 ? 'Open handles of each type at the end of each window (the 8 most numerous types).' : 'No handle counts for this thread (the main thread\'s view of a thread does not include them).', xAxis, [s.t, ...types.map((k) => s.handles[k])], [
        {},
        ...types.map((k, i) => ({ label: k, stroke: PALETTE[i % PALETTE.length], value: (_u: any, v: any) => (v === null ? '–' : String(v)) })),
      ]),
    );

    for (const c of charts) {
      sec.append(c.box);
      draws.push(c.draw);
    }

    // What kept the loop alive at the end.
    const alive = el('section', { class: 'chart', id: `${t.key}-alive` }, el('h4', null, 'Kept alive at the end'));
    if (t.alive !== null && t.alive.named.length > 0) {
      const list = el('ul', null);
      for (const n of t.alive.named) list.append(el('li', null, el('code', null, n.name), n.count > 1 ? ` ×${n.count}` : ''));
      alive.append(el('p', { class: 'note' }, `${t.alive.handles} referenced handle${t.alive.handles === 1 ? '' : 's'}, ${t.alive.activeRequests} request${t.alive.activeRequests === 1 ? '' : 's'} in flight:`), list);
    } else if (t.keepAlive !== null && Object.keys(t.keepAlive).length > 0) {
      alive.append(el('p', null, Object.entries(t.keepAlive).map(([k, v]) => `${k} ×${v}`).join(', ')));
    } else {
      alive.append(el('p', { class: 'note' }, t.alive === null && t.keepAlive === null ? 'This thread sent no final window.' : 'Nothing: the loop had no referenced handle left.'));
    }
    sec.append(alive);
    app.append(sec);
  }
  app.append(el('p', { class: 'note' }, 'Made by uvscope. This page makes no network request; its data is embedded in it.'));
  for (const draw of draws) draw();
  window.uvscopeCharts = plots.length;
}

/** The inline script: `client` as source text, called once. */
export const CLIENT_SOURCE = `(${client.toString()})();`;

/** The page's own style (after uPlot's), system fonts only. */
export const STYLE = `
body { font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; margin: 0; background: #fafafa; color: #1d2430; }
main { max-width: 1140px; margin: 0 auto; padding: 16px; }
h1 { font-size: 22px; margin: 8px 0; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d8dee6; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
h4 { font-size: 14px; margin: 0 0 2px; }
code, pre { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; }
.meta code { background: #eef1f5; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.note { color: #5b6573; margin: 2px 0 6px; }
.chart { background: #fff; border: 1px solid #e1e6ec; border-radius: 6px; padding: 10px; margin: 10px 0; }
.verdict { margin: 4px 0; padding: 6px 10px; border-left: 4px solid #9aa5b1; background: #fff; list-style: none; }
.verdict.problem { border-color: #d62728; background: #fff5f5; }
.verdict.ok { border-color: #2ca02c; background: #f4fbf4; }
#verdicts ul { padding: 0; margin: 0; }
.detail { background: #f4f6f8; padding: 6px 8px; min-height: 3em; white-space: pre-wrap; }
a { color: #1f5fa8; }
`;
