// The real one, taken at load: a test that fakes timers afterwards (jest.useFakeTimers)
// must not leave every call waiting for a timer tick that never comes.
const runAfterIo = setImmediate;

/** Most calls one batch carries. */
const MAX_BATCH = 100;

/**
 * What a call does about an earlier call for the same key:
 * - `share`: one of this turn answers both (lookups: one row for every caller of a session);
 * - `queue`: it waits until the earlier one (of this turn or in flight) is done, and goes
 *   in a later batch (rotations: each must see the outcome of the one before it).
 */
export type SameKeyPolicy = 'share' | 'queue';

/** One call in a batch: its key (a batch never holds one key twice) and what it asks. */
export interface BatchEntry<Item> {
  readonly key: string;
  readonly item: Item;
}

/** How a `TurnBatcher` runs its batches. */
export interface TurnBatcherOptions<Item, Result> {
  /** What a call does about an earlier call for the same key. */
  sameKey: SameKeyPolicy;
  /** Runs one batch (distinct keys); the results by key, a key left out answering `null`. */
  run(batch: ReadonlyArray<BatchEntry<Item>>): Promise<Map<string, Result>>;
  /** For `share`: the copy each caller after the first gets, so none sees another's changes. Default: the same result. */
  copy?(result: Result): Result;
  /** Whether a batch of several that failed with this error is run again one call at a time. Default: never. */
  retryAlone?(error: unknown): boolean;
}

/** A call waiting for its batch; `next` chains the later callers of a shared key. */
interface Waiter<Item, Result> extends BatchEntry<Item> {
  resolve(result: Result | null): void;
  reject(error: unknown): void;
  next: Waiter<Item, Result> | undefined;
}

/**
 * Gathers the calls made in one turn of the event loop and runs them together once the
 * turn has done its I/O callbacks, in batches of at most `MAX_BATCH`: one round trip for
 * all of them instead of one each. A call made alone is a batch of its own.
 */
export class TurnBatcher<Item, Result> {
  /** `queue`: calls waiting for a batch, in arrival order. */
  private queued: Array<Waiter<Item, Result>> = [];
  /** `share`: the first call of each key this turn, later callers chained to it. */
  private readonly shared = new Map<string, Waiter<Item, Result>>();
  /** `queue`: keys with a call in flight. */
  private readonly inFlight = new Set<string>();
  private scheduled = false;

  constructor(private readonly options: TurnBatcherOptions<Item, Result>) {}

  /** Answers with the batch's result for `key`, or `null` when the batch returned none. */
  add(key: string, item: Item): Promise<Result | null> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter<Item, Result> = { key, item, resolve, reject, next: undefined };
      if (this.options.sameKey === 'queue') {
        this.queued.push(waiter);
      } else {
        let last = this.shared.get(key);
        if (last) {
          while (last.next) last = last.next;
          last.next = waiter;
        } else {
          this.shared.set(key, waiter);
        }
      }
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    runAfterIo(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    let batch: Array<Waiter<Item, Result>> = [];
    if (this.options.sameKey === 'queue') {
      const waiting = this.queued;
      this.queued = [];
      for (const waiter of waiting) {
        // A key already in flight (or earlier in this batch) waits for a later batch.
        if (this.inFlight.has(waiter.key)) {
          this.queued.push(waiter);
          continue;
        }
        this.inFlight.add(waiter.key);
        batch.push(waiter);
        if (batch.length === MAX_BATCH) {
          void this.runBatch(batch);
          batch = [];
        }
      }
    } else {
      for (const waiter of this.shared.values()) {
        batch.push(waiter);
        if (batch.length === MAX_BATCH) {
          void this.runBatch(batch);
          batch = [];
        }
      }
      this.shared.clear();
    }
    if (batch.length > 0) void this.runBatch(batch);
  }

  private async runBatch(batch: Array<Waiter<Item, Result>>): Promise<void> {
    try {
      let results: Map<string, Result>;
      try {
        results = await this.options.run(batch);
      } catch (error) {
        if (batch.length === 1 || !this.options.retryAlone?.(error)) throw error;
        await Promise.all(
          batch.map((waiter) =>
            this.options.run([waiter]).then(
              (alone) => this.settle(waiter, alone.get(waiter.key) ?? null),
              (failure: unknown) => this.fail(waiter, failure),
            ),
          ),
        );
        return;
      }
      for (const waiter of batch) this.settle(waiter, results.get(waiter.key) ?? null);
    } catch (error) {
      for (const waiter of batch) this.fail(waiter, error);
    } finally {
      if (this.options.sameKey === 'queue') {
        for (const waiter of batch) this.inFlight.delete(waiter.key);
        if (this.queued.length > 0) this.schedule();
      }
    }
  }

  private settle(first: Waiter<Item, Result>, result: Result | null): void {
    first.resolve(result);
    const copy = this.options.copy;
    for (let waiter = first.next; waiter; waiter = waiter.next) waiter.resolve(result && copy ? copy(result) : result);
  }

  private fail(first: Waiter<Item, Result>, error: unknown): void {
    for (let waiter: Waiter<Item, Result> | undefined = first; waiter; waiter = waiter.next) waiter.reject(error);
  }
}
