// Maintenance windows (GET/POST/DELETE /api/maintenance): alerts of the devices they name
// are recorded, not pushed, between their two times. Every user sees those of its scope;
// operators and admins open them (a scoped user for devices and tags of its scope) and end
// them early.
import { h, clock } from './dom.js';
import { field, form, words, action, lister, listView, appliesTo } from './forms.js';

const HOUR = 3600 * 1000;

// A time as <input type=datetime-local> shows it: the browser's local time, to the minute.
function local(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

export function maintenanceView(app) {
  const operator = app.can('operator');
  const summary = h('span', { class: 'summary' });
  const tbody = h('tbody');
  const devices = h('input', { id: 'mw-devices', placeholder: 'device ids, comma-separated' });
  const tags = h('input', { id: 'mw-tags', placeholder: 'tags', value: app.scope.join(', ') });
  const starts = h('input', { id: 'mw-starts', type: 'datetime-local', required: true, value: local(Date.now()) });
  const ends = h('input', { id: 'mw-ends', type: 'datetime-local', required: true, value: local(Date.now() + HOUR) });
  const reason = h('input', { id: 'mw-reason', maxlength: '500' });
  const create = operator ? form('Open a maintenance window', [field('Devices', devices), field('Tags', tags), field('Starts', starts),
    field('Ends', ends), field('Reason', reason)], 'Open', async () => {
    await app.api.post('/api/maintenance', {
      devices: words(devices.value), tags: words(tags.value), reason: reason.value,
      starts: new Date(starts.value).toISOString(), ends: new Date(ends.value).toISOString(),
    });
    reason.value = '';
    await load();
  }) : null;
  const columns = ['Devices and tags', 'Starts', 'Ends', 'Reason', 'By', 'Now', ...(operator ? ['Actions'] : [])];
  const element = listView('Maintenance windows', summary, create, 'windows', columns, tbody);

  function row(w) {
    return h('tr', { dataset: { id: w.id } },
      h('td', {}, appliesTo(w.devices, w.tags)), h('td', {}, clock(w.starts)), h('td', {}, clock(w.ends)),
      h('td', {}, w.reason), h('td', {}, w.createdBy || ''), h('td', { class: 'active' }, w.active ? 'active' : 'waiting'),
      operator ? h('td', {}, action(app, 'End now', 'delete', async () => {
        await app.api.delete(`/api/maintenance/${encodeURIComponent(w.id)}`);
        await load();
      }, 'End this maintenance window now?')) : null);
  }

  const load = lister(app, '/api/maintenance', 'windows', 'window', tbody, summary, row);
  load();
  return { element, stop() {} };
}
