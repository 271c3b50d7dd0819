/*
 * The page's state as a plain copy (JSON, no Maps), for tests and debugging: what
 * window.streamdesk.state() answers (tests/browser/README.md). Pure: handed the reducer's
 * state and what the page keeps beside it.
 */
import { formatPosition } from './contract.js';
import { isSimulated, orderedOrders } from './state.js';

/** page: {connection (as this tab shows it), share (the tab link's info, or null),
 *  dataState (the renderer's), clock: {lastFrameAt, skew}, conn (the transport's)} */
export function plainState(state, { connection, share, dataState, clock, conn: c }) {
  const accounts = Array.from(state.accounts.values(), (a) => ({ ...a, positions: Array.from(a.positions.values()) }));
  return JSON.parse(JSON.stringify({
    connection,
    share,
    snapshots: state.snapshots,
    epoch: state.epoch,
    seq: state.seq,
    position: formatPosition(state.epoch, state.seq),
    canResume: state.canResume,
    simulated: isSimulated(state),
    awaitingSnapshot: state.awaitingSnapshot,
    accounts,
    quotes: Object.fromEntries(state.quotes),
    greeks: Object.fromEntries(state.greeks),
    orders: orderedOrders(state),
    links: Array.from(state.links.values()),
    watchlist: state.watchlist,
    alerts: state.alerts,
    alertTriggers: state.alertTriggers,
    extraSymbols: Array.from(state.extraSymbols),
    subscriptions: state.subscriptions,
    newestQuoteT: state.newestQuoteT,
    staleAfterMs: state.staleAfterMs,
    freshness: state.freshness,
    dataState,
    lastFrameAt: clock.lastFrameAt,
    skew: clock.skew,
    reconnects: c.reconnects,
    connects: c.connects,
    socketUrl: c.socketUrl,
    lastRetry: c.lastRetry,
    failures: c.failures,
    attempt: c.attempt,
    fallback: c.fallback,
    sse: !!c.es,
    lastReason: c.lastReason,
    lastClose: c.lastClose,
  }));
}
