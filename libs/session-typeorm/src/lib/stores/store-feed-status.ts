/** What a store knows of its revocation feed, for health checks. */
export interface SessionStoreFeedStatus {
  /** Whether a feed is open (the app's `RevocationCache` opens one when it needs it). */
  open: boolean;
  /** Whether the feed's connection is up now (false while it reconnects). */
  connected: boolean;
  /** Its last sign of life (wall clock): a (re)connect, a delivered event, a heartbeat that answered; null before any. */
  lastActivityAt: Date | null;
}
