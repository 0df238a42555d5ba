import { Logger } from '@nestjs/common';
import { JsonLineLogger } from './json-line.logger';

describe('JsonLineLogger', () => {
  let writes: string[];
  let spy: jest.SpyInstance;

  beforeEach(() => {
    writes = [];
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
  });

  afterEach(() => spy.mockRestore());

  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('writes the lines of one event-loop turn in one write, one JSON object per line', async () => {
    const logger = new JsonLineLogger();
    logger.log({ type: 'session.created', userId: 'u1' }, 'Audit');
    logger.log('plain text', 'Main');
    logger.warn('careful', 'Main');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toHaveLength(1);
    const records = writes[0].trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ level: 'log', context: 'Audit', message: { type: 'session.created', userId: 'u1' } }),
      expect.objectContaining({ level: 'log', context: 'Main', message: 'plain text' }),
      expect.objectContaining({ level: 'warn', context: 'Main', message: 'careful' }),
    ]);
    expect(writes[0].endsWith('\n')).toBe(true);
  });

  it('serves the static Logger once installed, and respects log levels', async () => {
    Logger.overrideLogger(new JsonLineLogger({ logLevels: ['warn', 'error'] }));
    try {
      new Logger('Audit').log('dropped');
      new Logger('Audit').warn('kept');
      await nextTurn();
      expect(writes.join('')).not.toContain('dropped');
      expect(JSON.parse(writes.join('').trim())).toEqual(expect.objectContaining({ level: 'warn', message: 'kept' }));
    } finally {
      Logger.overrideLogger(true);
    }
  });

  it('starts a new write in a later turn', async () => {
    const logger = new JsonLineLogger();
    logger.log('first', 'A');
    await nextTurn();
    logger.log('second', 'A');
    await nextTurn();
    expect(writes.map((chunk) => (JSON.parse(chunk) as { message: string }).message)).toEqual(['first', 'second']);
  });
});
