// Alert rules (GET/POST/PUT/DELETE /api/rules): every user reads them; only an admin without
// a device scope adds, switches on or off and deletes them, and not those of the
// configuration file (changed there).
import { h } from './dom.js';
import { field, form, words, action, lister, options, listView, appliesTo } from './forms.js';

const METRICS = ['device.cpu', 'device.memory', 'device.status', 'device.uptime', 'interface.status',
  'interface.in_utilization', 'interface.out_utilization', 'interface.errors', 'ml.prediction'];
// ml.prediction: an anomaly finding of these labels (none: any) at a minimum confidence.
const PREDICTION = 'ml.prediction';
const OPS = ['>', '>=', '<', '<=', '==', '!=', 'decreased'];
const SEVERITIES = ['critical', 'warning', 'info'];

// What a rule is without its id and source: the body of PUT.
function body(rule) {
  const { id, source, ...fields } = rule;
  return fields;
}

// A number where the text is one ("90"), else the state as written ("down"); none when empty.
function threshold(text) {
  const t = text.trim();
  if (!t) return null;
  return Number.isFinite(Number(t)) ? Number(t) : t;
}

export function rulesView(app) {
  const fleet = app.fleet();
  const summary = h('span', { class: 'summary' });
  const tbody = h('tbody');
  const id = h('input', { id: 'rule-id', required: true, placeholder: 'memory-high' });
  const metric = h('select', { id: 'rule-metric' }, ...options(METRICS));
  const op = h('select', { id: 'rule-op' }, ...options(OPS));
  const limit = h('input', { id: 'rule-threshold', placeholder: '90, down, or a confidence: 0.8' });
  const labels = h('input', { id: 'rule-labels', placeholder: 'ml.prediction: spike, drop; empty: any' });
  const hold = h('input', { id: 'rule-for', type: 'number', min: '0', value: '0' });
  const severity = h('select', { id: 'rule-severity' }, ...options(SEVERITIES, 'warning'));
  const tags = h('input', { id: 'rule-tags', placeholder: 'tags; empty: every device' });
  const message = h('input', { id: 'rule-message', placeholder: '{device}: {metric} {value} over {threshold}' });
  const create = fleet ? form('Add a rule', [field('Id', id), field('Metric', metric), field('Condition', op), field('Threshold', limit),
    field('Labels', labels), field('For (s)', hold), field('Severity', severity), field('Tags', tags), field('Message', message)], 'Add', async () => {
    await app.api.post('/api/rules', {
      id: id.value, metric: metric.value, op: op.value, threshold: threshold(limit.value), for: Number(hold.value || 0),
      severity: severity.value, tags: words(tags.value), message: message.value.trim() || null,
      ...(metric.value === PREDICTION ? { labels: words(labels.value) } : {}),
    });
    id.value = '';
    await load();
  }) : null;
  const columns = ['Rule', 'Condition', 'Severity', 'Applies to', 'Source', 'Enabled', ...(fleet ? ['Actions'] : [])];
  const element = listView('Alert rules', summary, create, 'rules', columns, tbody);

  function row(rule) {
    const editable = fleet && rule.source !== 'config';
    const where = appliesTo(rule.devices, rule.tags) || 'every device';
    const of = rule.metric === PREDICTION && rule.labels?.length ? ` (${rule.labels.join(', ')})` : '';
    const condition = `${rule.metric}${of} ${rule.op}${rule.threshold === null ? '' : ` ${rule.threshold}`}${rule.for ? ` for ${rule.for} s` : ''}`;
    return h('tr', { dataset: { id: rule.id }, class: rule.enabled ? '' : 'disabled' },
      h('td', {}, rule.name || rule.id, rule.name ? h('span', { class: 'host' }, rule.id) : null), h('td', {}, condition),
      h('td', {}, h('span', { class: `sev ${rule.severity}` }, rule.severity)), h('td', {}, where),
      h('td', {}, rule.source), h('td', { class: 'enabled' }, rule.enabled ? 'yes' : 'no'),
      fleet ? h('td', {}, editable ? h('div', { class: 'actions' },
        action(app, rule.enabled ? 'Disable' : 'Enable', 'toggle', async () => {
          await app.api.put(`/api/rules/${encodeURIComponent(rule.id)}`, { ...body(rule), enabled: !rule.enabled });
          await load();
        }),
        action(app, 'Delete', 'delete', async () => {
          await app.api.delete(`/api/rules/${encodeURIComponent(rule.id)}`);
          await load();
        }, `Delete the rule ${rule.id}? Its alerts resolve.`)) : 'in the configuration file') : null);
  }

  const load = lister(app, '/api/rules', 'rules', 'rule', tbody, summary, row);
  load();
  return { element, stop() {} };
}
