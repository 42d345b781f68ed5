// Photos: hash and upload through the presigned PUT (POST /v1/media first), and fetch
// thumbnails and full images with the bearer token into blob: URLs (an <img> cannot send
// an Authorization header). One job: media bytes.

/** The lowercase hex SHA-256 of `bytes` (SubtleCrypto: needs a secure context). */
export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The browser sets these itself and refuses to be told (fetch's forbidden header names). */
const BROWSER_SET = new Set(['content-length', 'host']);

/**
 * Announces `file` and PUTs its bytes with exactly the signed headers. Answers the
 * `media_id`; with `exists: true` nothing is uploaded (the same bytes were sent before).
 */
export async function upload(api, file) {
  const bytes = await file.arrayBuffer();
  const type = file.type || 'application/octet-stream';
  const announced = await api.announceMedia(type, bytes.byteLength, await sha256Hex(bytes));
  if (!announced.exists) {
    const headers = {};
    for (const [k, v] of Object.entries(announced.upload_headers || {})) {
      if (!BROWSER_SET.has(k.toLowerCase())) headers[k] = v;
    }
    const res = await fetch(announced.upload_url, { method: 'PUT', headers, body: bytes });
    if (!res.ok) throw new Error(`upload refused (${res.status})`);
  }
  return announced.media_id;
}

/** blob: URLs by media id (and `/thumbnail`), fetched once per page. */
export class MediaCache {
  constructor(api) {
    this.api = api;
    this.urls = new Map();
  }

  /** Resolves to a blob: URL for the media's thumbnail (`thumbnail`) or its full bytes. */
  url(id, thumbnail) {
    const key = `${id}${thumbnail ? '/t' : ''}`;
    let url = this.urls.get(key);
    if (!url) {
      url = this.api.mediaBlob(id, thumbnail).then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.urls.delete(key));
      this.urls.set(key, url);
    }
    return url;
  }

  /** A URL we already have (our own upload's local preview), so nothing is downloaded. */
  remember(id, localUrl) {
    this.urls.set(id, Promise.resolve(localUrl));
    this.urls.set(`${id}/t`, Promise.resolve(localUrl));
  }
}
