/*
 * The what-if graph's pure parts (no DOM, no library): the grid of prices the server is
 * asked for, the query string a slider makes, the throttle that paces live re-fetches,
 * and the series, shading and markers drawn from the API's answers
 * (`GET /api/risk/<U|portfolio>?date=&iv_shift=&prices=`, docs/streaming-contract.md).
 * The browser never prices: every P&L number is the server's.
 */

/** Points per curve: a smooth line, well under the API's 200 prices. */
export const GRID_POINTS = 121;
/** The grid spans at least ±15 % of the price, and ±2σ with a quarter to spare. */
export const MIN_SPAN = 0.15;
export const BAND_MARGIN = 1.25;
/** The grid is recentred once the price leaves its middle 60 %. */
export const RECENTER_AT = 0.6;
/** Live re-fetches: at most one per this many ms, never two at once. */
export const REFETCH_GAP_MS = 1000;
export const PORTFOLIO = 'portfolio';

const round2 = (v) => Math.round(v * 100) / 100;
const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** The half-width of the grid around `price`: ±15 %, or ±2σ (the answer's bands) × 1.25. */
export function gridSpan(price, bands) {
  let half = price * MIN_SPAN;
  const two = bands && Array.isArray(bands['2']) ? bands['2'] : null;
  if (two && finite(two[0]) && finite(two[1])) half = Math.max(half, BAND_MARGIN * Math.max(price - two[0], two[1] - price));
  return half;
}

/**
 * `n` evenly spaced prices from `center - half` to `center + half`, rounded to the cent,
 * ascending and distinct, never below a cent (the horizontal scale is the index: even
 * spacing keeps it a true price axis). Empty without a positive price.
 */
export function priceGrid(center, half, n = GRID_POINTS) {
  if (!finite(center) || center <= 0 || !finite(half) || half <= 0 || n < 2) return [];
  const lo = Math.max(0.01, center - half);
  const hi = center + half;
  const out = [];
  for (let i = 0; i < n; i++) {
    const p = round2(lo + ((hi - lo) * i) / (n - 1));
    if (!out.length || p > out[out.length - 1]) out.push(p);
  }
  return out;
}

/** Whether `price` has left the grid's middle part (then it is drawn anew around it). */
export function needsRecenter(grid, price) {
  if (!grid.length || !finite(price)) return !grid.length;
  const lo = grid[0];
  const hi = grid[grid.length - 1];
  const margin = ((hi - lo) * (1 - RECENTER_AT)) / 2;
  return price < lo + margin || price > hi - margin;
}

/** `YYYY-MM-DD` `days` after the ISO date `today` (calendar days, no time zone). */
export function dateAfter(today, days) {
  const [y, m, d] = today.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return t.toISOString().slice(0, 10);
}

/** The date slider's value as the API's `date`: null today (the default), the ISO date
 *  in between, `expiration` at the end (the last expiration held). */
export function sliderDate(today, days, maxDays) {
  if (days <= 0) return null;
  if (days >= maxDays) return 'expiration';
  return dateAfter(today, days);
}

/** The slider's label: "today", "2026-12-04 (+8 d)", "expiration 2026-12-18". */
export function sliderDateText(today, days, maxDays) {
  if (days <= 0) return 'today';
  const date = dateAfter(today, days);
  return days >= maxDays ? `expiration ${date}` : `${date} (+${days} d)`;
}

/** "+5 vol pts", "-12 vol pts", "+0 vol pts". */
export const ivShiftText = (points) => `${points > 0 ? '+' : points < 0 ? '−' : '+'}${Math.abs(points)} vol pts`;

/**
 * The API's URL for one curve: `/api/risk/SPY?date=2026-12-04&iv_shift=5&prices=590,600.5`.
 * `date` null: today (omitted); `ivShift` 0 is omitted too.
 */
export function riskUrl(base, underlying, { date = null, ivShift = 0, prices = [] } = {}) {
  const q = [];
  if (date) q.push(`date=${encodeURIComponent(date)}`);
  if (ivShift) q.push(`iv_shift=${encodeURIComponent(String(ivShift))}`);
  if (prices.length) q.push(`prices=${prices.map((p) => String(round2(p))).join(',')}`);
  const path = `${base}${encodeURIComponent(underlying)}`;
  return q.length ? `${path}?${q.join('&')}` : path;
}

/**
 * An answer's points as a line series: `{time: price, value: pnl}` ascending by price,
 * one per price, points without a finite P&L left out (the library needs distinct,
 * ascending times; a gap beats a made-up value).
 */
export function curveData(answer) {
  const points = answer && Array.isArray(answer.points) ? answer.points : [];
  const byPrice = new Map();
  for (const pt of points) {
    if (pt && finite(pt.price) && finite(pt.pnl)) byPrice.set(round2(pt.price), pt.pnl);
  }
  return Array.from(byPrice, ([time, value]) => ({ time, value })).sort((a, b) => a.time - b.time);
}

/** The grid point nearest `price` (markers sit on a point of the scale); null off the grid. */
export function nearestPoint(grid, price) {
  if (!grid.length || !finite(price) || price < grid[0] || price > grid[grid.length - 1]) return null;
  let best = grid[0];
  for (const p of grid) if (Math.abs(p - price) < Math.abs(best - price)) best = p;
  return best;
}

export const BAND_COLORS = { 1: 'rgba(96, 165, 250, 0.16)', 2: 'rgba(96, 165, 250, 0.07)' };

/**
 * The ±1σ / ±2σ shading as a histogram under the curves: a full-height column per grid
 * point inside a band (the inner band darker), a gap (whitespace) outside both.
 */
export function bandShading(grid, bands) {
  const inside = (p, k) => {
    const b = bands && Array.isArray(bands[k]) ? bands[k] : null;
    return !!b && finite(b[0]) && finite(b[1]) && p >= b[0] && p <= b[1];
  };
  return grid.map((p) => {
    if (inside(p, '1')) return { time: p, value: 1, color: BAND_COLORS[1] };
    if (inside(p, '2')) return { time: p, value: 1, color: BAND_COLORS[2] };
    return { time: p };
  });
}

/** The current price and the break-evens as markers on the grid (those on it). */
export function graphMarkers(grid, price, breakevens) {
  const out = [];
  const at = nearestPoint(grid, price);
  if (at !== null) out.push({ time: at, position: 'aboveBar', shape: 'arrowDown', color: '#facc15', text: `now ${price.toFixed(2)}`, id: 'price' });
  for (const be of Array.isArray(breakevens) ? breakevens : []) {
    const p = nearestPoint(grid, be);
    if (p !== null) out.push({ time: p, position: 'inBar', shape: 'circle', color: '#f472b6', text: `BE ${be.toFixed(2)}`, id: `be-${be}` });
  }
  return out.sort((a, b) => a.time - b.time);
}

/**
 * The graph's select after the page was rendered again (a fill: tables.js
 * `reloadRows`): the server's choices now (`[{value, label}]`, each underlying held and
 * the portfolio), the current choice kept while it is offered, else the server's
 * (`selected`: the page asked with the current choice picks its default).
 * `changed`: the options differ from `current` (their values, in order).
 */
export function nextChoices(current, fresh, choice, selected) {
  const values = fresh.map((c) => c.value);
  const kept = values.includes(choice) ? choice : (values.includes(selected) ? selected : PORTFOLIO);
  const changed = values.join('\n') !== current.map((c) => c.value).join('\n');
  return { choices: fresh, choice: kept, changed };
}

/** The symbol whose quote moves the graph: the underlying, or SPY for the portfolio. */
export const drivingSymbol = (choice) => (choice === PORTFOLIO ? 'SPY' : choice);

/**
 * A throttle for live re-fetches: `request()` runs `run` (an async function) now if none
 * is in flight and the last started ≥ `gapMs` ago; else once, as soon as both hold.
 * Requests while waiting fold into that one. env: {now, setTimeout, clearTimeout}.
 */
export function createThrottle(run, gapMs, env) {
  let inFlight = false;
  let pending = false;
  let timer = null;
  let lastStart = -Infinity;
  let runs = 0;

  function fire() {
    timer = null;
    if (inFlight) return; // the finishing run re-checks `pending`
    const wait = lastStart + gapMs - env.now();
    if (wait > 0) {
      timer = env.setTimeout(fire, wait);
      return;
    }
    pending = false;
    inFlight = true;
    lastStart = env.now();
    runs += 1;
    Promise.resolve()
      .then(run)
      .catch(() => {})
      .finally(() => {
        inFlight = false;
        if (pending && timer === null) fire();
      });
  }

  return {
    request() {
      pending = true;
      if (!inFlight && timer === null) fire();
    },
    /** Drop a waiting request (the page leaves, the choice changes). */
    cancel() {
      pending = false;
      if (timer !== null) env.clearTimeout(timer);
      timer = null;
    },
    info: () => ({ inFlight, pending, runs }),
  };
}
