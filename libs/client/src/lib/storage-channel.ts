import type { ChannelLike, ChannelMessageEvent, StorageLike } from './client.types';

/** Where `storage` events arrive: the window. */
export interface StorageEventTarget {
  /** Listens to `storage` events. */
  addEventListener(type: 'storage', listener: (event: StorageEvent) => void): void;
  /** Stops listening. */
  removeEventListener(type: 'storage', listener: (event: StorageEvent) => void): void;
}

/**
 * A channel over `storage` events, for browsers without BroadcastChannel: a tab writes the
 * message under `<name>:message`; every other tab of the origin gets a `storage` event (the
 * writer does not, as with BroadcastChannel).
 */
export function storageChannel(name: string, storage: StorageLike, target: StorageEventTarget): ChannelLike {
  const key = `${name}:message`;
  const handlers = new Map<(event: ChannelMessageEvent) => void, (event: StorageEvent) => void>();
  return {
    postMessage(message) {
      // The nonce makes two equal messages two changes, hence two events.
      storage.setItem(key, JSON.stringify([Math.random(), message]));
    },
    addEventListener(_type, listener) {
      const handler = (event: StorageEvent) => {
        if (event.key !== key || !event.newValue) return;
        try {
          listener({ data: (JSON.parse(event.newValue) as unknown[])[1] });
        } catch {
          // Not ours.
        }
      };
      handlers.set(listener, handler);
      target.addEventListener('storage', handler);
    },
    removeEventListener(_type, listener) {
      const handler = handlers.get(listener);
      if (handler) target.removeEventListener('storage', handler);
      handlers.delete(listener);
    },
    close() {
      for (const handler of handlers.values()) target.removeEventListener('storage', handler);
      handlers.clear();
    },
  };
}
