// The HTTP API (/v1) and dev tokens: JSON over fetch with the bearer token. One job: requests.

/** An HTTP API error: `status` and the protocol's `code`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  /** `base` is the API's root including `/v1`; `token()` answers the current JWT. */
  constructor(base, token) {
    this.base = base.replace(/\/+$/, '');
    this.token = token;
  }

  async request(method, path, body) {
    const headers = { authorization: `Bearer ${this.token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data?.error?.code, data?.error?.message);
    return data;
  }

  conversations(cursor) {
    return this.request('GET', `/conversations?limit=100${cursor ? `&cursor=${enc(cursor)}` : ''}`);
  }
  conversation(id) { return this.request('GET', `/conversations/${enc(id)}`); }
  /** A page of history: the newest without `cursor`, else continuing with `next_cursor`. */
  messages(id, cursor, limit = 40) {
    return this.request('GET', `/conversations/${enc(id)}/messages?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
  }
  createGroup(name, members) { return this.request('POST', '/conversations', { name, members }); }
  addMembers(id, userIds) { return this.request('POST', `/conversations/${enc(id)}/members`, { user_ids: userIds }); }
  user(id) { return this.request('GET', `/users/${enc(id)}`); }
  announceMedia(contentType, size, sha256) {
    return this.request('POST', '/media', { content_type: contentType, size, sha256 });
  }

  /** A media's bytes (or its thumbnail) as a Blob: an authorized GET that follows the 302. */
  async mediaBlob(id, thumbnail) {
    const res = await fetch(`${this.base}/media/${enc(id)}${thumbnail ? '/thumbnail' : ''}`, {
      headers: { authorization: `Bearer ${this.token()}` },
    });
    if (!res.ok) throw new ApiError(res.status, 'not_found');
    return res.blob();
  }
}

/** `POST /dev/token` next to the API (chat-local only): `{token, user_id}`. */
export async function devToken(apiBase, userId) {
  const url = apiBase.replace(/\/+$/, '').replace(/\/v1$/, '') + '/dev/token';
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error?.code, data?.error?.message || 'no dev token here (paste a JWT)');
  return data;
}

const enc = encodeURIComponent;
