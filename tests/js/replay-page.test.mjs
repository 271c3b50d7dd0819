// static/js/replay/controls.js: the replay page's clock, times and commands.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { commands, createReplayClock, jumpTarget, stateText, timeText } from '../../static/js/replay/controls.js';

// 2026-11-27 09:30:00 New York (EST, UTC-5) = 14:30:00 UTC
const OPEN = Date.UTC(2026, 10, 27, 14, 30, 0);
const CLOSE = Date.UTC(2026, 10, 27, 21, 0, 0);
const status = (state, replay, speed = '1') => ({ type: 'replay', state, replay, speed, first: OPEN, last: CLOSE, day: '2026-11-27' });

test('the replayed time is the server\'s, moved on at the speed only while the day plays', () => {
  const clock = createReplayClock();
  assert.equal(clock.now(0), null);
  clock.heard(status('paused', OPEN + 60_000), 1000);
  assert.equal(clock.now(5000), OPEN + 60_000); // paused: it stands
  clock.heard(status('playing', OPEN + 60_000, '10'), 2000);
  assert.equal(clock.now(2500), OPEN + 65_000); // 0.5 s at 10x
  // never more than a second of the speed past what the server said (a frame is late)
  assert.equal(clock.now(60_000), OPEN + 70_000);
  assert.deepEqual(clock.view(), { state: 'playing', speed: '10', first: OPEN, last: CLOSE });
});

test('a frame\'s replay tag moves the time on, never back; a status sets it (a jump back)', () => {
  const clock = createReplayClock();
  clock.heard(status('paused', OPEN + 10_000), 0);
  clock.heard({ type: 'quotes', replay: OPEN + 20_000 }, 0);
  assert.equal(clock.now(0), OPEN + 20_000);
  clock.heard({ type: 'quotes', replay: OPEN + 15_000 }, 0);
  assert.equal(clock.now(0), OPEN + 20_000);
  clock.heard(status('seeking', OPEN + 5_000), 0);
  assert.equal(clock.now(0), OPEN + 5_000);
  assert.equal(clock.view().state, 'seeking');
});

test('the time stops at the day\'s last record', () => {
  const clock = createReplayClock();
  clock.heard(status('playing', CLOSE - 100, '60'), 0);
  assert.equal(clock.now(500), CLOSE);
});

test('times are New York\'s, HH:MM:SS', () => {
  assert.equal(timeText(OPEN), '09:30:00');
  assert.equal(timeText(CLOSE - 1000), '15:59:59');
  assert.equal(timeText(null), '—');
});

test('a jump to HH:MM is that time of the recorded day in New York; outside it, a sentence', () => {
  assert.deepEqual(jumpTarget('10:31', OPEN, CLOSE), { at: OPEN + 61 * 60_000 });
  assert.deepEqual(jumpTarget('9:30', OPEN, CLOSE), { at: OPEN });
  assert.deepEqual(jumpTarget('08:00', OPEN, CLOSE), {
    error: 'The day was recorded from 09:30:00 to 16:00:00 New York; 08:00 is outside it.',
  });
  assert.deepEqual(jumpTarget('25:00', OPEN, CLOSE), { error: '25:00 is not a time of day (HH:MM).' });
  assert.deepEqual(jumpTarget('', OPEN, CLOSE), { error: 'Nothing is not a time of day (HH:MM).' });
  // a summer day: New York is UTC-4
  const summer = Date.UTC(2026, 6, 1, 13, 30, 0);
  assert.deepEqual(jumpTarget('10:00', summer, summer + 6.5 * 3600_000), { at: summer + 30 * 60_000 });
});

test('the commands are the contract\'s', () => {
  assert.deepEqual(commands.play(), { op: 'play' });
  assert.deepEqual(commands.pause(), { op: 'pause' });
  assert.deepEqual(commands.speed(60), { op: 'speed', speed: '60' });
  assert.deepEqual(commands.seek(OPEN + 0.4), { op: 'seek', at: OPEN });
  assert.equal(stateText('playing', '10'), 'playing at 10×');
  assert.equal(stateText('ended', '1'), 'the day is over');
});

test('an alert set in a replay is the contract\'s command; a fired one says when, tagged REPLAY', async () => {
  const { firedText } = await import('../../static/js/replay/controls.js');
  assert.deepEqual(commands.alert(' spy ', 'above', ' 590.5 '), { op: 'alert', symbol: 'SPY', condition: 'above', level: '590.5' });
  assert.deepEqual(commands.alert(null, null, null), { op: 'alert', symbol: '', condition: '', level: '' });
  assert.equal(
    firedText({ at: OPEN + 61 * 60_000 + 5000, message: 'SPY rose to 590.10, above 590.00' }),
    'REPLAY alert at 10:31:05 New York: SPY rose to 590.10, above 590.00',
  );
});
