// Walk through EyeNet's dashboard in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core) and print what it saw as one JSON object on stdout.
//
//   node dashboard_check.js URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD SHOTS_DIR
//
// As the admin: log in, wait for the device list, then for a cell of it to change (a live
// update), open the first device and wait for its identity, interfaces and charts, open the
// alerts, wait for an alert's toast and acknowledge the alert with the keyboard, open the map
// and wait for a link change; as the viewer (dark colour scheme, phone width): log in and open the alerts.
// Every console message, page error, failed request and Content-Security-Policy violation
// is reported. Each step waits at most EYENET_STEP_TIMEOUT_MS; the whole run exits with
// status 2 after EYENET_TIMEOUT_MS whatever happens.
'use strict';

const path = require('path');

const CHROMIUM = process.env.EYENET_CHROMIUM || '/usr/bin/chromium';
const STEP = Number(process.env.EYENET_STEP_TIMEOUT_MS || 30000);
const TOTAL = Number(process.env.EYENET_TIMEOUT_MS || 120000);
const REFRESHES = Number(process.env.EYENET_REFRESHES || 0); // token refreshes to wait for at the end of the admin's walk
const ALERT_WAIT = Number(process.env.EYENET_ALERT_WAIT_MS || 0); // how long to wait for an alert's toast (0: do not)
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

function fail(message) {
  process.stderr.write(`dashboard_check.js: ${message}\n`);
  process.exit(2);
}
setTimeout(() => fail(`gave up after ${TOTAL} ms`), TOTAL).unref();

const [url, adminUser, adminPassword, viewerUser, viewerPassword, shots] = process.argv.slice(2);
if (!shots) fail('usage: node dashboard_check.js URL ADMIN_USER ADMIN_PASSWORD VIEWER_USER VIEWER_PASSWORD SHOTS_DIR');
const { chromium } = require('playwright-core');

async function open(browser, options, report) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('console', (msg) => report.console.push({ type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => report.pageErrors.push(String(err)));
  page.on('requestfailed', (request) => report.failedRequests.push({ url: request.url(), error: request.failure() && request.failure().errorText }));
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
        for (const node of change.addedNodes) if (node.classList && node.classList.contains('toast')) window.toastsSeen.push(node.textContent);
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
  await page.waitForSelector('table.devices tbody tr', { timeout: STEP });
}

const cells = (page) => page.$$eval('table.devices tbody tr', (rows) => rows.map((r) => [r.dataset.id, ...[...r.cells].slice(4, 8).map((c) => c.textContent)].join('|')));

async function admin(browser, report) {
  const { context, page } = await open(browser, { viewport: { width: 1280, height: 900 }, colorScheme: 'light' }, report);
  try {
    report.step = 'login';
    await login(page, adminUser, adminPassword);
    await page.waitForFunction(() => document.querySelectorAll('table.devices tbody tr').length >= 8 && document.getElementById('link').classList.contains('live'), null, { timeout: STEP });
    report.devices = await page.$$eval('table.devices tbody tr', (rows) => rows.map((r) => r.dataset.id));
    report.link = await page.textContent('#link');
    const before = await cells(page);
    await page.waitForFunction((old) => {
      const now = [...document.querySelectorAll('table.devices tbody tr')].map((r) => [r.dataset.id, ...[...r.cells].slice(4, 8).map((c) => c.textContent)].join('|'));
      return now.some((row) => !old.includes(row));
    }, before, { timeout: STEP, polling: 200 });
    report.liveUpdate = { before, after: await cells(page) };
    await page.fill('input[type=search]', 'core');
    await page.waitForFunction(() => document.querySelectorAll('table.devices tbody tr').length < 8, null, { timeout: STEP });
    report.filtered = await page.$$eval('table.devices tbody tr', (rows) => rows.map((r) => r.dataset.id));
    await page.screenshot({ path: path.join(shots, 'devices.png'), fullPage: true });

    report.step = 'device';
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
    }));
    report.step = 'range';
    await page.click('.range button:nth-child(2)'); // 24 h
    await page.waitForFunction(() => document.querySelector('.range button:nth-child(2)').getAttribute('aria-pressed') === 'true'
      && document.querySelectorAll('.chart canvas').length === 3, null, { timeout: STEP });
    report.step = 'interface';
    await page.click('table.interfaces tbody tr button'); // the first interface's traffic
    await page.waitForSelector('[data-chart=interface] .u-title', { timeout: STEP });
    report.device.interfaceChart = await page.textContent('[data-chart=interface] .u-title');
    report.device.firstInterface = await page.textContent('table.interfaces tbody tr button');
    await page.screenshot({ path: path.join(shots, 'device.png'), fullPage: true });

    report.step = 'alerts';
    await page.click('#nav a[data-view=alerts]');
    await page.waitForFunction(() => /alert/.test(document.querySelector('.summary')?.textContent || ''), null, { timeout: STEP });
    report.alertButtons = await page.$$eval('table.alerts button.ack, table.alerts button.resolve', (b) => b.length);
    report.alertColumns = await page.$$eval('table.alerts th', (th) => th.map((t) => t.textContent));
    await page.screenshot({ path: path.join(shots, 'alerts.png'), fullPage: true });
    report.step = 'refreshes';
    const until = Date.now() + STEP;
    while (report.refreshes < REFRESHES && Date.now() < until) await page.waitForTimeout(250);
    await page.click('#nav a[data-view=devices]');
    await page.waitForSelector('table.devices tbody tr', { timeout: STEP });
    report.afterRefreshes = {
      link: await page.$eval('#link', (el) => el.className.replace('link ', '')),
      devices: await page.$$eval('table.devices tbody tr', (rows) => rows.length),
    };
    // The network goes away and comes back: the indicator says so, and the session goes on.
    report.step = 'offline';
    await context.setOffline(true);
    await page.waitForFunction(() => !document.getElementById('link').classList.contains('live'), null, { timeout: STEP });
    report.offline = await page.textContent('#link');
    await context.setOffline(false);
    await page.waitForFunction(() => document.getElementById('link').classList.contains('live'), null, { timeout: STEP });
    report.online = await page.textContent('#link');
    if (ALERT_WAIT) {
      report.step = 'toast';
      await page.waitForFunction(() => window.toastsSeen.length > 0, null, { timeout: ALERT_WAIT, polling: 250 });
      report.toasts = await page.evaluate(() => window.toastsSeen);
      report.alertCount = await page.textContent('#alert-count');
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
      report.step = 'topology';
      await page.click('#nav a[data-view=topology]');
      await page.waitForFunction(() => Number(document.querySelector('.map')?.dataset.nodes) > 0, null, { timeout: STEP });
      report.map = await page.$eval('.map', (el) => ({ nodes: Number(el.dataset.nodes), links: Number(el.dataset.links) }));
      await page.waitForSelector('.changes .link_change', { timeout: ALERT_WAIT });
      report.linkChange = await page.textContent('.changes .link_change');
      await page.screenshot({ path: path.join(shots, 'topology.png'), fullPage: true });
    }
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
    report.cspViolations = await page.evaluate(() => window.cspViolations);
  } finally {
    await context.close();
  }
}

(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: STEP });
  const reports = {};
  try {
    for (const [name, fn] of [['admin', admin], ['viewer', viewer]]) {
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
