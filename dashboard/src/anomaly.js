// Anomaly jobs: start one for a device and metric (POST /api/ml/jobs), then show its labels
// and confidence when its ml:prediction arrives on the `ml` channel. The jobs of the session
// are kept on app.jobs, so they survive a change of view; those still unfinished when the
// view opens again are read through REST (their event may have come while it was closed).
import { h, setText, clock } from './dom.js';
import { field, form, options, refused } from './forms.js';

const DEVICE_METRICS = [['cpu', 'CPU'], ['memory', 'memory'], ['bandwidth.in', 'traffic in'], ['bandwidth.out', 'traffic out']];
const UNFINISHED = new Set(['queued', 'running']);
const EARLY_KEPT = 20;

export function anomalyView(app, chosenDevice) {
  if (!app.can('operator')) {
    return refused('Anomaly', 'Anomaly jobs are run by operators and admins.');
  }
  const device = h('select', { id: 'ml-device', onchange: () => readInterfaces() });
  const metric = h('select', { id: 'ml-metric' }, ...options(DEVICE_METRICS));
  const list = h('ol', { class: 'jobs' });
  const element = h('section', { class: 'view' },
    h('div', { class: 'tools' }, h('h1', {}, 'Anomaly')),
    form('Run an anomaly job', [field('Device', device), field('Metric', metric)], 'Run', run),
    h('h2', {}, 'Jobs of this session'), list);

  async function run() {
    const job = await app.api.post('/api/ml/jobs', { deviceId: device.value, metric: metric.value });
    app.jobs.set(job.jobId, job);
    if (early.has(job.jobId)) predicted(early.get(job.jobId)); // it came before this answer
    paint();
  }

  function paint() {
    const jobs = [...app.jobs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    list.replaceChildren(...jobs.map((job) => h('li', { class: `job job-${job.status}`, dataset: { id: job.jobId, status: job.status } },
      h('strong', {}, `${job.deviceId} · ${job.metric}`), ` · ${job.status}`,
      h('span', { class: 'summary' }, ` · ${clock(job.window.from)} – ${clock(job.window.to)}`),
      job.status === 'failed' ? h('p', { class: 'error' }, job.reason || 'failed') : null,
      job.status === 'completed' && job.results.length === 0 ? h('p', { class: 'summary' }, 'nothing found') : null,
      h('ul', { class: 'labels' }, ...job.results.map((r) => h('li', { class: `label label-${r.label}` },
        h('span', { class: 'name' }, r.label), ' ', h('span', { class: 'confidence' }, `${Math.round(r.confidence * 100)} %`),
        h('meter', { min: 0, max: 1, value: r.confidence, 'aria-label': `confidence of ${r.label}` })))))));
  }

  async function reread(jobId) {
    try {
      app.jobs.set(jobId, await app.api.get(`/api/ml/jobs/${encodeURIComponent(jobId)}`));
      paint();
    } catch (err) {
      app.toast(err.message, 'warning');
    }
  }

  async function readDevices() {
    const answer = await app.api.get('/api/devices');
    const ids = answer.devices.map((d) => d.id).sort();
    device.replaceChildren(...options(ids, ids.includes(chosenDevice) ? chosenDevice : ids[0]));
    await readInterfaces();
  }

  // The device's interfaces as metrics too (if.<ifIndex>.in / .out).
  async function readInterfaces() {
    const kept = metric.value;
    const answer = await app.api.get(`/api/devices/${encodeURIComponent(device.value)}/interfaces`);
    const own = answer.interfaces.filter((i) => !i.ignored).flatMap((i) => [[`if.${i.ifIndex}.in`, `${i.name} in`], [`if.${i.ifIndex}.out`, `${i.name} out`]]);
    metric.replaceChildren(...options([...DEVICE_METRICS, ...own], kept));
  }

  const early = new Map(); // predictions of jobs not (yet) known: the last EARLY_KEPT
  function predicted(data) {
    const job = app.jobs.get(data.jobId);
    if (!job) {
      early.set(data.jobId, data);
      if (early.size > EARLY_KEPT) early.delete(early.keys().next().value);
      return;
    }
    // A failure is shown with its reason, which only REST has.
    if (data.status === 'failed') return reread(data.jobId);
    Object.assign(job, { status: data.status, results: data.results });
    paint();
  }
  const off = app.push.on('ml:prediction', predicted);
  app.push.subscribe('ml');
  readDevices().catch((err) => app.toast(err.message, 'warning'));
  for (const job of app.jobs.values()) if (UNFINISHED.has(job.status)) reread(job.jobId);
  paint();
  return { element, stop() { off(); app.push.unsubscribe('ml'); } };
}
