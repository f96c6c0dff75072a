// Alerts: GET /api/alerts with the filters, kept current by alert:new and alert:update;
// acknowledge and resolve only for operators and admins (a viewer sees no such buttons);
// an alert's history (GET /api/alerts/{id}) under it when its message is chosen.
import { h, setText, clock } from './dom.js';
import { options } from './forms.js';

export function alertsView(app) {
  const statusFilter = h('select', { 'aria-label': 'Status', onchange: () => load() },
    ...options([['active', 'open or acknowledged'], 'open', 'acknowledged', 'resolved', ['', 'any status']]));
  const severityFilter = h('select', { 'aria-label': 'Severity', onchange: () => load() },
    ...options([['', 'any severity'], 'critical', 'warning', 'info']));
  const text = h('input', { type: 'search', placeholder: 'Filter: device, message…', 'aria-label': 'Filter alerts', oninput: () => paint() });
  const summary = h('span', { class: 'summary' });
  const tbody = h('tbody');
  const operator = app.can('operator');
  const element = h('section', { class: 'view' },
    h('div', { class: 'tools' }, h('h1', {}, 'Alerts'), statusFilter, severityFilter, text, summary),
    h('div', { class: 'scroll' }, h('table', { class: 'alerts' },
      h('thead', {}, h('tr', {}, ...['Severity', 'Device', 'Message', 'Status', 'Raised', 'Changed by', ...(operator ? ['Actions'] : [])].map((l) => h('th', { scope: 'col' }, l)))),
      tbody)));
  let alerts = [];
  const histories = new Map(); // alertId -> its changes, for the alerts opened

  async function toggle(alert) {
    if (histories.has(alert.alertId)) histories.delete(alert.alertId);
    else await readHistory(alert.alertId);
    paint();
  }

  async function readHistory(alertId) {
    try {
      histories.set(alertId, (await app.api.get(`/api/alerts/${encodeURIComponent(alertId)}`)).history);
    } catch (err) {
      app.toast(err.message, 'warning');
    }
  }

  function historyRow(alert, columns) {
    return h('tr', { class: 'history-row' }, h('td', { colspan: String(columns) }, h('ol', { class: 'history' },
      ...histories.get(alert.alertId).map((c) => h('li', {},
        `${clock(c.at)} · ${c.change}${c.by ? ` by ${c.by}` : ''}${c.value === null ? '' : ` · value ${c.value}`}`)))));
  }

  async function act(alert, action) {
    try {
      const changed = await app.api.post(`/api/alerts/${encodeURIComponent(alert.alertId)}/${action}`);
      Object.assign(alert, changed);
      paint();
    } catch (err) {
      app.toast(err.message, 'warning');
    }
  }

  function paint() {
    const words = text.value.trim().toLowerCase();
    const shown = alerts.filter((a) => !words || `${a.deviceId} ${a.message} ${a.ruleId}`.toLowerCase().includes(words));
    const columns = operator ? 7 : 6;
    tbody.replaceChildren(...shown.flatMap((a) => [h('tr', { class: `severity-${a.severity} alert-${a.status}`, dataset: { id: a.alertId } },
      h('td', {}, h('span', { class: `sev ${a.severity}` }, a.severity)),
      h('td', {}, h('a', { href: `#/device/${encodeURIComponent(a.deviceId)}` }, a.deviceId)),
      h('td', {}, h('button', {
        type: 'button', class: 'link-button message', 'aria-expanded': String(histories.has(a.alertId)), title: 'Its history',
        onclick: () => toggle(a),
      }, a.message)),
      h('td', { class: 'state' }, a.status), h('td', {}, clock(a.createdAt)), h('td', {}, a.updatedBy || ''),
      operator ? h('td', {}, h('div', { class: 'actions' },
        a.status === 'open' ? h('button', { type: 'button', class: 'ack', onclick: () => act(a, 'acknowledge') }, 'Acknowledge') : null,
        a.status !== 'resolved' ? h('button', { type: 'button', class: 'resolve', onclick: () => act(a, 'resolve') }, 'Resolve') : null)) : null),
    histories.has(a.alertId) ? historyRow(a, columns) : null]));
    setText(summary, `${shown.length} alert${shown.length === 1 ? '' : 's'}`);
  }

  async function load() {
    const query = new URLSearchParams({ limit: '500' });
    if (statusFilter.value) query.set('status', statusFilter.value);
    if (severityFilter.value) query.set('severity', severityFilter.value);
    try {
      alerts = (await app.api.get(`/api/alerts?${query}`)).alerts;
      await Promise.all([...histories.keys()].map(readHistory)); // an opened history follows its alert
      paint();
    } catch (err) {
      setText(summary, `could not load the alerts: ${err.message}`);
    }
  }

  const off = [app.push.on('alert:new', () => load()), app.push.on('alert:update', () => load())];
  load();
  return { element, stop() { off.forEach((fn) => fn()); } };
}
