// Walk through EyeNet's dashboard in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core) and print what it saw as one JSON object on stdout.
//
//   node dashboard_check.js URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD SCOPED_USER SCOPED_PASSWORD SHOTS_DIR
//
// As the admin: log in, wait for the 8 devices and for a number of them to change (a live
// update) within EYENET_LIVE_WAIT_MS of logging in, filter them by text and by tag, open the
// first device and wait for its identity, interfaces and charts, open the alerts, wait for
// the core router's alert as a toast and its CPU spike in its chart within
// EYENET_ALERT_WAIT_MS of EYENET_DEMO_START_MS (when the demo started, Unix ms), acknowledge
// the alert with the keyboard, open the map and wait for a link change,
// then use the admin views: create the scoped user (role admin, scope SCOPED_TAG) and
// another user whose role and scope it changes and which it deletes, add a rule, switch it
// off and delete it, open a maintenance window and end it. As the viewer (dark colour
// scheme, phone width): log in, open the alerts and the admin views. As the scoped user:
// the device list, the map and the alerts, what the admin views offer it, and an anomaly
// job for the core router's CPU with its labels.
// Screenshots of each view go to SHOTS_DIR. Every console message, page error, failed
// request and Content-Security-Policy violation is reported. Each step waits at most
// EYENET_STEP_TIMEOUT_MS; the whole run exits with status 2 after EYENET_TIMEOUT_MS
// whatever happens.
'use strict';

const path = require('path');

const CHROMIUM = process.env.EYENET_CHROMIUM || '/usr/bin/chromium';
const STEP = Number(process.env.EYENET_STEP_TIMEOUT_MS || 30000);
const TOTAL = Number(process.env.EYENET_TIMEOUT_MS || 120000);
const REFRESHES = Number(process.env.EYENET_REFRESHES || 0); // token refreshes to wait for at the end of the admin's walk
const ALERT_WAIT = Number(process.env.EYENET_ALERT_WAIT_MS || 0); // the alert's toast and spike after the demo's start (0: do not wait)
const DEMO_START = Number(process.env.EYENET_DEMO_START_MS || Date.now());
const LIVE_WAIT = Number(process.env.EYENET_LIVE_WAIT_MS || STEP); // the list and a change of it, after the login
const SCOPED_TAG = process.env.EYENET_SCOPED_TAG || 'router';
const SPIKE = 90; // % CPU: the lab's spike is at 95, the core router otherwise below 40
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

function fail(message) {
  process.stderr.write(`dashboard_check.js: ${message}\n`);
  process.exit(2);
}
setTimeout(() => fail(`gave up after ${TOTAL} ms`), TOTAL).unref();

const [url, adminUser, adminPassword, viewerUser, viewerPassword, scopedUser, scopedPassword, shots] = process.argv.slice(2);
if (!shots) fail('usage: node dashboard_check.js URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD SCOPED_USER SCOPED_PASSWORD SHOTS_DIR');
// The step under way (named in an error) and when it began, in ms after the demo's start.
function mark(report, step) {
  report.step = step;
  (report.steps ||= []).push([step, Date.now() - DEMO_START]);
}

// Time left until a deadline (Unix ms), at least 1 ms: a wait past it fails.
const timeLeft = (deadline) => Math.max(1, deadline - Date.now());
const { chromium } = require('playwright-core');

async function open(browser, options, report) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('console', (msg) => report.console.push({ type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => report.pageErrors.push(String(err)));
  page.on('dialog', (dialog) => dialog.accept()); // "Delete ...?": yes
  page.on('requestfailed', async (request) => {
    // Chromium ends a fetch answered 204 No Content as aborted, though the page got its answer.
    const response = await request.response().catch(() => null);
    if (response && response.status() === 204) return;
    report.failedRequests.push({ url: request.url(), error: request.failure() && request.failure().errorText });
  });
  report.refreshes = 0;
  page.on('response', (response) => {
    if (response.status() >= 400) report.badResponses.push({ url: response.url(), status: response.status() });
    else if (response.url().endsWith('/api/auth/refresh')) report.refreshes += 1;
  });
  // Installed by DevTools, not by the page: the page's own policy does not apply to it.
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    window.toastsSeen = []; // toasts go away by themselves: kept here as they come
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of change.addedNodes) if (node.classList && node.classList.contains('toast')) window.toastsSeen.push({ text: node.textContent, at: Date.now() });
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(url, { timeout: STEP });
  return { context, page };
}

async function login(page, user, password) {
  await page.fill('#username', user, { timeout: STEP });
  await page.fill('#password', password);
  await page.press('#password', 'Enter'); // the keyboard, not the mouse
  const at = Date.now();
  await page.waitForSelector('table.devices tbody tr', { timeout: STEP });
  return at;
}

const rowIds = (page, selector) => page.$$eval(`${selector} tbody tr`, (rows) => rows.map((r) => r.dataset.id));
const navShown = (page) => page.$$eval('#nav a', (links) => links.filter((a) => !a.hidden).map((a) => a.dataset.view));

// Open a view from the menu and wait until its list is read ("3 rules").
async function view(page, name, noun) {
  await page.click(`#nav a[data-view=${name}]`);
  await page.waitForFunction((what) => new RegExp(`^\\d+ ${what}`).test(document.querySelector('.summary')?.textContent || ''), noun, { timeout: STEP });
}

const cells = (page) => page.$$eval('table.devices tbody tr', (rows) => rows.map((r) => [r.dataset.id, ...[...r.cells].slice(4, 8).map((c) => c.textContent)].join('|')));

async function admin(browser, report) {
  const { context, page } = await open(browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'light' }, report);
  try {
    mark(report, 'login');
    const loggedIn = await login(page, adminUser, adminPassword);
    mark(report, 'live list');
    await page.waitForFunction(() => document.querySelectorAll('table.devices tbody tr').length >= 8 && document.getElementById('link').classList.contains('live'), null, { timeout: timeLeft(loggedIn + LIVE_WAIT) });
    report.devices = await rowIds(page, 'table.devices');
    report.link = await page.textContent('#link');
    const before = await cells(page);
    await page.waitForFunction((old) => {
      const now = [...document.querySelectorAll('table.devices tbody tr')].map((r) => [r.dataset.id, ...[...r.cells].slice(4, 8).map((c) => c.textContent)].join('|'));
      return now.some((row) => !old.includes(row));
    }, before, { timeout: timeLeft(loggedIn + LIVE_WAIT), polling: 200 });
    report.liveUpdate = { before, after: await cells(page), afterLogin: Date.now() - loggedIn };
    await page.screenshot({ path: path.join(shots, 'devices.png'), fullPage: true });
    mark(report, 'filters');
    await page.fill('input[type=search]', 'core');
    await page.waitForFunction(() => document.querySelectorAll('table.devices tbody tr').length < 8, null, { timeout: STEP });
    report.filtered = await rowIds(page, 'table.devices');
    await page.fill('input[type=search]', '');
    report.tags = await page.$$eval('select.tag-filter option', (o) => o.map((x) => x.value));
    await page.selectOption('select.tag-filter', 'switch');
    await page.waitForFunction(() => document.querySelectorAll('table.devices tbody tr').length < 8, null, { timeout: STEP });
    report.tagged = await rowIds(page, 'table.devices');
    await page.selectOption('select.tag-filter', '');
    await page.fill('input[type=search]', 'core');
    await page.waitForFunction(() => document.querySelectorAll('table.devices tbody tr').length === 1, null, { timeout: STEP });

    mark(report, 'device');
    await page.click('table.devices tbody tr a');
    await page.waitForSelector('table.interfaces tbody tr', { timeout: STEP });
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3, null, { timeout: STEP });
    // Identity comes from the device's first poll, which may follow the page's first look.
    await page.waitForFunction(() => [...document.querySelectorAll('.facts dt')].some((dt) => dt.textContent === 'Vendor' && dt.nextElementSibling.textContent !== '–')
      && document.querySelector('table.interfaces tbody tr').cells[2].textContent !== '–', null, { timeout: STEP });
    report.device = await page.evaluate(() => ({
      hash: location.hash,
      facts: Object.fromEntries([...document.querySelectorAll('.facts dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
      interfaces: document.querySelectorAll('table.interfaces tbody tr').length,
      firstRow: [...document.querySelector('table.interfaces tbody tr').cells].map((c) => c.textContent),
      components: [...document.querySelectorAll('table.components tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
    }));
    mark(report, 'range');
    await page.click('.range button:nth-child(2)'); // 24 h
    await page.waitForFunction(() => document.querySelector('.range button:nth-child(2)').getAttribute('aria-pressed') === 'true'
      && document.querySelectorAll('.chart canvas').length === 3, null, { timeout: STEP });
    mark(report, 'interface');
    await page.click('table.interfaces tbody tr button'); // the first interface's traffic
    await page.waitForSelector('[data-chart=interface] .u-title', { timeout: STEP });
    report.device.interfaceChart = await page.textContent('[data-chart=interface] .u-title');
    report.device.firstInterface = await page.textContent('table.interfaces tbody tr button');
    await page.screenshot({ path: path.join(shots, 'device.png'), fullPage: true });

    mark(report, 'alerts');
    await page.click('#nav a[data-view=alerts]');
    await page.waitForFunction(() => /alert/.test(document.querySelector('.summary')?.textContent || ''), null, { timeout: STEP });
    report.alertButtons = await page.$$eval('table.alerts button.ack, table.alerts button.resolve', (b) => b.length);
    report.alertColumns = await page.$$eval('table.alerts th', (th) => th.map((t) => t.textContent));
    await page.screenshot({ path: path.join(shots, 'alerts.png'), fullPage: true });
    mark(report, 'refreshes');
    const until = Date.now() + STEP;
    while (report.refreshes < REFRESHES && Date.now() < until) await page.waitForTimeout(250);
    await page.click('#nav a[data-view=devices]');
    await page.waitForSelector('table.devices tbody tr', { timeout: STEP });
    report.afterRefreshes = {
      link: await page.$eval('#link', (el) => el.className.replace('link ', '')),
      devices: await page.$$eval('table.devices tbody tr', (rows) => rows.length),
    };
    // The network goes away and comes back: the indicator says so, and the session goes on.
    mark(report, 'offline');
    await context.setOffline(true);
    await page.waitForFunction(() => !document.getElementById('link').classList.contains('live'), null, { timeout: STEP });
    report.offline = await page.textContent('#link');
    await context.setOffline(false);
    await page.waitForFunction(() => document.getElementById('link').classList.contains('live'), null, { timeout: STEP });
    report.online = await page.textContent('#link');
    if (ALERT_WAIT) {
      // The core router's spike: its alert as a toast, then the spike in its CPU chart, both
      // within ALERT_WAIT of the demo's start.
      mark(report, 'toast');
      await page.waitForFunction(() => window.toastsSeen.some((t) => t.text.includes('core-rtr-01')), null, { timeout: timeLeft(DEMO_START + ALERT_WAIT), polling: 250 });
      report.toasts = (await page.evaluate(() => window.toastsSeen)).map((t) => ({ ...t, afterStart: t.at - DEMO_START }));
      report.alertCount = await page.textContent('#alert-count');
      mark(report, 'spike');
      await page.evaluate(() => { location.hash = '#/device/core-rtr-01'; });
      await page.waitForFunction((spike) => Number(document.querySelector('[data-chart=cpu]')?.dataset.peak) >= spike, SPIKE, { timeout: timeLeft(DEMO_START + ALERT_WAIT), polling: 250 });
      report.spike = { peak: Number(await page.getAttribute('[data-chart=cpu]', 'data-peak')), afterStart: Date.now() - DEMO_START };
      await page.screenshot({ path: path.join(shots, 'device-cpu-spike.png'), fullPage: true });
      mark(report, 'acknowledge');
      await page.click('#nav a[data-view=alerts]');
      const button = await page.waitForSelector('table.alerts tr.alert-open button.ack', { timeout: STEP });
      report.acknowledged = await button.evaluate((b) => b.closest('tr').dataset.id);
      await button.focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] .state`)?.textContent === 'acknowledged',
        report.acknowledged, { timeout: STEP });
      await page.click(`tr[data-id="${report.acknowledged}"] button.message`); // its history
      await page.waitForFunction(() => document.querySelectorAll('.history li').length >= 2, null, { timeout: STEP });
      report.history = await page.$$eval('.history li', (items) => items.map((li) => li.textContent));
      await page.screenshot({ path: path.join(shots, 'alerts.png'), fullPage: true });

      // The map, and the uplink flap (a minute or so into the demo) as a link change.
      mark(report, 'topology');
      await page.click('#nav a[data-view=topology]');
      await page.waitForFunction(() => Number(document.querySelector('.map')?.dataset.nodes) > 0, null, { timeout: STEP });
      report.map = await page.$eval('.map', (el) => ({ nodes: Number(el.dataset.nodes), links: Number(el.dataset.links) }));
      await page.waitForSelector('.changes .link_change', { timeout: ALERT_WAIT });
      report.linkChange = await page.textContent('.changes .link_change');
      await page.screenshot({ path: path.join(shots, 'topology.png'), fullPage: true });
    }
    mark(report, 'users');
    await users(page, report);
    mark(report, 'rules');
    await rules(page, report);
    mark(report, 'maintenance');
    await maintenance(page, report);
    report.cspViolations = await page.evaluate(() => window.cspViolations);
  } finally {
    await context.close();
  }
}

// A job for the core router's CPU, from its device page: its labels when done.
// A job of a demo younger than ten polls fails for want of history; its user runs it again
// a poll later, as the reason says, at most JOB_TRIES times.
const JOB_TRIES = 8;
async function anomaly(page, report) {
  await page.click('#nav a[data-view=devices]');
  await page.click('table.devices tbody tr a'); // its one device
  await page.click('a[href="#/anomaly/core-rtr-01"]');
  await page.waitForFunction(() => document.querySelector('#ml-device')?.value === 'core-rtr-01' && document.querySelectorAll('#ml-metric option').length > 4, null, { timeout: STEP });
  await page.selectOption('#ml-metric', 'cpu');
  report.anomalyFailures = [];
  for (let tries = 0; tries < JOB_TRIES; tries += 1) {
    const done = await page.$$eval('li.job:not([data-status=queued]):not([data-status=running])', (li) => li.length);
    await page.click('form.edit button[type=submit]');
    await page.waitForFunction((n) => document.querySelectorAll('li.job[data-status=completed], li.job[data-status=failed]').length > n, done, { timeout: STEP });
    report.anomaly = await page.$eval('li.job', (li) => ({
      jobId: li.dataset.id,
      status: li.dataset.status,
      title: li.querySelector('strong').textContent,
      labels: [...li.querySelectorAll('.labels li')].map((l) => [l.querySelector('.name').textContent, l.querySelector('.confidence').textContent]),
      reason: li.querySelector('.error')?.textContent || null,
    }));
    if (report.anomaly.status === 'completed' || !/not enough history/.test(report.anomaly.reason)) break;
    report.anomalyFailures.push(report.anomaly.reason);
    await page.waitForTimeout(10000);
  }
  await page.screenshot({ path: path.join(shots, 'anomaly.png'), fullPage: true });
}

// Fill a view's form (#id -> value; a <select> is chosen) and send it with Enter in its
// first field (the keyboard, not the mouse).
async function submit(page, values) {
  for (const [selector, value] of Object.entries(values)) {
    if (await page.$eval(selector, (el) => el.tagName === 'SELECT')) await page.selectOption(selector, value);
    else await page.fill(selector, value);
  }
  await page.press(Object.keys(values)[0], 'Enter');
}

async function users(page, report) {
  await view(page, 'users', 'user');
  await submit(page, { '#new-username': scopedUser, '#new-password': scopedPassword, '#new-role': 'admin', '#new-scope': SCOPED_TAG });
  await page.waitForSelector(`table.users tr[data-username="${scopedUser}"]`, { timeout: STEP });
  await submit(page, { '#new-username': 'passing-by', '#new-password': 'passing-by-passphrase', '#new-role': 'viewer', '#new-scope': '' });
  const row = 'table.users tr[data-username="passing-by"]';
  await page.waitForSelector(row, { timeout: STEP });
  await page.selectOption(`${row} select.role`, 'operator');
  await page.fill(`${row} input.scope`, 'switch, endpoint');
  await page.click(`${row} button.save`);
  // Read again from REST after the change.
  await page.waitForFunction((r) => document.querySelector(`${r} select.role`)?.value === 'operator' && !document.querySelector('form.edit .error').textContent
    && document.querySelector(`${r} input.scope`).value === 'switch, endpoint' && [...document.querySelectorAll('.toast')].some((t) => t.textContent.startsWith('passing-by changed')), row, { timeout: STEP });
  report.changedUser = await page.$eval(row, (tr) => [tr.querySelector('select.role').value, tr.querySelector('input.scope').value]);
  await page.screenshot({ path: path.join(shots, 'users.png'), fullPage: true });
  await page.click(`${row} button.delete`);
  await page.waitForSelector(row, { state: 'detached', timeout: STEP });
  report.users = await page.$$eval('table.users tbody tr', (rows) => rows.map((r) => [r.dataset.username, r.cells[1].querySelector('select')?.value || r.cells[1].textContent,
    r.cells[2].querySelector('input')?.value ?? r.cells[2].textContent]));
}

async function rules(page, report) {
  await view(page, 'rules', 'rule');
  await submit(page, { '#rule-id': 'memory-very-high', '#rule-metric': 'device.memory', '#rule-op': '>', '#rule-threshold': '99', '#rule-for': '60', '#rule-severity': 'warning', '#rule-tags': 'switch' });
  const row = 'table.rules tr[data-id="memory-very-high"]';
  await page.waitForSelector(row, { timeout: STEP });
  await page.click(`${row} button.toggle`);
  await page.waitForFunction((r) => document.querySelector(`${r} .enabled`)?.textContent === 'no', row, { timeout: STEP });
  report.rule = await page.$eval(row, (tr) => [...tr.cells].slice(0, 6).map((c) => c.textContent));
  await page.screenshot({ path: path.join(shots, 'rules.png'), fullPage: true });
  await page.click(`${row} button.delete`);
  await page.waitForSelector(row, { state: 'detached', timeout: STEP });
  // A rule on anomaly findings: its labels go with it and show in its condition.
  await submit(page, { '#rule-id': 'cpu-anomaly', '#rule-metric': 'ml.prediction', '#rule-op': '>=', '#rule-threshold': '0.8', '#rule-labels': 'spike, level_shift', '#rule-for': '0', '#rule-severity': 'warning', '#rule-tags': '' });
  const anomaly = 'table.rules tr[data-id="cpu-anomaly"]';
  await page.waitForSelector(anomaly, { timeout: STEP });
  report.predictionRule = await page.$eval(anomaly, (tr) => tr.cells[1].textContent);
  await page.click(`${anomaly} button.delete`);
  await page.waitForSelector(anomaly, { state: 'detached', timeout: STEP });
  report.rulesLeft = await rowIds(page, 'table.rules');
}

async function maintenance(page, report) {
  await view(page, 'maintenance', 'window');
  await submit(page, { '#mw-devices': 'srv-mon-01', '#mw-reason': 'disk swap' });
  await page.waitForSelector('table.windows tbody tr', { timeout: STEP });
  report.window = await page.$eval('table.windows tbody tr', (tr) => [...tr.cells].slice(0, 6).map((c) => c.textContent));
  await page.screenshot({ path: path.join(shots, 'maintenance.png'), fullPage: true });
  await page.click('table.windows tbody tr button.delete');
  await page.waitForFunction(() => document.querySelectorAll('table.windows tbody tr').length === 0, null, { timeout: STEP });
}

// What the admin views offer this user: the menu, and the forms and buttons of each; and
// how much wider than the window the widest of them is (a phone's: nothing).
async function offered(page) {
  const seen = { nav: await navShown(page) };
  for (const [name, noun] of [['rules', 'rule'], ['maintenance', 'window']]) {
    await view(page, name, noun);
    seen[name] = { form: await page.$$eval('form.edit', (f) => f.length), buttons: await page.$$eval('table tbody button', (b) => b.length) };
    seen.overflow = Math.max(seen.overflow ?? -Infinity, await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth));
  }
  return seen;
}

// A scoped admin: its devices only, in the list, on the map and in the alerts, and no
// action that holds for the whole fleet; then an anomaly job on its device.
async function scoped(browser, report) {
  const { context, page } = await open(browser, { viewport: { width: 1024, height: 768 }, colorScheme: 'light' }, report);
  try {
    mark(report, 'login');
    await login(page, scopedUser, scopedPassword);
    await page.waitForFunction(() => document.getElementById('link').classList.contains('live'), null, { timeout: STEP });
    report.who = await page.textContent('#who');
    report.devices = await rowIds(page, 'table.devices');
    await page.screenshot({ path: path.join(shots, 'scoped-devices.png'), fullPage: true });
    mark(report, 'topology');
    await page.click('#nav a[data-view=topology]');
    await page.waitForFunction(() => Number(document.querySelector('.map')?.dataset.nodes) > 0, null, { timeout: STEP });
    report.map = await page.$$eval('.map-nodes li', (items) => items.map((li) => [li.dataset.id, !!li.querySelector('a')]));
    await page.screenshot({ path: path.join(shots, 'scoped-topology.png'), fullPage: true });
    mark(report, 'alerts');
    await view(page, 'alerts', 'alert');
    await page.selectOption('select[aria-label=Status]', '');
    await page.waitForFunction(() => document.querySelector('select[aria-label=Status]').value === '' && document.querySelectorAll('table.alerts tbody tr').length > 0, null, { timeout: STEP });
    report.alertDevices = await page.$$eval('table.alerts tbody tr:not(.history-row)', (rows) => rows.map((r) => r.cells[1].textContent));
    await page.screenshot({ path: path.join(shots, 'scoped-alerts.png'), fullPage: true });
    mark(report, 'admin views');
    report.offered = await offered(page);
    report.users = await page.evaluate(async () => { location.hash = '#/users'; await new Promise((r) => setTimeout(r, 100)); return document.querySelector('main').textContent; });
    mark(report, 'anomaly');
    await anomaly(page, report); // last of all: a job needs ten polls of history
    report.cspViolations = await page.evaluate(() => window.cspViolations);
  } finally {
    await context.close();
  }
}

async function viewer(browser, report) {
  const { context, page } = await open(browser, { viewport: { width: 390, height: 844 }, colorScheme: 'dark' }, report);
  try {
    await login(page, viewerUser, viewerPassword);
    report.who = await page.textContent('#who');
    report.background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    report.overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.screenshot({ path: path.join(shots, 'devices-phone-dark.png'), fullPage: true });
    await page.click('#nav a[data-view=alerts]');
    await page.waitForFunction(() => /alert/.test(document.querySelector('.summary')?.textContent || ''), null, { timeout: STEP });
    report.alertColumns = await page.$$eval('table.alerts th', (th) => th.map((t) => t.textContent));
    report.alertButtons = await page.$$eval('table.alerts button.ack, table.alerts button.resolve', (b) => b.length);
    report.alertRows = await page.$$eval('table.alerts tbody tr', (rows) => rows.length);
    await page.screenshot({ path: path.join(shots, 'viewer-alerts-phone-dark.png'), fullPage: true });
    report.offered = await offered(page);
    report.cspViolations = await page.evaluate(() => window.cspViolations);
  } finally {
    await context.close();
  }
}

(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: STEP });
  const reports = {};
  try {
    for (const [name, fn] of [['admin', admin], ['viewer', viewer], ['scoped', scoped]]) {
      const report = { console: [], pageErrors: [], failedRequests: [], badResponses: [] };
      reports[name] = report;
      try {
        await fn(browser, report);
      } catch (err) {
        report.error = `${report.step || 'start'}: ${String(err.message || err).split('\n').slice(0, 12).join(' | ')}`;
      }
    }
  } finally {
    await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify(reports) + '\n');
  process.exit(0);
})().catch((err) => fail(String((err && err.stack) || err)));
