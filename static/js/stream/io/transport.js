/*
 * How the page reaches the stream: one state machine over three transports
 * (docs/streaming-contract.md: "Connecting", "The SSE fallback", "Fallback: polling").
 *
 *   WebSocket ── FAILS_BEFORE_FALLBACK sockets in a row end before a snapshot ──▶ fallback 'sse'
 *     ▲  retried with backoff all along; the first socket that goes live         │ fails before
 *     └─ ends the fallback                                                       ▼ its first snapshot
 *                                                              fallback 'poll' (/api/snapshot every 2 s)
 *
 * `?transport=sse|poll` starts in that fallback, with no socket. Streams resume from the
 * page's position (`?since=`; EventSource's own reconnect sends Last-Event-ID); close codes
 * are answered by contract.js (`closePolicy`, `nextRetry`). Everything outside is injected
 * (WebSocket, EventSource, fetch, timers, clock, randomness, onLine): tests/js/transport.test.mjs.
 */
import {
  CLIENT_DROP, CLOSE, CONNECT_TIMEOUT_MS, DEAD_AFTER_MS, FAILS_BEFORE_FALLBACK, PING_EVERY_MS, POLL_EVERY_MS,
  POLL_TIMEOUT_MS, STABLE_AFTER_MS, backoffDelay, closePolicy, eventsUrl, newTabId, nextRetry, num, parseFrame,
  snapshotUrl, withSince,
} from '../contract.js';

const WS_OPEN = 1; // WebSocket.OPEN
const ES_CLOSED = 2; // EventSource.CLOSED

// ------------------------------------------------------------------ decisions (pure)

/** The fallback to use: SSE, unless it already failed, the page forces polling, or the
 *  browser has no EventSource. */
export function fallbackKind({ mode, sseBroken, hasEventSource }) {
  return !sseBroken && mode !== 'poll' && hasEventSource ? 'sse' : 'poll';
}

/** Server clock minus client clock, from a server time taken between `sentAt` and `receivedAt`. */
export function skewOf(serverT, sentAt, receivedAt) {
  return serverT - (sentAt + (receivedAt - sentAt) / 2);
}

// ------------------------------------------------------------------ the machine

/** Every field of the connection, declared here and nowhere else. */
export function initialConnection(mode = 'auto') {
  return {
    mode, // 'auto' | 'sse' | 'poll' (the page's ?transport=)
    status: 'connecting', // the pill: connecting | live | reconnecting | offline | sse | polling
    stopped: false, // the page is gone or went to log in: nothing reconnects
    ws: null, // the WebSocket, opening or open
    wsLive: false, // it delivered a snapshot (or `resumed`)
    everLive: false,
    attempt: 0, // backoff exponent; 0 again after STABLE_AFTER_MS live
    failures: 0, // sockets in a row that ended before a snapshot
    lastImmediate: -Infinity, // when a reconnect last went at once
    lastSocketFrameAt: 0,
    pingId: 0,
    pings: new Map(), // ping id -> sent at
    fallback: 'off', // 'off' | 'sse' | 'poll'
    es: null, // the EventSource while SSE is open
    sseLive: false, // it delivered a snapshot (or `resumed`)
    sseBroken: false, // SSE failed before its first snapshot: poll from then on
    sseAttempt: 0, // backoff exponent of SSE reopens after a close code
    pollAbort: null, // the /api/snapshot request in flight
    timers: { reconnect: null, connectTimeout: null, ping: null, stable: null, sse: null, poll: null },
    connects: 0, // sockets opened
    reconnects: 0,
    socketUrl: '', // the last socket's URL (with its ?since=)
    sseUrl: '',
    lastRetry: null, // {code, delay, since}: how the last reconnect was scheduled
    lastReason: '',
    lastClose: null, // {code, reason}
  };
}

/**
 * env: {WebSocket, EventSource (optional), fetch, AbortController, setTimeout, clearTimeout,
 *       setInterval, clearInterval, now(), random(), isOffline()}
 * urls: {socket (base ws URL), events, snapshot, mode}
 * hooks: {position(), forgetPosition(), sseSymbols(), extraSymbols(), symbolsPerMessage(),
 *         pace() (quote frames per second the page asks, or null), frame(frame),
 *         snapshot(snap), skew(ms), status(status), login()}
 */
export function createTransport({ env, urls, hooks }) {
  const c = initialConnection(urls.mode);
  const t = c.timers;
  const pollTab = newTabId(env.random); // this page's polling subscription, if it polls

  function clear(name) {
    if (t[name] === null) return;
    (name === 'ping' ? env.clearInterval : env.clearTimeout)(t[name]);
    t[name] = null;
  }
  function later(name, ms, fn) {
    clear(name);
    t[name] = env.setTimeout(() => { t[name] = null; fn(); }, ms);
  }
  function setStatus(status) {
    c.status = status;
    hooks.status(status);
  }
  const lostStatus = () => (env.isOffline() ? 'offline' : 'reconnecting');

  // ---------------------------------------------------------------- the WebSocket

  function openSocket() {
    clear('reconnect');
    if (c.stopped || c.ws || c.mode !== 'auto') return;
    const url = withSince(urls.socket, hooks.position());
    let ws;
    try { ws = new env.WebSocket(url); } catch (e) { return socketEnded(false, 0, 'cannot open socket', false); }
    c.ws = ws;
    c.connects++;
    c.socketUrl = url;
    c.wsLive = false;
    if (c.fallback === 'off') setStatus(c.everLive || c.failures ? 'reconnecting' : 'connecting');
    later('connectTimeout', CONNECT_TIMEOUT_MS, () => {
      if (c.ws === ws && ws.readyState !== WS_OPEN) dropSocket('connect timeout', false);
    });
    ws.onopen = () => {
      if (c.ws !== ws) return;
      clear('connectTimeout');
      c.lastSocketFrameAt = env.now();
      clear('ping');
      t.ping = env.setInterval(ping, PING_EVERY_MS);
    };
    ws.onmessage = (ev) => {
      if (c.ws !== ws) return;
      c.lastSocketFrameAt = env.now();
      const frame = parseFrame(ev.data);
      if (!frame) return;
      if (frame.type === 'pong') pong(frame);
      hooks.frame(frame);
      if (c.ws !== ws) return; // the frame made us drop this socket (a gap, another epoch)
      if (frame.type === 'hello') {
        // the user's watchlist and positions stream unasked; the tab re-sends only its extras
        const extra = hooks.extraSymbols();
        if (extra.length) sendSymbols('subscribe', extra);
        const pace = hooks.pace ? hooks.pace() : null;
        if (pace) send({ type: 'pace', max_frequency: pace }); // a new socket starts unpaced
      } else if (frame.type === 'snapshot' || frame.type === 'resumed') {
        socketLive(ws);
      }
    };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (ev) => {
      if (c.ws !== ws) return;
      c.lastClose = { code: ev.code, reason: ev.reason };
      const wasLive = c.wsLive;
      detachSocket();
      const policy = closePolicy(ev.code);
      if (policy.login) return goToLogin();
      if (!policy.resume) hooks.forgetPosition(); // 4409: a fresh snapshot
      socketEnded(wasLive, ev.code, `closed ${ev.code}${ev.reason ? ` (${ev.reason})` : ''}`, policy.immediate);
    };
  }

  function ping() {
    const id = ++c.pingId;
    c.pings.set(String(id), env.now());
    if (c.pings.size > 20) c.pings.delete(c.pings.keys().next().value);
    send({ type: 'ping', id });
  }

  function pong(frame) {
    const sent = c.pings.get(String(frame.id));
    c.pings.delete(String(frame.id));
    const serverT = num(frame.t);
    if (sent !== undefined && serverT !== null) hooks.skew(skewOf(serverT, sent, env.now()));
  }

  function socketLive(ws) {
    c.wsLive = true;
    c.everLive = true;
    c.failures = 0;
    stopFallback();
    setStatus('live');
    later('stable', STABLE_AFTER_MS, () => { if (c.ws === ws) c.attempt = 0; });
  }

  function detachSocket() {
    const ws = c.ws;
    c.ws = null;
    clear('connectTimeout');
    clear('stable');
    clear('ping');
    c.pings.clear();
    if (ws) ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    return ws;
  }

  /** Abandon the socket at once (dead, gap, timeout) and schedule the next one. */
  function dropSocket(reason, immediate) {
    const wasLive = c.wsLive;
    const ws = detachSocket();
    if (ws) {
      try { ws.close(CLIENT_DROP, String(reason).slice(0, 100)); } catch (e) { /* already closing */ }
      socketEnded(wasLive, 0, reason, immediate);
      return;
    }
    // no socket (waiting for a retry, or in a fallback): retry now if asked to
    c.lastReason = reason;
    if (immediate && !c.stopped) {
      c.reconnects++;
      c.lastRetry = { code: 0, delay: 0, since: hooks.position() };
      later('reconnect', 0, openSocket);
    }
    if (c.fallback === 'off') setStatus(lostStatus());
  }

  function socketEnded(wasLive, code, reason, immediate) {
    c.wsLive = false;
    c.lastReason = reason;
    if (!wasLive) c.failures++;
    if (c.failures >= FAILS_BEFORE_FALLBACK && c.fallback === 'off') startFallback();
    if (c.stopped) return;
    if (c.fallback === 'off') setStatus(lostStatus());
    c.reconnects++;
    const now = env.now();
    const retry = nextRetry(c, immediate, now, env.random);
    c.attempt = retry.attempt;
    c.lastImmediate = retry.lastImmediate;
    later('reconnect', retry.delay, openSocket);
    c.lastRetry = { code, delay: retry.delay, since: hooks.position() };
  }

  function send(msg) {
    if (!c.ws || c.ws.readyState !== WS_OPEN) return;
    try { c.ws.send(JSON.stringify(msg)); } catch (e) { /* closing: the next socket re-sends */ }
  }

  function sendSymbols(type, symbols) {
    const per = Math.max(1, num(hooks.symbolsPerMessage()) || 50);
    for (let i = 0; i < symbols.length; i += per) send({ type, symbols: symbols.slice(i, i + per) });
  }

  function goToLogin() {
    c.stopped = true;
    stopFallback();
    clear('reconnect');
    setStatus('offline');
    hooks.login();
  }

  // ---------------------------------------------------------------- the fallbacks

  function startFallback() {
    if (c.fallback !== 'off') return;
    c.fallback = fallbackKind({ mode: c.mode, sseBroken: c.sseBroken, hasEventSource: typeof env.EventSource === 'function' });
    if (c.fallback === 'sse') openSse();
    else startPolling();
  }

  function stopFallback() {
    closeSse();
    c.fallback = 'off';
    clear('poll');
    if (c.pollAbort) c.pollAbort.abort();
    c.pollAbort = null;
  }

  /** SSE: the same frames one way. EventSource reconnects by itself and resumes with
   *  Last-Event-ID (account frames carry `<epoch>:<seq>` as their event id). */
  function openSse() {
    closeSse();
    const url = eventsUrl(urls.events, hooks.sseSymbols(), hooks.position());
    let es;
    try { es = new env.EventSource(url, { withCredentials: true }); } catch (e) { return sseFailed(); }
    c.es = es;
    c.sseUrl = url;
    c.sseLive = false;
    es.onmessage = (ev) => {
      if (c.es !== es) return;
      const frame = parseFrame(ev.data);
      if (!frame) return;
      hooks.frame(frame);
      if (c.es !== es) return; // the frame made us reopen the stream
      if (frame.type === 'snapshot' || frame.type === 'resumed') {
        c.sseLive = true;
        c.sseAttempt = 0;
        setStatus('sse');
      }
    };
    es.addEventListener('close', (ev) => {
      if (c.es !== es) return;
      let code = 0;
      try { code = JSON.parse(ev.data).code; } catch (e) { /* no code */ }
      c.lastClose = { code, reason: 'sse' };
      const policy = closePolicy(code);
      if (policy.login) return goToLogin();
      if (!policy.resume) hooks.forgetPosition();
      closeSse();
      // a fresh stream: resumed (1012, 4408), a new snapshot (4409), later (4503, …)
      const delay = policy.immediate ? 0 : backoffDelay(c.sseAttempt++, env.random);
      c.lastRetry = { code, delay, since: hooks.position() };
      if (!policy.immediate) setStatus('reconnecting');
      later('sse', delay, () => { if (c.fallback === 'sse' && !c.stopped && !c.es) openSse(); });
    });
    es.onerror = () => {
      if (c.es !== es) return;
      if (!c.sseLive) return sseFailed();
      setStatus('reconnecting'); // EventSource retries by itself (the server said retry: 3000)
      if (es.readyState === ES_CLOSED) openSse();
    };
  }

  function sseFailed() {
    closeSse();
    c.sseBroken = true;
    if (c.fallback === 'off') return;
    c.fallback = 'poll';
    startPolling();
  }

  function closeSse() {
    const es = c.es;
    c.es = null;
    clear('sse');
    if (!es) return;
    es.onmessage = es.onerror = null;
    try { es.close(); } catch (e) { /* ignore */ }
  }

  function startPolling() {
    setStatus('polling');
    poll();
  }

  function pollNow() {
    if (c.fallback !== 'poll' || c.pollAbort) return;
    clear('poll');
    poll();
  }

  async function poll() {
    if (c.fallback !== 'poll') return;
    const abort = new env.AbortController();
    c.pollAbort = abort;
    const current = () => c.fallback === 'poll' && c.pollAbort === abort;
    const timeout = env.setTimeout(() => abort.abort(), POLL_TIMEOUT_MS);
    try {
      const sentAt = env.now();
      const r = await env.fetch(snapshotUrl(urls.snapshot, pollTab, hooks.extraSymbols()), {
        credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' }, signal: abort.signal,
      });
      if (r.status === 401 || r.status === 403) return goToLogin();
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const snap = await r.json();
      if (!current()) return;
      const serverT = num(snap && snap.t);
      if (serverT !== null) hooks.skew(skewOf(serverT, sentAt, env.now()));
      hooks.snapshot(snap);
      setStatus('polling');
    } catch (e) {
      if (current()) setStatus('offline');
    } finally {
      env.clearTimeout(timeout);
      if (c.pollAbort === abort) c.pollAbort = null;
      if (c.fallback === 'poll' && !c.stopped) later('poll', POLL_EVERY_MS, poll);
    }
  }

  // ---------------------------------------------------------------- what the page calls

  return {
    /** The connection (read it; only the machine changes it). */
    conn: c,
    start() {
      if (c.mode === 'auto') openSocket();
      else startFallback();
    },
    /** The page's data needs another start: our frames are missing or not ours. */
    resync(reason) {
      if (c.es) openSse();
      else pollNow();
      dropSocket(reason, true);
    },
    /** The symbols an SSE stream names changed: reopen it (resuming). */
    sseSymbolsChanged() {
      if (c.es) openSse();
    },
    sendSymbols,
    /** The page's pace changed: tell the open socket (a new one is told after `hello`). */
    paceChanged() {
      if (c.ws && c.ws.readyState === WS_OPEN) send({ type: 'pace', max_frequency: hooks.pace ? hooks.pace() : null });
    },
    /** Every second: a socket that sent nothing for DEAD_AFTER_MS is dead. */
    checkAlive() {
      const ws = c.ws;
      if (ws && ws.readyState === WS_OPEN && env.now() - c.lastSocketFrameAt > DEAD_AFTER_MS) dropSocket('no frame for 45 s', false);
    },
    online() {
      if (c.stopped) return;
      c.attempt = 0;
      if (!c.ws) openSocket();
      pollNow();
    },
    offline() {
      if (!c.ws || c.ws.readyState !== WS_OPEN) setStatus('offline');
    },
    visible() {
      if (!c.ws && !c.stopped) openSocket();
    },
    /** The page is hidden for good or put in the back/forward cache. */
    pageHidden() {
      c.stopped = true;
      clear('reconnect');
      stopFallback();
      const ws = detachSocket();
      if (ws) try { ws.close(CLOSE.NORMAL, 'page closed'); } catch (e) { /* ignore */ }
    },
    /** The page came back from the back/forward cache. */
    pageShown() {
      c.stopped = false;
      c.attempt = 0;
      openSocket();
    },
  };
}
