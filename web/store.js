// Per-conversation state, kept in `seq` order: messages by seq (duplicates dropped), the
// sends still waiting for their `ack`, marks for ticks and unread counts. No DOM, no network:
// app.js feeds it events and asks it what to show; `changed` says who must re-render.

export class Store {
  constructor(me) {
    this.me = me;
    this.convs = new Map();
    this.listeners = new Set();
  }

  onChange(fn) { this.listeners.add(fn); }
  changed(id) { for (const fn of this.listeners) fn(id); }

  /** The conversation `id`, made empty on first mention. */
  conv(id) {
    let c = this.convs.get(id);
    if (!c) {
      c = {
        id,
        kind: id.startsWith('dm:') ? 'direct' : 'group',
        name: null,
        lastSeq: 0, unread: 0, readSeq: 0, deliveredSeq: 0,
        lastActivity: 0, lastMessage: null,
        peerDelivered: 0, peerRead: 0, // the other member's (group: every other member's) marks
        messages: new Map(), pending: new Map(),
        shown: null, // highest seq with no gap below it (null until we know where we stand)
        loaded: false, olderCursor: null, hasOlder: false,
        typing: new Map(), // user id -> expiry (ms)
        members: null,
      };
      this.convs.set(id, c);
    }
    return c;
  }

  /** A line of `GET /v1/conversations` or of the `sync` summary. */
  summary(item) {
    const c = this.conv(item.conversation_id);
    c.kind = item.kind || c.kind;
    if (item.name !== undefined) c.name = item.name;
    c.lastSeq = Math.max(c.lastSeq, item.last_seq);
    c.unread = item.unread;
    c.readSeq = Math.max(c.readSeq, item.read_seq);
    c.deliveredSeq = Math.max(c.deliveredSeq, item.delivered_seq);
    if (item.last_activity_at) c.lastActivity = Math.max(c.lastActivity, item.last_activity_at);
    if (item.last_message !== undefined) {
      const lm = item.last_message;
      if (!c.lastMessage || !lm || lm.seq >= c.lastMessage.seq) c.lastMessage = lm;
    }
    if (c.shown === null) c.shown = c.lastSeq;
    this.changed(c.id);
    return c;
  }

  /**
   * Messages (live, history or sync) into their conversation. Answers the messages that were
   * new (duplicates by seq are dropped, except that a tombstone replaces what it recalls).
   */
  add(id, messages) {
    const c = this.conv(id);
    const fresh = [];
    for (const m of messages) {
      const had = c.messages.get(m.seq);
      if (had && !(m.recalled && !had.recalled)) continue;
      c.messages.set(m.seq, m);
      if (!had) fresh.push(m);
      if (m.seq > c.lastSeq) c.lastSeq = m.seq;
      if (!c.lastMessage || m.seq >= c.lastMessage.seq) {
        c.lastMessage = {
          seq: m.seq, sender_id: m.sender_id, sent_at: m.sent_at,
          preview: m.body ?? null, recalled: !!m.recalled, media: !!m.media, system: m.system,
        };
        c.lastActivity = Math.max(c.lastActivity, m.sent_at);
      }
      if (m.sender_id === this.me && !m.system) c.readSeq = Math.max(c.readSeq, m.seq);
      // Our own message, sent from another device, is no longer pending here.
      if (m.sender_id === this.me) c.pending.delete(m.client_msg_id);
    }
    this.advanceShown(c);
    if (fresh.length) this.changed(id);
    return fresh;
  }

  advanceShown(c) {
    if (c.shown === null) return;
    while (c.messages.has(c.shown + 1)) c.shown += 1;
  }

  /** Is there a hole below the newest known seq? Then `after` is where to sync from. */
  gap(id) {
    const c = this.conv(id);
    if (c.shown === null) return null;
    return c.lastSeq > c.shown ? { after: c.shown } : null;
  }

  /** A send not acknowledged yet (shown with a clock, retried with the same client_msg_id). */
  addPending(id, p) {
    const c = this.conv(id);
    c.pending.set(p.client_msg_id, { ...p, pending: true, sender_id: this.me, sent_at: Date.now() });
    this.changed(id);
  }

  pending(clientMsgId) {
    for (const c of this.convs.values()) {
      const p = c.pending.get(clientMsgId);
      if (p) return { conv: c, p };
    }
    return null;
  }

  allPending() {
    return [...this.convs.values()].flatMap((c) => [...c.pending.values()]);
  }

  /** The server's `ack`: the pending send becomes a message at its seq. */
  ack(ack) {
    const found = this.pending(ack.client_msg_id);
    const c = this.conv(ack.conversation_id);
    const p = found?.p;
    if (found) found.conv.pending.delete(ack.client_msg_id);
    if (!p) {
      // Not a send of ours to show (nothing to build it from): a hole that `sync` fills.
      c.lastSeq = Math.max(c.lastSeq, ack.seq);
    } else if (!c.messages.has(ack.seq)) {
      this.add(c.id, [{
        conversation_id: c.id, seq: ack.seq, message_id: ack.message_id, sender_id: this.me,
        sent_at: ack.sent_at, client_msg_id: ack.client_msg_id,
        body: p?.body, media: p?.media, localUrl: p?.localUrl,
      }]);
    }
    this.changed(c.id);
  }

  fail(clientMsgId, reason) {
    const found = this.pending(clientMsgId);
    if (!found) return;
    found.p.failed = reason;
    this.changed(found.conv.id);
  }

  recall(id, seq, by) {
    const c = this.conv(id);
    const m = c.messages.get(seq);
    if (m) c.messages.set(seq, { ...m, body: undefined, media: undefined, recalled: { by, at: Date.now() } });
    if (c.lastMessage?.seq === seq) c.lastMessage = { ...c.lastMessage, preview: null, recalled: true, media: false };
    this.changed(id);
  }

  /** Marks of others: a direct peer's `receipt`, or a group's `receipt_summary`/details. */
  peerMarks(id, delivered, read) {
    const c = this.conv(id);
    c.peerRead = Math.max(c.peerRead, read);
    c.peerDelivered = Math.max(c.peerDelivered, delivered, c.peerRead);
    this.changed(id);
  }

  /** My own read mark moved (here or on another device of mine). */
  readUpTo(id, seq) {
    const c = this.conv(id);
    c.readSeq = Math.max(c.readSeq, seq);
    c.deliveredSeq = Math.max(c.deliveredSeq, seq);
    let unread = 0;
    for (const m of c.messages.values()) if (m.seq > c.readSeq && m.sender_id !== this.me) unread += 1;
    c.unread = c.lastSeq <= c.readSeq ? 0 : Math.max(unread, Math.min(c.unread, c.lastSeq - c.readSeq));
    this.changed(id);
  }

  typing(id, userId, state) {
    const c = this.conv(id);
    if (state === 'start') c.typing.set(userId, Date.now() + 7000);
    else c.typing.delete(userId);
    this.changed(id);
  }

  typers(id) {
    const c = this.conv(id);
    const now = Date.now();
    return [...c.typing].filter(([, until]) => until > now).map(([u]) => u);
  }

  /** What the chat shows, in order: stored messages by seq, then the pending sends. */
  items(id) {
    const c = this.conv(id);
    const stored = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
    const pending = [...c.pending.values()].sort((a, b) => a.sent_at - b.sent_at);
    return stored.concat(pending);
  }

  oldestSeq(id) {
    let min = Infinity;
    for (const seq of this.conv(id).messages.keys()) min = Math.min(min, seq);
    return min === Infinity ? null : min;
  }

  /** The highest seq of someone else's message we hold (what a receipt covers). */
  newestFromOthers(id) {
    let max = 0;
    for (const m of this.conv(id).messages.values()) if (m.sender_id !== this.me && m.seq > max) max = m.seq;
    return max;
  }

  tick(c, m) {
    if (m.pending) return m.failed ? 'failed' : 'pending';
    if (m.seq <= c.peerRead) return 'read';
    if (m.seq <= c.peerDelivered) return 'delivered';
    return 'sent';
  }

  /** Conversations, newest activity first. */
  list() {
    return [...this.convs.values()]
      .filter((c) => c.lastSeq > 0 || c.pending.size || c.name || c.local)
      .sort((a, b) => b.lastActivity - a.lastActivity);
  }
}

/** The direct conversation's id between two users (`dm:<min>:<max>`, by bytes). */
export function directId(a, b) {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** The other user of a direct conversation. */
export function peerOf(id, me) {
  const [, a, b] = id.split(':');
  return a === me ? b : a;
}
