/** A configuration mistake found at boot; the message says what to change. */
export class SessionConfigError extends Error {
  override readonly name = 'SessionConfigError';
}
