// The WebSocket: one live connection at a time, reconnected with exponential backoff and
// jitter, kept alive with `ping`. One job: the transport; what frames mean is app.js's.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const PING_EVERY_MS = 4 * 60_000; // well inside the 10-minute idle timeout
const PONG_WITHIN_MS = 10_000;

export class Socket {
  /**
   * `url()` answers the URL to dial (token and device in the query).
   * `handlers`: `onEvent(event)`, `onOpen()`, `onState('connecting'|'online'|'offline')`.
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    window.addEventListener('online', () => this.reconnectNow());
    window.addEventListener('offline', () => this.drop());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  /** Sends a frame now; false when there is no open socket (the caller keeps it to retry). */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Closes the current socket as if the network had dropped it; a reconnect follows. */
  drop() {
    if (this.ws) this.ws.close(4000, 'dropped');
  }

  reconnectNow() {
    if (this.stopped || this.open) return;
    this.attempt = 0;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = this.ws.onmessage = this.ws.onerror = null;
      this.ws.close();
    }
    this.handlers.onState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let pingTimer = null;
    let pongTimer = null;
    const heartbeat = () => {
      pingTimer = setTimeout(() => {
        ws.send(JSON.stringify({ action: 'ping' }));
        pongTimer = setTimeout(() => ws.close(4001, 'no pong'), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    };
    ws.onopen = () => {
      this.attempt = 0;
      this.handlers.onState('online');
      heartbeat();
      this.handlers.onOpen();
    };
    ws.onmessage = (msg) => {
      let event;
      try { event = JSON.parse(msg.data); } catch { return; }
      if (event.type === 'pong') {
        clearTimeout(pongTimer);
        clearTimeout(pingTimer);
        heartbeat();
        return;
      }
      this.handlers.onEvent(event);
    };
    ws.onclose = () => {
      clearTimeout(pingTimer);
      clearTimeout(pongTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      this.handlers.onState(navigator.onLine ? 'connecting' : 'offline');
      this.scheduleReconnect();
    };
  }

  /** Full jitter over an exponentially growing window, capped. */
  scheduleReconnect() {
    if (this.stopped) return;
    const window = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = window / 2 + Math.random() * (window / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
