import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import type { SessionModuleOptions } from '../../src/lib/interfaces/session-module-options.interface';
import { SessionModule } from '../../src/lib/session.module';
import type { SessionModuleExtras } from '../../src/lib/session.module-definition';
import { FakeClock } from '../../src/testing';

/** The instant the specs' fake clocks start at. */
export const START = new Date('2030-01-01T00:00:00.000Z');

/** Module options for a spec (and `isGlobal`): a `FakeClock` in place of any other clock, made at `START` if none is given. */
export type TestSessionOptions = Omit<SessionModuleOptions, 'clock'> & SessionModuleExtras & { clock?: FakeClock };

/**
 * Compiles a testing module that imports `SessionModule.forRoot(options)`, plus the
 * controllers, providers and other imports of `metadata`.
 */
export async function compileSessionModule(
  options: TestSessionOptions,
  metadata: ModuleMetadata = {},
): Promise<{ moduleRef: TestingModule; clock: FakeClock }> {
  const clock = options.clock ?? new FakeClock(START);
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [SessionModule.forRoot({ ...options, clock }), ...(metadata.imports ?? [])],
  }).compile();
  return { moduleRef, clock };
}

/** `compileSessionModule`, then a silent Nest application over it, initialised (not listening). */
export async function startSessionApp(
  options: TestSessionOptions,
  metadata: ModuleMetadata = {},
): Promise<{ app: INestApplication; clock: FakeClock }> {
  const { moduleRef, clock } = await compileSessionModule(options, metadata);
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, clock };
}
