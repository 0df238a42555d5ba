import { ConflictException, Inject, Injectable } from '@nestjs/common';
import type { SessionUser } from '@tessera/session';
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { APP_CONFIG } from './config.js';
import type { AppConfig } from './config.js';

const hashPassword = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

interface StoredUser {
  id: string;
  email: string;
  roles: string[];
  salt: Buffer;
  hash: Buffer;
}

/** The app's users. An example keeps them in memory; a real app keeps them in its database. */
@Injectable()
export class UsersService {
  private readonly byEmail = new Map<string, StoredUser>();
  // Verifying an unknown email costs the same scrypt as a known one, so timing tells nothing.
  private readonly decoy = { salt: randomBytes(16), hash: randomBytes(32) };

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Registers a user; `admin` when the email is in `ADMIN_EMAILS`. */
  async register(email: string, password: string): Promise<{ id: string; email: string; roles: string[] }> {
    const key = email.toLowerCase();
    if (this.byEmail.has(key)) {
      throw new ConflictException({ statusCode: 409, error: 'Conflict', message: 'Email already registered', code: 'email_taken' });
    }
    const salt = randomBytes(16);
    const user: StoredUser = {
      id: randomUUID(),
      email: key,
      roles: this.config.adminEmails.has(key) ? ['user', 'admin'] : ['user'],
      salt,
      hash: await hashPassword(password, salt, 32),
    };
    this.byEmail.set(key, user);
    return { id: user.id, email: user.email, roles: user.roles };
  }

  /** The user these credentials belong to, as Tessera takes it; null when they are wrong. */
  async verify(email: string, password: string): Promise<SessionUser | null> {
    const user = this.byEmail.get(email.toLowerCase());
    const expected = user ?? this.decoy;
    const matches = timingSafeEqual(await hashPassword(password, expected.salt, 32), expected.hash);
    return user && matches ? { id: user.id, roles: user.roles, profile: { email: user.email } } : null;
  }
}
