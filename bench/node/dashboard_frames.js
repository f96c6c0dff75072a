// The browser side of bench/dashboard_frames.py: log in to the dashboard in headless
// Chromium (playwright-core from tests/js, Debian's /usr/bin/chromium), wait for the
// device list, then time frames (requestAnimationFrame intervals, and long animation
// frames) for IDLE seconds, print "load" (the bench then publishes device:metrics), and
// time them again for LOAD seconds. Prints one JSON object as its last line.
//
//   node dashboard_frames.js URL USER PASSWORD DEVICES IDLE LOAD
'use strict';

const path = require('path');
const { chromium } = require(path.join(__dirname, '..', '..', 'tests', 'js', 'node_modules', 'playwright-core'));

const [url, user, password, devices, idle, load] = process.argv.slice(2);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

// In the page: every frame's interval over `seconds`, and the long animation frames (over
// 50 ms): how many, and how much of them was the page's own script (the rest is style,
// layout and paint, or the machine's other work).
function frames(seconds) {
  return new Promise((resolve) => {
    const intervals = [];
    let last = null;
    let longFrames = 0;
    let scriptMs = 0;
    let renderMs = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        longFrames += 1;
        for (const script of entry.scripts || []) scriptMs += script.duration;
        if (entry.renderStart) renderMs += entry.startTime + entry.duration - entry.renderStart;
      }
    });
    observer.observe({ type: 'long-animation-frame' });
    const end = performance.now() + seconds * 1000;
    function tick(now) {
      if (last !== null) intervals.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick);
      else {
        observer.disconnect();
        resolve({ intervals, longFrames, scriptMs, renderMs });
      }
    }
    requestAnimationFrame(tick);
  });
}

function summary({ intervals, longFrames, scriptMs, renderMs }) {
  const sorted = [...intervals].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { frames: sorted.length, p50_ms: +at(0.5).toFixed(2), p95_ms: +at(0.95).toFixed(2), max_ms: +sorted[sorted.length - 1].toFixed(2), long_frames: longFrames,
    long_frames_script_ms: Math.round(scriptMs), long_frames_render_ms: Math.round(renderMs) };
}

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(url);
    await page.fill('#username', user);
    await page.fill('#password', password);
    await page.press('#password', 'Enter');
    await page.waitForFunction((n) => document.querySelector('.summary')?.textContent.startsWith(`${n} of ${n}`), Number(devices), { timeout: 60000 });
    const quiet = summary(await page.evaluate(frames, Number(idle)));
    process.stdout.write('load\n');
    const busy = summary(await page.evaluate(frames, Number(load)));
    const cpuShown = await page.$$eval('table.devices tbody tr', (rows) => rows.filter((r) => r.cells[4].textContent !== '–').length);
    const listed = await page.textContent('.summary');
    process.stdout.write(JSON.stringify({ idle: quiet, load: busy, listed, page_rows_with_cpu: cpuShown, page_errors: errors }) + '\n');
  } finally {
    await browser.close();
  }
})().catch((err) => {
  process.stderr.write(`dashboard_frames.js: ${err.stack || err}\n`);
  process.exit(2);
});
