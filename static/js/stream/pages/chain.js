/*
 * The option chain page's behaviour: the visible options are this tab's own symbols
 * (`subscribe` on open, `unsubscribe` of what left the window when the expiration or the
 * strike count changes, and on leave), a new window is fetched from /api/chain/…, a
 * rate limit is retried after the seconds the server names (counted down on the page),
 * other errors are said in words. The stream itself is main.js's.
 */
import { chainQuery, chainSymbols, errorMessage, windowChange } from '../chain.js';

/**
 * env: {fetch, setTimeout, clearTimeout, setInterval, clearInterval, replaceUrl(url), assign(url)}
 * hooks: {subscribe(symbols), unsubscribe(symbols), rendered()}
 */
export function createChainPage({ root, view, env, hooks }) {
  const apiBase = root.dataset.chainUrl;
  const form = root.querySelector('#chain-form');
  const expirationSelect = root.querySelector('#chain-expiration');
  const strikesSelect = root.querySelector('#chain-strikes');
  const symbolInput = root.querySelector('#chain-symbol-input');
  let streamed = []; // the symbols this page subscribed
  let retry = null; // {timer, ticker, query}
  let loading = 0; // the newest load's number: older answers are dropped

  function adopt(chain) {
    view.setChain(chain);
    const next = [...chainSymbols(chain), chain.underlying];
    const { add, remove } = windowChange(streamed, next);
    if (remove.length) hooks.unsubscribe(remove);
    if (add.length) hooks.subscribe(add);
    streamed = next;
    hooks.rendered();
  }

  function stopRetry() {
    if (!retry) return;
    env.clearTimeout(retry.timer);
    env.clearInterval(retry.ticker);
    retry = null;
  }

  /** A rate limit: say so, count down, then load again. */
  function retryLater(query, body) {
    stopRetry();
    const seconds = Math.max(1, Math.min(120, Number(body.retry_in) || 5));
    let left = seconds;
    view.error(errorMessage(body, left), 'rate_limited');
    retry = {
      query,
      ticker: env.setInterval(() => { left -= 1; view.error(errorMessage(body, Math.max(0, left)), 'rate_limited'); }, 1000),
      timer: env.setTimeout(() => { stopRetry(); load(query); }, seconds * 1000),
    };
  }

  async function load(query) {
    const mine = ++loading;
    stopRetry();
    let response;
    let body = null;
    try {
      response = await env.fetch(chainQuery(apiBase, query), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      body = await response.json();
    } catch (e) {
      if (mine === loading) view.error('The chain could not be loaded (network); the table shows the last values.', 'network');
      return;
    }
    if (mine !== loading) return;
    if (response.ok) {
      adopt(body);
      env.replaceUrl(chainQuery(location.pathname, { expiration: body.expiration, strikes: body.strikes }));
    } else if (response.status === 429) {
      retryLater(query, body);
    } else {
      view.error(errorMessage(body), body && body.code);
    }
  }

  const currentQuery = () => ({
    expiration: expirationSelect ? expirationSelect.value : null,
    strikes: strikesSelect ? Number(strikesSelect.value) : null,
  });

  if (form) {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const symbol = (symbolInput && symbolInput.value.trim().toUpperCase()) || '';
      const chain = view.chain();
      if (symbol && (!chain || symbol !== chain.underlying)) {
        env.assign(`/chain/${encodeURIComponent(symbol)}?strikes=${currentQuery().strikes || ''}`);
        return;
      }
      load(currentQuery());
    });
  }
  for (const select of [expirationSelect, strikesSelect]) {
    if (select) select.addEventListener('change', () => load(currentQuery()));
  }

  return {
    /** The server-rendered chain (or its error) first; returns the symbols to stream. */
    start(chain, error) {
      if (chain) {
        view.setChain(chain);
        streamed = [...chainSymbols(chain), chain.underlying];
      }
      if (error && error.code === 'rate_limited') retryLater(currentQuery(), error);
      else if (error) view.error(errorMessage(error), error.code);
      return streamed;
    },
    /** Leaving the page: release the options. */
    leave() {
      stopRetry();
      if (streamed.length) hooks.unsubscribe(streamed);
      streamed = [];
    },
    load,
    render: (state, now) => view.render(state, now),
    streamed: () => streamed.slice(),
  };
}
