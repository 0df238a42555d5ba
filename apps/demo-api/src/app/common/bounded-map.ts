// The demo's own copy of the library's internal BoundedMap (not part of @tessera/session's API).
/**
 * A `Map` that holds at most `capacity` entries: storing a new key in a full map first
 * drops the oldest entry (first in, first out, in insertion order; storing a key again
 * keeps its place). A capacity of 0 stores nothing. Reads cost one `Map.get`, with no
 * allocation, so it can sit on a per-request path.
 *
 * A caller with its own eviction policy (expired entries first, busy ones last) checks
 * `isFull` before a `set` and deletes what it chooses while iterating, oldest first;
 * whatever room is still missing is then made by dropping the oldest.
 */
export class BoundedMap<K, V> implements Iterable<[K, V]> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`BoundedMap capacity must be a whole number, 0 or more (got ${capacity}).`);
    }
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether storing a new key would drop the oldest entry. */
  get isFull(): boolean {
    return this.entries.size >= this.capacity;
  }

  /** The value stored for `key`, if any (does not change the eviction order). */
  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Whether `key` is stored. */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value` for `key`, dropping the oldest entry first when `key` is new and the map is full. */
  set(key: K, value: V): this {
    if (this.capacity === 0) return this;
    if (this.entries.size >= this.capacity && !this.entries.has(key)) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, value);
    return this;
  }

  /** Removes `key`; true when it was stored. */
  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** The keys, oldest first. */
  /** Removes every entry. */
  clear(): void {
    this.entries.clear();
  }

  keys(): MapIterator<K> {
    return this.entries.keys();
  }

  /** The entries, oldest first; deleting while iterating is allowed. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries.entries();
  }
}
