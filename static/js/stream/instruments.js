/*
 * Instruments: the browser's copy of streaming/instruments/ (docs/streaming-contract.md
 * "Instruments: one instrument, one price"; tests/streaming/test_instrument_rules_agree.py
 * holds the two to the same answers). Any spelling of an instrument → one instrument:
 * `{kind, symbol, underlying, display, multiplier, root, expires, strike, right, tick(price)}`,
 * `symbol` its contract symbol (the feed symbol: its quote's key), `display` the name a
 * trader reads. The CME Group products futures are read with, and what each broker takes
 * of each kind (streaming/instruments/rules.py `table()`), so a ticket never offers what
 * the broker would refuse. Pure: no DOM, no clock (a one-digit future year is read near
 * the year given, the current one by default).
 */

export const KIND = Object.freeze({
  EQUITY: 'Equity',
  EQUITY_OPTION: 'Equity Option',
  FUTURE: 'Future',
  FUTURE_OPTION: 'Future Option',
  CRYPTO: 'Cryptocurrency',
});
export const KINDS = [KIND.EQUITY, KIND.EQUITY_OPTION, KIND.FUTURE, KIND.FUTURE_OPTION, KIND.CRYPTO];
/** The kind as a sentence names it ("futures", "crypto"). */
export const KIND_WORDS = {
  [KIND.EQUITY]: 'stock', [KIND.EQUITY_OPTION]: 'options', [KIND.FUTURE]: 'futures',
  [KIND.FUTURE_OPTION]: 'future options', [KIND.CRYPTO]: 'crypto',
};
const ALPACA_CLASSES = { us_equity: KIND.EQUITY, us_option: KIND.EQUITY_OPTION, crypto: KIND.CRYPTO };

/** A position's or leg's `instrument_type` as a kind (Alpaca's own names too); null for
 *  any other kind (a bond, a warrant): the app shows those, it does not act on them. */
export function kindOf(instrumentType) {
  const text = String(instrumentType ?? '');
  if (KINDS.includes(text)) return text;
  return ALPACA_CLASSES[text.toLowerCase()] || null;
}

export const isOptionKind = (kind) => kind === KIND.EQUITY_OPTION || kind === KIND.FUTURE_OPTION;

// ------------------------------------------------------------------ futures

export const MONTH_CODES = 'FGHJKMNQUVXZ';
export const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const product = (code, venue, pointValue, tick, optionTick = null, optionSmallTick = null) => ({ code, venue, pointValue, tick, optionTick, optionSmallTick });

/** CME Group's products a trader meets (streaming/instruments/futures.py PRODUCTS): the
 *  exchange's code, the point's worth (the contract's multiplier, dollars per point), the
 *  tick, and the option ticks of the equity index products (from 5.00 of premium, below). */
export const PRODUCTS = Object.fromEntries([
  product('ES', 'XCME', 50, '0.25', '0.25', '0.05'),
  product('MES', 'XCME', 5, '0.25', '0.25', '0.05'),
  product('NQ', 'XCME', 20, '0.25', '0.25', '0.05'),
  product('MNQ', 'XCME', 2, '0.25', '0.25', '0.05'),
  product('RTY', 'XCME', 50, '0.1'),
  product('M2K', 'XCME', 5, '0.1'),
  product('YM', 'XCBT', 5, '1'),
  product('MYM', 'XCBT', 0.5, '1'),
  product('CL', 'XNYM', 1000, '0.01'),
  product('MCL', 'XNYM', 100, '0.01'),
  product('NG', 'XNYM', 10000, '0.001'),
  product('GC', 'XCEC', 100, '0.1'),
  product('MGC', 'XCEC', 10, '0.1'),
  product('SI', 'XCEC', 5000, '0.005'),
  product('HG', 'XCEC', 25000, '0.0005'),
  product('ZB', 'XCBT', 1000, '0.03125'),
  product('ZN', 'XCBT', 1000, '0.015625'),
  product('ZF', 'XCBT', 1000, '0.0078125'),
  product('ZC', 'XCBT', 50, '0.25'),
  product('ZS', 'XCBT', 50, '0.25'),
  product('ZW', 'XCBT', 50, '0.25'),
  product('6E', 'XCME', 125000, '0.00005'),
  product('6B', 'XCME', 62500, '0.0001'),
].map((p) => [p.code, Object.freeze(p)]));

// ASCII only (`[0-9]`, never `\d`). A product code is the shortest run before a month code
// that a year follows (`/ZNZ6` is ZN, not Z + N).
const CODE = '([A-Z0-9]{1,6}?)([FGHJKMNQUVXZ])';
const STRIKE = '([0-9]+(?:\\.[0-9]+)?)';
const FUTURE_REST_RE = new RegExp(`^/${CODE}([0-9]{1,2})$`);
const FUTURE_FEED_RE = new RegExp(`^/${CODE}([0-9]{2}):([A-Z]{2,6})$`);
const FUTURE_OPTION_REST_RE = new RegExp(`^\\./${CODE}([0-9]{1,2}) +([A-Z0-9]{1,6}?)([FGHJKMNQUVXZ])([0-9]{1,2}) +([0-9]{6})([CP])${STRIKE}$`);
const FUTURE_OPTION_FEED_RE = new RegExp(`^\\./([A-Z0-9]{1,8}?)([FGHJKMNQUVXZ])([0-9]{2})([CP])${STRIKE}:([A-Z]{2,6})$`);

const two = (n) => String(n % 100).padStart(2, '0');
const monthOf = (code) => MONTH_CODES.indexOf(code) + 1;

/** A one- or two-digit year as a full year: two digits are 20YY; one digit the year ending
 *  in it from `near` - 1 on (a future is listed up to a few years ahead). */
function fullYear(digits, near) {
  if (digits.length === 2) return 2000 + Number(digits);
  return near - 1 + ((((Number(digits) - (near - 1)) % 10) + 10) % 10);
}

/** A decimal text without leading or trailing zeros (`06000.50` → `6000.5`). */
function plainDecimal(text) {
  const [whole, frac = ''] = String(text).split('.');
  const i = whole.replace(/^0+(?=[0-9])/, '');
  const f = frac.replace(/0+$/, '');
  return f ? `${i}.${f}` : i;
}

/** `YYMMDD` as {year, month, day} (20YY), or null: no month 13, no day 32, no Feb 30. */
function optionDate(yymmdd) {
  const [y, m, d] = [2000 + Number(yymmdd.slice(0, 2)), Number(yymmdd.slice(2, 4)), Number(yymmdd.slice(4, 6))];
  const at = new Date(Date.UTC(y, m - 1, d));
  return at.getUTCFullYear() === y && at.getUTCMonth() === m - 1 && at.getUTCDate() === d ? { year: y, month: m, day: d } : null;
}

const contract = (code, month, year, venue) => ({
  code, month, year, venue,
  feed: venue ? `/${code}${MONTH_CODES[month - 1]}${two(year)}:${venue}` : null,
  display: `/${code} ${MONTH_NAMES[month - 1]} ${two(year)}`,
  product: PRODUCTS[code] || null,
});

function parseFuture(symbol, near) {
  const feed = FUTURE_FEED_RE.exec(symbol);
  if (feed) return contract(feed[1], monthOf(feed[2]), 2000 + Number(feed[3]), feed[4]);
  const rest = FUTURE_REST_RE.exec(symbol);
  if (!rest) return null;
  const code = rest[1];
  return contract(code, monthOf(rest[2]), fullYear(rest[3], near), PRODUCTS[code] ? PRODUCTS[code].venue : null);
}

/** An option on a future: its future (null when only an unlisted feed symbol names it), its
 *  own contract code and year, expiration (null from the feed symbol), right, strike, venue. */
function parseFutureOption(symbol) {
  const rest = FUTURE_OPTION_REST_RE.exec(symbol);
  if (rest) {
    const [, code, month, fyear, ocode, omonth, oyear, yymmdd, right, strike] = rest;
    const expires = optionDate(yymmdd);
    if (!expires || !(Number(strike) > 0)) return null;
    const future = contract(code, monthOf(month), fullYear(fyear, expires.year), PRODUCTS[code] ? PRODUCTS[code].venue : null);
    return { future, optionCode: `${ocode}${omonth}`, optionYear: fullYear(oyear, expires.year), expires, right, strike: plainDecimal(strike), venue: future.venue };
  }
  const feed = FUTURE_OPTION_FEED_RE.exec(symbol);
  if (!feed) return null;
  const [, ocode, omonth, oyear, right, strike, venue] = feed;
  if (!(Number(strike) > 0)) return null;
  // the quarterly's option code is its future's: the feed symbol then names the future
  const future = PRODUCTS[ocode] ? contract(ocode, monthOf(omonth), 2000 + Number(oyear), venue) : null;
  return { future, optionCode: `${ocode}${omonth}`, optionYear: 2000 + Number(oyear), expires: null, right, strike: plainDecimal(strike), venue };
}

// ------------------------------------------------------------------ the tick grid

const CENT = '0.01';
const NICKEL = '0.05';
const SUB_PENNY = '0.0001';
/** Underlyings whose options trade in pennies at every price (the penny pilot's ETFs). */
export const PENNY_EVERYWHERE = new Set(['SPY', 'QQQ', 'IWM']);

/** The tick (a decimal text) an instrument's price moves in at `price`; null: not known. */
function tickOf(kind, root, price) {
  if (kind === KIND.EQUITY_OPTION) return PENNY_EVERYWHERE.has(root) || price < 3 ? CENT : NICKEL;
  const p = PRODUCTS[String(root).replace(/^\//, '')];
  if (kind === KIND.FUTURE) return p ? p.tick : null;
  if (kind === KIND.FUTURE_OPTION) {
    if (!p) return null;
    if (p.optionTick === null || p.optionSmallTick === null) return p.tick;
    return price < 5 ? p.optionSmallTick : p.optionTick;
  }
  return price >= 1 ? CENT : SUB_PENNY; // stock and coins
}

// ------------------------------------------------------------------ reading a symbol

const EQUITY_RE = /^[A-Z][A-Z0-9.]{0,9}(\/[A-Z])?$/;
const OPTION_STREAMER_RE = /^\.([A-Z][A-Z0-9]{0,5})([0-9]{6})([CP])([0-9]+(?:\.[0-9]+)?)$/;
const OPTION_OCC_RE = /^([A-Z][A-Z0-9]{0,5}) *([0-9]{6})([CP])([0-9]{8})$/;
const CRYPTO_USD_RE = /^([A-Z][A-Z0-9]{1,9}?)\/?USD$/;
/** The crypto venue of tastytrade's feed: a coin against the dollar, `BTC/USD:CXTALP`. */
export const COIN_VENUE = 'CXTALP';
export const MAX_SYMBOL_LENGTH = 32;

function instrument(fields) {
  const it = {
    expires: null, strike: null, right: null, ...fields,
    tick(price) { return tickOf(it.kind, it.root, Number(price)); },
  };
  return Object.freeze(it);
}

/** A symbol as typed, trimmed and upper-cased; null when it cannot be one (not text,
 *  empty, too long, or not ASCII: `.toUpperCase()` would turn `ß` into `SS`). */
export function clean(raw) {
  if (typeof raw !== 'string' || !(raw.length > 0 && raw.length <= MAX_SYMBOL_LENGTH) || !/^[\x00-\x7f]*$/.test(raw)) return null;
  const text = raw.trim().toUpperCase();
  return text || null;
}

export function coinInstrument(coin) {
  const pair = `${coin}/USD`;
  const symbol = `${pair}:${COIN_VENUE}`;
  return instrument({ kind: KIND.CRYPTO, symbol, underlying: symbol, display: pair, multiplier: 1, root: coin });
}

/** `BTC/USD` or `BTC/USD:CXTALP` → `BTC` (a coin against the dollar, said with the slash:
 *  `BTCUSD` is a ticker until a broker says otherwise). */
function coinRoot(symbol) {
  const text = symbol.endsWith(`:${COIN_VENUE}`) ? symbol.slice(0, -COIN_VENUE.length - 1) : symbol;
  if (!text.includes('/')) return null;
  const m = CRYPTO_USD_RE.exec(text);
  return m ? m[1] : null;
}

/** `SPY   250221C00590000` → `.SPY250221C590` (the strike without trailing zeros); else null. */
export function occToStreamer(occ) {
  const m = OPTION_OCC_RE.exec(occ);
  if (!m || !optionDate(m[2]) || !(Number(m[4]) > 0)) return null;
  const strike = (Number(m[4]) / 1000).toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return `.${m[1]}${m[2]}${m[3]}${strike}`;
}

function equityOption(symbol) {
  const m = OPTION_STREAMER_RE.exec(symbol);
  if (!m) return null;
  const [, root, yymmdd, right, strike] = m;
  const day = optionDate(yymmdd);
  const thousandths = Math.round(Number(strike) * 1000);
  if (!day || !(thousandths > 0 && thousandths < 1e8)) return null;
  return instrument({
    kind: KIND.EQUITY_OPTION, symbol, underlying: root, root, multiplier: 100,
    display: `${root} ${day.day} ${MONTH_NAMES[day.month - 1]} ${two(day.year)} ${strike} ${right}`,
    expires: day, strike, right,
  });
}

function future(c) {
  if (!c || !c.feed) return null;
  return instrument({
    kind: KIND.FUTURE, symbol: c.feed, underlying: c.feed, display: c.display,
    multiplier: c.product ? c.product.pointValue : null, root: `/${c.code}`,
  });
}

function futureOption(o) {
  if (!o || !o.venue) return null;
  const feed = `./${o.optionCode}${two(o.optionYear)}${o.right}${o.strike}:${o.venue}`;
  const f = o.future;
  let display = `${f ? f.display : o.optionCode} ${o.strike} ${o.right}`;
  if (f && o.optionCode !== `${f.code}${MONTH_CODES[f.month - 1]}` && o.expires) {
    display += ` ${o.expires.day} ${MONTH_NAMES[o.expires.month - 1]}`; // a weekly: its own expiration
  }
  return instrument({
    kind: KIND.FUTURE_OPTION, symbol: feed, underlying: (f && f.feed) || feed, display,
    multiplier: f && f.product ? f.product.pointValue : null, root: f ? `/${f.code}` : o.optionCode,
    expires: o.expires, strike: o.strike, right: o.right,
  });
}

/**
 * The instrument a symbol names, in any spelling that names one thing: the contract's (the
 * feed symbols), an OCC option (padded or not), a coin pair (`BTC/USD`), a future's or
 * future option's REST symbol (`/ESZ6`, `./ESZ6 ESZ6 261218C6000`). `BTCUSD` is a ticker
 * here (only a position that says it is a coin makes it one: `fromPosition`). Null: not a
 * symbol. `near`: the year a one-digit future year is near (this year).
 */
export function parse(raw, near = new Date().getFullYear()) {
  const symbol = clean(raw);
  if (symbol === null) return null;
  if (symbol.startsWith('./')) return futureOption(parseFutureOption(symbol));
  if (symbol.startsWith('/')) return future(parseFuture(symbol, near));
  if (symbol.startsWith('.')) return equityOption(symbol);
  const coin = coinRoot(symbol);
  if (coin !== null) return coinInstrument(coin);
  if (EQUITY_RE.test(symbol)) return instrument({ kind: KIND.EQUITY, symbol, underlying: symbol, display: symbol, multiplier: 1, root: symbol });
  const option = occToStreamer(symbol);
  return option ? equityOption(option) : null;
}

/** The contract symbol of any spelling, or null. */
export const contractSymbol = (raw, near) => {
  const it = parse(raw, near);
  return it ? it.symbol : null;
};

/** What a trader reads for a symbol: its display name, else the symbol as it came. */
export const displayOf = (raw) => {
  const it = parse(raw);
  return it ? it.display : String(raw ?? '');
};

/**
 * The instrument a position (or an order's leg) holds, from the broker's own facts: its
 * `instrument_type` (Alpaca's `BTCUSD` is the coin it holds, never a look-alike ticker),
 * its feed symbol, its multiplier, its `display`. Null for a kind the app does not act on
 * (a bond, a warrant) or a symbol it cannot read (streaming/instruments/resolve.py).
 */
export function fromPosition(p) {
  const kind = kindOf(p && p.instrument_type);
  const symbol = String((p && p.symbol) || '');
  const feed = String((p && p.streamer_symbol) || '');
  if (!kind || !symbol) return null;
  let base;
  if (kind === KIND.CRYPTO) {
    const m = CRYPTO_USD_RE.exec(symbol.replace(/:CXTALP$/, ''));
    base = m ? coinInstrument(m[1]) : null;
  } else if (kind === KIND.FUTURE_OPTION) {
    base = parse(symbol) || parse(feed); // the REST symbol names the future (and a weekly's date)
  } else {
    base = parse(feed) || parse(symbol);
  }
  if (!base || base.kind !== kind) return null;
  const facts = {};
  if (feed && feed !== base.symbol && (kind === KIND.FUTURE || kind === KIND.FUTURE_OPTION)) {
    facts.symbol = feed; // the broker's feed symbol is the truth
    if (kind === KIND.FUTURE) facts.underlying = feed;
  }
  const underlying = String((p && p.underlying) || '');
  if (kind === KIND.FUTURE_OPTION && underlying.includes(':')) facts.underlying = underlying;
  const multiplier = Number(p && p.multiplier);
  if (p && p.multiplier !== null && p.multiplier !== undefined && Number.isFinite(multiplier) && multiplier > 0) facts.multiplier = multiplier;
  if (p && typeof p.display === 'string' && p.display) facts.display = p.display; // the server's name
  if (!Object.keys(facts).length) return base;
  const it = instrument({ ...base, ...facts });
  return it;
}

// ------------------------------------------------------------------ what each broker takes

export const BROKER_NAMES = { tastytrade: 'tastytrade', tradier: 'Tradier', alpaca: 'Alpaca' };
const STOPS = ['Limit', 'Market', 'Stop', 'Stop Limit'];

/** What one broker takes of one kind (streaming/instruments/rules.py `Takes`, as its
 *  `as_json()` says it). */
function takes(orderTypes, timesInForce, {
  marketTimesInForce = null, maxLegs = 1, fractionPlaces = null, fractionTypes = null,
  fractionTimesInForce = null, fractionShort = true, linked = true,
} = {}) {
  return Object.freeze({
    order_types: orderTypes,
    times_in_force: timesInForce,
    market_times_in_force: marketTimesInForce || timesInForce,
    max_legs: maxLegs,
    fraction_places: fractionPlaces,
    fraction_types: fractionTypes,
    fraction_times_in_force: fractionTimesInForce,
    fraction_short: fractionShort,
    linked,
  });
}

const TASTY_OPTIONS = takes(STOPS, ['Day', 'GTC'], { marketTimesInForce: ['Day'], maxLegs: 4 });
const COIN_TYPES = ['Limit', 'Market', 'Stop Limit', 'Notional Market'];
const TAKES = {
  tastytrade: {
    [KIND.EQUITY]: takes([...STOPS, 'Notional Market'], ['Day', 'GTC'], { marketTimesInForce: ['Day'] }),
    [KIND.EQUITY_OPTION]: TASTY_OPTIONS,
    [KIND.FUTURE]: takes(STOPS, ['Day', 'GTC'], { marketTimesInForce: ['Day'] }),
    [KIND.FUTURE_OPTION]: TASTY_OPTIONS,
    [KIND.CRYPTO]: takes(COIN_TYPES, ['GTC', 'IOC'], { marketTimesInForce: ['IOC'], fractionPlaces: 8, linked: false }),
  },
  tradier: {
    [KIND.EQUITY]: takes(STOPS, ['Day', 'GTC']),
    [KIND.EQUITY_OPTION]: takes(STOPS, ['Day', 'GTC'], { maxLegs: 4 }),
  },
  alpaca: {
    [KIND.EQUITY]: takes([...STOPS, 'Trailing Stop', 'Notional Market'], ['Day', 'GTC'], {
      fractionPlaces: 9, fractionTypes: ['Market', 'Limit', 'Stop', 'Stop Limit'], fractionTimesInForce: ['Day'], fractionShort: false,
    }),
    [KIND.EQUITY_OPTION]: takes(STOPS, ['Day'], { linked: false }),
    [KIND.CRYPTO]: takes(COIN_TYPES, ['GTC', 'IOC'], { fractionPlaces: 9, fractionShort: false, linked: false }),
  },
};

/** What `broker` (any case) takes of `kind`, or null: it takes none. */
export function brokerTakes(broker, kind) {
  const rules = TAKES[String(broker || '').toLowerCase()];
  return (rules && rules[kind]) || null;
}

const NONE_OF = {
  tradier: 'Tradier trades stocks and options only: it takes no {kind} orders.',
  alpaca: 'Alpaca trades stocks, options and crypto: it takes no {kind} orders.',
  tastytrade: 'tastytrade takes no orders of this kind here.',
};

/** The sentence for a kind the broker does not trade. */
export function refusal(broker, kind) {
  const b = String(broker || '').toLowerCase();
  const template = NONE_OF[b] || '{broker} takes no {kind} orders here.';
  return template.replace('{kind}', KIND_WORDS[kind] || String(kind)).replace('{broker}', BROKER_NAMES[b] || String(broker || ''));
}

/** Every broker's rules per kind, as streaming/instruments/rules.py `table()` says them
 *  (null: not traded). */
export function rulesTable() {
  return Object.fromEntries(Object.keys(BROKER_NAMES).map((broker) => [
    broker, Object.fromEntries(KINDS.map((kind) => [kind, brokerTakes(broker, kind)])),
  ]));
}
