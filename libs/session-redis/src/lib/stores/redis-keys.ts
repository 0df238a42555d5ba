/**
 * Where the store keeps what. Sessions are spread over `buckets` hash tags
 * (`{prefix:n}`); a session's key, its bucket's end-time index and its bucket's
 * revocation log share the tag, so every script on a session touches one hash slot of a
 * Redis Cluster. A user's index has a tag of its own (the bucket of the user id).
 */
export class RedisKeys {
  /** The bucket tags, `{prefix:0}` ... */
  readonly tags: readonly string[];
  /** Pub/sub channel of revoked session ids. */
  readonly revokedChannel: string;
  /** Pub/sub channel of revocations with their commit times, `"<sessionId> <epoch ms>"` (Redis's clock). */
  readonly revokedAtChannel: string;
  /** Pub/sub channel of users whose grants changed. */
  readonly usersChannel: string;
  /** The cleanup lock. */
  readonly cleanupLock: string;

  constructor(
    readonly prefix: string,
    readonly buckets: number,
  ) {
    this.tags = Array.from({ length: buckets }, (_, n) => `{${prefix}:${n}}`);
    this.revokedChannel = `${prefix}:revoked`;
    this.revokedAtChannel = `${prefix}:revoked-at`;
    this.usersChannel = `${prefix}:users`;
    this.cleanupLock = `${prefix}:cleanup-lock`;
  }

  /** The tag of a session id or a user id. */
  tagOf(id: string): string {
    return this.tags[bucketOf(id, this.buckets)];
  }

  /** The session hash. */
  session(id: string): string {
    return `${this.tagOf(id)}:s:${id}`;
  }

  /** The session hash, its bucket's end-time index and revocation log, as scripts take them. */
  sessionKeys(id: string): [string, string, string] {
    const tag = this.tagOf(id);
    return [`${tag}:s:${id}`, `${tag}:x`, `${tag}:r`];
  }

  /** The end-time index of a bucket (by tag). */
  ends(tag: string): string {
    return `${tag}:x`;
  }

  /** The revocation log of a bucket (by tag). */
  revocations(tag: string): string {
    return `${tag}:r`;
  }

  /** The index of a user's sessions (ids by creation time). */
  user(userId: string): string {
    return `${this.tagOf(userId)}:u:${userId}`;
  }
}

/** FNV-1a (32 bits) of the UTF-16 code units, modulo `buckets`: stable across processes and versions. */
export function bucketOf(id: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % buckets;
}
