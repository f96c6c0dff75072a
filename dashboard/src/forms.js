// What the views that change things share: labelled fields, a form that shows the API's
// refusal under it, and actions whose failure becomes a toast.
import { h, setText } from './dom.js';

export function field(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

// "a, b ,c" -> ['a', 'b', 'c']
// A view of one list: its title and count, the form that adds to it (or null), its table.
export function listView(title, summary, create, tableClass, columns, tbody) {
  return h('section', { class: 'view' },
    h('div', { class: 'tools' }, h('h1', {}, title), summary), create,
    h('div', { class: 'scroll' }, h('table', { class: tableClass },
      h('thead', {}, h('tr', {}, ...columns.map((l) => h('th', { scope: 'col' }, l)))), tbody)));
}

// The devices and tags a rule or a window applies to, as one line.
export function appliesTo(devices, tags) {
  return [...devices, ...tags.map((t) => `tag ${t}`)].join(', ');
}

export function words(text) {
  return text.split(',').map((w) => w.trim()).filter(Boolean);
}

// submit(): a promise; its error's message is shown under the form, which keeps its values.
export function form(name, fields, label, submit) {
  const error = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, label);
  const element = h('form', { class: 'edit', 'aria-label': name, onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    setText(error, '');
    try {
      await submit();
    } catch (err) {
      setText(error, err.message);
    } finally {
      button.disabled = false;
    }
  } }, ...fields, button, error);
  return element;
}

// A button that runs fn (after the user confirms, when `ask` is given), a failure toasted.
export function action(app, label, className, fn, ask) {
  return h('button', { type: 'button', class: className, onclick: async () => {
    if (ask && !window.confirm(ask)) return;
    try {
      await fn();
    } catch (err) {
      app.toast(err.message, 'warning');
    }
  } }, label);
}

export function options(values, chosen) {
  return values.map((v) => (Array.isArray(v) ? v : [v, v])).map(([value, text]) => h('option', { value, selected: value === chosen }, text));
}

// A loader of a list (GET path answers {[key]: [...]}) into a table body, one row(item)
// each, with its count ("3 rules") in summary.
export function lister(app, path, key, noun, tbody, summary, row) {
  return async () => {
    try {
      const items = (await app.api.get(path))[key];
      tbody.replaceChildren(...items.map(row));
      setText(summary, `${items.length} ${noun}${items.length === 1 ? '' : 's'}`);
    } catch (err) {
      setText(summary, `could not load the ${noun}s: ${err.message}`);
    }
  };
}

// The view in place of one the user's role or scope has nothing in.
export function refused(title, why) {
  return { element: h('section', { class: 'view' }, h('h1', {}, title), h('p', {}, why)), stop() {} };
}
