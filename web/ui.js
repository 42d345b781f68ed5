// Rendering: the conversation list and the chat view, from the store's state. Keyed updates
// (an element per message, rebuilt only when its content changes; ticks updated in place), so
// images stay loaded and scrolling stays put. No network here: `actions` does the work.

const $ = (id) => document.getElementById(id);

/** A tiny element builder: h('li', {class: 'x', onclick}, child, 'text', …). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const TICKS = {
  pending: ['◷', 'Sending'], sent: ['✓', 'Sent'], delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'], failed: ['!', 'Not sent'],
};

export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function day(ms) {
  const d = new Date(ms);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return 'today';
  return d.toLocaleDateString();
}

export function title(c, me) {
  if (c.kind === 'direct') {
    const [, a, b] = c.id.split(':');
    return a === me ? b : a;
  }
  return c.name || 'Group';
}

function describeSystem(m, me) {
  const who = m.sender_id === me ? 'You' : m.sender_id;
  const users = (m.system.user_ids || []).join(', ');
  switch (m.system.event) {
    case 'created': return `${who} created the group “${m.system.name ?? ''}”`;
    case 'member_added': return `${who} added ${users}`;
    case 'member_removed': return `${who} removed ${users}`;
    case 'member_left': return `${who} left`;
    case 'role_changed': return `${who} made ${users} ${m.system.role}`;
    case 'renamed': return `${who} renamed the group to “${m.system.name}”`;
    default: return `${who} changed the group settings`;
  }
}

function preview(c, me) {
  const lm = c.lastMessage;
  if (!lm) return '';
  const mine = lm.sender_id === me;
  const prefix = c.kind === 'group' && !lm.system && !mine ? `${lm.sender_id}: ` : '';
  if (lm.recalled) return `⊘ ${mine ? 'You deleted this message' : 'This message was deleted'}`;
  if (lm.system) return describeSystem({ sender_id: lm.sender_id, system: lm.system }, me);
  if (lm.preview) return prefix + lm.preview;
  return lm.media || lm.preview === null ? `${prefix}Photo` : '';
}

/** The conversation list, newest first, with unread counts and the last message. */
export function renderList(store, currentId, onOpen) {
  const ul = $('conversations');
  const me = store.me;
  ul.replaceChildren(...store.list().map((c) => {
    const open = () => onOpen(c.id);
    return h('li', {
      role: 'option', tabindex: 0, 'aria-selected': String(c.id === currentId),
      dataset: { id: c.id }, onclick: open,
      onkeydown: (e) => { if (e.key === 'Enter') open(); },
    },
    h('span', { class: 'conv-name' }, title(c, me)),
    h('span', { class: 'conv-time' }, c.lastActivity ? clock(c.lastActivity) : ''),
    h('span', { class: 'conv-last' }, preview(c, me)),
    h('span', { class: 'unread', 'aria-label': c.unread ? `${c.unread} unread` : null },
      c.unread && c.id !== currentId ? String(c.unread) : ''));
  }));
}

/** The open chat: header, messages (keyed by sender and client_msg_id) and ticks. */
export class ChatView {
  constructor(actions) {
    this.actions = actions;
    this.els = new Map();
    this.list = $('message-list');
    this.scroller = $('messages');
    this.current = null;
    this.scroller.addEventListener('scroll', () => {
      if (this.current && this.scroller.scrollTop < 80) actions.older(this.current);
    });
  }

  open(id) {
    this.current = id;
    this.els.clear();
    this.list.replaceChildren();
    $('chat').dataset.empty = 'false';
    $('app').classList.add('in-chat');
  }

  close() {
    this.current = null;
    $('chat').dataset.empty = 'true';
    $('app').classList.remove('in-chat');
  }

  render(store, c, presence) {
    const me = store.me;
    $('chat-title').textContent = title(c, me);
    $('add-member').hidden = c.kind !== 'group';
    $('older').hidden = !c.loadingOlder;
    const sub = $('chat-sub');
    const typers = store.typers(c.id);
    sub.classList.toggle('typing', typers.length > 0);
    if (typers.length) {
      sub.textContent = c.kind === 'direct' ? 'typing…' : `${typers.join(', ')} ${typers.length > 1 ? 'are' : 'is'} typing…`;
    } else if (c.kind === 'direct') {
      const p = presence;
      sub.textContent = !p ? '' : p.online ? 'online' : p.last_seen ? `last seen ${day(p.last_seen)} at ${clock(p.last_seen)}` : '';
    } else {
      sub.textContent = c.members ? c.members.join(', ') : '';
    }

    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 60;
    const fromBottom = s.scrollHeight - s.scrollTop;
    const firstBefore = this.list.firstElementChild;

    const seen = new Set();
    let prev = null;
    for (const m of store.items(c.id)) {
      const key = `${m.sender_id}/${m.client_msg_id}`;
      seen.add(key);
      const sig = `${m.pending ? 'p' : m.seq}|${m.recalled ? 'r' : ''}|${m.failed || ''}|${m.deleted_for_me ? 'd' : ''}`;
      let el = this.els.get(key);
      if (!el || el.dataset.sig !== sig) {
        const fresh = this.message(store, c, m);
        fresh.dataset.sig = sig;
        if (el) el.replaceWith(fresh);
        el = fresh;
        this.els.set(key, el);
      }
      const tick = el.querySelector('.tick');
      if (tick) {
        const state = store.tick(c, m);
        if (tick.dataset.tick !== state) {
          tick.dataset.tick = state;
          tick.textContent = TICKS[state][0];
          tick.setAttribute('aria-label', TICKS[state][1]);
          tick.title = TICKS[state][1];
        }
      }
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== el) this.list.insertBefore(el, want);
      prev = el;
    }
    for (const [key, el] of this.els) {
      if (!seen.has(key)) { el.remove(); this.els.delete(key); }
    }

    if (atBottom) s.scrollTop = s.scrollHeight;
    else if (firstBefore && firstBefore !== this.list.firstElementChild) s.scrollTop = s.scrollHeight - fromBottom;
  }

  message(store, c, m) {
    const me = store.me;
    const own = m.sender_id === me;
    const data = { sender: m.sender_id, cmid: m.client_msg_id };
    if (m.seq) data.seq = m.seq;
    if (m.system) return h('li', { class: 'system', dataset: data }, describeSystem(m, me));
    const cls = ['msg', own && 'own', m.pending && 'pending', m.failed && 'failed', m.recalled && 'recalled']
      .filter(Boolean).join(' ');
    const parts = [];
    if (c.kind === 'group' && !own) parts.push(h('span', { class: 'sender' }, m.sender_id));
    if (m.recalled || m.deleted_for_me) {
      parts.push(h('span', { class: 'body' }, `⊘ ${own ? 'You deleted this message' : 'This message was deleted'}`));
    } else {
      if (m.media) parts.push(this.photo(m));
      if (m.body) parts.push(h('span', { class: 'body' }, m.body));
    }
    const meta = h('span', { class: 'meta' },
      h('time', { datetime: new Date(m.sent_at).toISOString() }, clock(m.sent_at)),
      own && !m.recalled ? h('span', { class: 'tick', role: 'img' }) : null,
      m.failed ? h('span', {}, m.failed) : null);
    parts.push(meta);
    if (own && !m.pending && !m.recalled) {
      parts.push(h('button', { class: 'recall', type: 'button', 'aria-label': 'Recall this message',
        onclick: () => this.actions.recall(c.id, m.seq) }, 'Recall'));
    }
    return h('li', { class: cls, dataset: data }, ...parts);
  }

  photo(m) {
    const img = h('img', { alt: 'Photo', width: m.media.thumbnail?.width, height: m.media.thumbnail?.height });
    this.actions.thumbnail(m).then((url) => { if (url) img.src = url; }, () => { img.alt = 'Photo (unavailable)'; });
    return h('button', { class: 'photo', type: 'button', 'aria-label': 'Open photo',
      onclick: () => this.actions.viewPhoto(m) }, img);
  }
}

export function setStatus(state) {
  const el = $('status');
  el.dataset.state = state;
  el.textContent = { online: 'online', connecting: 'connecting…', offline: 'offline' }[state] || state;
}
