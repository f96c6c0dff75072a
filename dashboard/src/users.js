// Users (GET/POST/PATCH/DELETE /api/users): only for an admin without a device scope, as
// the API allows no one else. A user's role and scope are changed in its row; the change
// revokes its tokens, so it logs in again.
import { h, clock } from './dom.js';
import { field, form, words, action, lister, options, refused, listView } from './forms.js';

const ROLES = ['viewer', 'operator', 'admin'];

export function usersView(app) {
  if (!app.fleet()) {
    return refused('Users', 'Users are managed by admins without a device scope.');
  }
  const username = h('input', { id: 'new-username', autocomplete: 'off', required: true });
  const password = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' });
  const role = h('select', { id: 'new-role' }, ...options(ROLES, 'viewer'));
  const scope = h('input', { id: 'new-scope', placeholder: 'tags, comma-separated; empty: every device' });
  const summary = h('span', { class: 'summary' });
  const tbody = h('tbody');
  const element = listView('Users', summary,
    form('Create a user', [field('Username', username), field('Password', password), field('Role', role), field('Scope', scope)], 'Create', async () => {
      await app.api.post('/api/users', { username: username.value, password: password.value, role: role.value, scope: words(scope.value) });
      username.value = '';
      password.value = '';
      scope.value = '';
      await load();
    }),
    'users', ['User', 'Role', 'Scope', 'Created', 'Actions'], tbody);

  function row(user) {
    const label = `for ${user.username}`;
    const roleChoice = h('select', { class: 'role', 'aria-label': `Role ${label}` }, ...options(ROLES, user.role));
    const scopeText = h('input', { class: 'scope', 'aria-label': `Scope ${label}`, value: user.scope.join(', ') });
    const self = user.id === app.userId; // changing oneself revokes one's own token: not from here
    return h('tr', { dataset: { id: user.id, username: user.username } },
      h('td', {}, user.username), h('td', {}, self ? user.role : roleChoice), h('td', {}, self ? user.scope.join(', ') || 'every device' : scopeText),
      h('td', {}, clock(user.createdAt)),
      h('td', {}, self ? 'you' : h('div', { class: 'actions' },
        action(app, 'Save', 'save', async () => {
          await app.api.patch(`/api/users/${encodeURIComponent(user.id)}`, { role: roleChoice.value, scope: words(scopeText.value) });
          app.toast(`${user.username} changed: logged out everywhere`);
          await load();
        }),
        action(app, 'Delete', 'delete', async () => {
          await app.api.delete(`/api/users/${encodeURIComponent(user.id)}`);
          await load();
        }, `Delete the user ${user.username}?`))));
  }

  const load = lister(app, '/api/users', 'users', 'user', tbody, summary, row);
  load();
  return { element, stop() {} };
}
