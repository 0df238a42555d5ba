import { Controller, Get, Logger } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SessionStoreUnavailableError, SessionUnavailableException } from '@tessera/session';
import request from 'supertest';
import { HttpExceptionFilter } from './http-exception.filter';

const STORE_UNAVAILABLE = {
  statusCode: 503,
  error: 'Service Unavailable',
  message: 'Session store is unavailable; try again shortly',
  code: 'store_unavailable',
};
// What a driver puts in its messages, which must reach neither the client nor the log.
const DRIVER_DETAIL = 'connect ECONNREFUSED 10.0.0.7:6379 session=h0x2Qm1aZkP4sT9uVw3yBg';

/** What the demo's own routes meet: the outage as `SessionService` passes it on, or as the library answered it. */
@Controller()
class FailingController {
  @Get('raw')
  raw(): never {
    throw new SessionStoreUnavailableError(DRIVER_DETAIL, { cause: new Error(DRIVER_DETAIL) });
  }

  @Get('async-raw')
  async asyncRaw(): Promise<never> {
    await Promise.resolve();
    throw new SessionStoreUnavailableError(DRIVER_DETAIL);
  }

  @Get('mapped')
  mapped(): never {
    throw new SessionUnavailableException(new SessionStoreUnavailableError(DRIVER_DETAIL));
  }

  @Get('bug')
  bug(): never {
    throw new Error(DRIVER_DETAIL);
  }
}

describe('HttpExceptionFilter and session-store outages', () => {
  let app: INestApplication;
  let lines: string[];

  beforeEach(async () => {
    lines = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '));
      });
    }
    const moduleRef = await Test.createTestingModule({
      controllers: [FailingController],
      providers: [{ provide: APP_FILTER, useClass: HttpExceptionFilter }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    lines.length = 0; // boot lines; only what requests log matters here
  });

  afterEach(async () => {
    await app.close();
    jest.restoreAllMocks();
  });

  it.each(['/raw', '/async-raw'])('answers a SessionStoreUnavailableError (%s) 503 store_unavailable with Retry-After, logging one line', async (path) => {
    const response = await request(app.getHttpServer()).get(path);
    expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: STORE_UNAVAILABLE });
    expect(response.headers['retry-after']).toBe('2');
    expect(lines).toEqual(['Session store unavailable (SessionStoreUnavailableError); answered 503']);
  });

  it('answers the library’s SessionUnavailableException the same, without logging it again', async () => {
    const response = await request(app.getHttpServer()).get('/mapped');
    expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: STORE_UNAVAILABLE });
    expect(response.headers['retry-after']).toBe('2');
    expect(lines).toEqual([]);
  });

  it('still answers anything else 500, by its name only', async () => {
    const response = await request(app.getHttpServer()).get('/bug');
    expect(response.status).toBe(500);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(JSON.stringify(response.body)).not.toContain('10.0.0.7');
    expect(lines).toEqual(['Unhandled Error; answered 500']);
  });
});
