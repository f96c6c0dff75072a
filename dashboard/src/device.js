// One device: identity, interfaces, and CPU, memory and traffic over the last hour, day or
// week from /api/devices/{id}/metrics, extended by device:metrics of the `device:<id>`
// channel; an interface's own traffic when its name is chosen.
import { h, setText, percent, bits, duration, ago, clock } from './dom.js';
import { TimeChart } from './chart.js';
import { applyStatus, applyMetrics } from './model.js';

const RANGES = [['1 h', 3600], ['24 h', 86400], ['7 d', 7 * 86400]];

export function deviceView(app, id) {
  const path = `/api/devices/${encodeURIComponent(id)}`;
  const title = h('h1', {}, id);
  const status = h('span', { class: 'badge' });
  const facts = h('dl', { class: 'facts' });
  const ifBody = h('tbody');
  const partsBody = h('tbody');
  const charts = h('div', { class: 'charts' });
  const problem = h('p', { class: 'error', role: 'alert' });
  const rangeButtons = RANGES.map(([label, seconds]) => h('button', {
    type: 'button', 'aria-pressed': String(seconds === 3600), onclick: () => setRange(seconds),
  }, label));
  const element = h('section', { class: 'view device' },
    h('p', {}, h('a', { href: '#/devices' }, '← Devices')),
    h('div', { class: 'tools' }, title, status,
      app.can('operator') ? h('a', { href: `#/anomaly/${encodeURIComponent(id)}` }, 'Look for anomalies') : null),
    problem, facts,
    h('div', { class: 'tools charts-head' }, h('h2', {}, 'History'), h('div', { class: 'range', role: 'group', 'aria-label': 'Time range' }, ...rangeButtons)),
    charts,
    h('h2', {}, 'Processors and memory pools'),
    h('div', { class: 'scroll' }, h('table', { class: 'components' },
      h('thead', {}, h('tr', {}, ...['Kind', 'Index', 'Name', 'In use', 'Counted in the device figure'].map((l, i) => h('th', { scope: 'col', class: i === 3 ? 'num' : '' }, l)))),
      partsBody)),
    h('h2', {}, 'Interfaces'),
    h('div', { class: 'scroll' }, h('table', { class: 'interfaces' },
      h('thead', {}, h('tr', {}, ...['Name', 'Alias', 'Speed', 'Admin', 'Oper', 'In', 'Out', 'Errors in/out'].map((l, i) => h('th', { scope: 'col', class: i >= 5 || i === 2 ? 'num' : '' }, l)))),
      ifBody)));
  let device = null;
  let interfaces = new Map(); // ifIndex -> REST interface row (labels, speed, admin status)
  let span = 3600;
  let chosen = null; // the ifIndex whose traffic is charted
  let stopped = false;
  const made = new Map(); // name -> TimeChart
  const chart = (name, options) => {
    if (made.has(name)) made.get(name).destroy();
    const box = h('div', { class: 'chart', dataset: { chart: name } });
    const old = charts.querySelector(`[data-chart="${name}"]`);
    if (old) old.replaceWith(box);
    else charts.append(box);
    const c = new TimeChart(box, { span, ...options });
    made.set(name, c);
    return c;
  };

  function showFacts() {
    const m = device.metrics;
    status.className = `badge status-${device.status || 'unknown'}`;
    setText(status, device.reason ? `${device.status}: ${device.reason}` : device.status || 'unknown');
    const pairs = [
      ['Host', `${device.host}:${device.port}`], ['Vendor', device.vendor], ['Model', device.model], ['OS', [device.os, device.osVersion].filter(Boolean).join(' ')],
      ['Serial', device.serial],
      ['Type', device.type], ['Uptime', duration(m.uptime)], ['Last seen', device.lastSeen ? `${ago(device.lastSeen)} (${clock(device.lastSeen)})` : 'never'],
      ['CPU', percent(m.cpu)], ['Memory', percent(m.memory)], ['In / out', `${bits(m.bandwidth.in)} / ${bits(m.bandwidth.out)}`],
      ['Location', device.location], ['Tags', (device.tags || []).join(', ')],
    ];
    facts.replaceChildren(...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '–')]));
  }

  function showInterfaces() {
    ifBody.replaceChildren(...[...interfaces.values()].map((i) => h('tr', { class: `oper-${i.status}`, dataset: { ifindex: i.ifIndex } },
      h('td', {}, h('button', {
        type: 'button', class: 'link-button', 'aria-pressed': String(i.ifIndex === chosen), title: 'Chart its traffic',
        onclick: () => choose(i.ifIndex),
      }, i.name)),
      h('td', {}, i.alias || ''), h('td', { class: 'num' }, i.speed ? bits(i.speed) : '–'),
      h('td', {}, i.adminStatus || '–'), h('td', {}, h('span', { class: 'dot' }), i.status),
      h('td', { class: 'num' }, bits(i.in)), h('td', { class: 'num' }, bits(i.out)),
      h('td', { class: 'num' }, `${i.errorsIn ?? '–'} / ${i.errorsOut ?? '–'}`))));
  }

  async function history(metric) {
    const to = Math.floor(Date.now() / 1000);
    const answer = await app.api.get(`${path}/metrics?metric=${encodeURIComponent(metric)}&from=${to - span}&to=${to}`);
    return answer.points.map((p) => [Date.parse(p.timestamp) / 1000, p.avg]);
  }

  // Points of several metrics on one time axis (each metric's own sample times, merged).
  function aligned(seriesPoints) {
    const times = [...new Set(seriesPoints.flatMap((points) => points.map(([t]) => t)))].sort((a, b) => a - b);
    return [times, ...seriesPoints.map((points) => {
      const at = new Map(points);
      return times.map((t) => at.get(t) ?? null);
    })];
  }

  async function fill(name, options, metrics) {
    const c = chart(name, options);
    const points = await Promise.all(metrics.map(history));
    if (!stopped && made.get(name) === c) c.set(aligned(points));
  }

  function drawCharts() {
    const fills = [
      fill('cpu', { title: 'CPU', series: ['cpu'], format: 'percent' }, ['cpu']),
      fill('memory', { title: 'Memory', series: ['memory'], format: 'percent' }, ['memory']),
      fill('traffic', { title: 'Traffic', series: ['in', 'out'], format: 'bits' }, ['bandwidth.in', 'bandwidth.out']),
    ];
    if (chosen !== null) fills.push(drawInterface());
    return Promise.all(fills).catch((err) => setText(problem, err.message));
  }

  function drawInterface() {
    const name = interfaces.get(chosen)?.name || `ifIndex ${chosen}`;
    return fill('interface', { title: `Traffic of ${name}`, series: ['in', 'out'], format: 'bits' }, [`if.${chosen}.in`, `if.${chosen}.out`]);
  }

  function setRange(seconds) {
    span = seconds;
    rangeButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(RANGES[i][1] === seconds)));
    drawCharts();
  }

  function choose(ifIndex) {
    chosen = chosen === ifIndex ? null : ifIndex;
    showInterfaces();
    if (chosen === null) {
      made.get('interface')?.destroy();
      made.delete('interface');
      charts.querySelector('[data-chart="interface"]')?.remove();
    } else {
      drawInterface().catch((err) => setText(problem, err.message));
    }
  }

  // The device and its interfaces as REST has them: what the device is, the interfaces' labels,
  // speeds and admin status come from its polls, which events do not repeat.
  async function readState() {
    const [found, list, parts] = await Promise.all([app.api.get(path), app.api.get(`${path}/interfaces`), app.api.get(`${path}/components`)]);
    if (stopped) return;
    device = found;
    setText(title, device.name || device.id);
    showFacts();
    interfaces = new Map(list.interfaces.map((i) => [i.ifIndex, i]));
    showInterfaces();
    showComponents(parts);
  }

  // What the device's single CPU and memory figures are made of, and the rows beside them.
  function showComponents(parts) {
    const rows = [...parts.processors.map((c) => ['processor', c]), ...parts.memory.map((c) => ['memory', c])];
    partsBody.replaceChildren(...(rows.length ? rows.map(([kind, c]) => h('tr', {},
      h('td', {}, kind), h('td', {}, c.index ?? '–'), h('td', {}, c.description || '–'),
      h('td', { class: 'num' }, percent(c.value)), h('td', {}, c.counted ? 'yes' : 'no')))
      : [h('tr', {}, h('td', { colspan: 5 }, 'none read yet'))]));
  }

  async function load() {
    try {
      await readState();
      if (stopped) return;
      await drawCharts();
    } catch (err) {
      setText(problem, err.status === 404 ? `No device ${id} (or not one you may see).` : err.message);
    }
  }

  const off = [
    app.push.on('device:metrics', (data) => {
      if (data.deviceId !== id || !device) return;
      // The page came before the device's first poll: read what that poll found.
      if (device.metricsStatus === null) {
        device.metricsStatus = {}; // once
        readState().catch(() => {});
      }
      applyMetrics(device, data);
      showFacts();
      const t = Date.parse(data.timestamp) / 1000;
      made.get('cpu')?.add(t, [data.metrics.cpu]);
      made.get('memory')?.add(t, [data.metrics.memory]);
      made.get('traffic')?.add(t, [data.metrics.bandwidth.in, data.metrics.bandwidth.out]);
      if (data.interfaces) {
        for (const i of data.interfaces) interfaces.set(i.ifIndex, { ...interfaces.get(i.ifIndex), ...i });
        showInterfaces();
        const live = chosen !== null && interfaces.get(chosen);
        if (live) made.get('interface')?.add(t, [live.in, live.out]);
      }
    }),
    app.push.on('device:status', (data) => {
      if (data.deviceId !== id || !device) return;
      applyStatus(device, data);
      showFacts();
    }),
  ];
  // Charts are made once the section is in the page, so they take its width.
  requestAnimationFrame(() => {
    if (!stopped) load();
  });
  app.push.subscribe('device', id);

  return {
    element,
    stop() {
      stopped = true;
      off.forEach((fn) => fn());
      made.forEach((c) => c.destroy());
      app.push.unsubscribe('device', id);
    },
  };
}
