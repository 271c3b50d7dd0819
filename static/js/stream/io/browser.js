/*
 * The browser's APIs as the `env` the page's modules take (io/transport.js, pages/chain.js):
 * they never reach for `window` themselves, so node tests hand them fakes instead.
 */

/** The window's sockets, fetch, timers, clock, randomness and navigation. */
export function browserEnv(win) {
  return {
    WebSocket: win.WebSocket,
    EventSource: win.EventSource,
    fetch: (url, opts) => win.fetch(url, opts),
    AbortController: win.AbortController,
    setTimeout: (fn, ms) => win.setTimeout(fn, ms),
    clearTimeout: (id) => win.clearTimeout(id),
    setInterval: (fn, ms) => win.setInterval(fn, ms),
    clearInterval: (id) => win.clearInterval(id),
    now: () => Date.now(),
    random: Math.random,
    isOffline: () => win.navigator.onLine === false,
    replaceUrl: (url) => win.history.replaceState(null, '', url),
    assign: (url) => win.location.assign(url),
  };
}
