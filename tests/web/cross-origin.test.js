// The web chat page on ANOTHER origin than the API, as a team's web app on its own dev server
// (or CloudFront) runs against API Gateway and S3: the web/ files served by a tiny static
// server started here, opened as http://localhost:<port>/?api=…&ws=… while chat-local (started
// by scripts/test-web) is http://127.0.0.1:<port>. Every API call, the presigned PUT and the
// thumbnail's 302 are then CORS requests, enforced by a real Chromium. A second chat-local
// that allows only http://some-other-origin.example shows that the browser does block them.
// A third chat-local, addressed as http://localhost:<port> while its presigned media URLs name
// 127.0.0.1, puts the media on a third origin as S3 is to API Gateway: the 302 to it is then
// cross-origin, and the browser sends `Origin: null` (and drops `Authorization`) after it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BASE = process.env.CHAT_URL ?? 'http://127.0.0.1:3001';
const BIN = process.env.CHAT_BIN ?? join(ROOT, 'target/debug/chat-local');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 15_000 };
const OTHER_ORIGIN = 'http://some-other-origin.example';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The web/ files over plain HTTP on 127.0.0.1:0, as a dev server would serve them. */
function startStaticServer() {
  const dir = join(ROOT, 'web');
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir) || !TYPES[extname(file)]) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)], 'cache-control': 'no-cache' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A second chat-local with its own data dir and `extra` flags: `{ base, stop }`. */
function startChatLocal(extra) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-cors-'));
  const child = spawn(BIN, ['--listen', '127.0.0.1:0', '--data-dir', dataDir, ...extra], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const base = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chat-local did not come up in 15 s:\n${log}`)), 15_000);
    const onData = (chunk) => {
      log += chunk;
      // The banner, as scripts/test-web reads it: "  HTTP API       http://127.0.0.1:PORT/v1/…".
      const m = log.match(/^ *HTTP API *(http:\/\/[^/\s]+)\/v1\//m);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chat-local exited (${code}):\n${log}`));
    });
  });
  return { base, stop };
}

/** A dev token straight from Node (no browser, no CORS). */
async function token(base, userId) {
  const res = await fetch(`${base}/dev/token`, { method: 'POST', body: JSON.stringify({ user_id: userId }) });
  assert.equal(res.status, 200, `dev token for ${userId}`);
  return (await res.json()).token;
}

/** A preflight as the browser sends it, from Node (fetch may not set `Origin`). */
async function preflight(url, origin) {
  const res = await fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  return { status: res.status, allowOrigin: res.headers.get('access-control-allow-origin') };
}

/** A small PNG drawn on a canvas in `page`. */
async function drawPng(page, label, color) {
  const dataUrl = await page.evaluate(([text, fill]) => {
    const canvas = document.createElement('canvas');
    canvas.width = 400;
    canvas.height = 300;
    const g = canvas.getContext('2d');
    g.fillStyle = fill;
    g.fillRect(0, 0, 400, 300);
    g.fillStyle = '#fff';
    g.font = 'bold 32px sans-serif';
    g.fillText(text, 24, 60);
    return canvas.toDataURL('image/png');
  }, [label, color]);
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

/** What failed in a page (requests, console errors), for the message of a failed wait. */
const failures = new WeakMap();

/** Resolves once the `<img>` matched by `sel` has decoded: its natural size. */
async function loadedImage(page, sel) {
  try {
    await page.waitForFunction((s) => {
      const img = document.querySelector(s);
      return img && img.complete && img.naturalWidth > 0;
    }, sel, WAIT);
  } catch (err) {
    const img = await page.$eval(sel, (i) => ({ src: i.src, alt: i.alt })).catch(() => 'no such img');
    err.message += `\n${sel}: ${JSON.stringify(img)}\nfailed in the page: ${JSON.stringify(failures.get(page) ?? [], null, 1)}`;
    throw err;
  }
  return page.$eval(sel, (img) => ({ src: img.src, w: img.naturalWidth, h: img.naturalHeight }));
}

describe('the web chat page on another origin than the API', { concurrency: false }, () => {
  let browser;
  let staticServer;
  let restricted;
  let restrictedBase;
  let pageOnly;
  let pageOnlyBase;
  let pageOrigin;
  let pageUrl;
  const pageErrors = [];
  /** What dana's (cross-origin) page asked of chat-local: url, method, its Origin header, redirect. */
  const apiRequests = [];
  let dana;
  let erin;
  const dm = 'dm:dana:erin';
  let group;
  let erinMedia;

  before(async () => {
    restricted = startChatLocal(['--cors-origins', OTHER_ORIGIN]);
    // The page's origin (any port) and nothing else: not `*`, not `null`.
    pageOnly = startChatLocal(['--cors-origins', 'http://localhost:*']);
    [browser, staticServer, restrictedBase, pageOnlyBase] = await Promise.all([
      chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS }),
      startStaticServer(),
      restricted.base,
      pageOnly.base,
    ]);
    // localhost vs 127.0.0.1: another origin (and another site), both secure contexts.
    pageOrigin = `http://localhost:${staticServer.address().port}`;
    const api = new URL(BASE);
    assert.notEqual(api.origin, pageOrigin);
    pageUrl = `${pageOrigin}/?api=${encodeURIComponent(`${BASE}/v1`)}&ws=${encodeURIComponent(`ws://${api.host}/local`)}`;
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (staticServer ? staticServer.close(resolve) : resolve()));
    await restricted?.stop();
    await pageOnly?.stop();
  });

  async function open(name, url, { watch = false } = {}) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
    const failed = [];
    failures.set(page, failed);
    page.on('console', (m) => { if (m.type() === 'error') failed.push(m.text()); });
    // (The presigned PUT shows as ERR_ABORTED here although fetch answered 200: the page
    // never reads its empty body.)
    page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    if (watch) {
      page.on('request', async (request) => {
        if (!request.url().startsWith(BASE)) return;
        const headers = await request.allHeaders();
        apiRequests.push({
          url: request.url(),
          method: request.method(),
          origin: headers.origin,
          authorization: headers.authorization !== undefined,
          from: request.redirectedFrom()?.url(),
        });
      });
    }
    await page.goto(url);
    await page.fill('#signin-user', name);
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#status[data-state="online"]', WAIT);
    assert.equal(await page.textContent('#me'), name);
    return page;
  }

  it('signs in, lists, sends a text and a photo, and loads a thumbnail, all cross-origin', async () => {
    // A group dana is in before she ever signs in: her first GET /v1/conversations lists it.
    const erinToken = await token(BASE, 'erin');
    const created = await fetch(`${BASE}/v1/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${erinToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Cross origin', members: ['dana'] }),
    });
    assert.equal(created.status, 201);
    group = (await created.json()).conversation_id;
    assert.match(group, /^grp:/);

    // dana: the page from the static server; POST /dev/token (JSON: preflighted) cross-origin.
    // erin: the page chat-local serves itself (same origin as the API).
    [dana, erin] = await Promise.all([open('dana', pageUrl, { watch: true }), open('erin', `${BASE}/`)]);
    assert.equal(new URL(dana.url()).origin, pageOrigin);
    await dana.waitForSelector(`#conversations li[data-id="${group}"] .conv-name:text-is("Cross origin")`, WAIT);

    // A text, dana → erin.
    await dana.fill('#new-chat-user', 'erin');
    await dana.press('#new-chat-user', 'Enter');
    await dana.waitForSelector('#chat-title:text-is("erin")', WAIT);
    await send(dana, 'Hello from another origin');
    await dana.waitForSelector('#message-list .msg.own[data-seq="1"] .tick:not([data-tick="pending"])', WAIT);
    await erin.waitForSelector(`#conversations li[data-id="${dm}"] .conv-last:text-is("Hello from another origin")`, WAIT);
    await erin.click(`#conversations li[data-id="${dm}"]`);
    await erin.waitForSelector('#message-list .msg:not(.own)[data-seq="1"] .body:text-is("Hello from another origin")', WAIT);
    // erin read it: the receipt reaches dana's socket on 127.0.0.1 from localhost.
    await dana.waitForSelector('#message-list .msg.own[data-seq="1"] .tick[data-tick="read"]', WAIT);

    // A photo, dana → erin: POST /v1/media, then the presigned PUT to /local-media with the
    // signed headers (content-type, x-amz-checksum-sha256): the bucket CORS preflight.
    await dana.setInputFiles('#photo', { name: 'x.png', mimeType: 'image/png', buffer: await drawPng(dana, 'from localhost', '#128c7e') });
    const danaPhoto = '#message-list .msg.own[data-seq]:has(.photo)';
    await dana.waitForSelector(`${danaPhoto} .tick:not([data-tick="pending"])`, WAIT);
    const danaSeq = Number(await dana.getAttribute(danaPhoto, 'data-seq'));
    const atErin = await loadedImage(erin, `#message-list .msg[data-seq="${danaSeq}"] .photo img`);
    assert.ok(atErin.src.startsWith('blob:') && atErin.w > 0 && atErin.w <= 320, JSON.stringify(atErin));
    const put = apiRequests.find((r) => r.method === 'PUT');
    assert.ok(put, 'the presigned PUT was made');
    assert.match(put.url, /\/local-media\//);
    assert.equal(put.origin, pageOrigin);

    // A photo, erin → dana: dana's page GETs /v1/media/{id}/thumbnail with the bearer token
    // (preflighted), follows the 302 to the presigned /local-media URL, and decodes the bytes.
    await erin.setInputFiles('#photo', { name: 'y.png', mimeType: 'image/png', buffer: await drawPng(erin, 'from 127.0.0.1', '#075e54') });
    const erinPhoto = '#message-list .msg.own[data-seq]:has(.photo)';
    await erin.waitForSelector(`${erinPhoto} .tick:not([data-tick="pending"])`, WAIT);
    const erinSeq = Number(await erin.getAttribute(erinPhoto, 'data-seq'));
    const atDana = await loadedImage(dana, `#message-list .msg[data-seq="${erinSeq}"] .photo img`);
    erinMedia = await dana.evaluate(([id, seq]) => window.chat.store.conv(id).messages.get(seq).media, [dm, erinSeq]);
    assert.ok(atDana.src.startsWith('blob:') && atDana.w > 0 && atDana.w <= 320, JSON.stringify(atDana));
    const thumb = apiRequests.find((r) => /\/local-media\//.test(r.url) && r.method === 'GET'
      && /\/v1\/media\/[^/]+\/thumbnail$/.test(r.from ?? ''));
    assert.ok(thumb, `the thumbnail's 302 was followed: ${JSON.stringify(apiRequests.filter((r) => r.method === 'GET'))}`);
    // The redirect stays on the API's origin, so the browser keeps the page's Origin (it sends
    // `Origin: null` only after a redirect to a third origin, as from API Gateway to S3).
    assert.equal(thumb.origin, pageOrigin);

    // And the full size, on click: GET /v1/media/{id} → 302 → the original, 400 wide.
    await dana.click(`#message-list .msg[data-seq="${erinSeq}"] .photo`);
    await dana.waitForFunction(() => document.getElementById('viewer').open
      && document.getElementById('viewer-img').naturalWidth === 400, null, WAIT);
    await dana.click('#viewer button');

    // Every API call dana's page made carried its own origin: they really were cross-origin.
    assert.ok(apiRequests.length >= 8, JSON.stringify(apiRequests));
    for (const r of apiRequests) assert.equal(r.origin, pageOrigin, `${r.method} ${r.url}`);
  });

  it('lets a preflighted fetch through, and the browser blocks it where the origin is not allowed', async () => {
    const session = await dana.evaluate(() => JSON.parse(sessionStorage.getItem('chat.session')));
    assert.equal(session.api, `${BASE}/v1`);
    const otherToken = await token(restrictedBase, 'dana');

    // `authorization` is not a CORS-safelisted header: the browser preflights each of these.
    const probe = (url, bearer) => dana.evaluate(async ([u, t]) => {
      try {
        const res = await fetch(u, { headers: { authorization: `Bearer ${t}` } });
        return { status: res.status, body: await res.json() };
      } catch (err) {
        return { error: `${err.name}: ${err.message}` };
      }
    }, [url, bearer]);

    const allowed = await probe(`${BASE}/v1/conversations`, session.token);
    assert.equal(allowed.error, undefined, allowed.error);
    assert.equal(allowed.status, 200);
    assert.ok(allowed.body.conversations.some((c) => c.conversation_id === dm), JSON.stringify(allowed.body));

    // The second chat-local allows only OTHER_ORIGIN: its preflight answer (204, as API
    // Gateway's) names no origin for this page, so Chromium refuses the request itself.
    const refused = await probe(`${restrictedBase}/v1/conversations`, otherToken);
    assert.equal(refused.status, undefined, JSON.stringify(refused));
    assert.match(refused.error, /^TypeError: Failed to fetch/);
    // ...because of the origin list alone: the same server allows the origin it was told.
    assert.deepEqual(await preflight(`${restrictedBase}/v1/conversations`, pageOrigin), { status: 204, allowOrigin: null });
    assert.deepEqual(await preflight(`${restrictedBase}/v1/conversations`, OTHER_ORIGIN), { status: 204, allowOrigin: OTHER_ORIGIN });
    // Signing in there from this page fails the same way (POST /dev/token, JSON: preflighted).
    const signIn = await dana.evaluate(async (u) => {
      try {
        await fetch(`${u}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user_id":"dana"}' });
        return 'answered';
      } catch (err) {
        return err.name;
      }
    }, restrictedBase);
    assert.equal(signIn, 'TypeError');
  });

  it('with the media on a third origin (as S3 to API Gateway): Origin null after the 302, allowed by the bucket rule for downloads', async () => {
    const session = await dana.evaluate(() => JSON.parse(sessionStorage.getItem('chat.session')));
    const thumbPath = (media) => `/v1/media/${media.thumbnail?.id ?? media.id}/thumbnail`;
    // `localhost:<port>` for the API, while the 302 names `127.0.0.1:<port>`: another origin.
    const viaLocalhost = (base) => base.replace('//127.0.0.1:', '//localhost:');
    const blobOf = (url, bearer) => dana.evaluate(async ([u, t]) => {
      try {
        const res = await fetch(u, { headers: { authorization: `Bearer ${t}` } });
        return { status: res.status, redirected: res.redirected, size: (await res.blob()).size };
      } catch (err) {
        return { error: `${err.name}: ${err.message}` };
      }
    }, [url, bearer]);

    // chat-local as scripts/test-web started it, `--cors-origins` `*`: the thumbnail loads.
    const watched = new Promise((resolve) => dana.on('request', async function onRequest(request) {
      if (!request.redirectedFrom()) return;
      dana.off('request', onRequest);
      resolve({ url: request.url(), headers: await request.allHeaders() });
    }));
    const any = await blobOf(viaLocalhost(BASE) + thumbPath(erinMedia), session.token);
    assert.equal(any.error, undefined, any.error);
    assert.ok(any.status === 200 && any.redirected && any.size > 0, JSON.stringify(any));
    const followed = await watched;
    assert.match(followed.url, /^http:\/\/127\.0\.0\.1:\d+\/local-media\/thumbnails\//);
    assert.equal(followed.headers.origin, 'null');
    assert.equal(followed.headers.authorization, undefined, 'the bearer token is not sent on to the bucket');

    // A chat-local that allows this page's origin only: the download still works, by the
    // bucket's second rule (GET from any origin; a presigned GET URL is a capability).
    const owner = await token(pageOnlyBase, 'dana');
    const png = await drawPng(dana, 'third origin', '#34b7f1');
    const announced = await (await fetch(`${pageOnlyBase}/v1/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content_type: 'image/png', size: png.length, sha256: createHash('sha256').update(png).digest('hex') }),
    })).json();
    const { 'content-length': _, ...signed } = announced.upload_headers;
    const put = await fetch(announced.upload_url, { method: 'PUT', headers: signed, body: png });
    assert.equal(put.status, 200);
    // The API redirects (so the thumbnail exists) and says so to this origin...
    const api = `${viaLocalhost(pageOnlyBase)}/v1/media/${announced.media_id}/thumbnail`;
    let redirect;
    for (let i = 0; i < 200; i += 1) {
      redirect = await fetch(api, { redirect: 'manual', headers: { authorization: `Bearer ${owner}`, origin: pageOrigin } });
      if (redirect.status === 302) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('access-control-allow-origin'), pageOrigin);
    // ...and the bucket answers `Origin: null` with `*`: the browser lets the page read it.
    const location = redirect.headers.get('location');
    const fromNull = await fetch(location, { headers: { origin: 'null' } });
    assert.equal(fromNull.status, 200);
    assert.equal(fromNull.headers.get('access-control-allow-origin'), '*');
    const loaded = await blobOf(api, owner);
    assert.equal(loaded.error, undefined, loaded.error);
    assert.ok(loaded.status === 200 && loaded.redirected && loaded.size > 0, JSON.stringify(loaded));
    // An upload from an origin not in the list is still refused at its preflight.
    const refused = await fetch(announced.upload_url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(refused.status, 403);
  });

  it('threw no error in any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
