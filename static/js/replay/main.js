/*
 * The replay page's client: a recorded day on the dashboard (docs/streaming-contract.md,
 * "Replay page"). Its frames come from its own socket (`/ws/replay/<day>/`) and go through
 * the live page's reducer and renderer, timed by the replayed clock. Nothing of the live
 * client is here: no connection shared with other tabs, no SSE or polling fallback, no
 * order ticket, no watchlist editing, no notifications. ES modules, no build step.
 *
 * For tests: window.streamdesk = {state(), replay()}.
 */
import { parseFrame, socketBase } from '../stream/contract.js';
import { applyFrame, initialState, takeEffects } from '../stream/state.js';
import { plainState } from '../stream/inspect.js';
import { createRenderer } from '../stream/render/page.js';
import { commands, createReplayClock, firedText, jumpTarget, stateText, timeText } from './controls.js';

const root = document.getElementById('dashboard');
const banner = document.getElementById('replay-banner');
if (root && banner) start(root, banner);

function start(root, banner) {
  const el = (name) => banner.querySelector(`[data-replay-${name}]`);
  const ui = {
    at: el('at'), state: el('state'), play: el('play'), scrub: el('scrub'), jump: el('jump'), said: el('said'),
    alert: el('alert'), fired: el('fired'),
  };
  const speeds = [...banner.querySelectorAll('[data-replay-speed]')];
  const clock = createReplayClock();
  let state = initialState();
  let socket = null;
  let renderPending = false;
  let scrubbing = false;

  const renderer = createRenderer(document, root, {
    serverNow: () => clock.now(Date.now()) ?? Date.now(),
    now: () => Date.now(),
    silentMs: () => 0,
  }, window);
  renderer.connection('replay');

  function connect(at) {
    const base = socketBase(root.dataset.wsPath, location);
    socket = new WebSocket(at ? `${base}?at=${Math.round(at)}` : base);
    socket.onmessage = (event) => receive(parseFrame(event.data));
    socket.onclose = () => {
      socket = null;
      if (clock.view().state === 'closed') return;
      const at = clock.now(Date.now());
      clock.heard({ type: 'replay', state: 'closed' }, Date.now());
      drawBanner();
      // the server went away (a restart): open the day again where it stood
      setTimeout(() => connect(at), 1000);
    };
  }

  function send(command) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(command));
  }

  function receive(frame) {
    if (!frame || typeof frame.type !== 'string') return;
    clock.heard(frame, Date.now());
    if (frame.type === 'replay') { drawBanner(); return; }
    if (frame.type === 'replay_error') {
      clock.heard({ type: 'replay', state: 'closed' }, Date.now());
      say(frame.message);
      drawBanner();
      return;
    }
    if (frame.type === 'replay_refused' || frame.type === 'replay_said') { say(frame.message); return; }
    const [next, effects] = takeEffects(applyFrame(state, frame));
    for (const e of effects) {
      // a gap in the account frames: the day again from where it stands (a new snapshot)
      if (e.type === 'resync') send(commands.seek(clock.now(Date.now())));
    }
    if (next === state) return;
    state = next;
    renderer.position(state);
    drawFired();
    scheduleRender();
  }

  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      renderer.render(state, true);
    });
  }

  /** The alerts set in this replay that fired (the state's: its `alert` frames, and the
   *  snapshot a jump took), oldest first: when each would have fired, tagged REPLAY. */
  function drawFired() {
    const fired = [...state.alertTriggers].reverse();
    const shown = [...ui.fired.children].map((li) => li.getAttribute('data-fired'));
    if (shown.join() === fired.map((t) => String(t.id)).join()) return;
    ui.fired.replaceChildren(...fired.map((t) => {
      const li = document.createElement('li');
      li.setAttribute('data-fired', String(t.id));
      li.textContent = firedText(t);
      return li;
    }));
  }

  function say(text) {
    ui.said.textContent = text || '';
  }

  function drawBanner() {
    const { state: s, speed, first, last } = clock.view();
    const at = clock.now(Date.now());
    ui.at.textContent = timeText(at);
    if (at !== null) ui.at.setAttribute('datetime', new Date(at).toISOString());
    ui.at.setAttribute('data-ms', at === null ? '' : String(at));
    ui.state.textContent = stateText(s, speed);
    banner.setAttribute('data-state', s);
    const ready = s !== 'closed' && s !== 'opening' && first !== null;
    ui.play.disabled = !ready || s === 'ended';
    ui.play.textContent = s === 'playing' ? 'Pause' : 'Play';
    ui.play.setAttribute('aria-pressed', String(s === 'playing'));
    for (const b of speeds) {
      b.disabled = !ready;
      b.setAttribute('aria-pressed', String(b.getAttribute('data-replay-speed') === speed));
    }
    ui.scrub.disabled = !ready;
    ui.jump.disabled = !ready;
    for (const field of ui.alert.elements) field.disabled = !ready;
    if (first !== null) {
      ui.scrub.min = String(first);
      ui.scrub.max = String(last);
      if (!scrubbing && at !== null) ui.scrub.value = String(at);
    }
  }

  ui.play.addEventListener('click', () => {
    send(clock.view().state === 'playing' ? commands.pause() : commands.play());
  });
  for (const b of speeds) {
    b.addEventListener('click', () => send(commands.speed(b.getAttribute('data-replay-speed'))));
  }
  ui.scrub.addEventListener('input', () => { scrubbing = true; });
  ui.scrub.addEventListener('change', () => {
    scrubbing = false;
    say('');
    send(commands.seek(Number(ui.scrub.value)));
  });
  ui.jump.addEventListener('change', () => {
    const { first, last } = clock.view();
    const target = jumpTarget(ui.jump.value, first, last);
    if (target.error) { say(target.error); return; }
    say('');
    send(commands.seek(target.at));
  });

  ui.alert.addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(ui.alert);
    send(commands.alert(form.get('symbol'), form.get('condition'), form.get('level')));
  });
  // the replayed time moves on in the banner four times a second, the values' ages each second
  let beats = 0;
  setInterval(() => {
    drawBanner();
    if (++beats % 4 === 0) renderer.freshness();
  }, 250);

  window.streamdesk = {
    state: () => plainState(state, {
      connection: 'replay', share: null, dataState: renderer.dataState(), clock: {}, conn: { socketUrl: socket ? socket.url : null },
    }),
    replay: () => ({ ...clock.view(), at: clock.now(Date.now()) }),
    send,
  };
  drawBanner();
  connect(null);
}
