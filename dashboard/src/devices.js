// The device list: GET /api/devices once, then device:status and device:metrics from the
// `devices` channel. Rows are kept per device and only their changed cells are written,
// at most once a frame, so a busy fleet costs what changed, not the whole table: the rows
// are filtered and sorted again when the filter, the sort or a status changes, and for
// metrics only when the sort is by one, at most every REORDER_MS (rows that jump on
// every event cannot be read anyway). PAGE rows are in the page at a time, and only they
// are written: a fleet of thousands costs what one page of it shows.
import { h, setText, percent, bits, duration, ago } from './dom.js';
import { applyStatus, applyMetrics } from './model.js';
import { options } from './forms.js';

const COLUMNS = [
  { key: 'status', label: 'Status', value: (d) => ({ up: 0, degraded: 1, down: 2 })[d.status] ?? 3, show: (d) => d.status || 'unknown' },
  { key: 'id', label: 'Device', value: (d) => d.id },
  { key: 'type', label: 'Type', value: (d) => d.type || '', show: (d) => d.type || '–', narrow: true },
  { key: 'model', label: 'Vendor / model', value: (d) => `${d.vendor || ''} ${d.model || ''}`.trim(), narrow: true },
  { key: 'cpu', label: 'CPU', value: (d) => d.metrics.cpu ?? -1, show: (d) => percent(d.metrics.cpu), num: true },
  { key: 'memory', label: 'Memory', value: (d) => d.metrics.memory ?? -1, show: (d) => percent(d.metrics.memory), num: true },
  { key: 'in', label: 'In', value: (d) => d.metrics.bandwidth.in ?? -1, show: (d) => bits(d.metrics.bandwidth.in), num: true },
  { key: 'out', label: 'Out', value: (d) => d.metrics.bandwidth.out ?? -1, show: (d) => bits(d.metrics.bandwidth.out), num: true },
  { key: 'uptime', label: 'Uptime', value: (d) => d.metrics.uptime ?? -1, show: (d) => duration(d.metrics.uptime), num: true, narrow: true },
  { key: 'lastSeen', label: 'Last seen', value: (d) => d.lastSeen || '', show: (d) => ago(d.lastSeen), narrow: true },
];

const REORDER_MS = 2000;
const PAGE = 100;
const LIVE_KEYS = new Set(['cpu', 'memory', 'in', 'out', 'lastSeen', 'uptime']);

export function devicesView(app) {
  const devices = new Map(); // id -> device (the REST shape, kept current by events)
  const rows = new Map(); // id -> {tr, cells}
  let sort = { key: 'status', descending: true };
  let dirty = new Set();
  let frame = null;
  let needsOrder = true;
  let metricsMoved = false; // metrics changed since the last order, while sorted by a metric
  let orderedAt = 0;
  let first = 0; // index of the first row shown, in the filtered and sorted list
  let onPage = new Set(); // ids of the rows in the page

  const refilter = () => { first = 0; order(); };
  const filter = h('input', { type: 'search', placeholder: 'Filter: name, host, tag, vendor…', 'aria-label': 'Filter devices', oninput: refilter });
  const statusFilter = h('select', { 'aria-label': 'Status', onchange: refilter },
    ...options([['all', 'every status'], 'up', 'degraded', 'down']));
  const tagFilter = h('select', { 'aria-label': 'Tag', class: 'tag-filter', onchange: refilter });
  const summary = h('span', { class: 'summary' });
  const pageText = h('span', { class: 'summary' });
  const turn = (by) => () => { first = Math.max(0, first + by); order(); };
  const previous = h('button', { type: 'button', onclick: turn(-PAGE) }, '← Previous');
  const next = h('button', { type: 'button', onclick: turn(PAGE) }, 'Next →');
  const pager = h('div', { class: 'pager' }, previous, pageText, next);
  const headRow = h('tr');
  const tbody = h('tbody');
  const table = h('table', { class: 'devices' }, h('thead', {}, headRow), tbody);
  for (const column of COLUMNS) {
    const button = h('button', { type: 'button', class: 'sort', onclick: () => {
      sort = { key: column.key, descending: sort.key === column.key ? !sort.descending : column.num || column.key === 'status' };
      order();
    } }, column.label);
    headRow.append(h('th', { scope: 'col', class: [column.num && 'num', column.narrow && 'narrow'].filter(Boolean).join(' '), dataset: { key: column.key } }, button));
  }
  const element = h('section', { class: 'view' },
    h('div', { class: 'tools' }, h('h1', {}, 'Devices'), filter, tagFilter, statusFilter, summary),
    h('div', { class: 'scroll' }, table), pager);

  function row(device) {
    let entry = rows.get(device.id);
    if (!entry) {
      const cells = {};
      const tr = h('tr', { dataset: { id: device.id } });
      for (const column of COLUMNS) {
        const td = h('td', { class: [column.num && 'num', column.narrow && 'narrow'].filter(Boolean).join(' ') });
        if (column.key === 'id') {
          cells.link = h('a', { href: `#/device/${encodeURIComponent(device.id)}` });
          cells.host = h('span', { class: 'host' });
          td.append(cells.link, cells.host);
        } else if (column.key === 'status') {
          cells.dot = h('span', { class: 'dot' });
          cells.statusText = h('span', {});
          td.append(cells.dot, cells.statusText);
        }
        cells[column.key] = td;
        tr.append(td);
      }
      entry = { tr, cells };
      rows.set(device.id, entry);
    }
    return entry;
  }

  function paint(device) {
    const { tr, cells } = row(device);
    // Written only when changed: even an equal value invalidates the row's style.
    const statusClass = `status-${device.status || 'unknown'}`;
    if (tr.className !== statusClass) tr.className = statusClass;
    setText(cells.statusText, device.status || 'unknown');
    if (cells.status.title !== (device.reason || '')) cells.status.title = device.reason || '';
    setText(cells.link, device.name || device.id);
    setText(cells.host, device.host);
    for (const column of COLUMNS) {
      if (column.show && column.key !== 'status') setText(cells[column.key], column.show(device));
      else if (!column.show && column.key !== 'id') setText(cells[column.key], column.value(device));
    }
  }

  function matches(device, text, status, tag) {
    if (status !== 'all' && device.status !== status) return false;
    if (tag && !(device.tags || []).includes(tag)) return false;
    if (!text) return true;
    const haystack = [device.id, device.name, device.host, device.vendor, device.model, device.os, device.type, device.status, ...(device.tags || [])]
      .filter(Boolean).join(' ').toLowerCase();
    return text.split(/\s+/).every((word) => haystack.includes(word));
  }

  function order() {
    needsOrder = true;
    schedule();
  }

  function schedule() {
    if (frame === null) frame = requestAnimationFrame(render);
  }

  function render(now) {
    frame = null;
    for (const id of dirty) if (onPage.has(id) && devices.has(id)) paint(devices.get(id));
    const sortedBy = COLUMNS.find((c) => c.key === sort.key);
    if (metricsMoved && now - orderedAt >= REORDER_MS) needsOrder = true;
    else if (metricsMoved) schedule(); // the order is due later
    if (needsOrder) {
      orderedAt = now;
      metricsMoved = false;
      const text = filter.value.trim().toLowerCase();
      const shown = [...devices.values()].filter((d) => matches(d, text, statusFilter.value, tagFilter.value));
      shown.sort((a, b) => {
        const x = sortedBy.value(a);
        const y = sortedBy.value(b);
        const by = x < y ? -1 : x > y ? 1 : a.id.localeCompare(b.id);
        return sort.descending ? -by : by;
      });
      if (first >= shown.length) first = Math.max(0, Math.floor((shown.length - 1) / PAGE) * PAGE);
      const page = shown.slice(first, first + PAGE);
      for (const d of page) if (!onPage.has(d.id)) paint(d); // rows off the page were not kept current
      onPage = new Set(page.map((d) => d.id));
      const wanted = page.map((d) => row(d).tr);
      if (wanted.length !== tbody.children.length || wanted.some((tr, i) => tbody.children[i] !== tr)) tbody.replaceChildren(...wanted);
      const counts = { up: 0, degraded: 0, down: 0 };
      for (const d of devices.values()) if (d.status in counts) counts[d.status] += 1;
      setText(summary, `${shown.length} of ${devices.size} · ${counts.up} up · ${counts.degraded} degraded · ${counts.down} down`);
      pager.hidden = shown.length <= PAGE;
      previous.disabled = first === 0;
      next.disabled = first + PAGE >= shown.length;
      setText(pageText, `${first + 1}–${first + page.length} of ${shown.length}`);
      for (const th of headRow.children) {
        th.setAttribute('aria-sort', th.dataset.key === sort.key ? (sort.descending ? 'descending' : 'ascending') : 'none');
      }
    }
    dirty = new Set();
    needsOrder = false;
  }

  function changed(id, reorder) {
    dirty.add(id);
    if (reorder) needsOrder = true;
    else if (LIVE_KEYS.has(sort.key)) metricsMoved = true;
    schedule();
  }

  // The tags of the fleet as they are (devices added through the API bring theirs).
  function showTags() {
    const tags = [...new Set([...devices.values()].flatMap((d) => d.tags || []))].sort();
    tagFilter.replaceChildren(...options([['', 'every tag'], ...tags], tags.includes(tagFilter.value) ? tagFilter.value : ''));
  }

  async function load() {
    try {
      const answer = await app.api.get('/api/devices');
      devices.clear();
      for (const device of answer.devices) {
        devices.set(device.id, device);
        dirty.add(device.id);
      }
      showTags();
      order();
    } catch (err) {
      setText(summary, `could not load the devices: ${err.message}`);
    }
  }

  const off = [
    app.push.on('device:status', (data) => {
      const device = devices.get(data.deviceId);
      if (!device) return load(); // a device added since
      applyStatus(device, data);
      changed(device.id, true);
    }),
    app.push.on('device:metrics', (data) => {
      const device = devices.get(data.deviceId);
      if (!device) return;
      applyMetrics(device, data);
      changed(device.id, false);
    }),
  ];
  app.push.subscribe('devices');
  load();
  // "Last seen" ages while nothing arrives.
  const ticker = setInterval(() => { for (const id of devices.keys()) dirty.add(id); schedule(); }, 10000);

  return {
    element,
    stop() {
      off.forEach((fn) => fn());
      clearInterval(ticker);
      if (frame !== null) cancelAnimationFrame(frame);
      app.push.unsubscribe('devices');
    },
  };
}
