import { Test } from '@nestjs/testing';
import request from 'supertest';
import { SessionView } from '../dto/session-view.dto';
import { SessionModule } from '../session.module';
import { SessionRoutesModule } from './session-routes.module';
import { documentSessionRoutes, isSwaggerMissing } from './session-routes.openapi';

// This file runs as an app without @nestjs/swagger: requiring it fails as Node does for a
// package that is not installed.
jest.mock('@nestjs/swagger', () => {
  throw Object.assign(new Error("Cannot find module '@nestjs/swagger' from 'session-routes.openapi.ts'"), {
    code: 'MODULE_NOT_FOUND',
  });
});

describe('session routes without @nestjs/swagger', () => {
  it('tells a missing package from other failures', () => {
    expect(isSwaggerMissing(Object.assign(new Error("Cannot find module '@nestjs/swagger'"), { code: 'MODULE_NOT_FOUND' }))).toBe(true);
    expect(isSwaggerMissing(Object.assign(new Error("Cannot find package '@nestjs/swagger'"), { code: 'ERR_MODULE_NOT_FOUND' }))).toBe(true);
    // Swagger is there but one of its own dependencies is not: that is a broken install, not an absent one.
    expect(isSwaggerMissing(Object.assign(new Error("Cannot find module 'swagger-ui-dist'"), { code: 'MODULE_NOT_FOUND' }))).toBe(false);
    expect(isSwaggerMissing(new Error('@nestjs/swagger exploded'))).toBe(false);
    expect(isSwaggerMissing(undefined)).toBe(false);
  });

  it('serves the routes and documents nothing, silently', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          isGlobal: true,
          jwtSecret: 'routes-openapi-spec-jwt-secret-0123456789ab',
          sessionSecret: 'routes-openapi-spec-session-secret-0123456',
        }),
        SessionRoutesModule.forRoot(),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const response = await request(app.getHttpServer()).get('/auth/csrf').expect(200);
      expect(response.body.csrfToken).toEqual(expect.any(String));
      expect(await documentSessionRoutes()).toBe(false);
      expect(Reflect.getMetadataKeys(SessionView.prototype)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('still fails loudly when loading swagger fails for another reason', async () => {
    await jest.isolateModulesAsync(async () => {
      const { documentSessionRoutes: isolated } = await import('./session-routes.openapi');
      await expect(isolated(() => Promise.reject(new Error('broken install')))).rejects.toThrow('broken install');
    });
  });
});
