/*
 * The /risk page's what-if graph, live: the select and the two sliders ask the server for
 * the curves (`GET /api/risk/...`: today, the chosen date, expiration); every render of
 * the stream's state compares the driving quote (the underlying's, SPY's for the
 * portfolio) with the price the curves were drawn at and re-fetches when it moved,
 * throttled (graph.js `createThrottle`: ≤ 1 per second, never two at once). A stale
 * quote marks the card stale (the curve is the last price's); a refused request is its
 * sentence in the status line, and the graph keeps the last curve.
 *
 * For tests: the card's data-state (loading | live | stale | error), data-price (the
 * price the curves are drawn at), data-fetches (asked), data-answered (drawn); window.streamdesk.risk() → snapshot().
 */
import { quoteStale } from '../stream/contract.js';
import { fmt, quoteWhy } from '../stream/format.js';
import {
  PORTFOLIO, REFETCH_GAP_MS, bandShading, createThrottle, curveData, drivingSymbol, graphMarkers, gridSpan, ivShiftText,
  needsRecenter, priceGrid, riskUrl, sliderDate, sliderDateText,
} from './graph.js';
import { livePrice } from '../stream/exposure.js';
import { createRiskChart } from './chart.js';
import { renderLimits } from './limits.js';
import { renderTables } from './tables.js';
import { createStrategiesList } from './strategies.js';
import { createScenarioGrid } from './scenario-grid.js';

/** A slider's re-fetches: at most one per this many ms. */
const USER_GAP_MS = 150;
/** After a failed request: the next try. */
const RETRY_MS = 5000;

/** env: {fetch, now, setTimeout, clearTimeout, replaceUrl, trading (a "Trade …" button for
 *  the graph's underlying: static/js/trading/ticket/entry.js opens the ticket)} */
export function createRiskPage(doc, root, card, env) {
  const base = card.getAttribute('data-api') || '/api/risk/';
  const select = card.querySelector('[data-risk-choice]');
  const dateInput = card.querySelector('[data-risk-date]');
  const ivInput = card.querySelector('[data-risk-iv]');
  const statusEl = card.querySelector('[data-risk-status]');
  const priceEl = card.querySelector('[data-risk-price]');
  const beEl = card.querySelector('[data-risk-breakevens]');
  const chart = createRiskChart(card.querySelector('[data-risk-box]'));
  const today = card.getAttribute('data-today');
  const view = {
    choice: card.getAttribute('data-underlying'),
    livePrice: Number(card.getAttribute('data-price')) || null,
    drawnAt: null, // the price the curves were asked at
    grid: [],
    fetches: 0,
    answered: 0, // answers drawn
    asked: null, // the date and IV shift of the curves drawn
    error: '',
    stale: false,
    why: '',
    answers: {},
  };
  let maxDays = Number(dateInput.max) || 0;
  // per choice: its last expiration held (the date slider's end), null for stock only;
  // read when asked: a fill's reload (tables.js `reloadRows`) renders it again
  const expirations = () => {
    try { return JSON.parse(doc.getElementById('risk-expirations').textContent) || {}; } catch (e) { return {}; }
  };
  // what a trader reads for the driving instrument: the select's label (its display
  // name: "BTC/USD", "/ES Dec 26"), SPY for the portfolio
  const drivingName = () => {
    if (view.choice === PORTFOLIO) return drivingSymbol(view.choice);
    const option = Array.from(select.options).find((o) => o.value === view.choice);
    return option ? option.textContent : view.choice;
  };
  // the graph's underlying (SPY for the portfolio: its β-weighting's hedge) in a ticket
  const tradeButton = env.trading ? doc.createElement('button') : null;
  const tradeLabel = () => {
    if (!tradeButton) return;
    tradeButton.setAttribute('data-risk-trade', drivingSymbol(view.choice));
    tradeButton.textContent = `Trade ${drivingName()}…`;
  };
  if (tradeButton) {
    tradeButton.type = 'button';
    tradeButton.className = 'btn';
    tradeLabel();
    select.closest('.risk-graph-head').append(tradeButton);
  }
  let retryTimer = null;
  let seq = 0; // answers of an older request (another choice, slider) are dropped

  const status = (state, text) => {
    card.setAttribute('data-state', state);
    if (statusEl.textContent !== text) statusEl.textContent = text;
  };

  async function getJson(url) {
    const r = await env.fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || `HTTP ${r.status}`);
    return body;
  }

  /** Ask for the three curves at the live price; draw them when they answer. */
  async function refresh() {
    const mine = ++seq;
    const price = view.livePrice;
    if (price !== null && needsRecenter(view.grid, price)) {
      view.grid = priceGrid(price, gridSpan(price, view.answers.today && view.answers.today.bands));
    }
    if (!view.grid.length) { status('loading', 'Waiting for a price…'); return; }
    const days = Number(dateInput.value) || 0;
    const ivShift = Number(ivInput.value) || 0;
    const date = sliderDate(today, days, maxDays);
    const ask = (d) => getJson(riskUrl(base, view.choice, { date: d, ivShift, prices: view.grid }));
    view.fetches += 1;
    card.setAttribute('data-fetches', String(view.fetches));
    try {
      // only stock held: no expiration (the API refuses `date=expiration`), one line thrice
      const hasOptions = !!expirations()[view.choice];
      const [now, exp, chosen] = await Promise.all([
        ask(null), hasOptions ? ask('expiration') : Promise.resolve(null),
        date && date !== 'expiration' ? ask(date) : Promise.resolve(null),
      ]);
      if (mine !== seq) return;
      const atEnd = exp || now;
      view.answers = { today: now, expiration: atEnd, date: chosen || (date === 'expiration' ? atEnd : now) };
      view.drawnAt = typeof now.price === 'number' ? now.price : price;
      view.error = '';
      const last = exp && typeof exp.date === 'string' ? exp.date : null;
      if (last) setMaxDays(last);
      view.answered += 1;
      view.asked = { date, ivShift };
      card.setAttribute('data-answered', String(view.answered));
      draw();
    } catch (e) {
      if (mine !== seq) return;
      view.error = e.message;
      status('error', `The curve could not be drawn: ${e.message}`);
      // a price not there yet (409), a stream starting (503): ask again, unhurried
      if (retryTimer === null) retryTimer = env.setTimeout(() => { retryTimer = null; throttle.request(); }, RETRY_MS);
    }
  }

  function setMaxDays(lastIso) {
    const [y, m, d] = today.split('-').map(Number);
    const [y2, m2, d2] = lastIso.split('-').map(Number);
    const days = Math.max(0, Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y, m - 1, d)) / 86400000));
    if (days !== maxDays) {
      maxDays = days;
      dateInput.max = String(days);
      sliderLabels();
    }
  }

  function draw() {
    const { today: now, date, expiration } = view.answers;
    const bands = (date && date.bands) || (now && now.bands) || null;
    chart.draw({
      grid: view.grid,
      today: curveData(now),
      date: curveData(date),
      expiration: curveData(expiration),
      shading: bandShading(view.grid, bands),
      priceMarkers: graphMarkers(view.grid, view.drawnAt, []),
      beMarkers: graphMarkers(view.grid, null, expiration ? expiration.breakevens : []),
    });
    card.setAttribute('data-price', view.drawnAt === null ? '' : String(view.drawnAt));
    priceEl.textContent = view.drawnAt === null ? '—' : view.drawnAt.toFixed(2);
    const bes = expiration && Array.isArray(expiration.breakevens) ? expiration.breakevens : [];
    beEl.textContent = bes.length ? bes.map((b) => b.toFixed(2)).join(', ') : 'none in range';
    const unpriced = now && Array.isArray(now.unpriced) && now.unpriced.length ? ` Not priced (no IV or price): ${now.unpriced.join(', ')}.` : '';
    if (view.stale) status('stale', `The ${drivingName()} quote is stale (${view.why}): the curve is drawn at the last price.${unpriced}`);
    else status('live', `Live: drawn at ${view.drawnAt === null ? '—' : view.drawnAt.toFixed(2)}, inputs as of ${fmt.time(now.as_of || env.now())}.${unpriced}`);
  }

  const throttle = createThrottle(refresh, REFETCH_GAP_MS, env);

  function sliderLabels() {
    const days = Number(dateInput.value) || 0;
    const text = sliderDateText(today, days, maxDays);
    card.querySelector('[data-risk-date-text]').textContent = text;
    dateInput.setAttribute('aria-valuetext', text);
    const iv = ivShiftText(Number(ivInput.value) || 0);
    card.querySelector('[data-risk-iv-text]').textContent = iv;
    ivInput.setAttribute('aria-valuetext', iv);
  }

  // a slider or the choice: within 150 ms (a drag asks ~7 times a second, not per pixel),
  // never queued behind a live tick's throttle; an older answer is dropped (`seq`)
  const userThrottle = createThrottle(refresh, USER_GAP_MS, env);
  const now = () => { sliderLabels(); seq += 1; throttle.cancel(); userThrottle.request(); }; // in-flight answers are old now
  // the scenario grid: the graph's underlying at the date slider's date
  const scenarioCard = doc.getElementById('risk-scenarios');
  const scenarios = scenarioCard ? createScenarioGrid(doc, scenarioCard, env) : null;
  const scenariosAsk = () => {
    if (scenarios) scenarios.update(view.choice, sliderDate(today, Number(dateInput.value) || 0, maxDays));
  };
  dateInput.addEventListener('input', scenariosAsk);
  dateInput.addEventListener('input', now);
  ivInput.addEventListener('input', now);
  select.addEventListener('change', () => {
    view.choice = select.value;
    card.setAttribute('data-underlying', view.choice);
    tradeLabel();
    view.grid = [];
    view.answers = {};
    dateInput.value = '0';
    ivInput.value = '0';
    setMaxDays(expirations()[view.choice] || today);
    if (env.replaceUrl) env.replaceUrl(`?u=${encodeURIComponent(view.choice)}`);
    view.livePrice = lastState ? livePrice(drivingSymbol(view.choice), lastState.quotes) : null;
    now();
    scenariosAsk();
  });

  const strategies = createStrategiesList(doc, {
    ...env,
    pageUrl: () => `${env.pagePath || '/risk'}?u=${encodeURIComponent(view.choice)}`,
    onList: (list) => { if (scenarios) scenarios.refill(list); }, // the grid's select follows a fill
  });
  let lastState = null;
  /** Every render of the stream's state: the tables, and the graph when its quote moved. */
  function render(state) {
    lastState = state;
    renderTables(doc, root, state, env.now());
    renderLimits(doc, state, env.now());
    strategies.render(state);
    const q = state.quotes.get(drivingSymbol(view.choice));
    const price = livePrice(drivingSymbol(view.choice), state.quotes);
    const stale = quoteStale(q, env.now(), state.freshness);
    if (stale !== view.stale) {
      view.stale = stale;
      view.why = q ? quoteWhy(q, env.now(), state.freshness) : 'no quote yet';
      card.setAttribute('data-stale', String(stale));
      if (view.answers.today) draw();
    }
    if (price !== null && price !== view.livePrice) {
      view.livePrice = price;
      throttle.request();
    }
  }

  sliderLabels();
  refresh();
  scenariosAsk();

  return {
    render,
    tick: (state) => render(state),
    snapshot: () => ({
      choice: view.choice,
      state: card.getAttribute('data-state'),
      drawnAt: view.drawnAt,
      livePrice: view.livePrice,
      fetches: view.fetches,
      answered: view.answered,
      strategyRefreshes: strategies.refreshes(),
      rowReloads: strategies.rowReloads(),
      scenarioFetches: scenarios ? scenarios.fetches() : 0,
      asked: view.asked,
      grid: view.grid.length,
      maxDays,
      breakevens: view.answers.expiration ? view.answers.expiration.breakevens : null,
      error: view.error,
      throttle: throttle.info(),
      chart: chart.data(),
    }),
  };
}
