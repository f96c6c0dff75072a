// One device: identity, interfaces, and CPU, memory and traffic over the last hour from
// /api/devices/{id}/metrics, extended by device:metrics of the `device:<id>` channel.
import { h, setText, percent, bits, duration, ago, clock } from './dom.js';
import { TimeChart } from './chart.js';
import { applyStatus, applyMetrics } from './model.js';

const SPAN = 3600;

export function deviceView(app, id) {
  const path = `/api/devices/${encodeURIComponent(id)}`;
  const title = h('h1', {}, id);
  const status = h('span', { class: 'badge' });
  const facts = h('dl', { class: 'facts' });
  const ifBody = h('tbody');
  const charts = h('div', { class: 'charts' });
  const problem = h('p', { class: 'error', role: 'alert' });
  const element = h('section', { class: 'view device' },
    h('p', {}, h('a', { href: '#/devices' }, '← Devices')),
    h('div', { class: 'tools' }, title, status),
    problem, facts,
    h('h2', {}, 'Last hour'), charts,
    h('h2', {}, 'Interfaces'),
    h('div', { class: 'scroll' }, h('table', { class: 'interfaces' },
      h('thead', {}, h('tr', {}, ...['Name', 'Alias', 'Speed', 'Admin', 'Oper', 'In', 'Out', 'Errors in/out'].map((l, i) => h('th', { scope: 'col', class: i >= 5 || i === 2 ? 'num' : '' }, l)))),
      ifBody)));
  let device = null;
  let interfaces = new Map(); // ifIndex -> REST interface row (labels, speed, admin status)
  let stopped = false;
  const made = [];
  const chart = (options) => {
    const box = h('div', { class: 'chart' });
    charts.append(box);
    const c = new TimeChart(box, { span: SPAN, ...options });
    made.push(c);
    return c;
  };
  let cpu, memory, traffic;

  function showFacts() {
    const m = device.metrics;
    status.className = `badge status-${device.status || 'unknown'}`;
    setText(status, device.reason ? `${device.status}: ${device.reason}` : device.status || 'unknown');
    const pairs = [
      ['Host', `${device.host}:${device.port}`], ['Vendor', device.vendor], ['Model', device.model], ['OS', device.os],
      ['Type', device.type], ['Uptime', duration(m.uptime)], ['Last seen', device.lastSeen ? `${ago(device.lastSeen)} (${clock(device.lastSeen)})` : 'never'],
      ['CPU', percent(m.cpu)], ['Memory', percent(m.memory)], ['In / out', `${bits(m.bandwidth.in)} / ${bits(m.bandwidth.out)}`],
      ['Location', device.location], ['Tags', (device.tags || []).join(', ')],
    ];
    facts.replaceChildren(...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '–')]));
  }

  function showInterfaces() {
    ifBody.replaceChildren(...[...interfaces.values()].map((i) => h('tr', { class: `oper-${i.status}` },
      h('td', {}, i.name), h('td', {}, i.alias || ''), h('td', { class: 'num' }, i.speed ? bits(i.speed) : '–'),
      h('td', {}, i.adminStatus || '–'), h('td', {}, h('span', { class: 'dot' }), i.status),
      h('td', { class: 'num' }, bits(i.in)), h('td', { class: 'num' }, bits(i.out)),
      h('td', { class: 'num' }, `${i.errorsIn ?? '–'} / ${i.errorsOut ?? '–'}`))));
  }

  async function history(metric) {
    const answer = await app.api.get(`${path}/metrics?metric=${encodeURIComponent(metric)}`);
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

  async function identify() {
    device = await app.api.get(path);
    if (stopped) return;
    setText(title, device.name || device.id);
    showFacts();
  }

  async function load() {
    try {
      await identify();
      if (stopped) return;
      const list = await app.api.get(`${path}/interfaces`);
      interfaces = new Map(list.interfaces.map((i) => [i.ifIndex, i]));
      showInterfaces();
      const [c, m, bin, bout] = await Promise.all(['cpu', 'memory', 'bandwidth.in', 'bandwidth.out'].map(history));
      if (stopped) return;
      cpu.set(aligned([c]));
      memory.set(aligned([m]));
      traffic.set(aligned([bin, bout]));
    } catch (err) {
      setText(problem, err.status === 404 ? `No device ${id} (or not one you may see).` : err.message);
    }
  }

  const off = [
    app.push.on('device:metrics', (data) => {
      if (data.deviceId !== id || !device) return;
      // What the device is comes from its first poll: read it then if the page came before.
      if (device.metricsStatus === null) identify().catch(() => {});
      applyMetrics(device, data);
      showFacts();
      const t = Date.parse(data.timestamp) / 1000;
      cpu.add(t, [data.metrics.cpu]);
      memory.add(t, [data.metrics.memory]);
      traffic.add(t, [data.metrics.bandwidth.in, data.metrics.bandwidth.out]);
      if (data.interfaces) {
        for (const i of data.interfaces) interfaces.set(i.ifIndex, { ...interfaces.get(i.ifIndex), ...i });
        showInterfaces();
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
    if (stopped) return;
    cpu = chart({ title: 'CPU', series: ['cpu'], format: 'percent' });
    memory = chart({ title: 'Memory', series: ['memory'], format: 'percent' });
    traffic = chart({ title: 'Traffic', series: ['in', 'out'], format: 'bits' });
    load();
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
