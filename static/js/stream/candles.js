/*
 * Candles, as pure functions (no DOM, no clock of its own): the timeframes, the bucket a
 * moment falls in, the history as loaded, and the forming candle kept live from the
 * stream's quotes (docs/streaming-contract.md, "Candle charts"):
 *
 * - a quote's `last` (a history of the mark, `price: "mark"`: the mid of its bid and ask,
 *   `quotePrice`) at its `t` goes into bucket floor(t / width) * width (1d: 00:00 UTC
 *   of its New York date, or the broker's newest day when that day has begun already:
 *   `bucketOf`); the newest candle's bucket → close = last, high/low extended;
 *   a later bucket → a new candle opens at last; an earlier one (late) → ignored;
 * - at a boundary the clock closes the forming candle even without a quote: the chart is
 *   `waiting` (no candle shown as live) until the first quote of the new bucket;
 * - the newest quote older than the stale threshold makes the chart `stale`.
 *
 * A series is {tf, width, candles: [{t, open, high, low, close, volume}], forming (bool:
 * the last candle is the current bucket's), lastQuoteT, dayVolume (the day volume at the
 * last quote; the forming candle's volume grows by its increase)}. Functions return a new
 * series (or the same one when nothing changed).
 */
import { num } from './contract.js';
import { zoneOffset } from './times.js';

export const MINUTE_MS = 60000;
export const DAY_MS = 86400000;
/** The chart's timeframes and their widths (ms), as the server's TIMEFRAMES. */
export const TIMEFRAMES = Object.freeze({ '1m': MINUTE_MS, '5m': 5 * MINUTE_MS, '15m': 15 * MINUTE_MS, '1h': 60 * MINUTE_MS, '1d': DAY_MS });
export const DEFAULT_TF = '5m';

const nyDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });

/** 00:00 UTC of the New York date of `t` (ms): where a daily candle starts. */
export function dayStart(t) {
  const [y, m, d] = nyDate.format(new Date(t)).split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

/** The start of the candle of timeframe `tf` that holds the moment `t` (ms). */
export function bucketStart(t, tf) {
  if (tf === '1d') return dayStart(t);
  const w = TIMEFRAMES[tf];
  return Math.floor(t / w) * w;
}

/** How far ahead of a moment's New York date the broker's newest daily candle may be
 * and still be the day that has begun (a weekend or a holiday between). */
export const DAY_AHEAD_MAX = 3 * DAY_MS;

/**
 * The bucket of the moment `t` in `series`: its own bucket (`bucketStart`), except that a
 * trading day can begin the evening before its date (a future's, or a 24-hour market's
 * such as the sandbox's, whose day is the UTC date): a newest daily candle dated after
 * t's New York date (at most DAY_AHEAD_MAX) is the day that has begun, and t belongs to
 * it. Without this the quotes of that evening fell into "yesterday" — a closed candle —
 * and the 1d chart said "waiting for the first trade" while the price ticked.
 */
export function bucketOf(series, t) {
  const own = bucketStart(t, series.tf);
  if (series.tf !== '1d') return own;
  const newest = series.candles[series.candles.length - 1];
  return newest && newest.t > own && newest.t - own <= DAY_AHEAD_MAX ? newest.t : own;
}

/** A candle from the wire, or null (no prices: never drawn as 0). */
export function candleOf(c) {
  if (!c || typeof c !== 'object') return null;
  const t = num(c.t);
  const [open, high, low, close] = ['open', 'high', 'low', 'close'].map((k) => num(c[k]));
  if (t === null || [open, high, low, close].some((p) => p === null || p <= 0)) return null;
  const volume = num(c.volume);
  return { t, open, high, low, close, volume: volume !== null && volume >= 0 ? volume : null };
}

/** The series from a history answer (`{tf, candles}`) at server time `now`. */
export function fromHistory(answer, now) {
  const tf = answer && TIMEFRAMES[answer.tf] ? answer.tf : DEFAULT_TF;
  const byT = new Map();
  for (const raw of (answer && answer.candles) || []) {
    const c = candleOf(raw);
    if (c) byT.set(c.t, c);
  }
  const candles = [...byT.values()].sort((a, b) => a.t - b.t);
  const last = candles[candles.length - 1];
  const series = { tf, width: TIMEFRAMES[tf], candles, forming: false, lastQuoteT: null, dayVolume: null };
  series.forming = !!last && last.t === bucketOf(series, now);
  return series;
}

/**
 * The price of a quote that candles of `basis` are of: 'last' (the last trade) or 'mark'
 * (an option's: the mid of its bid and ask); null when the quote has none.
 */
export function quotePrice(quote, basis = 'last') {
  if (!quote) return null;
  if (basis !== 'mark') return num(quote.last);
  const bid = num(quote.bid);
  const ask = num(quote.ask);
  return bid !== null && ask !== null && bid > 0 && ask > 0 ? (bid + ask) / 2 : null;
}

/**
 * A quote into the series: returns {series, change} where change is null (nothing to
 * draw), 'update' (the forming candle moved) or 'new' (a new candle opened). `basis`:
 * what the candles are of (the history's `price`: 'last' or 'mark').
 */
export function applyQuote(series, quote, basis = 'last') {
  if (!quote) return { series, change: null };
  const last = quotePrice(quote, basis);
  const t = num(quote.t);
  if (last === null || last <= 0 || t === null) return { series, change: null };
  if (series.lastQuoteT !== null && t < series.lastQuoteT) return { series, change: null };
  const bucket = bucketOf(series, t);
  const dayVolume = num(quote.volume);
  const grew = dayVolume !== null && series.dayVolume !== null && dayVolume >= series.dayVolume
    ? dayVolume - series.dayVolume : 0;
  const candles = series.candles;
  const newest = candles[candles.length - 1];
  const base = { ...series, lastQuoteT: t, dayVolume: dayVolume ?? series.dayVolume };
  if (newest && bucket < newest.t) return { series: base, change: null }; // late: that candle is closed
  if (newest && bucket === newest.t) {
    const c = {
      ...newest,
      high: Math.max(newest.high, last),
      low: Math.min(newest.low, last),
      close: last,
      volume: newest.volume === null && !grew ? null : (newest.volume || 0) + grew,
    };
    const same = c.high === newest.high && c.low === newest.low && c.close === newest.close && c.volume === newest.volume;
    if (same && series.forming) return { series: base, change: null };
    return { series: { ...base, candles: [...candles.slice(0, -1), c], forming: true }, change: 'update' };
  }
  const c = { t: bucket, open: last, high: last, low: last, close: last, volume: dayVolume === null ? null : grew };
  return { series: { ...base, candles: [...candles, c], forming: true }, change: 'new' };
}

/** The clock passed the forming candle's end: it is closed (nothing shown as live). */
export function closeDue(series, now) {
  if (!series.forming) return series;
  const newest = series.candles[series.candles.length - 1];
  if (!newest || bucketOf(series, now) === newest.t) return series;
  return { ...series, forming: false };
}

/**
 * What the chart says about its newest candle at server time `now`:
 * 'live' (a forming candle, fresh quotes), 'stale' (forming, but the newest quote is
 * older than `staleAfter`), 'waiting' (the current bucket has no candle yet: the market
 * is closed or no trade came since the boundary), 'empty' (no candles at all).
 */
export function chartState(series, now, staleAfter, quoteLive) {
  if (!series.candles.length) return 'empty';
  const newest = series.candles[series.candles.length - 1];
  if (!series.forming || newest.t !== bucketOf(series, now)) return 'waiting';
  // the page's rule for the symbol's quote (contract "Staleness"), when it names its feed;
  // else the age of the last quote that moved the candle
  if (quoteLive === true || quoteLive === false) return quoteLive ? 'live' : 'stale';
  if (series.lastQuoteT === null || now - series.lastQuoteT > staleAfter) return 'stale';
  return 'live';
}

/** A candle as the chart library's bar at chart time `time` (s; by default the epoch's). */
export function chartBar(c, time = Math.round(c.t / 1000)) {
  return { time, open: c.open, high: c.high, low: c.low, close: c.close };
}

/**
 * The chart library's time (s) of a candle at `t` that follows chart time `prev` (null for
 * the first): intraday, the candle's wall time in the zone shown (times.js: the trader's,
 * New York's unless chosen) read as UTC — the library begins its days where its UTC days
 * begin, so its day marks fall on that zone's midnight (on the epoch's they fell at 19:00
 * New York); 1d, the candle's date as it is (00:00 UTC). Strictly ascending: in the hour
 * that repeats when summer time ends, a wall time already used moves on by a second (the
 * bars keep their order; labels read the candle's own t).
 */
export function chartTimeAfter(t, tf, prev) {
  const s = Math.round((tf === '1d' ? t : t + zoneOffset(t)) / 1000);
  return prev !== null && prev !== undefined && s <= prev ? prev + 1 : s;
}

/**
 * A sparkline answer (GET /api/sparklines/<SYM>) as its day and points [t, price]: the
 * day's `open` at `t0`, then the close of each closed 15m candle (`closes[i]`, the one
 * starting at `t0 + i * step_ms`) at its end; a bucket without a candle (null) is no point.
 */
export function sparkPoints(answer) {
  const day = num(answer && answer.day);
  const t0 = num(answer && answer.t0);
  const step = num(answer && answer.step_ms);
  const closes = answer && answer.closes;
  if (day === null || t0 === null || !step || step <= 0 || !Array.isArray(closes)) return { day: null, points: [] };
  const points = [];
  const open = num(answer.open);
  if (open !== null && open > 0) points.push([t0, open]);
  closes.forEach((raw, i) => {
    const close = num(raw);
    if (close !== null && close > 0) points.push([t0 + (i + 1) * step, close]);
  });
  return { day, points };
}

const nyParts = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23',
});

/** New York's offset from UTC (ms, e.g. -5 h in winter) at the moment `t`: the market's
 *  session (a sparkline's day), whatever the zone shown. */
export function nyOffset(t) {
  const p = Object.fromEntries(nyParts.formatToParts(new Date(t)).map((x) => [x.type, Number(x.value)]));
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return wall - Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

/** The regular session of a day (00:00 UTC of its date): [09:30, 16:00] New York, epoch ms. */
export function sessionSpan(day) {
  const offset = nyOffset(day + 12 * 3600000);
  return [day + (9 * 60 + 30) * MINUTE_MS - offset, day + 16 * 3600000 - offset];
}

/**
 * The x range of a day's sparkline: its regular session, widened to the points (a
 * 24-hour market's day has points before the open and after the close).
 */
export function sparkRange(day, points) {
  if (day === null || day === undefined) return [undefined, undefined];
  const [open, close] = sessionSpan(day);
  if (!points.length) return [open, close];
  return [Math.min(open, points[0][0]), Math.max(close, points[points.length - 1][0])];
}

/**
 * An SVG path (`M x y L x y …`) of [t, value] points in a w × h box (1px inset), x by
 * time over [t0, t1] (a day's session), y by value (flat in the middle when all equal).
 */
export function sparkPath(points, w, h, t0, t1) {
  if (!points.length) return '';
  const values = points.map((p) => p[1]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const first = t0 ?? points[0][0];
  const span = Math.max(1, (t1 ?? points[points.length - 1][0]) - first);
  const x = (t) => 1 + ((Math.min(Math.max(t, first), first + span) - first) / span) * (w - 2);
  const y = (v) => (hi === lo ? h / 2 : 1 + (1 - (v - lo) / (hi - lo)) * (h - 2));
  return points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`).join(' ');
}
