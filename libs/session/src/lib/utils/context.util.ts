/** Longest user agent kept on a session or an event; longer ones are cut. */
export const MAX_USER_AGENT = 512;
/** Longest client address kept on a session or an event. */
export const MAX_IP = 64;

/**
 * The client details of a request as sessions store them and events carry them: both
 * fields present, each cut to its bound (a client chooses its user agent, and every
 * audit sink downstream should get the same bounded value).
 */
export function boundedContext(context: { ip?: string | null; userAgent?: string | null }): {
  ip: string | null;
  userAgent: string | null;
} {
  return {
    ip: context.ip ? context.ip.slice(0, MAX_IP) : null,
    userAgent: context.userAgent ? context.userAgent.slice(0, MAX_USER_AGENT) : null,
  };
}

/** Whether `boundedContext` would cut something. */
export function exceedsContextBounds(context: { ip?: string | null; userAgent?: string | null }): boolean {
  return (context.userAgent?.length ?? 0) > MAX_USER_AGENT || (context.ip?.length ?? 0) > MAX_IP;
}
