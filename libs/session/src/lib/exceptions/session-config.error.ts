/** Reads the option a library message is about: each starts with `SessionModule option "<name>"`. */
const OPTION_IN_MESSAGE = /^SessionModule options? "([^"]+)"/;

/** A configuration mistake found at boot; the message says what to change. */
export class SessionConfigError extends Error {
  override readonly name = 'SessionConfigError';
  /**
   * The option at fault (`idleTimeout`, `keys[0].privateKey`, `csrf.allowedOrigins`), so an
   * app can name its own setting for it; by default read from the message.
   */
  readonly option: string | undefined;

  constructor(message: string, option: string | undefined = OPTION_IN_MESSAGE.exec(message)?.[1]) {
    super(message);
    this.option = option;
  }
}
