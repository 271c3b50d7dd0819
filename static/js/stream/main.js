/*
 * streamdesk dashboard client: the wiring (docs/streaming-contract.md). The page starts
 * from the snapshot it embeds; frames from the transport (WebSocket, else SSE, else polling
 * /api/snapshot) go through the reducer; the renderer draws the result once per animation
 * frame and re-marks ages every second. ES modules, no build step, no libraries; never
 * innerHTML.
 *
 * The page's state is declared here, in three parts: `state` (the stream's data,
 * state.js), `clock` (below) and the transport's `conn` (io/transport.js); this tab's part
 * in one connection per browser is io/sharing.js's, the plain copy for tests inspect.js's.
 *
 * For tests and tools: window.streamdesk = {applyFrame(frame), state(), flush(),
 * subscribe(symbols), unsubscribe(symbols)} (tests/browser/README.md).
 */
import { FRESHNESS_EVERY_MS, normalizeSymbol, num, parseFrame, socketBase } from './contract.js';
import { errorText, rejectionText } from './format.js';
import { createRenderer } from './render/page.js';
import { createOverviewEditor, createOverviewView } from './render/overview.js';
import { createSparklines } from './render/sparklines.js';
import { createPositionOdds } from './render/odds.js';
import {
  addExtraSymbols, adoptAlerts, adoptWatchlist, applyFrame, applySnapshot, forgetPosition, initialState, removeExtraSymbols,
  takeEffects,
} from './state.js';
import { plainState } from './inspect.js';
import { createTransport } from './io/transport.js';
import { browserEnv } from './io/browser.js';
import { createWatchlistEditor } from './pages/watchlist.js';
import { createChainPage } from './pages/chain.js';
import { createChainView } from './render/chain.js';
import { CHAIN_PACE } from './chain.js';
import { createNotifications } from './render/notifications.js';
import { createAlertsPage } from './pages/alerts.js';
import { createRowMenu } from './render/row-menu.js';
import { panelSymbols } from './news.js';
import { createNewsPanel } from './render/news.js';
import { frameForTab } from './share.js';
import { csrfToken } from './io/csrf.js';
import { setFlashes } from './render/dom.js';
import { setTimeZone, timeZone } from './format.js';
import { createPreferences } from './io/preferences.js';
import { createSharing } from './io/sharing.js';
import { createTrading } from '../trading/ticket/entry.js';

  const root = document.getElementById('dashboard') || document.getElementById('market') || document.getElementById('chart-page') || document.getElementById('chain') || document.getElementById('alerts-page') || document.getElementById('news-page') || document.getElementById('risk-page');
if (root) start(root);

function start(root) {
  const data = root.dataset;
  const cfg = {
    user: data.user || '',
    loginUrl: data.loginUrl || '/login/',
    // ?transport=sse|poll skips the WebSocket (operators, tests, bad proxies)
    mode: new URLSearchParams(location.search).get('transport') || 'auto',
  };
  // one connection per browser (io/sharing.js): a leader tab holds it, the others follow
  const sharing = createSharing(window, {
    user: cfg.user,
    mode: cfg.mode,
    optOut: new URLSearchParams(location.search).get('shared') === '0',
    snapshotUrl: data.snapshotUrl || '/api/snapshot',
    page: {
      state: () => state,
      receive: (frame) => receive(frame),
      snapshot(snap) {
        clock.lastFrameAt = Date.now();
        update(applySnapshot(state, snap, 'poll'), snap);
      },
      ownPace: () => ownPace,
      status: (status) => renderer.connection(status),
      login: () => goToLogin(),
    },
  });

  let state = initialState(); // the stream's data: only the reducer makes the next one
  const clock = {
    skew: 0, // server clock minus client clock, ms (hello, pong, a polled snapshot)
    lastFrameAt: Date.now(), // client ms of the last frame of any kind
  };
  // the order ticket and its entry points (static/js/trading/): the dashboard, chain, risk
  const trading = cfg.user && ['dashboard', 'chain', 'risk-page'].includes(root.id) ? createTrading({
    doc: document, win: window, getState: () => state, now: () => Date.now() + clock.skew,
    fetch: (url, opts) => window.fetch(url, opts), message: (text, kind) => renderer.message(text, kind),
    subscribe: (symbols) => window.streamdesk.subscribe(symbols),
  }) : null;
  let renderPending = false;
  let quoteSource = null; // {link, label}: the link that fed the quotes last (a switch is told)
  // the quote frames per second this page asks (`pace`): the chain's CHAIN_PACE, else none
  let ownPace = null;
  // the first live quote drawn: a performance mark for bench/browser.py (login → live quote)
  let firstQuote = 'waiting'; // 'waiting' → 'received' → 'drawn'
  // the market overview's tiles (the /market page, the dashboard's strip): overview.js
  const overviews = Array.from(document.querySelectorAll('[data-overview]'), (c) => createOverviewView(document, c));
  // the chart page (render/chart.js) and the watchlist's sparklines and chart links
  // (the chart library is loaded on the chart page only: a dynamic import)
  const chartCard = document.querySelector('[data-chart]');
  let chart = null;
  if (chartCard) {
    import('./render/chart.js').then((m) => {
      chart = m.createChartView(document, chartCard, {
        serverNow: () => Date.now() + clock.skew,
        fetch: (url, opts) => window.fetch(url, opts),
        // the expected move's band streams the ATM options (render/chart-band.js)
        subscribe: (symbols) => window.streamdesk.subscribe(symbols),
        unsubscribe: (symbols) => window.streamdesk.unsubscribe(symbols),
      });
      scheduleRender();
    }, (e) => renderer.message(`The chart could not be loaded: ${e.message}`, 'error'));
  }
  // the /risk page's what-if graph and tables (static/js/risk/: the chart library again)
  const riskCard = document.querySelector('[data-risk-graph]');
  let risk = null;
  if (riskCard) {
    import('../risk/page.js').then((m) => {
      risk = m.createRiskPage(document, root, riskCard, {
        fetch: (url, opts) => window.fetch(url, opts),
        now: () => Date.now() + clock.skew,
        setTimeout: (fn, ms) => window.setTimeout(fn, ms),
        clearTimeout: (id) => window.clearTimeout(id),
        replaceUrl: (url) => history.replaceState(null, '', url),
        trading: !!trading,
        pageAccounts,
      });
      scheduleRender();
    }, (e) => renderer.message(`The risk graph could not be loaded: ${e.message}`, 'error'));
  }
  // the dashboard's POP column (render/odds.js): the strategies' odds, asked again as they move
  const positionOdds = root.id === 'dashboard' && cfg.user ? createPositionOdds(document, {
    fetch: (url, opts) => window.fetch(url, opts),
    now: () => Date.now(),
    hidden: () => document.visibilityState === 'hidden',
  }) : null;
  const sparklines = createSparklines(document, {
    fetch: (url, opts) => window.fetch(url, opts), redraw: () => scheduleRender(),
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  });
  // `all`: the once-a-second tick (ages move); else only what a frame changed
  let sparkQuotes = null; // the quotes the sparklines last drew from
  let linkedWatchlist = null; // the watchlist whose rows have their news links
  const drawOverviews = (all = true) => {
    for (const o of overviews) o.render(state, Date.now() + clock.skew, all);
    if (chart) chart.render(state);
    if (risk) risk.render(state);
    if (positionOdds) positionOdds.render(state);
    if (all || state.quotes !== sparkQuotes) {
      sparkQuotes = state.quotes;
      sparklines.render(state);
    }
  };
  // the option chain page (/chain/<SYMBOL>): pages/chain.js, render/chain.js
  let chainPage = null;
  const drawChain = () => {
    if (chainPage) chainPage.render(state, Date.now() + clock.skew);
    if (alertsPage) alertsPage.render(state); // the /alerts page (pages/alerts.js)
  };
  let alertsPage = null;
  // the news panel (the dashboard's, the /news/<SYMBOL> page's): render/news.js
  let newsPanel = null;

  // the trader's display preferences (io/preferences.js): flashes, time zone, sorts
  let prefs = null;
  let chainView = null; // the chain page's table (render/chain.js), sorted too
  const sorting = {
    get: (table) => (prefs ? prefs.get().sorts[table] || null : null),
    change(table, sort) {
      prefs.save({ sorts: { [table]: sort } }).then((error) => {
        if (error) renderer.message(`Sort not saved: ${error}`, 'error');
      });
    },
  };
  const renderer = createRenderer(document, root, {
    serverNow: () => Date.now() + clock.skew,
    now: () => Date.now(),
    silentMs: () => Date.now() - clock.lastFrameAt,
  }, window, sorting);
  let appliedZone = null;
  prefs = createPreferences({
    user: cfg.user,
    // the preferences the server rendered the page with (_live_attrs.html)
    initial: (() => { try { return JSON.parse(data.preferences || 'null'); } catch (e) { return null; } })(),
    env: {
      fetch: (url, opts) => window.fetch(url, opts),
      storage: (() => { try { return window.localStorage; } catch (e) { return null; } })(),
      csrf: () => csrfToken(document),
    },
    apply(p) {
      setFlashes(p.flashes);
      setTimeZone(p.time_zone);
      renderer.sorted();
      if (chainView) chainView.sorted();
      if (appliedZone !== null && appliedZone !== p.time_zone) { // every time again
        renderer.redraw();
        if (chart) chart.rezone();
      }
      for (const name of document.querySelectorAll('[data-zone-name]')) name.textContent = timeZone();
      appliedZone = p.time_zone;
      scheduleRender();
    },
  });

  // fills, rejections and triggered alerts, derived from each reducer step (notify.js)
  const notifier = createNotifications(document, window, {
    user: cfg.user,
    message: (text, kind) => renderer.message(text, kind),
  });

  const transport = createTransport({
    env: browserEnv(window),
    urls: {
      socket: socketBase(data.wsPath || '/ws/stream/', location),
      events: data.eventsUrl || '/api/events',
      snapshot: data.snapshotUrl || '/api/snapshot',
      mode: cfg.mode,
    },
    hooks: {
      position: sharing.position,
      forgetPosition: () => { sharing.forgetResume(); state = forgetPosition(state); },
      // the server streams the user's watchlist by default: name symbols only for extras
      sseSymbols: () => {
        const extra = sharing.streamSymbols();
        return extra.length ? [...state.watchlist.symbols, ...extra] : null;
      },
      extraSymbols: sharing.streamSymbols,
      // the quote frames per second this socket asks (`pace`): this tab's, or every tab's
      pace: sharing.pace,
      symbolsPerMessage: () => state.limits.max_symbols_per_message,
      frame(frame) {
        receive(frame);
        sharing.relay(frame);
      },
      snapshot(snap) {
        clock.lastFrameAt = Date.now();
        sharing.forgetResume();
        update(applySnapshot(state, snap, 'poll'), snap);
        sharing.relaySnapshot(snap);
      },
      skew: (ms) => { clock.skew = ms; },
      status: (status) => {
        renderer.connection(status);
        sharing.relayStatus(status);
      },
      login() {
        sharing.relayLogin();
        goToLogin();
      },
    },
  });
  sharing.attach(transport);

  function goToLogin() {
    const sep = cfg.loginUrl.includes('?') ? '&' : '?';
    location.assign(`${cfg.loginUrl}${sep}next=${encodeURIComponent(location.pathname + location.search)}`);
  }

  /** A frame (object or JSON text) from the stream, or from window.streamdesk.applyFrame. */
  function receive(frame) {
    if (typeof frame === 'string') frame = parseFrame(frame);
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
    if (sharing.linked()) frame = frameForTab(frame, state.extraSymbols, state.watchlist.symbols); // rejections: the asker's
    clock.lastFrameAt = Date.now();
    if (newsPanel && frame.type === 'news') newsPanel.apply(frame);
    if (newsPanel && (frame.type === 'snapshot' || frame.type === 'resumed')) newsPanel.resync();
    if (frame.type === 'hello') {
      if (cfg.user && frame.user && String(frame.user) !== cfg.user && reloadForOtherUser()) return;
      const serverTime = num(frame.server_time);
      if (serverTime !== null) clock.skew = serverTime - Date.now();
    }
    if (frame.type === 'quotes' && firstQuote === 'waiting') firstQuote = 'received';
    update(applyFrame(state, frame), frame);
  }

  /** Take the reducer's next state (made by `frame`), then do what it asked. */
  function update(next, frame) {
    const [s, effects] = takeEffects(next);
    if (notifier) notifier.observe(state, s, frame);
    if (s === state) return;
    const now = s.freshness;
    if (now.link && quoteSource && now.link !== quoteSource.link) { // a failover, or back (one status frame per link)
      renderer.message(`Quotes now come from ${now.label} (were ${quoteSource.label}).`, 'info');
    }
    if (now.link) quoteSource = { link: now.link, label: now.label };
    state = s;
    renderer.position(state);
    for (const e of effects) {
      if (e.type === 'resync') sharing.resync(e.reason);
      else if (e.type === 'rejected') renderer.message(rejectionText(e.symbol, e.reason));
      else if (e.type === 'error') renderer.message(errorText(e.frame));
      else if (e.type === 'watchlist' && state.extraSymbols.size && sharing.leadingOrAlone()) transport.sseSymbolsChanged();
    }
    scheduleRender();
  }

  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      renderer.render(state, true);
      drawOverviews(false);
      drawChain();
      if (trading) trading.render();
      if (newsPanel && state.watchlist !== linkedWatchlist) {
        linkedWatchlist = state.watchlist;
        newsPanel.linkRows();
      }
      if (firstQuote === 'received') {
        firstQuote = 'drawn';
        performance.mark('streamdesk:first-live-quote');
      }
    });
  }

  /**
   * The stream speaks for another user than the page shows (a new login in this browser):
   * reload so header, page and data agree. At most once a minute, so a server that names
   * users differently cannot put the page in a reload loop.
   */
  function reloadForOtherUser() {
    const key = 'streamdesk.userReloadAt';
    let last = 0;
    try { last = Number(sessionStorage.getItem(key)) || 0; } catch (e) { last = Date.now(); }
    if (Date.now() - last < 60000) return false;
    try { sessionStorage.setItem(key, String(Date.now())); } catch (e) { return false; }
    transport.pageHidden();
    location.reload();
    return true;
  }

  /** Every second: values age without frames arriving, and a silent socket is dead. */
  function tick() {
    renderer.freshness();
    if (chart) chart.tick();
    drawOverviews();
    drawChain();
    if (newsPanel) newsPanel.tick(Date.now());
    transport.checkAlive();
  }

  createWatchlistEditor({
    doc: document,
    form: document.getElementById('watchlist-form'),
    rows: document.getElementById('watchlist-rows'),
    url: data.watchlistUrl || '/watchlist',
    symbols: () => state.watchlist.symbols,
    adopt: (answer) => update(adoptWatchlist(state, answer, false)),
    message: (text, kind) => renderer.message(text, kind),
  });

  window.addEventListener('online', () => { if (sharing.leadingOrAlone()) transport.online(); });
  window.addEventListener('offline', () => { if (sharing.leadingOrAlone()) transport.offline(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && sharing.leadingOrAlone()) transport.visible();
  });
  window.addEventListener('pagehide', () => {
    if (chainPage) chainPage.leave();
    transport.pageHidden();
    sharing.pageHidden();
  });
  window.addEventListener('pageshow', (ev) => {
    if (!ev.persisted) return;
    sharing.pageShown();
  });

  window.streamdesk = {
    /** Feed one contract frame (object or JSON text) as if it came from the socket. */
    applyFrame: receive,
    /** A plain copy of the page's state, for tests and debugging. */
    state: () => plainState(state, {
      connection: sharing.connection(),
      share: sharing.info(),
      dataState: renderer.dataState(),
      clock,
      conn: transport.conn,
    }),
    /** Apply pending DOM updates now instead of at the next animation frame. */
    flush() {
      renderer.render(state, true);
      drawOverviews();
      drawChain();
    },
    /** The chart page's chart: its data read back from the library (render/chart.js). */
    chart: () => (chart ? chart.snapshot() : null),
    /** The /risk page's graph: its curves read back from the library (static/js/risk/page.js). */
    risk: () => (risk ? risk.snapshot() : null),
    /** The dashboard's POP column: {refreshes, strategies} (render/odds.js). */
    positionOdds: () => (positionOdds ? positionOdds.info() : null),
    /** What the notifications raised here (render/notifications.js), or null without a bell. */
    notifications: () => (notifier ? notifier.snapshot() : null),
    /** The news panel's items (news.js) and cursor, or null without a panel. */
    news: () => (newsPanel ? { items: newsPanel.items(), cursor: newsPanel.cursor() } : null),
    /** Stream symbols this tab shows beyond the user's watchlist and positions (e.g. an
     *  option chain); they are re-sent on every new socket. Returns the valid ones. */
    subscribe(symbols) {
      const valid = (Array.isArray(symbols) ? symbols : [symbols]).map(normalizeSymbol).filter(Boolean);
      const { state: next, changed } = addExtraSymbols(state, valid);
      state = next;
      if (changed.length) sharing.ownSymbolsChanged('subscribe', changed);
      return valid;
    },
    /** Stop streaming extra symbols this tab subscribed; returns those it had. */
    unsubscribe(symbols) {
      const valid = (Array.isArray(symbols) ? symbols : [symbols]).map(normalizeSymbol).filter(Boolean);
      const { state: next, changed } = removeExtraSymbols(state, valid);
      state = next;
      if (changed.length) sharing.ownSymbolsChanged('unsubscribe', changed);
      return changed;
    },
  };

  // the page's own snapshot first: it shows the last known values before the stream is up
  const readJSON = (id) => {
    try { return JSON.parse(document.getElementById(id).textContent); } catch (e) { return null; }
  };
  const initial = readJSON('snapshot');
  if (initial) state = applySnapshot(state, initial, 'page');
  // the accounts the server rendered this page from (the risk page's rows are theirs)
  const pageAccounts = initial ? state.accounts : null;
  if (initial && notifier) notifier.seed(initial);
  // the user's watchlist: the snapshot's `{symbols, version}`, else the page's plain list
  if (!initial || initial.watchlist === undefined) state = adoptWatchlist(state, readJSON('watchlist'), true);
  // the overview's symbols stream as this tab's own (the `subscribe` message, sent on every new socket)
  const overviewSymbols = (readJSON('overview-symbols') || []).map(normalizeSymbol).filter(Boolean);
  if (overviews.length && overviewSymbols.length) state = addExtraSymbols(state, overviewSymbols).state;
  // the chart's symbol, likewise (its quotes move the forming candle)
  const chartSymbol = chartCard ? normalizeSymbol(chartCard.getAttribute('data-symbol')) : null;
  if (chartSymbol) state = addExtraSymbols(state, [chartSymbol]).state;
  // the risk page's underlyings and SPY (β-weighting), likewise
  if (riskCard) state = addExtraSymbols(state, (readJSON('risk-symbols') || []).map(normalizeSymbol).filter(Boolean)).state;
  createOverviewEditor({
    form: document.getElementById('overview-form'),
    url: data.overviewUrl || '/market/symbols',
    adopt(symbols) {
      const old = overviews.length ? overviews[0].symbols() : [];
      window.streamdesk.unsubscribe(old.filter((sym) => !symbols.includes(sym)));
      window.streamdesk.subscribe(symbols);
      for (const o of overviews) o.setSymbols(symbols);
      drawOverviews();
    },
    message: (text, kind) => renderer.message(text, kind),
  });
  // the option chain's visible options stream as this tab's own symbols, too
  if (root.id === 'chain') {
    ownPace = CHAIN_PACE; // 80 options and their greeks: twice a second is what a trader reads
    chainPage = createChainPage({
      root,
      view: (chainView = createChainView(document, root, { win: window, sorting })),
      env: browserEnv(window),
      hooks: {
        subscribe: (symbols) => window.streamdesk.subscribe(symbols),
        unsubscribe: (symbols) => window.streamdesk.unsubscribe(symbols),
        rendered: scheduleRender,
      },
    });
    const chainSyms = chainPage.start(readJSON('chain-data'), readJSON('chain-error'));
    state = addExtraSymbols(state, chainSyms.map(normalizeSymbol).filter(Boolean)).state;
    window.streamdesk.chain = () => chainPage.streamed();
  }
  // price alerts: the /alerts page, and the dashboard rows' "Alert…" menu
  if (root.id === 'alerts-page') {
    state = adoptAlerts(state, readJSON('alerts-data'));
    state = addExtraSymbols(state, (readJSON('alert-symbols') || []).map(normalizeSymbol).filter(Boolean)).state;
    alertsPage = createAlertsPage({
      doc: document,
      root,
      url: data.alertsUrl || '/api/alerts',
      fetch: (url, opts) => window.fetch(url, opts),
      adopt: (alerts) => { state = adoptAlerts(state, alerts); scheduleRender(); },
      symbols: (symbols) => window.streamdesk.subscribe(symbols),
      message: (text, kind) => renderer.message(text, kind),
    });
  } else if (root.id === 'dashboard') {
    createRowMenu({
      doc: document,
      root,
      quote: (sym) => state.quotes.get(sym),
      message: (text, kind) => renderer.message(text, kind),
      fetch: (url, opts) => window.fetch(url, opts),
      items: trading ? trading.menuItems : null,
    });
  }
  // the news panel: its page's symbol streams as this tab's own (the feed follows it)
  const newsSymbol = root.id === 'news-page' ? normalizeSymbol(data.newsSymbol) : null;
  if (newsSymbol) state = addExtraSymbols(state, [newsSymbol]).state;
  newsPanel = createNewsPanel(document, root, {
    data: readJSON('news-data'),
    fetch: (url, opts) => window.fetch(url, opts),
    now: () => Date.now(),
    symbols: () => (newsSymbol ? [newsSymbol] : panelSymbols(state.watchlist.symbols, state.accounts)),
  });
  newsPanel.linkRows();
  [state] = takeEffects(state); // no stream is open yet: nothing to ask of it
  // the stream opens first: its handshake and snapshot travel while the page is drawn
  sharing.start();
  prefs.start(); // this browser's copy applies now, the server's when it answers
  renderer.render(state, false);
  renderer.connection(transport.conn.status);
  drawChain();
  tick();
  setInterval(tick, FRESHNESS_EVERY_MS);
}
