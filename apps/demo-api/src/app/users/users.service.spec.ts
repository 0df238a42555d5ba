// Counts argon2 calls; the real implementation still runs (see the "similar time" test).
jest.mock('@node-rs/argon2', () => {
  const actual = jest.requireActual<typeof import('@node-rs/argon2')>('@node-rs/argon2');
  return { ...actual, hash: jest.fn(actual.hash), verify: jest.fn(actual.verify) };
});

import { ConflictException, HttpStatus } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import * as argon2 from '@node-rs/argon2';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Repository } from 'typeorm';
import { AppConfig, loadConfig } from '../config/app-config';
import { dataSourceOptions, runMigrations } from '../database/database';
import { UserEntity } from './user.entity';
import { UsersService } from './users.service';

const verifyMock = jest.mocked(argon2.verify);

function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.com`;
}

/** `m`, `t`, `p` and the algorithm of an argon2 PHC string. */
function argon2Params(phc: string): { algorithm: string; m: number; t: number; p: number } {
  const match = /^\$(argon2(?:id|i|d))\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!match) throw new Error(`not an argon2 PHC string: ${phc.slice(0, 20)}...`);
  return { algorithm: match[1], m: Number(match[2]), t: Number(match[3]), p: Number(match[4]) };
}

describe('UsersService (real PostgreSQL)', () => {
  const adminEmail = uniqueEmail('admin');
  let moduleRef: TestingModule;
  let users: UsersService;
  let repository: Repository<UserEntity>;
  let dataSource: DataSource;

  async function storedRow(id: string): Promise<{ email: string; password_hash: string; roles: string[] }> {
    const rows = await dataSource.query('SELECT email, password_hash, roles FROM users WHERE id = $1', [id]);
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  beforeAll(async () => {
    const url = process.env.TESSERA_TEST_DATABASE_URL;
    if (!url) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
    // Wired as AppModule does: the app's data source, the entity registered with forFeature.
    moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions(url), retryAttempts: 0 }),
        TypeOrmModule.forFeature([UserEntity]),
      ],
      providers: [
        UsersService,
        // Mixed case and spaces: the config normalises ADMIN_EMAILS.
        { provide: AppConfig, useValue: loadConfig({ NODE_ENV: 'test', ADMIN_EMAILS: ` ${adminEmail.toUpperCase()} ,other@example.com` }) },
      ],
    }).compile();
    dataSource = moduleRef.get(DataSource);
    await runMigrations(dataSource);
    users = moduleRef.get(UsersService);
    repository = moduleRef.get(getRepositoryToken(UserEntity));
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  afterEach(() => {
    jest.restoreAllMocks(); // spies on the repository; the argon2 counters stay (cleared where used)
  });

  describe('register', () => {
    it('stores an argon2id hash of the password, never the password', async () => {
      const password = `correct horse ${randomBytes(4).toString('hex')}`;
      const user = await users.register(uniqueEmail('hash'), password);
      const row = await storedRow(user.id);
      expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
      expect(row.password_hash).not.toContain(password);
      expect(await jest.requireActual<typeof argon2>('@node-rs/argon2').verify(row.password_hash, password)).toBe(true);
    });

    it('hashes with at least OWASP\'s minimum argon2id profile (19 MiB, 2 passes)', async () => {
      const user = await users.register(uniqueEmail('params'), 'a long enough password');
      const params = argon2Params((await storedRow(user.id)).password_hash);
      expect(params.algorithm).toBe('argon2id');
      expect(params.m).toBeGreaterThanOrEqual(19_456);
      expect(params.t).toBeGreaterThanOrEqual(2);
    });

    it('salts every hash (same password, different hashes)', async () => {
      const a = await users.register(uniqueEmail('salt-a'), 'the same password');
      const b = await users.register(uniqueEmail('salt-b'), 'the same password');
      expect((await storedRow(a.id)).password_hash).not.toBe((await storedRow(b.id)).password_hash);
    });

    it('trims and lower-cases the email, and returns only id, email and roles', async () => {
      const email = uniqueEmail('Norm');
      const user = await users.register(`  ${email.toUpperCase()} `, 'a long enough password');
      expect(user).toEqual({ id: expect.any(String), email: email.toLowerCase(), roles: ['user'] });
      expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const row = await storedRow(user.id);
      expect(row.email).toBe(email.toLowerCase());
      expect(row.roles).toEqual(['user']);
    });

    it('refuses an email registered already, in another case, with 409 email_taken', async () => {
      const email = uniqueEmail('dup');
      await users.register(email, 'first password!');
      const attempt = users.register(` ${email.toUpperCase()}`, 'second password!');
      await expect(attempt).rejects.toBeInstanceOf(ConflictException);
      const error = (await attempt.catch((e: unknown) => e)) as ConflictException;
      expect(error.getStatus()).toBe(HttpStatus.CONFLICT);
      expect(error.getResponse()).toMatchObject({ code: 'email_taken' });
      // The first account is untouched.
      expect(await users.verifyCredentials(email, 'first password!')).not.toBeNull();
      expect(await users.verifyCredentials(email, 'second password!')).toBeNull();
    });

    it('lets exactly one of two concurrent registrations of an email win', async () => {
      const email = uniqueEmail('race');
      const results = await Promise.allSettled([
        users.register(email, 'password number one'),
        users.register(email.toUpperCase(), 'password number two'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0].reason).toBeInstanceOf(ConflictException);
      const count = await dataSource.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email]);
      expect(count[0].n).toBe(1);
    });

    it('gives users listed in ADMIN_EMAILS the roles user and admin', async () => {
      const admin = await users.register(adminEmail, 'an admin password');
      expect(admin.roles).toEqual(['user', 'admin']);
      expect((await storedRow(admin.id)).roles).toEqual(['user', 'admin']);
      const plain = await users.register(uniqueEmail('plain'), 'a plain password');
      expect(plain.roles).toEqual(['user']);
    });
  });

  describe('verifyCredentials', () => {
    const password = 'the right password';
    let email: string;
    let id: string;

    beforeAll(async () => {
      email = uniqueEmail('login');
      ({ id } = await users.register(email, password));
    });

    it('returns the public user for the right password, whatever the email case', async () => {
      expect(await users.verifyCredentials(email, password)).toEqual({ id, email, roles: ['user'] });
      expect(await users.verifyCredentials(` ${email.toUpperCase()} `, password)).toEqual({ id, email, roles: ['user'] });
    });

    it('returns null for a wrong password', async () => {
      expect(await users.verifyCredentials(email, 'the wrong password')).toBeNull();
      expect(await users.verifyCredentials(email, password.toUpperCase())).toBeNull();
    });

    it('returns null for an unknown email', async () => {
      expect(await users.verifyCredentials(uniqueEmail('nobody'), password)).toBeNull();
    });

    it('still runs one argon2 verify, with the same cost, for an unknown email (similar time)', async () => {
      verifyMock.mockClear();
      await users.verifyCredentials(email, 'the wrong password');
      expect(verifyMock).toHaveBeenCalledTimes(1);
      const knownHash = verifyMock.mock.calls[0][0] as string;

      verifyMock.mockClear();
      expect(await users.verifyCredentials(uniqueEmail('nobody'), 'the wrong password')).toBeNull();
      expect(verifyMock).toHaveBeenCalledTimes(1);
      const dummyHash = verifyMock.mock.calls[0][0] as string;
      expect(dummyHash).not.toBe(knownHash);
      // Same algorithm and parameters, so both failures cost the same work.
      expect(argon2Params(dummyHash)).toEqual(argon2Params(knownHash));
    });
  });

  describe('findPublic', () => {
    it('returns null for an id that is not a UUID, without querying', async () => {
      const findOne = jest.spyOn(repository, 'findOne');
      const query = jest.spyOn(dataSource, 'query');
      for (const id of ['not-a-uuid', "1' OR '1'='1", '', `${randomUUID()}x`]) {
        expect(await users.findPublic(id)).toBeNull();
      }
      expect(findOne).not.toHaveBeenCalled();
      expect(query).not.toHaveBeenCalled();
    });

    it('returns null for an unknown UUID', async () => {
      expect(await users.findPublic(randomUUID())).toBeNull();
    });

    it('serves a user it registered from the cache, without querying', async () => {
      const email = uniqueEmail('cached');
      const user = await users.register(email, 'a cached password');
      const findOne = jest.spyOn(repository, 'findOne');
      expect(await users.findPublic(user.id)).toEqual({ id: user.id, email, roles: ['user'] });
      expect(findOne).not.toHaveBeenCalled();
    });

    it('loads a user it has not seen once from the database, then from the cache', async () => {
      const email = uniqueEmail('loaded');
      const rows: Array<{ id: string }> = await dataSource.query(
        `INSERT INTO users (email, password_hash, roles) VALUES ($1, 'x', $2) RETURNING id`,
        [email, ['user', 'admin']],
      );
      const id = rows[0].id;
      const findOne = jest.spyOn(repository, 'findOne');
      expect(await users.findPublic(id)).toEqual({ id, email, roles: ['user', 'admin'] });
      expect(await users.findPublic(id)).toEqual({ id, email, roles: ['user', 'admin'] });
      expect(findOne).toHaveBeenCalledTimes(1);
    });
  });
});
