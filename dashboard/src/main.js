// The dashboard: log in, keep the token fresh, hold the push connection, route by the
// URL's hash (#/devices, #/device/<id>, #/alerts, #/topology, #/anomaly, #/rules,
// #/maintenance, #/users) to one view at a time.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { Api, claims } from './api.js';
import { Push } from './push.js';
import { h, setText } from './dom.js';
import { loginView } from './login.js';
import { devicesView } from './devices.js';
import { deviceView } from './device.js';
import { alertsView } from './alerts.js';
import { topologyView } from './topology.js';
import { anomalyView } from './anomaly.js';
import { usersView } from './users.js';
import { rulesView } from './rules.js';
import { maintenanceView } from './maintenance.js';

const ROLES = ['viewer', 'operator', 'admin'];
// Refresh when this share of the token's life is spent: early enough to survive a slow answer.
const REFRESH_AT = 0.8;

const api = new Api();
const app = {
  api,
  push: null,
  role: null,
  user: null,
  userId: null,
  scope: [], // device tags; empty: every device
  can: (role) => ROLES.indexOf(app.role) >= ROLES.indexOf(role),
  // Users and rules hold for every device: only an admin without a scope changes them.
  fleet: () => app.can('admin') && app.scope.length === 0,
  jobs: new Map(), // anomaly jobs started in this session: jobId -> job, kept across views
  toast,
  openAlerts: new Set(),
  topologyChanges: [], // newest first, the last CHANGES_KEPT: the map lists them
};
const CHANGES_KEPT = 50;
let refreshTimer = null;
let current = null; // the view on screen: {stop()}

const $ = (id) => document.getElementById(id);

function toast(text, kind = 'info', href = null) {
  const body = href ? h('a', { href }, text) : text;
  const el = h('div', { class: `toast ${kind}`, role: 'alert' }, body);
  $('toasts').append(el);
  setTimeout(() => el.remove(), 8000);
}

let linkState = ['offline', ''];

function showLink(state, detail) {
  linkState = [state, detail];
  paintLink(state, detail);
}

function paintLink(state, detail) {
  const el = $('link');
  el.className = `link ${state}`;
  setText(el, detail ? `${state} · ${detail}` : state);
}

function showAlertCount() {
  const el = $('alert-count');
  el.hidden = app.openAlerts.size === 0;
  setText(el, String(app.openAlerts.size));
}

function scheduleRefresh(expiresAt) {
  clearTimeout(refreshTimer);
  const left = Date.parse(expiresAt) - Date.now();
  refreshTimer = setTimeout(refresh, Math.max(5000, left * REFRESH_AT));
}

async function refresh() {
  try {
    const answer = await api.post('/api/auth/refresh');
    api.token = answer.token;
    scheduleRefresh(answer.expiresAt);
    const ack = await app.push.refresh(answer.token);
    if (ack && ack.status !== 'refreshed') toast(`the live connection kept its old token: ${ack.message}`, 'warning');
  } catch (err) {
    if (err.status !== 401) {
      // EyeNet unreachable for now: try again soon, the token still stands a while.
      refreshTimer = setTimeout(refresh, 15000);
    }
  }
}

function signedIn(answer, username) {
  api.token = answer.token;
  app.role = answer.role;
  app.user = username;
  const claimed = claims(answer.token);
  app.userId = claimed.sub;
  app.scope = claimed.scope || [];
  scheduleRefresh(answer.expiresAt);
  $('nav').hidden = false;
  // A link is offered only to whom its view has something for: jobs need an operator.
  $('nav').querySelector('[data-view=anomaly]').hidden = !app.can('operator');
  $('nav').querySelector('[data-view=users]').hidden = !app.fleet();
  $('who').hidden = false;
  setText($('who'), `${username} (${answer.role}${app.scope.length ? `, ${app.scope.join(', ')}` : ''})`);
  $('logout').hidden = false;
  app.push = new Push(() => api.token);
  app.push.onState = showLink;
  app.push.onEnded = (error) => signOut(`Signed out: ${error.message || error.code}`);
  app.push.onLost = () => route(); // a gap in the events: read the state again
  app.push.subscribe('alerts');
  app.push.subscribe('topology');
  app.push.on('topology:update', (change) => {
    app.topologyChanges.unshift(change);
    app.topologyChanges.length = Math.min(app.topologyChanges.length, CHANGES_KEPT);
  });
  app.push.on('alert:new', (alert) => {
    app.openAlerts.add(alert.alertId);
    showAlertCount();
    toast(`${alert.severity}: ${alert.deviceId}: ${alert.message}`, alert.severity, '#/alerts');
  });
  app.push.on('alert:update', (update) => {
    app.openAlerts.delete(update.alertId);
    showAlertCount();
  });
  api.get('/api/alerts?status=open&limit=10000').then((answer) => {
    for (const alert of answer.alerts) app.openAlerts.add(alert.alertId);
    showAlertCount();
  }, () => {});
  if (!location.hash || location.hash === '#/login') location.hash = '#/devices';
  else route();
}

function signOut(message) {
  clearTimeout(refreshTimer);
  if (app.push) app.push.close();
  app.push = null;
  api.token = null;
  app.role = null;
  app.userId = null;
  app.scope = [];
  app.jobs.clear();
  app.openAlerts.clear();
  app.topologyChanges = [];
  showAlertCount();
  showLink('offline', '');
  $('nav').hidden = true;
  $('who').hidden = true;
  $('logout').hidden = true;
  show(loginView(app, signedIn, message));
}

function show(view) {
  if (current) current.stop();
  current = view;
  $('view').replaceChildren(view.element);
}

function route() {
  if (!api.token) return signOut('');
  const [, name, arg] = location.hash.split('/');
  for (const link of document.querySelectorAll('#nav a')) {
    link.toggleAttribute('aria-current', link.dataset.view === name || (name === 'device' && link.dataset.view === 'devices'));
  }
  if (name === 'device' && arg) show(deviceView(app, decodeURIComponent(arg)));
  else if (name === 'alerts') show(alertsView(app));
  else if (name === 'topology') show(topologyView(app));
  else if (name === 'anomaly') show(anomalyView(app, arg && decodeURIComponent(arg)));
  else if (name === 'rules') show(rulesView(app));
  else if (name === 'maintenance') show(maintenanceView(app));
  else if (name === 'users') show(usersView(app));
  else show(devicesView(app));
  $('view').focus({ preventScroll: true });
}

api.onUnauthorized = (error) => signOut(`Signed out: ${error.message}`);
$('logout').addEventListener('click', async () => {
  await api.post('/api/auth/logout').catch(() => {});
  signOut('Signed out.');
});
window.addEventListener('hashchange', route);
// The browser's word on the network shows at once; the connection's own state again when it is back.
window.addEventListener('offline', () => paintLink('offline', 'no network'));
window.addEventListener('online', () => paintLink(...linkState));
signOut('');
