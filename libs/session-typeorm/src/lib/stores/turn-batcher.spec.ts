import { TurnBatcher } from './turn-batcher';
import type { BatchEntry, TurnBatcherOptions } from './turn-batcher';

/** A batcher whose `run` answers `value:key` for every key but `missing`, recording each batch's keys. */
function recording(options: Omit<TurnBatcherOptions<string, { value: string }>, 'run'>, fail?: (keys: string[]) => unknown) {
  const batches: string[][] = [];
  const batcher = new TurnBatcher<string, { value: string }>({
    ...options,
    run: async (batch: ReadonlyArray<BatchEntry<string>>) => {
      const keys = batch.map((entry) => entry.key);
      batches.push(keys);
      const error = fail?.(keys);
      if (error) throw error;
      return new Map(batch.filter((entry) => entry.key !== 'missing').map((entry) => [entry.key, { value: `${entry.item}:${entry.key}` }]));
    },
  });
  return { batcher, batches };
}

describe('TurnBatcher', () => {
  it('share: runs the calls of one turn as one batch, each key once, later callers getting copies', async () => {
    const { batcher, batches } = recording({ sameKey: 'share', copy: (result) => ({ ...result }) });
    const results = await Promise.all(['a', 'b', 'a', 'missing', 'a'].map((key) => batcher.add(key, 'found')));
    expect(batches).toEqual([['a', 'b', 'missing']]);
    expect(results).toEqual([{ value: 'found:a' }, { value: 'found:b' }, { value: 'found:a' }, null, { value: 'found:a' }]);
    expect(results[2]).not.toBe(results[0]);
    expect(results[4]).not.toBe(results[2]);
  });

  it('queue: a second call for a key waits for the first and goes in a later batch', async () => {
    const { batcher, batches } = recording({ sameKey: 'queue' });
    const results = await Promise.all([batcher.add('a', '1'), batcher.add('b', '1'), batcher.add('a', '2')]);
    expect(batches).toEqual([['a', 'b'], ['a']]);
    expect(results).toEqual([{ value: '1:a' }, { value: '1:b' }, { value: '2:a' }]);
  });

  it('queue: a call for a key in flight waits for it, even when made in a later turn', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const batches: string[][] = [];
    const batcher = new TurnBatcher<string, string>({
      sameKey: 'queue',
      run: async (batch) => {
        batches.push(batch.map((entry) => entry.key));
        if (batches.length === 1) await gate;
        return new Map(batch.map((entry) => [entry.key, entry.item]));
      },
    });
    const first = batcher.add('a', '1');
    await new Promise((resolve) => setImmediate(resolve));
    const second = batcher.add('a', '2');
    const other = batcher.add('b', '2');
    expect(await other).toBe('2');
    expect(batches).toEqual([['a'], ['b']]);
    open();
    expect(await Promise.all([first, second])).toEqual(['1', '2']);
    expect(batches).toEqual([['a'], ['b'], ['a']]);
  });

  it.each(['share', 'queue'] as const)('%s: carries at most 100 calls per batch', async (sameKey) => {
    const { batcher, batches } = recording({ sameKey });
    const keys = Array.from({ length: 250 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((key) => batcher.add(key, 'x')));
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(keys);
  });

  it('runs a batch that failed with a retryable error again one call at a time', async () => {
    const retryable = Object.assign(new Error('deadlock'), { code: 'retry' });
    const { batcher, batches } = recording(
      { sameKey: 'queue', retryAlone: (error) => (error as { code?: string }).code === 'retry' },
      (keys) => (keys.length > 1 ? retryable : keys[0] === 'bad' ? new Error('bad alone') : undefined),
    );
    const outcomes = await Promise.allSettled(['a', 'bad', 'b'].map((key) => batcher.add(key, 'x')));
    expect(batches).toEqual([['a', 'bad', 'b'], ['a'], ['bad'], ['b']]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('fails every caller of a batch on any other error, and frees its keys', async () => {
    const { batcher, batches } = recording({ sameKey: 'queue', retryAlone: () => false }, (keys) =>
      batches.length === 1 ? new Error(`failed ${keys.join()}`) : undefined,
    );
    const outcomes = await Promise.allSettled([batcher.add('a', 'x'), batcher.add('b', 'x')]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await batcher.add('a', 'y')).toEqual({ value: 'y:a' });
  });

  it('share: fails every caller of a key when its batch fails', async () => {
    const { batcher } = recording({ sameKey: 'share' }, () => new Error('down'));
    const outcomes = await Promise.allSettled([batcher.add('a', 'x'), batcher.add('a', 'x')]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });
});
