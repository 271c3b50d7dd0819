/*
 * The chart's expected-move band (docs/streaming-contract.md, "What the chart page shows"):
 * ±1σ of the underlying to the nearest expiration at least a day out, from the chain API
 * (`GET /api/chain/<SYM>?strikes=10`, once at load and every 60 s: never per tick), its
 * numbers from expected-move.js `chartBand`. The at-the-money call and put stream as the
 * tab's own symbols, so the chain carries their IV (tastytrade's IV is its streamed
 * Greeks'): an answer without it is asked once more as soon as their IV has streamed. Drawn as a shaded band (a series primitive
 * under the candles, in the price scale's autoscale) with its edges as price lines
 * (+1σ / −1σ on the axis); the legend under the chart says it in words, or why there is
 * none (never a made-up number).
 *
 * For tests: the card's data-band (loading | drawn | none) and, drawn, data-band-expiration,
 * data-band-move, data-band-price, data-band-iv, data-band-days.
 */
import { atmSymbols, chartBand } from '../expected-move.js';

/** How often the chain is asked again (ms). */
export const BAND_REFRESH_MS = 60_000;
const FILL = 'rgba(98, 160, 234, 0.10)';
const EDGE = 'rgba(98, 160, 234, 0.85)';
const DASHED = 2; // LineStyle.Dashed

/** A band from `low` to `high` across the pane, under the candles (a series primitive). */
class BandPrimitive {
  constructor() {
    this.band = null;
    this.series = null;
    this.requestUpdate = null;
    const renderer = { draw: () => {}, drawBackground: (target) => this.paint(target) };
    this.views = [{ zOrder: () => 'bottom', renderer: () => (this.band ? renderer : null) }];
  }

  attached({ series, requestUpdate }) { this.series = series; this.requestUpdate = requestUpdate; }

  detached() { this.series = null; this.requestUpdate = null; }

  paneViews() { return this.views; }

  autoscaleInfo() {
    return this.band ? { priceRange: { minValue: this.band.low, maxValue: this.band.high } } : null;
  }

  set(band) {
    this.band = band;
    if (this.requestUpdate) this.requestUpdate();
  }

  paint(target) {
    const top = this.series && this.series.priceToCoordinate(this.band.high);
    const bottom = this.series && this.series.priceToCoordinate(this.band.low);
    if (top === null || bottom === null || top === undefined || bottom === undefined) return;
    target.useBitmapCoordinateSpace(({ context, bitmapSize, verticalPixelRatio }) => {
      context.fillStyle = FILL;
      context.fillRect(0, Math.round(top * verticalPixelRatio), bitmapSize.width, Math.round((bottom - top) * verticalPixelRatio));
    });
  }
}

/**
 * @param {HTMLElement} card  the [data-chart] section (data-band-url, or data-band-none: the
 *   server's sentence for a symbol without a chain)
 * @param {{serverNow: () => number, fetch: typeof fetch, subscribe?: (symbols: string[]) => void,
 *   unsubscribe?: (symbols: string[]) => void}} env
 */
export function createChartBand(card, env) {
  const url = card.getAttribute('data-band-url') || '';
  const legend = card.querySelector('[data-chart-band]');
  const name = card.getAttribute('data-display') || card.getAttribute('data-symbol') || '';
  const primitive = new BandPrimitive();
  let series = null;
  let lines = [];
  let band = null;
  let timer = null;
  let expiration = null; // the expiration asked last (null: the chain's first listed)
  let asks = 0;
  let streamed = []; // the ATM call and put this page subscribed
  let awaitingIv = false; // the last answer had no ATM IV: ask again once it has streamed

  const say = (state, text) => {
    card.setAttribute('data-band', state);
    if (legend && legend.textContent !== text) legend.textContent = text;
  };

  function draw() {
    primitive.set(band);
    if (!series) return;
    for (const line of lines) series.removePriceLine(line);
    lines = band ? [
      series.createPriceLine({ price: band.high, color: EDGE, lineWidth: 1, lineStyle: DASHED, axisLabelVisible: true, title: '+1σ' }),
      series.createPriceLine({ price: band.low, color: EDGE, lineWidth: 1, lineStyle: DASHED, axisLabelVisible: true, title: '−1σ' }),
    ] : [];
  }

  function show(next) {
    band = next;
    for (const k of ['expiration', 'move', 'price', 'iv', 'days']) {
      if (band) card.setAttribute(`data-band-${k}`, String(band[k])); else card.removeAttribute(`data-band-${k}`);
    }
    draw();
  }

  async function getChain(asked) {
    asks += 1;
    const query = `strikes=10${asked ? `&expiration=${encodeURIComponent(asked)}` : ''}`;
    let r = null;
    let body = null;
    try {
      r = await env.fetch(`${url}?${query}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      body = await r.json().catch(() => null);
    } catch (e) {
      r = null;
    }
    if (r && r.ok && body && Array.isArray(body.rows)) return { chain: body };
    if (body && body.code === 'no_options') return { why: `No expected move: ${name} lists no options.` };
    const reason = (body && (body.message || body.error)) || (r ? `HTTP ${r.status}` : 'network error');
    return { why: `No expected move: the option chain could not be read (${reason}); asking again in a minute.` };
  }

  /** Stream the answer's ATM call and put (the owner then holds their Greeks: the chain's IV). */
  function stream(chain) {
    const next = atmSymbols(chain);
    if (next.join() === streamed.join()) return;
    if (streamed.length && env.unsubscribe) env.unsubscribe(streamed.filter((s) => !next.includes(s)));
    if (next.length && env.subscribe) env.subscribe(next);
    streamed = next;
  }

  /** Ask the chain (the expiration asked last, or the one the first answer names) and draw. */
  async function refresh() {
    if (timer) clearTimeout(timer);
    timer = null;
    awaitingIv = false;
    let answer = await getChain(expiration);
    let view = answer.chain ? chartBand({ name, chain: answer.chain, now: env.serverNow() }) : null;
    if (view && view.ask) { // the first listed is under a day away: ask the one that is not
      expiration = view.ask;
      answer = await getChain(expiration);
      view = answer.chain ? chartBand({ name, chain: answer.chain, now: env.serverNow() }) : null;
    }
    if (answer.chain) stream(answer.chain);
    if (!view || view.move === null) {
      show(null);
      say('none', view ? view.text : answer.why);
      awaitingIv = Boolean(view && view.missing === 'iv' && streamed.length);
    } else {
      show(view);
      say('drawn', view.text);
    }
    timer = setTimeout(refresh, BAND_REFRESH_MS);
  }

  if (url) {
    say('loading', 'Expected move: loading the option chain…');
    refresh();
  } else {
    card.setAttribute('data-band', 'none');
  }

  return {
    /** The stream's state: once the ATM options' IV has streamed, an answer that lacked it
     *  is asked again (once; then every 60 s as ever). */
    render(state) {
      if (!awaitingIv || !state.greeks) return;
      if (streamed.some((s) => { const g = state.greeks.get(s); return g && typeof g.iv === 'number' && g.iv > 0; })) refresh();
    },
    /** The candle series exists (the first history drawn): the band goes on it. */
    attach(candleSeries) {
      if (series === candleSeries) return;
      series = candleSeries;
      lines = [];
      series.attachPrimitive(primitive);
      draw();
    },
    /** What is drawn, read back from the library (the price lines' options), for tests. */
    snapshot() {
      return {
        state: card.getAttribute('data-band'),
        text: legend ? legend.textContent : '',
        asks,
        lines: series ? series.priceLines().map((l) => ({ price: l.options().price, title: l.options().title })) : [],
      };
    },
    stop() { if (timer) clearTimeout(timer); },
  };
}
