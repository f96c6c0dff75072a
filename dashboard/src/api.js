// The REST API, with the token kept in memory only (never in storage or a cookie).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor() {
    this.token = null;
    this.onUnauthorized = () => {};
  }

  async call(method, path, body) {
    const headers = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', `EyeNet cannot be reached: ${err.message}`);
    }
    const answer = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = (answer && answer.error) || { code: 'HTTP', message: `HTTP ${response.status}` };
      const failure = new ApiError(response.status, error.code, error.message);
      if (response.status === 401 && this.token) this.onUnauthorized(failure);
      throw failure;
    }
    return answer;
  }

  get(path) {
    return this.call('GET', path);
  }

  post(path, body) {
    return this.call('POST', path, body);
  }

  put(path, body) {
    return this.call('PUT', path, body);
  }

  patch(path, body) {
    return this.call('PATCH', path, body);
  }

  delete(path) {
    return this.call('DELETE', path);
  }
}

// The claims of a token (the contract names sub, role, scope and exp): what the page may
// offer. The server checks every call anyway; this only hides what would be refused.
export function claims(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const text = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
  return JSON.parse(text);
}
