/*
 * What the chart page writes, as pure functions (no DOM): its time labels — in the trader's
 * zone, named (times.js: New York's unless they chose another); a daily candle by its date —
 * the axis's tick marks by the kind the chart library gives them (a day's start shows its
 * date, not "19:00"), what the candles cover (the note: the market's session, New York's
 * hours whatever the zone shown), and signed numbers that never read "-0.00"
 * (docs/streaming-contract.md, "What the chart page shows").
 */
import { dayLabel, hhmm, timeZone, zoneLabel, zoned } from './times.js';

const NY = 'America/New_York';
/** Lightweight Charts' TickMarkType values (Year, Month, DayOfMonth, Time, TimeWithSeconds). */
export const TICK = Object.freeze({ YEAR: 0, MONTH: 1, DAY: 2, TIME: 3, TIME_SECONDS: 4 });

const nyTime = new Intl.DateTimeFormat('en-US', { timeZone: NY, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const utcDay = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric' });
const utcMonth = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short' });
const utcYear = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric' });
const utcDate = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' });

const parts = (fmt, ms) => Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));

/** "14:05": New York wall time of `ms` (the market's session, not a label). */
export function nyClock(ms) {
  const p = parts(nyTime, ms);
  return `${p.hour}:${p.minute}`;
}

/**
 * A tick mark's label on the time axis, of the candle at `t` (epoch ms). Intraday (1m–1h):
 * a mark where a day begins (the library's day, month and year marks: the zone's midnight,
 * as the chart's times are its wall times) is the date there ("Nov 25"), any other the
 * time there ("14:00"). 1d: a candle's time is 00:00 UTC of its date, so the date is read
 * in UTC: "Nov 25", a month's first candle "Nov", a year's "2026".
 */
export function tickLabel(t, type, tf) {
  const at = new Date(t);
  if (tf === '1d') {
    if (type === TICK.YEAR) return utcYear.format(at);
    if (type === TICK.MONTH) return utcMonth.format(at);
    return utcDay.format(at);
  }
  if (type === TICK.YEAR || type === TICK.MONTH || type === TICK.DAY) return dayLabel(t);
  return hhmm(t);
}

/** The crosshair's and the status line's label of a candle time (ms): "Wed Nov 25, 14:05 EST", or a day's date. */
export function candleLabel(ms, tf) {
  if (tf === '1d') return utcDate.format(new Date(ms));
  return zoned(ms, 'stamp');
}

/** A quote's time for a title: "Nov 25, 14:05 EST". */
export function quoteLabel(ms) {
  return zoned(ms, 'day-hm');
}

/**
 * What the candles cover, read from their times (intraday; 1d: 'daily'): 'regular' when
 * every candle starts within the regular session (09:30–16:00 New York), 'extended'
 * within 04:00–20:00, else 'all-day'; null without candles. A candle is the bucket that
 * holds trades, so a 1h candle of the 09:30 open starts at 09:00.
 */
export function sessionHours(candles, tf) {
  if (!candles || !candles.length) return null;
  if (tf === '1d') return 'daily';
  const width = { '1m': 1, '5m': 5, '15m': 15, '1h': 60 }[tf] || 1;
  let hours = 'regular';
  for (const c of candles) {
    const [h, m] = nyClock(c.t).split(':').map(Number);
    const start = h * 60 + m;
    const end = start + width;
    if (end <= 4 * 60 || start >= 20 * 60) return 'all-day';
    if (end <= 9 * 60 + 30 || start >= 16 * 60) hours = 'extended';
  }
  return hours;
}

/**
 * The chart's note: what the candles are, where they come from, and the zone the times are
 * in, named at `at` (ms). `session`: the instrument's hours where it trades beyond a
 * stock's ("crypto trades around the clock, every day", "futures trade Sun-Fri 18:00-17:00
 * ET"), said instead of what the intraday candles loaded cover; `price`: 'mark' for candles
 * of an option's mark.
 */
export function hoursNote(hours, source, { session = '', price = 'last', at = Date.now() } = {}) {
  const from = source ? `Candles from ${source}` : 'Candles from your quote source';
  const what = session && hours !== 'daily' ? session : {
    regular: 'regular hours only (09:30–16:00 ET)',
    extended: 'extended hours included (04:00–20:00 ET)',
    'all-day': 'round the clock (every hour the source trades)',
    daily: 'one candle per trading day, labelled by its date',
  }[hours];
  const of = price === 'mark' ? ' of the mark (the bid/ask mid)' : '';
  const cover = what ? `${from}${of}: ${what}.` : `${from}${of}.`;
  return `${cover} Times in ${timeZone()} (${zoneLabel(at)}). The last candle is forming and moves with every live quote.`;
}

/**
 * A signed number with `digits` decimals: "+1.25", "-0.40", and "0.00" for anything that
 * rounds to zero (never "-0.00"); `suffix` as "%". "—" for null.
 */
export function signed(v, digits = 2, suffix = '') {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const text = Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (Number(text.replace(/,/g, '')) === 0) return `${(0).toFixed(digits)}${suffix}`;
  return `${v > 0 ? '+' : '-'}${text}${suffix}`;
}
