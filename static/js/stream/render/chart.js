/*
 * The chart page's view: loads the history (GET /api/candles/<SYM>?tf=), draws it with
 * TradingView's Lightweight Charts (Apache-2.0, served from npm: operations/vendor_static.py),
 * then keeps the forming candle live from the stream's quotes (candles.js; the same
 * frames over WebSocket, SSE or polling). A timeframe switch reloads the history only:
 * the stream goes on. Every failure is a sentence in the status line, never a blank chart.
 *
 * Times are New York's, labelled ET; the axis's tick marks by their kind (a day's start
 * is its date), a daily candle by its date (chart-format.js); the note says what the
 * candles cover: the instrument's hours for a coin or a future (the server's
 * data-hours-note), else read from the history loaded. Candles of an option's mark
 * (the history's `price`) move with the quotes' bid/ask mid, and the price shown is it.
 *
 * For tests: the card carries data-state (loading | live | waiting | stale | empty |
 * error | no-data), data-tf, data-bars, data-updates, data-quote-t, data-forming-t,
 * data-forming-close, data-error, data-hours (regular | extended | all-day | daily);
 * window.streamdesk.chart() returns the chart's own data read back from the library
 * (series.data()) and the tick labels the axis drew since the last load (`axis`), and the
 * expected move's band (chart-band.js: its legend and price lines).
 */
import { CandlestickSeries, createChart } from '../../../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs';

import { createChartBand } from './chart-band.js';
import { TIMEFRAMES, applyQuote, chartBar, chartState, chartTimeAfter, closeDue, fromHistory, quotePrice } from '../candles.js';
import { candleLabel, hoursNote, quoteLabel, sessionHours, signed, tickLabel } from '../chart-format.js';
import { num, quoteStale } from '../contract.js';
import { tileText, tileValues } from '../overview.js';
import { zoneOffset } from '../times.js';

/** How many tick labels the chart remembers (its snapshot's `axis`, for tests): an axis shows ~10. */
const AXIS_LABELS_KEPT = 40;

/**
 * @param {Document} doc
 * @param {HTMLElement} card  the [data-chart] section
 * @param {{serverNow: () => number, fetch: typeof fetch, message: (text: string, kind?: string) => void}} env
 */
export function createChartView(doc, card, env) {
  const symbol = card.getAttribute('data-symbol') || '';
  const historyUrl = card.getAttribute('data-history-url') || '/api/candles/';
  const problem = card.getAttribute('data-problem') || '';
  const quotesAvailable = card.getAttribute('data-quotes-available');
  const session = card.getAttribute('data-hours-note') || '';
  const statusEl = card.querySelector('[data-chart-status]');
  const box = card.querySelector('[data-chart-box]');
  const lastEl = card.querySelector('[data-field="last"]');
  const changeEl = card.querySelector('[data-field="change"]');
  const noteEl = card.querySelector('[data-chart-note]');
  let tf = TIMEFRAMES[card.getAttribute('data-tf')] ? card.getAttribute('data-tf') : '5m';
  let series = null; // candles.js series, once the history is in
  let answer = null; // the history answer (source, delayed, …)
  let lastQuote = null; // the quote object applied last (state keeps one per symbol)
  let loadSeq = 0;
  let retryTimer = null;
  let updates = 0;
  let staleAfter = 10000;
  let quoteLive = null; // the symbol's quote is live by the feed rule (null: it names no feed)
  let delayMs = 0; // a delayed source (a paper environment): its quotes and candles lag by this
  // the chart's "now": the server's clock, minus the source's delay (a delayed chart's
  // forming candle is the one its delayed quotes fall into)
  const chartNow = () => env.serverNow() - delayMs;

  let chart = null;
  let candleSeries = null;
  // the expected move's band (chart-band.js): its own chain request, on the candle series once drawn
  const band = createChartBand(card, env);
  let axisLabels = []; // the tick labels the library asked for since the last load
  // the chart's times are wall times in the zone shown (chartTimeAfter): each one's candle time
  let candleT = new Map(); // chart time (s) -> the candle's t (epoch ms)
  let lastTime = null; // the newest bar's chart time
  const epochOf = (time) => candleT.get(time) ?? (tf === '1d' ? time * 1000 : time * 1000 - zoneOffset(time * 1000));
  function barOf(c) {
    const same = lastTime !== null && candleT.get(lastTime) === c.t; // the newest bar, moved
    const time = same ? lastTime : chartTimeAfter(c.t, tf, lastTime);
    candleT.set(time, c.t);
    lastTime = time;
    return chartBar(c, time);
  }
  function axisLabel(time, type) {
    const text = tickLabel(epochOf(time), type, tf);
    if (!axisLabels.includes(text)) {
      axisLabels.push(text);
      if (axisLabels.length > AXIS_LABELS_KEPT) axisLabels.shift();
    }
    return text;
  }
  function ensureChart() {
    if (chart || !box) return;
    chart = createChart(box, {
      autoSize: true,
      layout: { background: { color: 'transparent' }, textColor: '#9aa4b2', attributionLogo: true },
      grid: { vertLines: { color: 'rgba(128,128,128,0.12)' }, horzLines: { color: 'rgba(128,128,128,0.12)' } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false, tickMarkFormatter: axisLabel },
      localization: { timeFormatter: (time) => candleLabel(epochOf(time), tf) },
    });
    candleSeries = chart.addSeries(CandlestickSeries, {
      upColor: '#26a269', downColor: '#e01b24', borderVisible: false, wickUpColor: '#26a269', wickDownColor: '#e01b24',
    });
    band.attach(candleSeries);
  }

  function describeHours() {
    const hours = series ? sessionHours(series.candles, tf) : null;
    if (hours) card.setAttribute('data-hours', hours); else card.removeAttribute('data-hours');
    const text = hoursNote(hours, answer ? answer.source : null, { session, price: basis(), at: chartNow() });
    if (noteEl && noteEl.textContent !== text) noteEl.textContent = text;
  }

  /** What the candles are of: the history's `price` ('last' or 'mark'). */
  const basis = () => (answer && answer.price === 'mark' ? 'mark' : 'last');

  function setState(state, text) {
    card.setAttribute('data-state', state);
    if (statusEl && text !== undefined && statusEl.textContent !== text) statusEl.textContent = text;
  }

  function describe(now) {
    if (!series) return;
    const st = chartState(series, now, staleAfter, quoteLive);
    const newest = series.candles[series.candles.length - 1];
    const src = answer ? `${answer.source}${answer.delayed ? ', DELAYED' : ''}${answer.simulated ? ', SIMULATED' : ''}` : '';
    const texts = {
      live: `Live: the ${newest ? candleLabel(newest.t, tf) : ''} candle is forming (${src}).`,
      stale: `Quotes are stale: the forming candle has not moved for ${Math.round((now - (series.lastQuoteT || now)) / 1000)} s (${src}).`,
      waiting: `Waiting for the first trade of the new ${tf} candle: no candle is live (market closed or quiet; ${src}).`,
      empty: `No ${tf} candles for ${symbol} yet (${src}).`,
    };
    setState(st, texts[st]);
    if (newest && series.forming) {
      card.setAttribute('data-forming-t', String(newest.t));
      card.setAttribute('data-forming-close', String(newest.close));
    } else {
      card.removeAttribute('data-forming-t');
      card.removeAttribute('data-forming-close');
    }
  }

  async function load(nextTf) {
    tf = nextTf;
    card.setAttribute('data-tf', tf);
    for (const a of card.querySelectorAll('a[data-tf]')) {
      const on = a.getAttribute('data-tf') === tf;
      a.classList.toggle('is-active', on);
      if (on) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
    }
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    const mine = ++loadSeq;
    series = null;
    card.removeAttribute('data-error');
    setState('loading', `Loading ${symbol} ${tf} history…`);
    let r;
    let body = null;
    try {
      r = await env.fetch(`${historyUrl}${encodeURIComponent(symbol)}?tf=${encodeURIComponent(tf)}`, {
        credentials: 'same-origin', headers: { Accept: 'application/json' },
      });
      body = await r.json().catch(() => null);
    } catch (e) {
      r = null;
    }
    if (mine !== loadSeq) return; // another timeframe was asked meanwhile
    if (!r || !r.ok || !body || !Array.isArray(body.candles)) {
      const code = (body && body.error) || (r ? `http_${r.status}` : 'network');
      const retryAfter = num(body && body.retry_after);
      let text = (body && body.message) || (r ? `The history could not be loaded (HTTP ${r.status}).` : 'The history could not be loaded (network error).');
      if (retryAfter) {
        text += ` Retrying in ${retryAfter} s.`;
        retryTimer = setTimeout(() => load(tf), retryAfter * 1000);
      }
      card.setAttribute('data-error', code);
      card.setAttribute('data-bars', '0');
      if (candleSeries) candleSeries.setData([]);
      setState('error', text);
      return;
    }
    answer = body;
    ensureChart();
    series = fromHistory(body, chartNow());
    lastQuote = null;
    axisLabels = [];
    candleT = new Map();
    lastTime = null;
    candleSeries.setData(series.candles.map(barOf));
    chart.timeScale().scrollToRealTime();
    describeHours();
    card.setAttribute('data-bars', String(series.candles.length));
    describe(chartNow());
  }

  /** The newest state: move the forming candle with the symbol's quote. */
  function render(state) {
    band.render(state);
    staleAfter = num(state.staleAfterMs) || staleAfter;
    const quote = state.quotes.get(symbol);
    // live by the page's rule when the quote names its feed (a quiet symbol on a live feed is live)
    quoteLive = quote && quote.src !== undefined && state.freshness && state.freshness.src !== undefined
      ? !quoteStale(quote, env.serverNow(), state.freshness) : null;
    if (answer && answer.delayed) {
      for (const link of state.links.values()) if (link.id === answer.link) delayMs = num(link.delay_ms) || 0;
    }
    const q = state.quotes.get(symbol);
    if (q && lastEl) {
      // the price the candles are of: the last trade, or an option's mark (its quote may
      // carry no trades at all)
      const price = quotePrice(q, basis()) ?? (basis() === 'last' ? quotePrice(q, 'mark') : null);
      const values = tileValues(price === null ? q : { ...q, last: price });
      const text = tileText(values);
      if (lastEl.textContent !== text.last) lastEl.textContent = text.last;
      lastEl.setAttribute('data-value', price === null ? '' : String(price));
      const change = `${signed(values.change)} (${signed(values.changePct, 2, '%')})`;
      if (changeEl && changeEl.textContent !== change) changeEl.textContent = change;
      lastEl.title = q.t ? `as of ${quoteLabel(q.t)}` : '';
    }
    if (!series || !q || q === lastQuote) return;
    if (answer && answer.delayed === false && q.delayed) return; // a delayed value never moves a live chart
    lastQuote = q;
    const { series: next, change } = applyQuote(series, q, basis());
    series = next;
    if (change) {
      updates += 1;
      candleSeries.update(barOf(series.candles[series.candles.length - 1]));
      card.setAttribute('data-bars', String(series.candles.length));
      card.setAttribute('data-updates', String(updates));
      card.setAttribute('data-quote-t', String(q.t)); // the broker's time of the quote drawn (bench/candles.py)
    }
    describe(chartNow());
  }

  /** Every second: a candle whose time is over is closed even without a quote. */
  function tick() {
    if (!series) return;
    series = closeDue(series, chartNow());
    describe(chartNow());
  }

  for (const a of card.querySelectorAll('a[data-tf]')) {
    a.addEventListener('click', (ev) => {
      if (problem || !symbol) return; // a page with a bad request: follow the link
      ev.preventDefault();
      const next = a.getAttribute('data-tf');
      const url = new URL(location.href);
      url.searchParams.set('tf', next);
      history.replaceState(null, '', url);
      load(next);
    });
  }

  if (problem) {
    setState('error', problem);
    card.setAttribute('data-error', 'bad_request');
  } else if (quotesAvailable === 'false' || quotesAvailable === 'none') {
    setState('no-data');
    card.setAttribute('data-error', 'no_market_data');
  } else if (symbol) {
    load(tf);
  }

  return {
    symbol,
    render,
    tick,
    load,
    /** The zone shown changed: the bars are wall times of the old one, so load them anew. */
    rezone() { load(tf); },
    /** The chart's data read back from the library, and what the card says. */
    snapshot() {
      return {
        symbol, tf,
        state: card.getAttribute('data-state'),
        // the bars as the library holds them, at their candles' epoch seconds
        bars: candleSeries ? candleSeries.data().map((b) => ({ ...b, time: Math.round(epochOf(b.time) / 1000) })) : [],
        forming: series ? series.forming : false,
        updates,
        source: answer ? answer.source : null,
        cached: answer ? answer.cached : null,
        status: statusEl ? statusEl.textContent : '',
        note: noteEl ? noteEl.textContent : '',
        hours: card.getAttribute('data-hours'),
        axis: [...axisLabels],
        lastText: lastEl ? lastEl.textContent : '',
        changeText: changeEl ? changeEl.textContent : '',
        band: band.snapshot(),
      };
    },
  };
}
