/*
 * This tab's part in "One connection per browser" (docs/streaming-contract.md), as the page
 * (main.js) runs it: alone (no tab link: its own transport), the leader (its transport
 * carries every tab's symbols and its frames go to the other tabs) or a follower (the
 * leader's frames; a resync reads the user's snapshot over HTTP). The decisions are
 * share.js's, the browser's channel and locks io/tab-link.js's.
 *
 * page: {state() (the reducer's), receive(frame), snapshot(snap) (one read or relayed:
 *        applied), ownPace(), status(status) (the leader's connection, shown), login()}
 */
import { newTabId } from '../contract.js';
import { canShare, positionOf } from '../share.js';
import { resumePosition } from '../state.js';
import { createTabLink } from './tab-link.js';

/** mode: the page's transport (`?transport=`); optOut: `?shared=0`. */
export function createSharing(win, { user, mode, optOut, snapshotUrl, page }) {
  // a leader tab holds the connection, the others follow: where the browser can (share.js)
  const shared = !!user && canShare({
    hasLocks: !!(win.navigator.locks && typeof win.navigator.locks.request === 'function'),
    hasBroadcast: typeof win.BroadcastChannel === 'function',
    mode,
    optOut,
  });
  let link = null; // the tab link when shared
  let transport = null; // this tab's own (it reaches the stream when alone or leading)
  let resumeOverride; // a new leader's first socket resumes from every tab's oldest position
  let followerStatus = 'connecting'; // the leader's connection, as it relays it
  let leaderStarted = false;
  let reading = false; // a follower's snapshot read is in flight
  const leadingOrAlone = () => !link || link.leading();

  /** A follower's resync (a gap, another epoch): the user's snapshot over HTTP, read only
   *  (no `tab`: the leader's socket holds the stream); relayed frames wait meanwhile. */
  async function readSnapshot() {
    if (reading) return;
    reading = true;
    try {
      const r = await win.fetch(snapshotUrl, {
        credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const snap = await r.json();
      reading = false;
      page.snapshot(snap);
    } catch (e) {
      reading = false;
      win.setTimeout(() => { if (page.state().awaitingSnapshot && !leadingOrAlone()) readSnapshot(); }, 2000);
    }
  }

  /** The tab link, once this tab's transport exists (when the page may share). */
  function attach(own) {
    transport = own;
    if (!shared) return;
    link = createTabLink({
      win,
      user,
      tab: newTabId(Math.random),
      hooks: {
        own: () => ({ symbols: Array.from(page.state().extraSymbols), position: positionOf(page.state()), pace: page.ownPace() }),
        lead(position) {
          resumeOverride = position;
          // pageShown: also after a pagehide stopped the transport (a page back from the bfcache)
          if (leaderStarted || transport.conn.stopped) transport.pageShown();
          else transport.start();
          leaderStarted = true;
        },
        leaderState: () => page.state(),
        subscribe(symbols) {
          transport.sendSymbols('subscribe', symbols);
          transport.sseSymbolsChanged();
        },
        unsubscribe(symbols) {
          transport.sendSymbols('unsubscribe', symbols);
          transport.sseSymbolsChanged();
        },
        pace: () => transport.paceChanged(),
        frame: (frame) => page.receive(frame),
        snapshot: (snap) => page.snapshot(snap),
        caughtUp(frames) {
          if (frames) for (const f of frames) page.receive(f);
          else readSnapshot();
        },
        status(status) {
          followerStatus = status;
          page.status(status);
        },
        role() { /* shown by state().share */ },
        connection: () => transport.conn.status,
        login: () => page.login(),
      },
    });
  }

  return {
    attach,
    leadingOrAlone,
    /** Whether frames reach this tab through a tab link (they are the leader's, for every tab). */
    linked: () => !!link,
    /** The tab link's plain copy for window.streamdesk.state(), null when alone. */
    info: () => (link ? link.info() : null),
    /** The stream's connection as this tab shows it: its own, or the leader's as relayed. */
    connection: () => (leadingOrAlone() ? transport.conn.status : followerStatus),
    /** The symbols the stream carries beyond the user's: this tab's, or (leading) every tab's. */
    streamSymbols: () => (link && link.leading() ? link.info().union : Array.from(page.state().extraSymbols)),
    /** The quote frames per second this socket asks (`pace`): this tab's, or every tab's. */
    pace: () => (link && link.leading() ? link.info().pace : page.ownPace()),
    /** Where this tab's socket resumes: a new leader's from every tab's oldest position. */
    position: () => (resumeOverride !== undefined ? resumeOverride : resumePosition(page.state())),
    forgetResume() { resumeOverride = undefined; },
    /** A frame this tab's transport received (and applied): to the other tabs too. */
    relay(frame) {
      if (frame.type === 'snapshot' || frame.type === 'resumed') resumeOverride = undefined;
      if (link) link.relay(frame);
    },
    relaySnapshot(snap) {
      resumeOverride = undefined;
      if (link) link.relaySnapshot(snap);
    },
    relayStatus(status) { if (link) link.relayStatus(status); },
    relayLogin() { if (link) link.relayLogin(); },
    /** A resync the reducer asked: this tab's transport, or (following) a snapshot read. */
    resync(reason) {
      if (leadingOrAlone()) transport.resync(reason);
      else readSnapshot();
    },
    /** This tab's own symbols changed: the stream follows (the leader's union, or our socket). */
    ownSymbolsChanged(type, changed) {
      if (link) return link.ownChanged();
      transport.sendSymbols(type, changed);
      transport.sseSymbolsChanged();
    },
    /** The stream opens: through the tab link (it decides who leads), else this tab's transport. */
    start() {
      if (link) link.start();
      else transport.start();
    },
    pageHidden() { if (link) link.pageHidden(); },
    pageShown() {
      if (link) link.pageShown();
      else transport.pageShown();
    },
  };
}
