// Open test pages in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and print, as one JSON object on stdout, what each page recorded in
// window.results, plus what the browser itself said: console messages, page errors,
// failed requests and the responses (status, CORS headers) to EyeNet's Engine.IO URL.
//
//   node browser_check.js NAME=URL [NAME=URL ...]
//
// The pages load side by side, each in its own browser context (no shared cookies or
// cache). Every wait is bounded: a page has EYENET_PAGE_TIMEOUT_MS (30 s) to set
// window.results.done, and the whole script exits with status 2 after
// EYENET_TIMEOUT_MS (90 s) whatever happens.
'use strict';

const fs = require('fs');

const CHROMIUM = process.env.EYENET_CHROMIUM || '/usr/bin/chromium';
const PAGE_TIMEOUT = Number(process.env.EYENET_PAGE_TIMEOUT_MS || 30000);
const TOTAL_TIMEOUT = Number(process.env.EYENET_TIMEOUT_MS || 90000);
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function fail(message) {
  process.stderr.write(`browser_check.js: ${message}\n`);
  process.exit(2);
}

setTimeout(() => fail(`gave up after ${TOTAL_TIMEOUT} ms`), TOTAL_TIMEOUT).unref();

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (err) {
  fail(`playwright-core is missing (npm ci --prefix tests/js): ${err.message}`);
}
if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing (apt-get install chromium)`);

const cases = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf('=');
  if (at < 1) fail(`expected NAME=URL, got ${arg}`);
  return { name: arg.slice(0, at), url: arg.slice(at + 1) };
});
if (cases.length === 0) fail('usage: node browser_check.js NAME=URL [NAME=URL ...]');

async function run(browser, { name, url }) {
  const report = { url, done: false, results: null, console: [], pageErrors: [], failedRequests: [], engineResponses: [], preflights: [] };
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('console', (msg) => report.console.push({ type: msg.type(), text: msg.text() }));
    page.on('pageerror', (err) => report.pageErrors.push(String(err)));
    page.on('requestfailed', (request) => report.failedRequests.push({
      method: request.method(), url: request.url(), error: request.failure() && request.failure().errorText,
    }));
    page.on('response', async (response) => {
      const request = response.request();
      if (!request.url().includes('/socket.io/')) return;
      const entry = { method: request.method(), url: request.url(), status: response.status() };
      report.engineResponses.push(entry);
      try {
        const sent = await request.allHeaders();
        const got = await response.allHeaders();
        entry.origin = sent.origin || null;
        entry.sent = Object.fromEntries(Object.entries(sent).filter(([k]) => k.startsWith('x-') || k === 'cookie'));
        entry.headers = Object.fromEntries(Object.entries(got).filter(([k]) => k.startsWith('access-control-') || k === 'vary'));
      } catch (err) {
        entry.headersError = String(err);
      }
    });
    // CORS preflights never reach Playwright's request events: DevTools' own Network
    // domain reports them (type Preflight), with the answer's status and headers.
    const cdp = await context.newCDPSession(page);
    const preflights = new Map();
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.type === 'Preflight' || e.request.method === 'OPTIONS') preflights.set(e.requestId, { method: e.request.method, url: e.request.url });
    });
    cdp.on('Network.responseReceived', (e) => {
      const entry = preflights.get(e.requestId);
      if (!entry) return;
      entry.status = e.response.status;
      entry.headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v])
        .filter(([k]) => k.startsWith('access-control-') || k === 'vary'));
      report.preflights.push(entry);
    });
    await cdp.send('Network.enable');
    await page.goto(url, { timeout: PAGE_TIMEOUT });
    try {
      await page.waitForFunction(() => window.results && window.results.done, null, { timeout: PAGE_TIMEOUT, polling: 100 });
      report.done = true;
    } catch (err) {
      report.waitError = String(err.message || err).split('\n')[0];
    }
    report.results = await page.evaluate(() => window.results || null);
  } catch (err) {
    report.error = String(err.message || err);
  } finally {
    await context.close().catch(() => {});
  }
  return [name, report];
}

(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: PAGE_TIMEOUT });
  const version = browser.version();
  let reports;
  try {
    reports = await Promise.all(cases.map((c) => run(browser, c)));
  } finally {
    await browser.close().catch(() => {});
  }
  process.stdout.write(JSON.stringify({ browser: version, cases: Object.fromEntries(reports) }) + '\n');
  process.exit(0);
})().catch((err) => fail(String(err && err.stack || err)));
