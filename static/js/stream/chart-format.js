/*
 * What the chart page writes, as pure functions (no DOM): its time labels — New York
 * (exchange) time, labelled "ET"; a daily candle by its date — the axis's tick marks by
 * the kind the chart library gives them (a day's start shows its date, not "19:00"),
 * what the candles cover (the note), and signed numbers that never read "-0.00"
 * (docs/streaming-contract.md, "What the chart page shows").
 */
const NY = 'America/New_York';
/** Lightweight Charts' TickMarkType values (Year, Month, DayOfMonth, Time, TimeWithSeconds). */
export const TICK = Object.freeze({ YEAR: 0, MONTH: 1, DAY: 2, TIME: 3, TIME_SECONDS: 4 });

const nyTime = new Intl.DateTimeFormat('en-US', { timeZone: NY, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const nyDay = new Intl.DateTimeFormat('en-US', { timeZone: NY, month: 'short', day: 'numeric' });
const nyStamp = new Intl.DateTimeFormat('en-US', { timeZone: NY, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const utcDay = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric' });
const utcMonth = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short' });
const utcYear = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric' });
const utcDate = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' });

const parts = (fmt, ms) => Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));

/** "14:05": New York wall time of `ms`. */
export function nyClock(ms) {
  const p = parts(nyTime, ms);
  return `${p.hour}:${p.minute}`;
}

/**
 * A tick mark's label on the time axis, of the candle at `t` (epoch ms). Intraday (1m–1h):
 * a mark where a day begins (the library's day, month and year marks: New York's
 * midnight, as the chart's times are New York wall times) is the New York date ("Nov 25"),
 * any other the New York time ("14:00"). 1d: a candle's time is 00:00 UTC of its date, so
 * the date is read in UTC: "Nov 25", a month's first candle "Nov", a year's "2026".
 */
export function tickLabel(t, type, tf) {
  const at = new Date(t);
  if (tf === '1d') {
    if (type === TICK.YEAR) return utcYear.format(at);
    if (type === TICK.MONTH) return utcMonth.format(at);
    return utcDay.format(at);
  }
  if (type === TICK.YEAR || type === TICK.MONTH || type === TICK.DAY) return nyDay.format(at);
  return nyClock(t);
}

/** The crosshair's and the status line's label of a candle time (ms): "Wed, Nov 25, 14:05 ET", or a day's date. */
export function candleLabel(ms, tf) {
  if (tf === '1d') return utcDate.format(new Date(ms));
  const p = parts(nyStamp, ms);
  return `${p.weekday} ${p.month} ${p.day}, ${p.hour}:${p.minute} ET`;
}

/** A quote's time for a title: "Nov 25, 14:05 ET". */
export function quoteLabel(ms) {
  return `${nyDay.format(new Date(ms))}, ${nyClock(ms)} ET`;
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
 * The chart's note: what the candles are, where they come from, and the time zone.
 * `session`: the instrument's hours where it trades beyond a stock's ("crypto trades
 * around the clock, every day", "futures trade Sun-Fri 18:00-17:00 ET"), said instead of
 * what the intraday candles loaded cover; `price`: 'mark' for candles of an option's mark.
 */
export function hoursNote(hours, source, { session = '', price = 'last' } = {}) {
  const from = source ? `Candles from ${source}` : 'Candles from your quote source';
  const what = session && hours !== 'daily' ? session : {
    regular: 'regular hours only (09:30–16:00 ET)',
    extended: 'extended hours included (04:00–20:00 ET)',
    'all-day': 'round the clock (every hour the source trades)',
    daily: 'one candle per trading day, labelled by its date',
  }[hours];
  const of = price === 'mark' ? ' of the mark (the bid/ask mid)' : '';
  const cover = what ? `${from}${of}: ${what}.` : `${from}${of}.`;
  return `${cover} Times ET (New York). The last candle is forming and moves with every live quote.`;
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
