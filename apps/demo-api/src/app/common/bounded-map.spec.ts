import { BoundedMap } from './bounded-map';

describe('BoundedMap', () => {
  it('stores and reads like a Map below its capacity', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1).set('b', 2);
    expect(map.get('a')).toBe(1);
    expect(map.has('b')).toBe(true);
    expect(map.get('c')).toBeUndefined();
    expect(map.size).toBe(2);
    expect(map.isFull).toBe(false);
    expect(map.delete('a')).toBe(true);
    expect(map.delete('a')).toBe(false);
    expect([...map]).toEqual([['b', 2]]);
    expect([...map.keys()]).toEqual(['b']);
  });

  it('drops the oldest inserted entry when a new key arrives in a full map', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.isFull).toBe(true);
    map.get('a'); // reading does not make an entry younger
    map.set('c', 3);
    expect([...map]).toEqual([
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('keeps the place of a key stored again, and drops nothing for it', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 10);
    expect([...map]).toEqual([
      ['a', 10],
      ['b', 2],
    ]);
  });

  it('stores nothing with a capacity of 0', () => {
    const map = new BoundedMap<string, number>(0);
    map.set('a', 1);
    expect(map.size).toBe(0);
    expect(map.get('a')).toBeUndefined();
  });

  it('lets a caller evict by its own rule while iterating, oldest first', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1).set('b', 20).set('c', 3);
    for (const [key, value] of map) if (value < 10) map.delete(key);
    expect([...map]).toEqual([['b', 20]]);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses the capacity %p', (capacity) => {
    expect(() => new BoundedMap(capacity)).toThrow(RangeError);
  });
});
