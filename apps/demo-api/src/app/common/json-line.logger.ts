import { ConsoleLogger } from '@nestjs/common';
import type { ConsoleLoggerOptions, LogLevel } from '@nestjs/common';
import { inspect } from 'node:util';

type Stream = 'stdout' | 'stderr';
type JsonOptions = Parameters<ConsoleLogger['printAsJson']>[1];

const pending: Record<Stream, string[]> = { stdout: [], stderr: [] };
let scheduled = false;
let exitHookInstalled = false;

function flush(): void {
  scheduled = false;
  for (const stream of ['stdout', 'stderr'] as const) {
    const lines = pending[stream];
    if (lines.length === 0) continue;
    pending[stream] = [];
    process[stream].write(`${lines.join('\n')}\n`);
  }
}

/**
 * Nest's JSON console logger (`json: true`: one JSON object per line), with the lines of
 * one event-loop turn written together: one write to stdout per turn instead of one per
 * line. Under load that turns many audit lines into one system call (writes to a file
 * or a pipe are synchronous in Node). A line appears at most one turn late; whatever is
 * pending is written when the process exits, even on an uncaught exception.
 */
export class JsonLineLogger extends ConsoleLogger {
  constructor(options: Omit<ConsoleLoggerOptions, 'json' | 'colors'> & { logLevels?: LogLevel[] } = {}) {
    super({ ...options, json: true, colors: false });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', flush);
    }
  }

  protected override printAsJson(message: unknown, options: JsonOptions): void {
    const record = this.getJsonLogObject(message, options);
    const line = this.inspectOptions.compact === true ? this.stringifyJsonLogObject(record) : inspect(record, this.inspectOptions);
    pending[options.writeStreamType ?? 'stdout'].push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }
}
