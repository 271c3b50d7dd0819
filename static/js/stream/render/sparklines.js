/*
 * The watchlist's sparklines and the links to charts (docs/streaming-contract.md,
 * "Sparklines"): each watchlist row gets an inline SVG of the day's path — the day's open
 * and the closes of its closed 15-minute candles (GET /api/sparklines/<SYM>: under 1 KiB,
 * cached by the browser until the bucket closes; once per page and symbol, at most
 * MAX_LOADS at a time), extended live by the quote's `last` — that links to the symbol's
 * chart. Position rows (an option: its underlying) and the market tiles get a "chart"
 * link. No chart library: a path is enough.
 */
import { dayStart, sparkPath, sparkPoints, sparkRange } from '../candles.js';
import { num, optionParts } from '../contract.js';
import { displayOf } from '../instruments.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 64;
const H = 20;
const MAX_LOADS = 4;
/** An errored sparkline is asked again after this long (ms), doubling, at most MAX_RETRIES
 *  times (see `retryIn`). */
export const RETRY_MS = 5000;
export const MAX_RETRIES = 3;

/** When a sparkline that failed (`tries` retries so far; the answer's HTTP status, 0 for the
 *  network, and body) is asked again (ms), or null: a broker that did not answer in time, a
 *  rate limit or the network heal (the quotes failing over, a busy server); an unknown
 *  symbol or a symbol no link quotes do not. */
export function retryIn(tries, status, body) {
  if (tries >= MAX_RETRIES) return null;
  const code = body && body.error;
  if (code === 'rate_limited') return Math.max(1, Number(body.retry_after) || 1) * 1000;
  if (status === 0 || status >= 500 || code === 'broker_error') return RETRY_MS * 2 ** tries;
  return null;
}

/** The URL of a symbol's chart. */
export function chartUrl(symbol, tf) {
  return `/chart/${encodeURIComponent(symbol)}${tf ? `?tf=${encodeURIComponent(tf)}` : ''}`;
}

function link(doc, symbol, cls, text) {
  const a = doc.createElement('a');
  a.className = cls;
  a.href = chartUrl(symbol);
  a.setAttribute('data-chart-link', symbol);
  a.setAttribute('aria-label', `Chart of ${displayOf(symbol)}`);
  a.title = `Chart of ${displayOf(symbol)}`;
  if (text) a.textContent = text;
  return a;
}

export function createSparklines(doc, env) {
  const lines = new Map(); // symbol -> {points, day, state, loading, svgs}
  let loading = 0;
  const queue = [];

  function load(symbol) {
    const line = lines.get(symbol);
    if (loading >= MAX_LOADS) { queue.push(symbol); return; }
    loading += 1;
    line.state = 'loading';
    env.fetch(`/api/sparklines/${encodeURIComponent(symbol)}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(async (r) => {
        const body = await r.json().catch(() => null);
        if (!r.ok || !body || !Array.isArray(body.closes)) {
          line.state = 'error';
          line.error = (body && body.message) || `HTTP ${r.status}`;
          again(symbol, line, r.status, body);
          return;
        }
        const { day, points } = sparkPoints(body);
        line.day = day;
        line.points = points;
        line.source = String(body.source || '');
        line.state = points.length ? 'ready' : 'empty';
      })
      .catch(() => { line.state = 'error'; line.error = 'network error'; again(symbol, line, 0, null); })
      .finally(() => {
        loading -= 1;
        line.dirty = true;
        if (queue.length) load(queue.shift());
        env.redraw();
      });
  }

  /** An errored sparkline asked again later, when its error may heal (`retryIn`). */
  function again(symbol, line, status, body) {
    const wait = retryIn(line.tries || 0, status, body);
    if (wait === null) return;
    line.tries = (line.tries || 0) + 1;
    env.setTimeout(() => load(symbol), wait);
  }

  function draw(svg, line, quote) {
    let points = line.points || [];
    const last = num(quote && quote.last);
    const t = num(quote && quote.t);
    if (points.length && last !== null && t !== null && dayStart(t) === line.day && t > points[points.length - 1][0]) {
      points = [...points, [t, last]]; // extended live by the quote
    }
    const [t0, t1] = sparkRange(line.day, points);
    const d = sparkPath(points, W, H, t0, t1);
    const path = svg.firstChild;
    if (path.getAttribute('d') !== d) path.setAttribute('d', d);
    svg.setAttribute('data-state', line.state);
    if (line.source) svg.setAttribute('data-source', line.source);
    svg.setAttribute('data-points', String(points.length));
    const first = points.length ? points[0][1] : null;
    const end = points.length ? points[points.length - 1][1] : null;
    svg.setAttribute('data-trend', first === null ? '' : end > first ? 'up' : end < first ? 'down' : 'flat');
    const title = svg.querySelector('title');
    const text = line.state === 'error' ? `${line.error}` : `${svg.getAttribute('data-spark')}: the day's path (15-minute closes, then live)${line.source ? `, from ${line.source}` : ''}`;
    if (title.textContent !== text) title.textContent = text;
  }

  function sparkFor(row, symbol) {
    let a = row.querySelector('a.spark-link');
    if (a && a.getAttribute('data-chart-link') === symbol) return a.querySelector('svg');
    if (a) a.remove();
    a = link(doc, symbol, 'spark-link');
    const svg = doc.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('data-spark', symbol);
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('width', String(W));
    svg.setAttribute('height', String(H));
    svg.setAttribute('role', 'img');
    const path = doc.createElementNS(SVG, 'path');
    path.setAttribute('fill', 'none');
    svg.append(path, doc.createElementNS(SVG, 'title'));
    a.append(svg);
    const th = row.querySelector('[data-field="symbol"]') || row.firstElementChild;
    th.append(a);
    return svg;
  }

  /** Every render: sparklines in the watchlist rows, chart links on positions and tiles. */
  function render(state) {
    for (const row of doc.querySelectorAll('tr[data-quote]')) {
      const symbol = row.getAttribute('data-quote');
      if (optionParts(symbol)) continue; // a day's path of an option says little: no sparkline
      if (!lines.has(symbol)) {
        lines.set(symbol, { points: [], day: null, state: 'loading' });
        load(symbol);
      }
      draw(sparkFor(row, symbol), lines.get(symbol), state.quotes.get(symbol));
    }
    for (const row of doc.querySelectorAll('tr[data-position]')) {
      const streamer = row.getAttribute('data-streamer') || '';
      const target = optionParts(streamer)?.root || streamer;
      const th = row.querySelector('[data-field="symbol"]');
      if (!target || !th) continue;
      const have = th.querySelector('a.chart-link');
      if (have && have.getAttribute('data-chart-link') === target) continue;
      if (have) have.remove();
      th.append(link(doc, target, 'chart-link', 'chart'));
    }
    for (const tile of doc.querySelectorAll('[data-tile]')) {
      const symbol = tile.getAttribute('data-tile');
      const head = tile.querySelector('.tile-head') || tile;
      if (!head.querySelector('a.chart-link')) head.append(link(doc, symbol, 'chart-link', 'chart'));
    }
  }

  return { render };
}
