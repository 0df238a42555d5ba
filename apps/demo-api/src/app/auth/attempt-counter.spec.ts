import { AttemptCounter } from './attempt-counter';

const WINDOW = 1_000;

describe('AttemptCounter', () => {
  it('counts failures and attempts in flight per key, and forgets them when the window ends', () => {
    const counter = new AttemptCounter(WINDOW, 10);
    const window = counter.reserve('a', 0);
    expect(window).toMatchObject({ failures: 0, inFlight: 1, startedAt: 0 });
    counter.fail('a', window, 10);
    expect(counter.get('a', 10)).toMatchObject({ failures: 1, inFlight: 0, lastFailureAt: 10 });
    expect(counter.get('a', WINDOW)).toBeUndefined();
    expect(counter.size).toBe(0);
  });

  it('counts a failure whose window ended while it was in flight in the new window', () => {
    const counter = new AttemptCounter(WINDOW, 10);
    const window = counter.reserve('a', 0);
    counter.fail('a', window, WINDOW + 5);
    expect(counter.get('a', WINDOW + 5)).toMatchObject({ failures: 1, inFlight: 0, startedAt: WINDOW + 5 });
  });

  it('drops a key once nothing is counted nor in flight', () => {
    const counter = new AttemptCounter(WINDOW, 10);
    counter.release('a', counter.reserve('a', 0));
    expect(counter.size).toBe(0);
    const failed = counter.reserve('b', 0);
    counter.fail('b', failed, 0);
    counter.clear('b', counter.reserve('b', 1));
    expect(counter.size).toBe(0);
  });

  it('finding 10: never holds more than maxKeys keys, dropping ended windows, then idle ones, before busy ones', () => {
    const counter = new AttemptCounter(WINDOW, 3);
    counter.fail('old', counter.reserve('old', 0), 0);
    counter.reserve('busy', 600);
    counter.fail('idle', counter.reserve('idle', 700), 700);
    counter.reserve('new', WINDOW + 1);
    expect(counter.get('old', WINDOW + 1)).toBeUndefined();
    counter.reserve('newer', WINDOW + 2);
    expect(counter.size).toBe(3);
    expect(counter.get('busy', WINDOW + 2)).toBeDefined();
    expect(counter.get('idle', WINDOW + 2)).toBeUndefined();
    for (let i = 0; i < 100; i += 1) counter.reserve(`flood-${i}`, WINDOW + 3);
    expect(counter.size).toBe(3);
  });
});
