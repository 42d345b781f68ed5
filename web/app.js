// The wiring: sign-in, then socket events into the store, the store into the view, the view's
// actions into frames and HTTP calls. Every rule about what to send when lives here.

import defaults from './config.js';
import { Api, devToken } from './api.js';
import { Socket } from './socket.js';
import { Store, directId, peerOf } from './store.js';
import { ChatView, renderList, setStatus } from './ui.js';
import { MediaCache, upload } from './media.js';

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
const GAP_WAIT_MS = 2000; // a hole in seq usually fills within ms; after this, `sync` it
const ACK_WAIT_MS = 10_000; // a send unanswered this long (socket open) is sent again
const TYPING_EVERY_MS = 3000; // the server forwards one `start` per 2 s; receivers expire at 7 s
const TYPING_IDLE_MS = 3000;

/** Endpoints: config.js, then the query string, then what the sign-in form said. */
function endpoints(saved = {}) {
  const q = new URLSearchParams(location.search);
  const api = q.get('api') || saved.api || defaults.api || `${location.origin}/v1`;
  const ws = q.get('ws') || saved.ws || defaults.ws
    || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/local`;
  return { api, ws };
}

function deviceId() {
  let id = localStorage.getItem('chat.device');
  if (!id) {
    id = `web-${crypto.getRandomValues(new Uint32Array(2)).join('-')}`;
    localStorage.setItem('chat.device', id);
  }
  return id;
}

function jwtSubject(jwt) {
  const part = jwt.split('.')[1] || '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json).sub;
}

function newClientMsgId() {
  return `w-${Date.now().toString(36)}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}

// --- sign-in ------------------------------------------------------------------------------

function showSignIn() {
  const ep = endpoints();
  $('signin').hidden = false;
  $('signin-api').value = ep.api;
  $('signin-ws').value = ep.ws;
  $('signin-user').focus();
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('signin-error').textContent = '';
    const api = $('signin-api').value.trim();
    const ws = $('signin-ws').value.trim();
    try {
      const jwt = $('signin-jwt').value.trim();
      let session;
      if (jwt) session = { token: jwt, user: jwtSubject(jwt), api, ws };
      else {
        const user = $('signin-user').value.trim();
        if (!user) throw new Error('a user id, or a JWT');
        const t = await devToken(api, user);
        session = { token: t.token, user: t.user_id || user, api, ws };
      }
      sessionStorage.setItem('chat.session', JSON.stringify(session));
      $('signin').hidden = true;
      start(session);
    } catch (err) {
      $('signin-error').textContent = `Could not sign in: ${err.message}`;
    }
  });
}

// --- the app ------------------------------------------------------------------------------

function start(session) {
  const me = session.user;
  const { api: apiBase, ws: wsBase } = endpoints(session);
  const device = deviceId();
  const api = new Api(apiBase, () => session.token);
  const store = new Store(me);
  const media = new MediaCache(api);
  const presence = new Map();
  const syncing = new Set();
  const gapTimers = new Map();
  let current = null;
  let typingSentAt = 0;
  let typingConv = null;
  let typingStop = null;

  const view = new ChatView({
    older: (id) => loadOlder(id),
    recall: (id, seq) => socket.send({ action: 'recall', conversation_id: id, seq }),
    thumbnail: (m) => {
      if (m.localUrl) return Promise.resolve(m.localUrl);
      if (!m.media?.id) return Promise.resolve(null);
      return m.media.thumbnail ? media.url(m.media.thumbnail.id, true) : media.url(m.media.id, false);
    },
    viewPhoto: async (m) => {
      $('viewer-img').src = m.localUrl || await media.url(m.media.id, false);
      $('viewer').showModal();
    },
  });

  const socket = new Socket(
    () => `${wsBase}${wsBase.includes('?') ? '&' : '?'}token=${enc(session.token)}&device=${enc(device)}`,
    { onEvent, onOpen, onState: setStatus },
  );

  // Renders at most once per turn of the event loop, whatever changed.
  let renderQueued = false;
  store.onChange(() => {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      renderList(store, current, open);
      if (current) view.render(store, store.conv(current), presence.get(peer(current)));
    });
  });
  const peer = (id) => (id.startsWith('dm:') ? peerOf(id, me) : null);

  // --- from the server ---

  async function loadList() {
    let cursor = null;
    do {
      const page = await api.conversations(cursor);
      for (const item of page.conversations) store.summary(item);
      cursor = page.next_cursor;
    } while (cursor);
  }

  function onOpen() {
    socket.send({ action: 'sync' });
    for (const p of store.allPending()) if (p.frame) transmit(p);
    if (current && peer(current)) socket.send({ action: 'presence', user_ids: [peer(current)] });
    if (current) markRead(current);
    loadList().catch((err) => console.warn('conversation list', err));
  }

  /** `sync` one conversation from `after` on (paged by `has_more`). */
  function syncConversation(id, after) {
    if (syncing.has(id)) return;
    if (socket.send({ action: 'sync', conversation_id: id, after_seq: after, limit: 100 })) syncing.add(id);
  }

  function checkGap(id) {
    const gap = store.gap(id);
    if (!gap || gapTimers.has(id)) return;
    gapTimers.set(id, setTimeout(() => {
      gapTimers.delete(id);
      const still = store.gap(id);
      if (still) syncConversation(id, still.after);
    }, GAP_WAIT_MS));
  }

  function received(id, fresh) {
    const c = store.conv(id);
    if (c.kind === 'group' && !c.name && !c.detailsAsked) details(id);
    const theirs = fresh.filter((m) => m.sender_id !== me);
    if (!theirs.length) return;
    for (const m of theirs) c.typing.delete(m.sender_id);
    const newest = Math.max(...theirs.map((m) => m.seq));
    if (!markRead(id)) {
      c.unread += theirs.filter((m) => m.seq > c.readSeq).length;
      if (newest > c.deliveredSeq && socket.send({ action: 'ack', conversation_id: id, seq: newest })) {
        c.deliveredSeq = newest;
      }
    }
  }

  function onEvent(e) {
    switch (e.type) {
      case 'ack':
        store.ack(e);
        checkGap(e.conversation_id);
        break;
      case 'message':
        received(e.conversation_id, store.add(e.conversation_id, [e]));
        checkGap(e.conversation_id);
        break;
      case 'messages': {
        syncing.delete(e.conversation_id);
        const fresh = store.add(e.conversation_id, e.messages);
        received(e.conversation_id, fresh);
        const last = e.messages.at(-1)?.seq;
        if (e.has_more && last) syncConversation(e.conversation_id, last);
        break;
      }
      case 'sync':
        for (const item of e.conversations) {
          const c = store.summary(item);
          const gap = store.gap(c.id);
          if (gap) syncConversation(c.id, gap.after);
        }
        if (e.next_cursor) socket.send({ action: 'sync', cursor: e.next_cursor });
        break;
      case 'receipt':
        if (e.user_id === me) {
          if (e.kind === 'read') store.readUpTo(e.conversation_id, e.seq);
        } else if (e.conversation_id.startsWith('dm:')) {
          store.peerMarks(e.conversation_id, e.seq, e.kind === 'read' ? e.seq : 0);
        }
        break;
      case 'receipt_summary':
        store.peerMarks(e.conversation_id, e.delivered_all_seq, e.read_all_seq);
        break;
      case 'typing':
        store.typing(e.conversation_id, e.user_id, e.state);
        setTimeout(() => store.changed(e.conversation_id), 7100);
        break;
      case 'presence':
        presence.set(e.user_id, e);
        store.changed(current);
        break;
      case 'recalled':
        store.recall(e.conversation_id, e.seq, e.by);
        break;
      case 'message_deleted': {
        const m = store.conv(e.conversation_id).messages.get(e.seq);
        if (m) store.conv(e.conversation_id).messages.set(e.seq, { ...m, deleted_for_me: true, body: undefined, media: undefined });
        store.changed(e.conversation_id);
        break;
      }
      case 'conversation_deleted':
        store.convs.delete(e.conversation_id);
        if (current === e.conversation_id) { current = null; view.close(); }
        store.changed(null);
        break;
      case 'member_added':
      case 'member_removed':
        details(e.conversation_id);
        break;
      case 'error':
        onError(e);
        break;
      default:
        break;
    }
  }

  function onError(e) {
    const found = e.client_msg_id && store.pending(e.client_msg_id);
    if (!found) {
      if (e.action === 'sync') syncing.clear();
      console.warn('server error', e);
      return;
    }
    const p = found.p;
    if (e.code === 'rate_limited') {
      // Nothing was stored; the same client_msg_id after the pause asked for is an ordinary
      // send. Not a failed try: a phone flushing a long outbox is refused many times over.
      // The jitter keeps a refused batch from coming back all at once.
      setTimeout(() => transmit(p), (e.retry_after_ms ?? 1000) + Math.random() * 200);
      return;
    }
    const notYet = e.code === 'bad_request' && /not uploaded|not checked/.test(e.message);
    const transient = e.code === 'internal';
    p.tries = (p.tries || 0) + 1;
    if ((notYet && p.tries < 40) || (transient && p.tries < 8)) {
      setTimeout(() => transmit(p), notYet ? 250 : 1000 * 2 ** p.tries);
    } else {
      store.fail(e.client_msg_id, e.message);
    }
  }

  async function details(id) {
    const c = store.conv(id);
    c.detailsAsked = true;
    try {
      const d = await api.conversation(id);
      c.kind = d.kind;
      if (d.name) c.name = d.name;
      c.members = d.members.map((m) => m.user_id);
      store.peerMarks(id, d.delivered_all_seq, d.read_all_seq);
    } catch (err) {
      if (err.status !== 403) console.warn('details', err);
    }
  }

  // --- to the server ---

  function transmit(p) {
    p.sentAt = Date.now();
    socket.send(p.frame);
  }

  // A send without its ack after a while (socket open) goes again, same client_msg_id.
  setInterval(() => {
    if (!socket.open) return;
    for (const p of store.allPending()) {
      if (p.frame && !p.failed && Date.now() - (p.sentAt || 0) > ACK_WAIT_MS) transmit(p);
    }
  }, 2000);

  /** Read receipt for what the open, visible chat shows; true when sent (or nothing new). */
  function markRead(id) {
    if (id !== current || document.visibilityState !== 'visible') return false;
    const c = store.conv(id);
    const seq = store.newestFromOthers(id);
    if (seq > c.readSeq) {
      if (!socket.send({ action: 'receipt', conversation_id: id, seq, kind: 'read' })) return false;
      store.readUpTo(id, seq);
    }
    if (c.unread) store.readUpTo(id, c.readSeq);
    return true;
  }

  async function loadOlder(id) {
    const c = store.conv(id);
    if (!c.hasOlder || c.loadingOlder) return;
    c.loadingOlder = true;
    store.changed(id);
    try {
      const page = await api.messages(id, c.olderCursor);
      c.olderCursor = page.next_cursor;
      c.hasOlder = !!page.next_cursor;
      store.add(id, page.messages);
    } finally {
      c.loadingOlder = false;
      store.changed(id);
    }
  }

  async function open(id) {
    current = id;
    typingConv = null;
    view.open(id);
    const c = store.conv(id);
    store.changed(id);
    const p = peer(id);
    if (p) socket.send({ action: 'presence', user_ids: [p] });
    if (!c.loaded) {
      try {
        const page = await api.messages(id);
        c.loaded = true;
        c.olderCursor = page.next_cursor;
        c.hasOlder = !!page.next_cursor;
        const top = page.messages.at(-1)?.seq ?? 0;
        c.shown = Math.max(c.shown ?? 0, top);
        store.add(id, page.messages);
      } catch (err) {
        if (err.status !== 403) console.warn('history', err);
        c.loaded = true;
        if (c.shown === null) c.shown = 0;
      }
      checkGap(id);
    }
    await details(id);
    markRead(id);
    // A short first page may not fill the view: then there is nothing to scroll, so load on.
    if (c.hasOlder && $('messages').scrollHeight <= $('messages').clientHeight) loadOlder(id);
  }

  function sendText(body) {
    const id = current;
    const client_msg_id = newClientMsgId();
    const frame = { action: 'send', conversation_id: id, client_msg_id, body };
    store.addPending(id, { client_msg_id, body, frame });
    transmit(store.pending(client_msg_id).p);
    stopTyping();
  }

  async function sendPhoto(file) {
    const id = current;
    const client_msg_id = newClientMsgId();
    const localUrl = URL.createObjectURL(file);
    store.addPending(id, {
      client_msg_id, localUrl, media: { id: null, content_type: file.type, size: file.size },
    });
    try {
      const mediaId = await upload(api, file);
      media.remember(mediaId, localUrl);
      const p = store.pending(client_msg_id)?.p;
      if (!p) return;
      p.media = { ...p.media, id: mediaId };
      p.frame = { action: 'send', conversation_id: id, client_msg_id, media_id: mediaId };
      transmit(p);
    } catch (err) {
      store.fail(client_msg_id, err.message);
    }
  }

  function stopTyping() {
    clearTimeout(typingStop);
    if (typingConv) socket.send({ action: 'typing', conversation_id: typingConv, state: 'stop' });
    typingConv = null;
    typingSentAt = 0;
  }

  // --- the page's controls ---

  $('me').textContent = me;
  $('app').hidden = false;
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = $('text').value.trim();
    if (!body || !current) return;
    $('text').value = '';
    sendText(body);
  });
  $('text').addEventListener('input', () => {
    if (!current || !$('text').value) return stopTyping();
    if (typingConv !== current || Date.now() - typingSentAt > TYPING_EVERY_MS) {
      if (typingConv && typingConv !== current) stopTyping();
      if (socket.send({ action: 'typing', conversation_id: current, state: 'start' })) {
        typingConv = current;
        typingSentAt = Date.now();
      }
    }
    clearTimeout(typingStop);
    typingStop = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  $('photo').addEventListener('change', () => {
    const file = $('photo').files[0];
    $('photo').value = '';
    if (file && current) sendPhoto(file);
  });
  $('new-chat').addEventListener('submit', (e) => {
    e.preventDefault();
    const user = $('new-chat-user').value.trim();
    if (!user || user === me) return;
    $('new-chat-user').value = '';
    const c = store.conv(directId(me, user));
    c.local = true;
    c.lastActivity = Math.max(c.lastActivity, Date.now());
    open(c.id);
  });
  $('new-group').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('new-group-name').value.trim();
    const members = $('new-group-members').value.split(/[\s,]+/).filter(Boolean);
    try {
      const d = await api.createGroup(name, members);
      $('new-group-name').value = '';
      $('new-group-members').value = '';
      const c = store.conv(d.conversation_id);
      Object.assign(c, { kind: 'group', name: d.name, local: true, lastActivity: d.created_at || Date.now() });
      open(c.id);
    } catch (err) {
      alert(`Could not create the group: ${err.message}`);
    }
  });
  $('add-member').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('add-member-user').value.trim();
    if (!user || !current) return;
    try {
      await api.addMembers(current, [user]);
      $('add-member-user').value = '';
      details(current);
    } catch (err) {
      alert(`Could not add ${user}: ${err.message}`);
    }
  });
  $('back').addEventListener('click', () => { current = null; view.close(); store.changed(null); });
  $('signout').addEventListener('click', () => {
    socket.stop();
    sessionStorage.removeItem('chat.session');
    location.reload();
  });
  document.addEventListener('visibilitychange', () => { if (current) markRead(current); });

  // For people debugging in the console (and the browser test's reconnect).
  window.chat = { store, socket, open };

  loadList().catch((err) => console.warn('conversation list', err)).finally(() => store.changed(null));
  socket.start();
}

const saved = sessionStorage.getItem('chat.session');
if (saved) start(JSON.parse(saved));
else showSignIn();
