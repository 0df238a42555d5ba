import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { BoundedMap } from '@tessera/session';
import type { SessionUser } from '@tessera/session';
import { hash, verify } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import type { Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { onDatabase } from '../database/postgres-outage';
import { UserEntity } from './user.entity';

/** A user as the API shows it. */
export interface PublicUser {
  id: string;
  email: string;
  roles: string[];
}

// argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane), run on libuv's
// thread pool by @node-rs/argon2 so it never blocks the event loop. `Algorithm` is a
// const enum that exists only in the type definitions (at run time it is `{}`), and
// our builds transpile file by file, so the value is written out.
const ARGON2ID = 2 as Algorithm.Argon2id;
const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const CACHE_LIMIT = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Normalises an email for storage and lookup. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The user as sessions must see them now (the session module's `resolveUser` hook):
 * read from the database, since roles change; null when there is no such user.
 */
export async function findSessionUser(users: Repository<UserEntity>, id: string): Promise<SessionUser | null> {
  if (!UUID.test(id)) return null;
  const user = await onDatabase('users', users.findOne({ where: { id }, select: { id: true, email: true, roles: true } }));
  return user ? { id: user.id, roles: user.roles, profile: { email: user.email } } : null;
}

/**
 * Registers users and checks their passwords. Public profiles are cached in memory
 * (bounded), since `/api/me` and `/auth/refresh` need the email on every call and a
 * user's email never changes in the demo; this keeps those routes off the database.
 */
@Injectable()
export class UsersService {
  private readonly cache = new BoundedMap<string, PublicUser>(CACHE_LIMIT);
  // Verified against when the email is unknown, so both failures cost one argon2 verify.
  private readonly dummyHash: Promise<string>;

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly config: AppConfig,
  ) {
    this.dummyHash = hash(randomBytes(32), ARGON2_OPTIONS);
  }

  /** Creates a user; throws 409 `email_taken` when the email is registered already. */
  async register(email: string, password: string): Promise<PublicUser> {
    const normalised = normaliseEmail(email);
    const passwordHash = await hash(password, ARGON2_OPTIONS);
    const roles = this.config.adminEmails.has(normalised) ? ['user', 'admin'] : ['user'];
    const rows: Array<{ id: string }> = await onDatabase(
      'users',
      this.users.manager.query(
        `INSERT INTO users (email, password_hash, roles) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING RETURNING id`,
        [normalised, passwordHash, roles],
      ),
    );
    if (rows.length === 0) {
      throw new ConflictException({
        statusCode: 409,
        error: 'Conflict',
        message: 'This email is already registered',
        code: 'email_taken',
      });
    }
    return this.remember({ id: rows[0].id, email: normalised, roles });
  }

  /**
   * Returns the user when the password matches, otherwise null. Unknown emails and
   * wrong passwords take the same path and about the same time.
   */
  async verifyCredentials(email: string, password: string): Promise<PublicUser | null> {
    const user = await onDatabase('users', this.users.findOne({ where: { email: normaliseEmail(email) } }));
    if (!user) {
      await verify(await this.dummyHash, password).catch(() => false);
      return null;
    }
    const valid = await verify(user.passwordHash, password).catch(() => false);
    return valid ? this.remember({ id: user.id, email: user.email, roles: user.roles }) : null;
  }

  /**
   * Returns the user when `password` is theirs (a re-authentication), otherwise null; an
   * unknown or malformed id takes the same path and about the same time.
   */
  async verifyPassword(userId: string, password: string): Promise<PublicUser | null> {
    const user = UUID.test(userId) ? await onDatabase('users', this.users.findOne({ where: { id: userId } })) : null;
    if (!user) {
      await verify(await this.dummyHash, password).catch(() => false);
      return null;
    }
    const valid = await verify(user.passwordHash, password).catch(() => false);
    return valid ? this.remember({ id: user.id, email: user.email, roles: user.roles }) : null;
  }

  /**
   * Replaces a user's password after checking the current one; false when the current
   * password is wrong (or the user is gone).
   */
  async changePassword(userId: string, currentPassword: string, newPassword: string): Promise<boolean> {
    const user = UUID.test(userId) ? await onDatabase('users', this.users.findOne({ where: { id: userId } })) : null;
    const valid = user
      ? await verify(user.passwordHash, currentPassword).catch(() => false)
      : await verify(await this.dummyHash, currentPassword).catch(() => false);
    if (!user || !valid) return false;
    const passwordHash = await hash(newPassword, ARGON2_OPTIONS);
    await onDatabase('users', this.users.update({ id: user.id }, { passwordHash }));
    return true;
  }

  /** Replaces a user's roles; returns the updated profile, or null when there is no such user. */
  async setRoles(id: string, roles: string[]): Promise<PublicUser | null> {
    if (!UUID.test(id)) return null;
    const result = await onDatabase(
      'users',
      this.users.createQueryBuilder().update().set({ roles }).where('id = :id', { id }).returning(['id', 'email', 'roles']).execute(),
    );
    const row = (result.raw as Array<{ id: string; email: string; roles: string[] }>)[0];
    return row ? this.remember({ id: row.id, email: row.email, roles: row.roles }) : null;
  }

  /** Public profile by id if it is in the cache (no I/O, no promise); otherwise undefined. */
  cachedPublic(id: string): PublicUser | undefined {
    return this.cache.get(id);
  }

  /** Public profile by id, from the cache or the database; null when there is no such user. */
  async findPublic(id: string): Promise<PublicUser | null> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    if (!UUID.test(id)) return null;
    const user = await onDatabase('users', this.users.findOne({ where: { id } }));
    return user ? this.remember({ id: user.id, email: user.email, roles: user.roles }) : null;
  }

  private remember(user: PublicUser): PublicUser {
    this.cache.set(user.id, user);
    return user;
  }
}
