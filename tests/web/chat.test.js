// The web chat page (web/) end to end, in headless Chromium with one browser context per
// user (alice, bob, carol: three devices), against a chat-local that scripts/test-web started.
// Every step asserts what the DOM shows; waits are for selectors, never for time.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.CHAT_URL ?? 'http://127.0.0.1:3001';
const START_MS = Number(process.env.CHAT_START_MS ?? Date.now());
const UP_MS = Number(process.env.CHAT_UP_MS ?? START_MS);
const ARTIFACTS = process.env.WEB_ARTIFACTS ?? 'web-artifacts';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 15_000 };

let browser;
const users = {};
const pageErrors = [];
const pageFiles = { bytes: 0, requests: 0 };
let chattingMs = null;
let browserMs = null;

async function signIn(name, { measure = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  let firstLoad = measure;
  if (measure) {
    // The page's own files (not the API, the socket, media or blob: URLs): their body bytes
    // on first load, as Playwright measured them on the wire.
    page.on('requestfinished', async (request) => {
      const url = new URL(request.url());
      if (!firstLoad || url.origin !== BASE || /^\/(v1|dev|local|local-media)(\/|$)/.test(url.pathname)) return;
      const sizes = await request.sizes();
      pageFiles.bytes += sizes.responseBodySize;
      pageFiles.requests += 1;
    });
  }
  await page.goto(`${BASE}/`);
  await page.fill('#signin-user', name);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#status[data-state="online"]', WAIT);
  firstLoad = false;
  assert.equal(await page.textContent('#me'), name);
  users[name] = { context, page };
  return page;
}

const own = (seq) => `#message-list .msg.own[data-seq="${seq}"]`;
const lastOwn = '#message-list .msg.own:last-of-type';

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

async function openConversation(page, id) {
  await page.click(`#conversations li[data-id="${id}"]`);
  await page.waitForSelector(`#conversations li[data-id="${id}"][aria-selected="true"]`, WAIT);
}

/** The seqs the chat shows, in DOM order. */
function shownSeqs(page) {
  return page.$$eval('#message-list > li[data-seq]', (lis) => lis.map((li) => li.dataset.seq).filter(Boolean).map(Number));
}

/** A real PNG, drawn on a canvas in the page: 480×320, a few shapes and a label. */
async function drawPng(page) {
  const dataUrl = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 480;
    canvas.height = 320;
    const g = canvas.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 480, 320);
    grad.addColorStop(0, '#25d366');
    grad.addColorStop(1, '#128c7e');
    g.fillStyle = grad;
    g.fillRect(0, 0, 480, 320);
    g.fillStyle = '#fff';
    g.beginPath();
    g.arc(360, 90, 50, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#075e54';
    g.beginPath();
    g.moveTo(0, 320); g.lineTo(170, 120); g.lineTo(300, 320);
    g.moveTo(180, 320); g.lineTo(330, 170); g.lineTo(480, 320);
    g.fill();
    g.fillStyle = '#fff';
    g.font = 'bold 28px sans-serif';
    g.fillText('Saturday, 9:00', 24, 48);
    return canvas.toDataURL('image/png');
  });
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

describe('the web chat page', { concurrency: false }, () => {
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    browserMs = Date.now() - START_MS;
  });

  after(async () => {
    await browser?.close();
    const kb = (pageFiles.bytes / 1000).toFixed(1);
    const secs = chattingMs === null ? '?' : (chattingMs / 1000).toFixed(1);
    const s = (ms) => (ms / 1000).toFixed(1);
    console.log(`web: page ${kb} KB in ${pageFiles.requests} requests; chat-local start → two tabs chatting in ${secs} s`
      + ` (chat-local up at ${s(UP_MS - START_MS)} s, Chromium up at ${s(browserMs)} s)`);
  });

  const dm = 'dm:alice:bob';

  it('signs two devices in and they chat 1:1, with delivered and read ticks', async () => {
    const [alice, bob] = await Promise.all([signIn('alice', { measure: true }), signIn('bob')]);

    await alice.fill('#new-chat-user', 'bob');
    await alice.press('#new-chat-user', 'Enter');
    await alice.waitForSelector('#chat-title:text-is("bob")', WAIT);
    await send(alice, 'Hi Bob!');
    // Acknowledged ("sent") at seq 1, then delivered: bob's page is online and acks it.
    await alice.waitForSelector(`${own(1)} .tick:not([data-tick="pending"])`, WAIT);

    const bobItem = `#conversations li[data-id="${dm}"]`;
    await bob.waitForSelector(`${bobItem} .conv-last:text-is("Hi Bob!")`, WAIT);
    chattingMs = Date.now() - START_MS;
    assert.equal(await bob.textContent(`${bobItem} .unread`), '1');
    await alice.waitForSelector(`${own(1)} .tick[data-tick="delivered"]`, WAIT);

    // Bob opens the chat: a read receipt, and alice's tick turns blue.
    await openConversation(bob, dm);
    await bob.waitForSelector('#message-list .msg:not(.own)[data-seq="1"] .body:text-is("Hi Bob!")', WAIT);
    await alice.waitForSelector(`${own(1)} .tick[data-tick="read"]`, WAIT);
    assert.equal(await alice.getAttribute(`${own(1)} .tick`, 'aria-label'), 'Read');
    assert.equal(await bob.textContent(`${bobItem} .unread`), '');

    // Typing shows on the other side; bob's reply arrives and the indicator goes.
    await bob.type('#text', 'Hel');
    await alice.waitForSelector('#chat-sub.typing:text-is("typing…")', WAIT);
    await bob.fill('#text', 'Hello Alice');
    await bob.press('#text', 'Enter');
    await alice.waitForSelector('#message-list .msg:not(.own)[data-seq="2"] .body:text-is("Hello Alice")', WAIT);
    await alice.waitForSelector('#chat-sub:not(.typing)', WAIT);
    // Presence: bob is online (the presence frame alice sent when she opened the chat).
    await alice.waitForSelector('#chat-sub:text-is("online")', WAIT);
    // Alice has the chat open, so she read it: bob's tick is read too.
    await bob.waitForSelector(`${own(2)} .tick[data-tick="read"]`, WAIT);
    assert.deepEqual(await shownSeqs(alice), [1, 2]);
  });

  let group;

  it('creates a group; a photo arrives with its thumbnail; group ticks turn read', async () => {
    const { page: alice } = users.alice;
    const { page: bob } = users.bob;
    const carol = await signIn('carol');

    await alice.fill('#new-group-name', 'Climbers');
    await alice.fill('#new-group-members', 'bob, carol');
    await alice.click('#new-group button[type=submit]');
    await alice.waitForSelector('#chat-title:text-is("Climbers")', WAIT);
    await alice.waitForSelector('#message-list .system:has-text("You created the group")', WAIT);
    group = await alice.getAttribute('#conversations li[aria-selected="true"]', 'data-id');
    assert.match(group, /^grp:/);

    await send(alice, 'Who is in for Saturday?');
    await alice.waitForSelector(`${lastOwn} .tick:not([data-tick="pending"])`, WAIT);
    await alice.setInputFiles('#photo', { name: 'crag.png', mimeType: 'image/png', buffer: await drawPng(alice) });
    // Hashed, announced, PUT, sent once the server checked it: acked with a seq.
    const photo = '#message-list .msg.own[data-seq]:has(.photo)';
    await alice.waitForSelector(`${photo} .tick:not([data-tick="pending"])`, WAIT);
    const photoSeq = Number(await alice.getAttribute(photo, 'data-seq'));

    // Bob sees the group and the photo with its thumbnail loaded (authorized fetch → blob:).
    await openConversation(bob, group);
    const bobPhoto = `#message-list .msg[data-seq="${photoSeq}"] .photo img`;
    await bob.waitForFunction((sel) => {
      const img = document.querySelector(sel);
      return img && img.complete && img.naturalWidth > 0;
    }, bobPhoto, WAIT);
    const thumb = await bob.$eval(bobPhoto, (img) => ({ src: img.src, w: img.naturalWidth, h: img.naturalHeight }));
    assert.ok(thumb.src.startsWith('blob:'), thumb.src);
    assert.ok(thumb.w > 0 && thumb.w <= 320, `thumbnail ${thumb.w}×${thumb.h}`);
    assert.equal(await bob.textContent(`#message-list .msg[data-seq="${photoSeq}"] .sender`), 'alice');

    // Full size on click.
    await bob.click(`#message-list .msg[data-seq="${photoSeq}"] .photo`);
    await bob.waitForFunction(() => document.getElementById('viewer').open
      && document.getElementById('viewer-img').naturalWidth === 480, null, WAIT);
    await bob.click('#viewer button');
    await bob.waitForFunction(() => !document.getElementById('viewer').open, null, WAIT);

    // Read by bob only: not yet blue. Carol reads too: every other member has, so blue.
    assert.notEqual(await alice.getAttribute(`${own(photoSeq)} .tick`, 'data-tick'), 'read');
    await openConversation(carol, group);
    await carol.waitForSelector(`#message-list .msg[data-seq="${photoSeq}"] .photo img`, WAIT);
    await alice.waitForSelector(`${own(photoSeq)} .tick[data-tick="read"]`, WAIT);
    await alice.waitForSelector(`${own(photoSeq - 1)} .tick[data-tick="read"]`, WAIT);

    // Bob answers in the group: alice sees it with his name on it.
    await send(bob, "I'm in!");
    await alice.waitForSelector('#message-list .msg:not(.own):has(.sender:text-is("bob")) .body:text-is("I\'m in!")', WAIT);

    // The screenshot: alice's group with ticks and the photo (its local preview, loaded).
    await alice.waitForFunction(() => [...document.querySelectorAll('.photo img')].every((i) => i.naturalWidth > 0));
    mkdirSync(ARTIFACTS, { recursive: true });
    await alice.screenshot({ path: join(ARTIFACTS, 'chat.png') });
  });

  it('recalls a message: a tombstone on every device', async () => {
    const { page: alice } = users.alice;
    const { page: bob } = users.bob;
    await send(alice, 'oops, wrong chat');
    const seq = Number(await (await alice.waitForSelector(`${lastOwn}[data-seq]:has(.body:text-is("oops, wrong chat"))`, WAIT)).getAttribute('data-seq'));
    await bob.waitForSelector(`#message-list .msg[data-seq="${seq}"] .body:text-is("oops, wrong chat")`, WAIT);

    await alice.hover(own(seq));
    await alice.click(`${own(seq)} .recall`);
    await alice.waitForSelector(`${own(seq)}.recalled .body:text-is("⊘ You deleted this message")`, WAIT);
    await bob.waitForSelector(`#message-list .msg.recalled[data-seq="${seq}"] .body:text-is("⊘ This message was deleted")`, WAIT);
    assert.equal(await bob.$(`#message-list .msg[data-seq="${seq}"] .photo`), null);
  });

  it('reconnects after going offline: catches up with sync and delivers the queued send', async () => {
    const { page: alice } = users.alice;
    const { page: bob, context: bobContext } = users.bob;
    const before = await shownSeqs(bob);
    // What bob's next sockets carry: the catch-up must come as `sync` answers on them. Every
    // socket from here on, not just the next: while offline the page already redials (after
    // 250–500 ms of backoff), and such an attempt fails without a frame.
    const received = [];
    const sent = [];
    const sockets = [];
    const onSocket = (ws) => {
      sockets.push(ws);
      ws.on('framereceived', (f) => received.push(JSON.parse(f.payload)));
      ws.on('framesent', (f) => sent.push(JSON.parse(f.payload)));
    };
    bob.on('websocket', onSocket);

    await bobContext.setOffline(true);
    await bob.waitForSelector('#status:not([data-state="online"])', WAIT);
    await send(alice, 'Meet at 9?');
    const meetSeq = Number(await (await alice.waitForSelector(`${lastOwn}[data-seq]:has(.body:text-is("Meet at 9?"))`, WAIT)).getAttribute('data-seq'));
    // Bob writes while offline: kept as pending (a clock), not lost.
    await send(bob, 'typed on the train');
    await bob.waitForSelector(`${lastOwn}.pending .tick[data-tick="pending"]`, WAIT);

    await bobContext.setOffline(false);
    await bob.waitForSelector('#status[data-state="online"]', WAIT);
    await bob.waitForSelector(`#message-list .msg[data-seq="${meetSeq}"] .body:text-is("Meet at 9?")`, WAIT);
    await bob.waitForSelector(`#message-list .msg.own[data-seq]:has(.body:text-is("typed on the train")) .tick:not([data-tick="pending"])`, WAIT);
    await alice.waitForSelector('#message-list .msg:not(.own):has(.body:text-is("typed on the train"))', WAIT);

    // A new connection; it asked `sync` and got the missed message in a `messages` answer; the
    // queued send went out on it with the client_msg_id the page showed while offline.
    bob.off('websocket', onSocket);
    assert.ok(sockets.length >= 1, 'a new socket');
    assert.ok(sent.some((f) => f.action === 'sync' && f.conversation_id === undefined), 'summary sync');
    assert.ok(received.some((e) => e.type === 'messages' && e.conversation_id === group
      && e.messages.some((m) => m.seq === meetSeq && m.body === 'Meet at 9?')), 'caught up by sync');
    const cmid = await bob.getAttribute('#message-list .msg.own:has(.body:text-is("typed on the train"))', 'data-cmid');
    assert.ok(sent.some((f) => f.action === 'send' && f.client_msg_id === cmid), 'pending send retried');

    // In seq order, gap-free, each once, on both sides.
    for (const page of [alice, bob]) {
      const seqs = await shownSeqs(page);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      assert.equal(new Set(seqs).size, seqs.length);
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i));
    }
    assert.ok((await shownSeqs(bob)).length >= before.length + 2);
    // The retried send made one message: alice sees it exactly once.
    assert.equal(await alice.locator('#message-list .msg:has(.body:text-is("typed on the train"))').count(), 1);
  });

  it('pages history: a reloaded tab shows the newest page, scrolling up loads older, in order', async () => {
    const { page: alice } = users.alice;
    const { page: bob } = users.bob;
    // 70 more messages in the direct chat, straight through alice's socket (no UI needed).
    await alice.evaluate((id) => {
      for (let i = 1; i <= 70; i += 1) {
        window.chat.socket.send({ action: 'send', conversation_id: id, client_msg_id: `bulk-${i}`, body: `bulk ${i}` });
      }
    }, dm);
    // Sent concurrently, so stored in any order: the newest is seq 72, whichever it is.
    await bob.waitForFunction((id) => window.chat.store.conv(id).lastSeq === 72, dm, WAIT);

    await bob.reload(); // the session stays (per tab); the store starts empty
    await bob.waitForSelector('#status[data-state="online"]', WAIT);
    await openConversation(bob, dm);
    await bob.waitForSelector('#message-list .msg[data-seq="72"] .body:text-matches("^bulk [0-9]+$")', WAIT);
    const newest = await shownSeqs(bob);
    assert.ok(newest.length < 72 && !newest.includes(1), `first page only: ${newest.length}`);
    // Scrolling up loads older pages until seq 1 is there.
    await bob.waitForFunction(() => {
      const m = document.getElementById('messages');
      m.scrollTop = 0;
      m.dispatchEvent(new Event('scroll'));
      return document.querySelector('#message-list [data-seq="1"]') !== null;
    }, null, { ...WAIT, polling: 200 });
    const seqs = await shownSeqs(bob);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'every seq from 1, in order, once');
    assert.equal(await bob.textContent('#message-list [data-seq="1"] .body'), 'Hi Bob!');

    // Alice's page had acks for seqs it had no message for: a hole, filled by `sync after_seq`.
    await openConversation(alice, dm);
    await alice.waitForSelector('#message-list .msg.own[data-seq="72"] .body:text-matches("^bulk [0-9]+$")', WAIT);
    const hers = await shownSeqs(alice);
    assert.deepEqual(hers, hers.map((_, i) => hers[0] + i));
    assert.equal(hers.at(-1), 72);
  });

  it('threw no error in any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
