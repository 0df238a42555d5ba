// The core must load without any HTTP platform: each one's packages fail the test if required.
const PLATFORM_PACKAGES = ['express', 'fastify', '@nestjs/platform-express', '@nestjs/platform-fastify', '@fastify/cookie'];
for (const name of PLATFORM_PACKAGES) {
  jest.mock(
    name,
    () => {
      throw new Error(`${name} was loaded`);
    },
    { virtual: true },
  );
}

describe('@tessera/session at load time', () => {
  it('requires neither Express nor Fastify (nor their Nest platforms), and still serves both through its default adapter', () => {
    let index: typeof import('../../index') | undefined;
    jest.isolateModules(() => {
      index = jest.requireActual<typeof import('../../index')>('../../index');
    });
    expect(index?.platformHttpAdapter).toBeInstanceOf(index?.PlatformHttpAdapter);
    for (const name of PLATFORM_PACKAGES) expect(() => jest.requireMock(name)).toThrow(`${name} was loaded`);
  });
});
