import { h } from './dom.js';

export function loginView(app, signedIn, message) {
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'login', onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      const answer = await app.api.post('/api/auth/login', { username: user.value, password: password.value });
      signedIn(answer, user.value);
    } catch (err) {
      error.textContent = err.message;
      submit.disabled = false;
      password.select();
    }
  } },
  h('h1', {}, 'Log in to EyeNet'),
  h('label', { for: 'username' }, 'Username'), user,
  h('label', { for: 'password' }, 'Password'), password,
  submit, error);
  setTimeout(() => user.focus());
  return { element: form, stop() {} };
}
