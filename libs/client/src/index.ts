export { createSessionClient } from './lib/session-client';
export type {
  ChannelLike,
  ChannelMessageEvent,
  DocumentLike,
  LockManagerLike,
  RefreshInfo,
  SessionClient,
  SessionClientOptions,
  SessionEndReason,
  SocketLike,
  StorageLike,
} from './lib/client.types';
